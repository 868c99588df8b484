//! `symphony arbitration stats|log`: what the Arbitration Engine decided,
//! from its log in the host's data directory (`<home>/arbitration.db`).

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use symphony_host::arbitration::{ArbitrationConfig, LogQuery, SqliteLog, Stats, Verdict};

use super::HostArgs;

#[derive(Debug, Subcommand)]
pub enum ArbitrationCommand {
    /// Per-tenant waits (p50/p99), each tenant's share of each resource,
    /// Jain's index and the Gini coefficient over a window.
    Stats(StatsArgs),
    /// The decisions (queued, granted, evicted-for, refused, timed-out,
    /// cancelled, boosted), newest first, with their reasons.
    Log(LogArgs),
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The window, in seconds; default: arbitration.toml's window_secs
    /// (60).
    #[arg(long = "window-secs", value_name = "SECS")]
    window_secs: Option<u64>,
    /// Print the stats as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Only this tenant's decisions.
    #[arg(long, value_name = "T")]
    tenant: Option<String>,
    /// Only this resource's (`slots`, `instances:<extension>`, `memory`,
    /// `budget`).
    #[arg(long, value_name = "R")]
    resource: Option<String>,
    /// Only this verdict.
    #[arg(long, value_parser = ["granted", "queued", "evicted-for", "refused", "timed-out", "cancelled", "boosted", "unlogged"])]
    verdict: Option<String>,
    /// At most this many, the newest (default 50).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print one JSON object per decision.
    #[arg(long)]
    json: bool,
}

pub fn run(host: HostArgs, command: ArbitrationCommand) -> anyhow::Result<ExitCode> {
    let home = host.home_dir()?;
    let config = ArbitrationConfig::load(&home.join("arbitration.toml"))?;
    let db = home.join("arbitration.db");
    match command {
        ArbitrationCommand::Stats(args) => {
            let window = args
                .window_secs
                .map_or_else(|| config.window(), Duration::from_secs);
            let weight = |tenant: &str| {
                config
                    .tenants
                    .get(tenant)
                    .and_then(|t| t.weight)
                    .unwrap_or(1.0)
            };
            let stats = SqliteLog::stats(&db, window, weight)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print_stats(&stats, &db.display().to_string());
            }
        }
        ArbitrationCommand::Log(args) => {
            let query = LogQuery {
                limit: args.limit,
                tenant: args.tenant,
                resource: args.resource,
                verdict: args.verdict.as_deref().and_then(Verdict::parse),
            };
            let decisions = SqliteLog::read(&db, &query)?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            for decision in &decisions {
                if args.json {
                    println!("{}", serde_json::to_string(decision)?);
                } else {
                    let age = Duration::from_millis(now.saturating_sub(decision.at_ms)).as_secs();
                    let waited = match decision.waited_us {
                        0 => String::new(),
                        us => format!(
                            " after {}",
                            symphony_host::arbitration::human_ms(us as f64 / 1e3)
                        ),
                    };
                    println!(
                        "{:>7}  {:<11} {:<22} {:<12} {}{}: {}",
                        ago(age),
                        decision.verdict.name(),
                        decision.resource,
                        decision.tenant,
                        decision.label,
                        waited,
                        decision.reason
                    );
                }
            }
            if decisions.is_empty() && !args.json {
                eprintln!("no decisions match (log: {})", db.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ago(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

fn print_stats(stats: &Stats, db: &str) {
    println!("arbitration over the last {} s ({db})", stats.window_secs);
    if stats.resources.is_empty() {
        println!("  no grants in the window");
        return;
    }
    println!(
        "\n  {:<26} {:>8} {:>8} {:>7} {:>7}",
        "resource", "at once", "waited", "jain", "gini"
    );
    for r in &stats.resources {
        println!(
            "  {:<26} {:>8} {:>8} {:>7.3} {:>7.3}",
            r.name, r.free_grants, r.waited, r.jain, r.gini
        );
    }
    println!(
        "\n  {:<16} {:>6} {:>8} {:>8} {:>10} {:>10}  shares of waited grants",
        "tenant", "weight", "at once", "waited", "wait p50", "wait p99"
    );
    for t in &stats.tenants {
        let shares: Vec<String> = t
            .shares
            .iter()
            .map(|(resource, share)| format!("{resource} {:.0}%", share * 100.0))
            .collect();
        println!(
            "  {:<16} {:>6} {:>8} {:>8} {:>10} {:>10}  {}",
            t.tenant,
            t.weight,
            t.free_grants,
            t.waited,
            symphony_host::arbitration::human_ms(t.wait_p50_ms),
            symphony_host::arbitration::human_ms(t.wait_p99_ms),
            shares.join(", ")
        );
    }
}
