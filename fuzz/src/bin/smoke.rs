//! `smoke [SECONDS] [SEED]`: runs the `frame_decoder` fuzz target on the
//! stable toolchain for SECONDS (default 3) with mutations drawn from SEED
//! (default: from the clock). Exits 0 after printing a one-line summary, or
//! panics with the failing input in hex.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: smoke [SECONDS] [SEED]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() > 2 || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let seconds = match args.first().map(|s| s.parse::<f64>()) {
        None => 3.0,
        Some(Ok(s)) if (0.0..1e9).contains(&s) => s,
        Some(_) => {
            eprintln!("smoke: SECONDS must be a number of seconds\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let seed = match args.get(1).map(|s| s.parse::<u64>()) {
        None => clock_seed(),
        Some(Ok(seed)) => seed,
        Some(Err(_)) => {
            eprintln!("smoke: SEED must be an unsigned integer\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let report = symphony_fuzz::smoke(Duration::from_secs_f64(seconds), seed);
    println!(
        "fuzz smoke: frame_decoder {} runs in {:.1} s, no crash",
        report.runs,
        report.elapsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn clock_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}
