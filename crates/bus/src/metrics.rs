//! Counters the bus keeps per subject and a delivery-latency histogram.

use crossbeam_utils::sync::ShardedLock;
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::reply::INBOX;

/// Aligned to its own cache lines: two threads publishing on different
/// subjects must not write one line.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct SubjectCounters {
    messages: AtomicU64,
    bytes: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

/// Message counts for one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectStats {
    /// The subject.
    pub subject: String,
    /// Messages published on it.
    pub messages: u64,
    /// Payload bytes published on it.
    pub bytes: u64,
    /// Deliveries to subscribers.
    pub delivered: u64,
    /// Deliveries dropped because a subscriber was slow.
    pub dropped: u64,
}

/// Delivery latency (publish to receive): a histogram with power-of-two
/// microsecond buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Messages measured.
    pub count: u64,
    /// Upper bound of the bucket holding the median, in microseconds.
    pub p50_us: u64,
    /// Upper bound of the bucket holding the 99th percentile.
    pub p99_us: u64,
}

const BUCKETS: usize = 40;

/// Latency histograms kept side by side, summed when read: every delivery
/// records into one, and with one shared by all threads two threads
/// exchanging messages wrote the same cache line back and forth.
const SHARDS: usize = 8;

/// One thread group's histogram, on cache lines of its own.
#[repr(align(128))]
struct Shard([AtomicU64; BUCKETS]);

/// The histogram shard this thread records into.
fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|shard| *shard)
}

pub(crate) struct Metrics {
    /// Bounded: subjects beyond this many share the `(other)` row, so a
    /// publisher inventing subjects cannot grow memory without bound.
    subjects: ShardedLock<FxHashMap<String, std::sync::Arc<SubjectCounters>>>,
    /// The `_inbox.>` row, once it exists: every reply counts there, and
    /// looking it up in the table each time cost a reply a hash and a
    /// string compare.
    inboxes: std::sync::OnceLock<std::sync::Arc<SubjectCounters>>,
    latency: Box<[Shard; SHARDS]>,
}

const MAX_SUBJECTS: usize = 4096;
const OTHER: &str = "(other)";
const INBOXES: &str = "_inbox.>";

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            subjects: ShardedLock::default(),
            inboxes: std::sync::OnceLock::new(),
            latency: Box::new(std::array::from_fn(|_| {
                Shard(std::array::from_fn(|_| AtomicU64::new(0)))
            })),
        }
    }
}

impl Metrics {
    pub(crate) fn subject(&self, subject: &str) -> std::sync::Arc<SubjectCounters> {
        // Every request has its own reply inbox; counting each separately
        // would only crowd real subjects out of the table.
        if subject.starts_with(INBOX) {
            return (self.inboxes).get_or_init(|| self.row(INBOXES)).clone();
        }
        self.row(subject)
    }

    /// The counters of `subject`'s row, made if need be.
    fn row(&self, subject: &str) -> std::sync::Arc<SubjectCounters> {
        if let Some(counters) = self
            .subjects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(subject)
        {
            return counters.clone();
        }
        let mut subjects = self.subjects.write().unwrap_or_else(|e| e.into_inner());
        let key = if subjects.len() >= MAX_SUBJECTS && !subjects.contains_key(subject) {
            OTHER
        } else {
            subject
        };
        subjects.entry(key.to_string()).or_default().clone()
    }

    pub(crate) fn published(
        counters: &SubjectCounters,
        bytes: usize,
        delivered: usize,
        dropped: usize,
    ) {
        counters.messages.fetch_add(1, Ordering::Relaxed);
        counters.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        counters
            .delivered
            .fetch_add(delivered as u64, Ordering::Relaxed);
        // Almost always none: a load is cheaper than adding zero.
        if dropped > 0 {
            counters
                .dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
    }

    /// Records how long each of `envelopes`, handed to its receiver now,
    /// took since it was sent.
    pub(crate) fn record_deliveries<'e>(
        &self,
        envelopes: impl IntoIterator<Item = &'e symphony_protocol::Envelope>,
    ) {
        let now = symphony_protocol::now_us();
        for envelope in envelopes {
            self.record_latency(now.saturating_sub(envelope.timestamp_us));
        }
    }

    pub(crate) fn record_latency(&self, micros: u64) {
        let bucket = (64 - micros.leading_zeros() as usize).min(BUCKETS - 1);
        self.latency[shard()].0[bucket].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn subjects(&self) -> Vec<SubjectStats> {
        let subjects = self.subjects.read().unwrap_or_else(|e| e.into_inner());
        let mut stats: Vec<_> = subjects
            .iter()
            .map(|(subject, c)| SubjectStats {
                subject: subject.clone(),
                messages: c.messages.load(Ordering::Relaxed),
                bytes: c.bytes.load(Ordering::Relaxed),
                delivered: c.delivered.load(Ordering::Relaxed),
                dropped: c.dropped.load(Ordering::Relaxed),
            })
            .collect();
        stats.sort_by(|a, b| a.subject.cmp(&b.subject));
        stats
    }

    pub(crate) fn latency(&self) -> LatencyStats {
        let counts: Vec<u64> = (0..BUCKETS)
            .map(|bucket| {
                (self.latency.iter())
                    .map(|shard| shard.0[bucket].load(Ordering::Relaxed))
                    .sum()
            })
            .collect();
        let count: u64 = counts.iter().sum();
        let quantile = |q: f64| {
            let target = ((count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (bucket, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= target {
                    return if bucket == 0 {
                        0
                    } else {
                        1u64 << bucket.min(63)
                    };
                }
            }
            0
        };
        LatencyStats {
            count,
            p50_us: if count == 0 { 0 } else { quantile(0.5) },
            p99_us: if count == 0 { 0 } else { quantile(0.99) },
        }
    }
}

#[cfg(test)]
mod tests;
