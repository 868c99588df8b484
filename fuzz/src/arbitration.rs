//! The `arbitration` target: [`ArbitrationConfig::parse`] on arbitrary text
//! (`arbitration.toml`), then an arbiter built from what it accepts serving
//! a burst of requests (see [`fuzz`]).

use std::time::Instant;

use symphony_arbitration::{Arbiter, ArbitrationConfig, ConfigError, StrategyKind};

use crate::engine::{Outcome, Rng, Target, text};

/// What every document is named in errors.
const ORIGIN: &str = "arbitration.toml";

/// The `arbitration` target, for the smoke fuzzer.
#[derive(Debug, Clone, Copy)]
pub struct ArbitrationTarget;

impl Target for ArbitrationTarget {
    fn name(&self) -> &'static str {
        "arbitration"
    }

    fn seeds(&self) -> Vec<(&'static str, Vec<u8>)> {
        SEEDS
            .iter()
            .map(|(name, text)| (*name, text.as_bytes().to_vec()))
            .collect()
    }

    fn run(&self, data: &[u8]) -> Outcome {
        run(data)
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        DICTIONARY
    }

    fn mutate(&self, rng: &mut Rng, data: &mut Vec<u8>) -> bool {
        text::mutate_lines(rng, data, LINES, VALUES)
    }

    fn max_input(&self) -> usize {
        2 << 10
    }
}

/// The fuzz target: reads `data` (lossy UTF-8) as `arbitration.toml`.
///
/// Settings that read must hold together: they pass their own check
/// again, survive a JSON round trip unchanged, and every accessor answers
/// within its documented range; an arbiter built from them grants a free
/// slot, queues nobody while slots are free, and gives every unit back.
/// Settings that do not read say why: a parse error names a line that
/// exists and a column within it (or just past its end); a value out of
/// range names its setting. A panic is a bug.
pub fn fuzz(data: &[u8]) {
    run(data);
}

fn run(data: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(data);
    let mut outcome = Outcome::default();
    match ArbitrationConfig::parse(&text, ORIGIN) {
        Ok(config) => {
            outcome.accepted += 1;
            check_accepted(&config, &mut outcome);
        }
        Err(error) => {
            outcome.rejected += 1;
            check_refusal(&text, &error);
            outcome.error("arbitration", &error.to_string());
        }
    }
    outcome
}

fn check_accepted(config: &ArbitrationConfig, outcome: &mut Outcome) {
    config
        .check(ORIGIN)
        .expect("accepted settings pass their own check");
    let json = serde_json::to_string(config).expect("settings serialise");
    let back: ArbitrationConfig = serde_json::from_str(&json).expect("and read back");
    assert_eq!(&back, config, "a JSON round trip changed the settings");
    assert!(config.aging().as_millis() >= 1);
    assert!(config.window().as_secs() >= 1);
    assert!(config.slot_capacity() >= 1);
    assert!(config.max_rows() >= 1);
    for name in config.extensions.keys() {
        let strategy = config.instance_strategy(name);
        assert!(StrategyKind::ALL.contains(&strategy));
        outcome.feature(&["strategy", strategy.name()]);
    }
    if config.fairness_floor.is_some() {
        outcome.feature(&["floor"]);
    }
    outcome.feature(&["tenants", &config.tenants.len().min(4).to_string()]);
    // An arbiter built from them serves a burst without losing a unit.
    let capacity = config.slot_capacity().min(64);
    let mut config = config.clone();
    config.slots.capacity = Some(capacity);
    let arbiter = Arbiter::new(config.clone(), None, None);
    let slots = arbiter.slots();
    let tenants: Vec<String> = config.tenants.keys().take(3).cloned().collect();
    let mut held = Vec::new();
    for i in 0..capacity {
        let tenant = tenants
            .get(i as usize % tenants.len().max(1))
            .map_or("t", String::as_str);
        let requester = arbiter.requester(tenant).priority(i as i32 % 3);
        let permit = slots
            .try_acquire(&requester, 1)
            .expect("a free slot is granted at once");
        held.push(permit);
    }
    let extra = arbiter.requester("extra");
    assert!(
        slots.try_acquire(&extra, 1).is_none(),
        "never past capacity"
    );
    let budget = config
        .tenants
        .iter()
        .find_map(|(name, t)| t.budget.map(|b| (name, b)));
    if let Some((name, limit)) = budget {
        let requester = arbiter.requester(name);
        let over = arbiter.charge(&requester, None, limit + 1.0, Some(Instant::now()), None);
        assert!(
            over.is_err(),
            "a charge past a budget of {limit} was let through"
        );
    }
    drop(held);
    assert_eq!(slots.usage().0, 0, "every unit came back");
}

fn check_refusal(text: &str, error: &ConfigError) {
    let message = error.to_string();
    assert!(message.starts_with(ORIGIN), "{message}");
    assert!(
        !message.contains('\n'),
        "a refusal is one line: {message:?}"
    );
    if let ConfigError::Parse { message, .. } = error
        && let Some(rest) = message.strip_prefix("line ")
    {
        let (line, rest) = rest.split_once(", column ").expect("line, then column");
        let column: usize = rest.split(':').next().unwrap().parse().unwrap();
        let line: usize = line.parse().unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert!(
            line >= 1 && line <= lines.len(),
            "line {line} of {}",
            lines.len()
        );
        assert!(
            column >= 1 && column <= lines[line - 1].len() + 1,
            "column {column} of a line of {} bytes",
            lines[line - 1].len()
        );
    }
}

/// Seed documents.
const SEEDS: &[(&str, &str)] = &[
    ("seed-empty", ""),
    (
        "seed-full",
        "aging_ms = 500\nfairness_floor = 0.8\nwindow_secs = 60\n\n[slots]\ncapacity = 16\n\
         strategy = \"priority\"\n\n[instances]\nstrategy = \"priority\"\n\n\
         [extensions.mock-llm]\nstrategy = \"fair-share\"\n\n[memory]\nstrategy = \"priority\"\n\n\
         [tenants.alice]\nweight = 2\nbudget = 100.0\nbudget_window_secs = 3600\n\n\
         [tenants.bob]\nweight = 1\nbudget = 5.0\n\n[log]\nmax_rows = 100000\n",
    ),
    (
        "seed-strategies",
        "[slots]\nstrategy = \"round-robin\"\n[extensions.a]\nstrategy = \"deadline\"\n\
         [extensions.b]\nstrategy = \"fifo\"\n[memory]\nstrategy = \"fifo\"\n",
    ),
    (
        "seed-bad-values",
        "fairness_floor = 1.5\n[slots]\ncapacity = 0\n[tenants.x]\nweight = -1\n",
    ),
    ("seed-bad-toml", "[slots\ncapacity = \"many\"\n"),
    ("seed-unknown-key", "[slots]\ncapacity = 2\nspeed = 3\n"),
];

/// Tokens worth inserting.
const DICTIONARY: &[&[u8]] = &[
    b"aging_ms",
    b"fairness_floor",
    b"window_secs",
    b"[slots]",
    b"[instances]",
    b"[extensions.",
    b"[memory]",
    b"[tenants.",
    b"[log]",
    b"capacity",
    b"strategy",
    b"weight",
    b"budget",
    b"budget_window_secs",
    b"max_rows",
    b"\"fifo\"",
    b"\"priority\"",
    b"\"round-robin\"",
    b"\"fair-share\"",
    b"\"deadline\"",
];

/// Whole lines the mutator inserts.
const LINES: &[&str] = &[
    "[slots]",
    "[instances]",
    "[memory]",
    "[log]",
    "[tenants.alice]",
    "[extensions.mock-llm]",
    "capacity = 4",
    "strategy = \"fair-share\"",
    "weight = 2",
    "budget = 1.5",
    "budget_window_secs = 60",
    "max_rows = 10",
    "aging_ms = 1",
    "fairness_floor = 0.5",
    "window_secs = 1",
];

/// Values the mutator puts in place of others.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "nan",
    "inf",
    "\"\"",
    "\"deadline\"",
    "18446744073709551615",
    "[]",
    "{}",
    "true",
];
