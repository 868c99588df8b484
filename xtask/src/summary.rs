//! `cargo xtask bench --summary`: every `compare` line (and every latency
//! line) the benches print, held against its target, as one table.
//!
//! The targets are ARCHITECTURE.md §6's and issue 22's, written here once
//! so the table says met or missed instead of leaving the reader to look
//! them up. A line no target names is listed as measured only.

use std::fmt::Write as _;

/// What a measurement must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// `ratio` (ours / baseline) at most this.
    RatioAtMost(f64),
    /// `ratio` at least this (throughputs, where higher is better).
    RatioAtLeast(f64),
    /// `ours` at most this many of this unit (a line in another unit of
    /// time, or per node, is converted).
    OursAtMost(f64, &'static str),
    /// A latency line's p50 and p99 at most these, in µs.
    Latency { p50_us: f64, p99_us: f64 },
    /// A count line at most this.
    CountAtMost(u64),
}

/// Targets by line name: an exact name, or a prefix ending in `*`.
const TARGETS: &[(&str, Target)] = &[
    // Issue 22's rows.
    ("pubsub_*_vs_nats_256b", Target::RatioAtMost(0.5)),
    ("pubsub_*_lost", Target::CountAtMost(0)),
    // The row is a median (p50), as the bench's latency line prints
    // it; the compare line next to it is the mean of batches, and is
    // reported as measured.
    (
        "bus request/reply across threads",
        Target::Latency {
            p50_us: 1.0,
            p99_us: f64::INFINITY,
        },
    ),
    (
        "bus_publish_deliver_1000_unrelated_wildcards",
        Target::RatioAtMost(1.2),
    ),
    (
        "shm_request_reply_256b (ours)",
        Target::Latency {
            p50_us: 2.0,
            p99_us: 20.0,
        },
    ),
    ("socket_request_reply_256b", Target::RatioAtMost(1.5)),
    ("operator_call_small_vs_async_raw", Target::RatioAtMost(1.2)),
    ("artifact_ingest_vs_sha256sum", Target::RatioAtLeast(0.7)),
    (
        "artifact_ingest_encrypted_vs_restic",
        Target::RatioAtLeast(2.0),
    ),
    (
        "dag_schedule_chain_*_checkpointed",
        Target::OursAtMost(3.0, "us/node"),
    ),
    ("dag_schedule_*_100k", Target::OursAtMost(2.0, "us/node")),
    ("workflow_validate_100k", Target::OursAtMost(50.0, "ms")),
    // ARCHITECTURE.md §6.
    ("service_status_round_trip", Target::RatioAtMost(1.5)),
    ("dag_cancel_latency", Target::OursAtMost(100.0, "ms")),
    (
        "pool_hit",
        Target::Latency {
            p50_us: 5.0,
            p99_us: f64::INFINITY,
        },
    ),
];

/// One measurement read off the benches' output.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    name: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Compare {
        ours: f64,
        baseline: f64,
        unit: String,
        ratio: f64,
    },
    Latency {
        p50_us: f64,
        p99_us: f64,
    },
    Count(u64),
}

/// The measurements in `output`, in order.
pub fn parse(output: &str) -> Vec<Line> {
    output.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Line> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("compare ") {
        let (name, fields) = rest.split_once(": ")?;
        let field = |key: &str| -> Option<(f64, String)> {
            let at = fields.find(&format!("{key}="))? + key.len() + 1;
            let mut words = fields[at..].split_whitespace();
            let value = words.next()?.parse().ok()?;
            Some((value, words.next().unwrap_or("").to_string()))
        };
        let (ours, unit) = field("ours")?;
        let (baseline, _) = field("baseline")?;
        let (ratio, _) = field("ratio")?;
        return Some(Line {
            name: name.to_string(),
            kind: Kind::Compare {
                ours,
                baseline,
                unit,
                ratio,
            },
        });
    }
    if let Some(rest) = line.strip_prefix("count ") {
        let (name, value) = rest.split_once(": ")?;
        let value = value.split_whitespace().next()?.parse().ok()?;
        return Some(Line {
            name: name.to_string(),
            kind: Kind::Count(value),
        });
    }
    // "<name> latency: p50 1.23 us, p99 4.56 us"
    let (name, rest) = line.split_once(" latency: p50 ")?;
    let (p50, rest) = rest.split_once(" us, p99 ")?;
    let p99 = rest.strip_suffix(" us")?;
    Some(Line {
        name: name.to_string(),
        kind: Kind::Latency {
            p50_us: p50.parse().ok()?,
            p99_us: p99.parse().ok()?,
        },
    })
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        Some((head, tail)) => {
            name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
        }
        None => pattern == name,
    }
}

fn target_of(name: &str) -> Option<Target> {
    TARGETS
        .iter()
        .find(|(pattern, _)| matches(pattern, name))
        .map(|(_, target)| *target)
}

/// Whether `line` meets `target`; `None` when the target does not apply to
/// this kind of line.
fn verdict(line: &Line, target: Target) -> Option<bool> {
    Some(match (&line.kind, target) {
        (Kind::Compare { ratio, .. }, Target::RatioAtMost(max)) => *ratio <= max,
        (Kind::Compare { ratio, .. }, Target::RatioAtLeast(min)) => *ratio >= min,
        (Kind::Compare { ours, unit, .. }, Target::OursAtMost(max, wanted)) => {
            *ours * in_unit(unit, wanted)? <= max
        }
        (
            Kind::Latency { p50_us, p99_us },
            Target::Latency {
                p50_us: a,
                p99_us: b,
            },
        ) => *p50_us <= a && *p99_us <= b,
        (Kind::Count(n), Target::CountAtMost(max)) => *n <= max,
        _ => return None,
    })
}

/// What one `unit` is in `wanted` units: both times (ns, us, ms, s), with
/// the same suffix (`/node`); `None` when they do not compare.
fn in_unit(unit: &str, wanted: &str) -> Option<f64> {
    let split = |u: &str| -> Option<(f64, String)> {
        let (time, per) = u.split_once('/').map_or((u, ""), |(t, p)| (t, p));
        let scale = match time {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            _ => return None,
        };
        Some((scale, per.to_string()))
    };
    let ((from, per), (to, wanted_per)) = (split(unit)?, split(wanted)?);
    (per == wanted_per).then_some(from / to)
}

fn describe(target: Target) -> String {
    match target {
        Target::RatioAtMost(max) => format!("ratio ≤ {max}"),
        Target::RatioAtLeast(min) => format!("ratio ≥ {min}"),
        Target::OursAtMost(max, unit) => format!("≤ {max} {unit}"),
        Target::Latency { p50_us, p99_us } if p99_us.is_infinite() => {
            format!("p50 ≤ {p50_us} µs")
        }
        Target::Latency { p50_us, p99_us } => format!("p50 ≤ {p50_us} µs, p99 ≤ {p99_us} µs"),
        Target::CountAtMost(max) => format!("≤ {max}"),
    }
}

/// The table, in Markdown (so it pastes into the README), and how many
/// targets were missed.
pub fn table(lines: &[Line]) -> (String, usize) {
    let mut out = String::from(
        "| measurement | ours | baseline | ratio | target | |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    let mut missed = 0;
    for line in lines {
        let (ours, baseline, ratio) = match &line.kind {
            Kind::Compare {
                ours,
                baseline,
                unit,
                ratio,
            } => (
                format!("{ours} {unit}"),
                format!("{baseline} {unit}"),
                format!("{ratio:.3}"),
            ),
            Kind::Latency { p50_us, p99_us } => (
                format!("p50 {p50_us} µs, p99 {p99_us} µs"),
                String::new(),
                String::new(),
            ),
            Kind::Count(n) => (n.to_string(), String::new(), String::new()),
        };
        let (target, mark) = match target_of(&line.name).and_then(|t| Some((t, verdict(line, t)?)))
        {
            Some((target, met)) => {
                missed += usize::from(!met);
                (describe(target), if met { "met" } else { "**missed**" })
            }
            None => (String::new(), "measured"),
        };
        let _ = writeln!(
            out,
            "| {} | {ours} | {baseline} | {ratio} | {target} | {mark} |",
            line.name
        );
    }
    (out, missed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_line_is_read_and_judged() {
        let output = "\
noise before
compare pubsub_socket_vs_nats_256b: ours=0.400 us baseline=1.000 us ratio=0.400
compare artifact_ingest_vs_sha256sum: ours=30.0 MB/s baseline=200.0 MB/s ratio=0.150
compare dag_schedule_chain_10k_checkpointed: ours=2.500 us/node baseline=0.400 us/node ratio=6.250
compare bus_request_reply_across_threads: ours=900.000 ns baseline=300.000 ns ratio=3.000
compare workflow_validate_100k: ours=45000.000 us baseline=70000.000 us ratio=0.643
compare something_new: ours=1.000 ns baseline=2.000 ns ratio=0.500
shm_request_reply_256b (ours) latency: p50 1.50 us, p99 30.00 us
count pubsub_shm_lost: 0 messages
compare dag_cancel_latency: ours=12.000 ms baseline=10.000 ms ratio=1.200 (target < 100 ms)
";
        let lines = parse(output);
        assert_eq!(lines.len(), 9);
        let (table, missed) = table(&lines);
        // Ingest (throughput too low) and the shm p99.
        assert_eq!(missed, 2, "{table}");
        let row = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with(&format!("| {name} |")))
                .unwrap()
                .to_string()
        };
        assert!(row("pubsub_socket_vs_nats_256b").ends_with("| met |"));
        assert!(row("artifact_ingest_vs_sha256sum").ends_with("| **missed** |"));
        assert!(row("dag_schedule_chain_10k_checkpointed").contains("≤ 3 us/node"));
        assert!(row("something_new").ends_with("| measured |"));
        assert!(row("shm_request_reply_256b (ours)").ends_with("| **missed** |"));
        assert!(row("pubsub_shm_lost").ends_with("| met |"));
        assert!(row("dag_cancel_latency").ends_with("| met |"));
        // 45,000 µs against a target in ms.
        assert!(row("workflow_validate_100k").ends_with("| met |"));
        assert!(row("bus_request_reply_across_threads").ends_with("| measured |"));
    }

    #[test]
    fn times_compare_across_units_and_nothing_else_does() {
        assert_eq!(in_unit("ns", "us"), Some(1e-3));
        assert_eq!(in_unit("ms", "us/node"), None);
        assert_eq!(in_unit("us/node", "us/node"), Some(1.0));
        assert_eq!(in_unit("MB/s", "us"), None);
    }

    #[test]
    fn patterns_match_whole_names_only() {
        assert!(matches("dag_schedule_*_100k", "dag_schedule_fan_out_100k"));
        assert!(!matches("dag_schedule_*_100k", "dag_schedule_fan_out_10k"));
        assert!(matches("pool_hit", "pool_hit"));
        assert!(!matches("pool_hit", "pool_hit_2"));
    }
}
