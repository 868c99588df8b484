//! `smoke [SECONDS] [SEED] [TARGET...]`: runs each fuzz target (default:
//! all of them, in `symphony_fuzz::TARGETS` order) on the stable toolchain
//! for SECONDS each (default 3), with mutations drawn from SEED (default:
//! from the clock). Prints a line per target and a closing summary and
//! exits 0, or panics with the target, the seed and the failing input in
//! hex.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use symphony_fuzz::{TARGETS, Target, smoke, target};

const USAGE: &str = "usage: smoke [SECONDS] [SEED] [TARGET...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}\ntargets: {}", names(TARGETS));
        return ExitCode::SUCCESS;
    }
    // Numbers first (SECONDS, then SEED); the first other word starts the
    // target names.
    let numbers = args
        .iter()
        .take(2)
        .take_while(|a| a.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
        .count();
    let seconds = match args
        .first()
        .filter(|_| numbers > 0)
        .map(|s| s.parse::<f64>())
    {
        None => 3.0,
        Some(Ok(s)) if (0.0..1e9).contains(&s) => s,
        Some(_) => return usage("SECONDS must be a number of seconds"),
    };
    let seed = match args
        .get(1)
        .filter(|_| numbers > 1)
        .map(|s| s.parse::<u64>())
    {
        None => clock_seed(),
        Some(Ok(seed)) => seed,
        Some(Err(_)) => return usage("SEED must be an unsigned integer"),
    };
    let mut chosen: Vec<&'static dyn Target> = Vec::new();
    for name in &args[numbers..] {
        match target(name) {
            Some(t) => chosen.push(t),
            None => {
                return usage(&format!("no target '{name}' (targets: {})", names(TARGETS)));
            }
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }

    let duration = Duration::from_secs_f64(seconds);
    let (mut runs, mut elapsed) = (0, Duration::ZERO);
    for t in &chosen {
        let report = smoke(*t, duration, seed);
        println!(
            "fuzz smoke: {} {} runs in {:.1} s, no crash",
            report.target,
            report.runs,
            report.elapsed.as_secs_f64()
        );
        runs += report.runs;
        elapsed += report.elapsed;
    }
    println!(
        "fuzz smoke: {} target{}, {runs} runs in {:.1} s (seed {seed}), no crash",
        chosen.len(),
        if chosen.len() == 1 { "" } else { "s" },
        elapsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn names(targets: &[&dyn Target]) -> String {
    targets
        .iter()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("smoke: {problem}\n{USAGE}");
    ExitCode::from(2)
}

fn clock_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}
