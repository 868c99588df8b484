//! Limits on each call into an extension ([`Limits`], [`LogLimits`]) and
//! the manifest's `[limits]` table that asks for them: sizes like
//! `"64 MiB"`, durations like `"5s"`.

use std::time::Duration;

use super::source_tree::{Item, Problems, Value, found, join};

/// Resource limits for each call into an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call (about one unit per WebAssembly instruction).
    /// Default: 2 billion.
    pub fuel: u64,
    /// Wall-clock time per call, enforced with epochs. Default: 10 s.
    pub deadline: Duration,
    /// Linear memory per instance, in bytes. Default: 256 MiB.
    pub memory: usize,
    /// Instances kept at once; callers beyond it wait up to the deadline.
    /// Default: 8 (Addons: 1, so their UI state stays in one place).
    pub max_instances: usize,
    /// How much the extension may write to the host log.
    pub log: LogLimits,
    /// What one call costs against budgets, in millionths of a unit
    /// (`limits.cost` in the manifest). Default: 0, free.
    pub cost_micros: u64,
}

impl Limits {
    /// What one call costs against tenants' and runs' budgets.
    pub fn cost(&self) -> f64 {
        self.cost_micros as f64 / 1e6
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 2_000_000_000,
            deadline: Duration::from_secs(10),
            memory: 256 << 20,
            max_instances: 8,
            log: LogLimits::default(),
            cost_micros: 0,
        }
    }
}

/// How much one extension may write to the host log, through its `log`
/// import and its stdout and stderr together: a token bucket of lines.
/// Lines over the rate are dropped (and counted in a note, at most one a
/// second); the host never waits for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Lines per second, on average. Default: 100.
    pub lines_per_second: u32,
    /// Lines that may come at once after a quiet spell. Default: 500.
    pub burst: u32,
    /// Longer lines are cut to this many bytes. Default: 8 KiB.
    pub line_bytes: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            lines_per_second: 100,
            burst: 500,
            line_bytes: 8 << 10,
        }
    }
}

/// The limits an extension asks for; each one left out is the host's.
/// The manifest's `[limits]` table, e.g. `memory = "64 MiB"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManifestLimits {
    /// Linear memory per instance in bytes: an integer, or a string with a
    /// unit, `B`, `KiB`, `MiB`, `GiB`, `TiB` (1024-based) or `KB`, `MB`,
    /// `GB`, `TB` (1000-based), e.g. `memory = "64 MiB"`.
    pub memory: Option<usize>,
    /// Fuel per call, more than 0, e.g. `fuel = 1_000_000_000`.
    pub fuel: Option<u64>,
    /// Wall-clock time per call: integer milliseconds, or a string with a
    /// unit, `ms`, `s`, `m` or `h`, e.g. `deadline = "5s"`.
    pub deadline: Option<Duration>,
    /// Instances kept at once, at least 1, e.g. `max-instances = 4`.
    pub max_instances: Option<usize>,
    /// Log lines per second on average (its `log` import, stdout and
    /// stderr together), at least 1, e.g. `log-rate = 20`.
    pub log_rate: Option<u32>,
    /// Log lines that may come at once after a quiet spell, at least 1,
    /// e.g. `log-burst = 100`.
    pub log_burst: Option<u32>,
    /// Longest log line, longer ones are cut: bytes or a size, e.g.
    /// `log-line = "2 KiB"`.
    pub log_line: Option<usize>,
    /// What one call costs against budgets, in millionths of a unit: a
    /// number ≥ 0, e.g. `cost = 0.002`.
    pub cost_micros: Option<u64>,
}

impl ManifestLimits {
    /// `base` with each limit given here put in its place.
    ///
    /// ```
    /// use std::time::Duration;
    /// use symphony_manifest::{Limits, ManifestLimits};
    ///
    /// let asked = ManifestLimits { deadline: Some(Duration::from_secs(5)), ..Default::default() };
    /// let limits = asked.apply(Limits::default());
    /// assert_eq!(limits.deadline, Duration::from_secs(5));
    /// assert_eq!(limits.fuel, Limits::default().fuel);
    /// ```
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            memory: self.memory.unwrap_or(base.memory),
            fuel: self.fuel.unwrap_or(base.fuel),
            deadline: self.deadline.unwrap_or(base.deadline),
            max_instances: self.max_instances.unwrap_or(base.max_instances),
            log: LogLimits {
                lines_per_second: self.log_rate.unwrap_or(base.log.lines_per_second),
                burst: self.log_burst.unwrap_or(base.log.burst),
                line_bytes: self.log_line.unwrap_or(base.log.line_bytes),
            },
            cost_micros: self.cost_micros.unwrap_or(base.cost_micros),
        }
    }
}

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
];

const DURATION_UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

/// The keys of the `[limits]` table.
pub(super) const LIMIT_KEYS: &[&str] = &[
    "memory",
    "fuel",
    "deadline",
    "max-instances",
    "log-rate",
    "log-burst",
    "log-line",
    "cost",
];

/// Reads the `[limits]` table.
pub(super) fn read(item: &Item, problems: &mut Problems) -> ManifestLimits {
    let mut limits = ManifestLimits::default();
    let Some(table) = item.table("limits", LIMIT_KEYS, problems) else {
        return limits;
    };
    let field = |key: &str| table.get(key).map(|e| &e.item);
    if let Some(item) = field("memory") {
        let what = "bytes (an integer) or a size like \"64 MiB\"";
        limits.memory = quantity(item, "limits.memory", what, SIZE_UNITS, problems)
            .and_then(|bytes| usize::try_from(bytes).ok());
    }
    if let Some(item) = field("fuel") {
        limits.fuel = positive(item, "limits.fuel", problems);
    }
    if let Some(item) = field("deadline") {
        let what = "milliseconds (an integer) or a duration like \"5s\"";
        limits.deadline = quantity(item, "limits.deadline", what, DURATION_UNITS, problems)
            .map(Duration::from_millis);
    }
    if let Some(item) = field("max-instances") {
        limits.max_instances = positive(item, &join("limits", "max-instances"), problems)
            .and_then(|n| usize::try_from(n).ok());
    }
    let lines = |key: &str, problems: &mut Problems| {
        let item = field(key)?;
        let path = join("limits", key);
        let n = positive(item, &path, problems)?;
        u32::try_from(n).ok().or_else(|| {
            problems.push(&item.loc, format!("{path} must be at most {}", u32::MAX));
            None
        })
    };
    limits.log_rate = lines("log-rate", problems);
    limits.log_burst = lines("log-burst", problems);
    if let Some(item) = field("log-line") {
        let what = "bytes (an integer) or a size like \"2 KiB\"";
        limits.log_line = quantity(
            item,
            &join("limits", "log-line"),
            what,
            SIZE_UNITS,
            problems,
        )
        .and_then(|bytes| usize::try_from(bytes).ok());
    }
    if let Some(item) = field("cost") {
        limits.cost_micros = cost(item, problems);
    }
    limits
}

/// A cost per call: a number of at least 0 (and below a billion), kept in
/// millionths so budgets add up exactly.
fn cost(item: &Item, problems: &mut Problems) -> Option<u64> {
    let value = match item.value {
        Value::Integer(Some(i)) => i as f64,
        Value::Float(f) => f,
        _ => {
            problems.push(
                &item.loc,
                format!(
                    "expected a number of at least 0 for limits.cost, found {}",
                    found(item)
                ),
            );
            return None;
        }
    };
    if !(0.0..1e9).contains(&value) {
        problems.push(
            &item.loc,
            format!("limits.cost must be at least 0 and below 1e9, found {value}"),
        );
        return None;
    }
    Some((value * 1e6).round() as u64)
}

/// An integer of at least 1.
fn positive(item: &Item, path: &str, problems: &mut Problems) -> Option<u64> {
    let n = item.integer("an integer of at least 1", path, problems)?;
    match u64::try_from(n) {
        Ok(n @ 1..) => Some(n),
        _ => {
            problems.push(&item.loc, format!("{path} must be at least 1, found {n}"));
            None
        }
    }
}

/// A positive integer in the base unit, or a string of a whole number and
/// one of `units` (matched without regard to case, a space allowed
/// between), in the base unit.
fn quantity(
    item: &Item,
    path: &str,
    what: &str,
    units: &[(&str, u64)],
    problems: &mut Problems,
) -> Option<u64> {
    let Value::String(text) = &item.value else {
        return match item.value {
            Value::Integer(_) => positive(item, path, problems),
            _ => {
                problems.push(
                    &item.loc,
                    format!("expected {what} for {path}, found {}", found(item)),
                );
                None
            }
        };
    };
    let mut fail = |why: String| {
        problems.push(
            &item.loc,
            format!("expected {what} for {path}, found {}: {why}", found(item)),
        );
        None
    };
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let unit = unit.trim_start();
    let names = || {
        units
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if number.is_empty() {
        return fail("it must start with a whole number".into());
    }
    if unit.is_empty() {
        return fail(format!("give a unit ({})", names()));
    }
    let Some((_, scale)) = units
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
    else {
        return fail(format!("unknown unit \"{unit}\" (expected {})", names()));
    };
    match number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(*scale))
    {
        Some(0) => fail("it must be more than 0".into()),
        Some(n) => Some(n),
        None => fail("it is too large".into()),
    }
}

#[cfg(test)]
mod tests;
