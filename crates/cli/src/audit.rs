//! `symphony audit`: the permission decisions and refused imports.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use symphony_host::extension::{AuditQuery, AuditRecord, Decision};

use super::{HostArgs, build_host};

/// Which audit records to show.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only this extension.
    #[arg(long = "ext", value_name = "NAME")]
    extension: Option<String>,
    /// Only grants or only denials.
    #[arg(long, value_parser = ["granted", "denied"])]
    decision: Option<String>,
    /// Only this capability kind (`net`, `fs`, ...) or exact capability.
    #[arg(long, value_name = "CAPABILITY")]
    capability: Option<String>,
    /// Only records from the last this many minutes.
    #[arg(long = "since-minutes", value_name = "MINUTES")]
    since_minutes: Option<u64>,
    /// At most this many records, the newest.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print one JSON object per record.
    #[arg(long)]
    json: bool,
}

pub fn run(host_args: HostArgs, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let host = build_host(host_args)?;
    let now = SystemTime::now();
    let since_ms = args.since_minutes.map(|minutes| {
        let since = now
            .checked_sub(Duration::from_secs(minutes.saturating_mul(60)))
            .unwrap_or(UNIX_EPOCH);
        millis(since)
    });
    let query = AuditQuery {
        extension: args.extension,
        decision: args.decision.as_deref().map(|d| match d {
            "granted" => Decision::Granted,
            _ => Decision::Denied,
        }),
        capability: args.capability,
        since_ms,
        limit: args.limit,
    };
    let records = host.audit().query(&query)?;
    for record in &records {
        if args.json {
            println!("{}", serde_json::to_string(record)?);
        } else {
            println!("{}", line(record, millis(now)));
        }
    }
    if records.is_empty() && !args.json {
        eprintln!(
            "no audit records match (log: {})",
            host.audit().path().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `3m ago  denied   hostile 1.0.0  publish:news.today  (runtime: publish on ...)`.
fn line(record: &AuditRecord, now_ms: u64) -> String {
    let age = Duration::from_millis(now_ms.saturating_sub(record.time_ms)).as_secs();
    let ago = match age {
        0..60 => format!("{age}s ago"),
        60..3600 => format!("{}m ago", age / 60),
        3600..86400 => format!("{}h ago", age / 3600),
        _ => format!("{}d ago", age / 86400),
    };
    let decision = record.decision.as_str();
    let who = match &record.version {
        Some(version) => format!("{} {version}", record.extension),
        None => record.extension.clone(),
    };
    let by = record.by.as_str();
    let detail = if record.detail.is_empty() {
        by.to_string()
    } else {
        format!("{by}: {}", record.detail)
    };
    format!(
        "{ago:>8}  {decision:<7}  {who}  {}  ({detail})",
        record.capability
    )
}
