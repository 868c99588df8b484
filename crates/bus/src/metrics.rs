//! Counters the bus keeps per subject and a delivery-latency histogram.

use rustc_hash::FxHashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

#[derive(Default)]
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

pub(crate) struct Metrics {
    /// Bounded: subjects beyond this many share the `(other)` row, so a
    /// publisher inventing subjects cannot grow memory without bound.
    subjects: RwLock<FxHashMap<String, std::sync::Arc<SubjectCounters>>>,
    latency: [AtomicU64; BUCKETS],
}

const MAX_SUBJECTS: usize = 4096;
const OTHER: &str = "(other)";
const INBOX: &str = "_inbox.";
const INBOXES: &str = "_inbox.>";

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            subjects: RwLock::default(),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Metrics {
    pub(crate) fn subject(&self, subject: &str) -> std::sync::Arc<SubjectCounters> {
        // Every request has its own reply inbox; counting each separately
        // would only crowd real subjects out of the table.
        let subject = if subject.starts_with(INBOX) {
            INBOXES
        } else {
            subject
        };
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
        counters
            .dropped
            .fetch_add(dropped as u64, Ordering::Relaxed);
    }

    pub(crate) fn record_latency(&self, micros: u64) {
        let bucket = (64 - micros.leading_zeros() as usize).min(BUCKETS - 1);
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
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
        let counts: Vec<u64> = self
            .latency
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
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
