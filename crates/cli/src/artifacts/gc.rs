//! `symphony artifacts gc` and `undo`: retention policies applied.

use std::path::PathBuf;
use std::process::ExitCode;

use symphony_host::{
    artifacts::ArtifactStore,
    artifacts::stale::{Action, RetentionPolicy},
};

use crate::HostArgs;

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// The retention policy (TOML); default: `<home>/retention.toml` if it
    /// exists, else the built-in policy, which deletes nothing.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Only show what would happen.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    /// The trashed artifact's id.
    id: String,
    /// The policy whose trash_days is the undo window (default as for gc).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

pub(super) fn undo(
    store: &ArtifactStore,
    host: &HostArgs,
    args: UndoArgs,
) -> anyhow::Result<ExitCode> {
    let policy = policy(host, args.policy.as_deref())?;
    let entry = store.undo_delete(&args.id, policy.trash_days)?;
    println!("{}: restored", entry.id);
    Ok(ExitCode::SUCCESS)
}

/// The policy in `path`, else `<home>/retention.toml`, else the default.
pub(super) fn policy(
    host: &HostArgs,
    path: Option<&std::path::Path>,
) -> anyhow::Result<RetentionPolicy> {
    if let Some(path) = path {
        return Ok(RetentionPolicy::from_file(path)?);
    }
    let home = host.home_dir()?;
    let default = home.join("retention.toml");
    if default.is_file() {
        return Ok(RetentionPolicy::from_file(&default)?);
    }
    Ok(RetentionPolicy::default())
}

pub(super) fn gc(store: &ArtifactStore, host: &HostArgs, args: GcArgs) -> anyhow::Result<ExitCode> {
    let policy = policy(host, args.policy.as_deref())?;
    let report = store.clean(&policy, args.dry_run)?;
    let acting: Vec<_> = report
        .decisions
        .iter()
        .filter(|d| d.action != Action::Keep)
        .collect();
    if args.json {
        let decisions: Vec<_> = acting
            .iter()
            .map(|d| {
                serde_json::json!({
                    "id": d.id,
                    "action": match d.action {
                        Action::Keep => "keep".to_string(),
                        Action::Archive(tier) => format!("archive:{tier}"),
                        Action::Delete => "delete".to_string(),
                    },
                    "reasons": d.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "score": d.score,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "dry_run": report.dry_run,
            "evaluated": report.decisions.len(),
            "decisions": decisions,
            "archived": report.archived.iter().map(|(id, tier)| serde_json::json!({"id": id, "tier": tier})).collect::<Vec<_>>(),
            "deleted": report.deleted,
            "purged": report.purged,
            "bytes_freed": report.bytes_freed,
            "skipped": report.skipped.iter().map(|(id, why)| serde_json::json!({"id": id, "reason": why})).collect::<Vec<_>>(),
            "errors": report.errors.iter().map(|f| serde_json::json!({"id": f.id, "error": f.error.to_string()})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for decision in &acting {
            println!("{decision}");
        }
        for failure in &report.errors {
            println!("FAILED {}: {}", failure.id, failure.error);
        }
        println!(
            "{}{} artifacts evaluated: {} archived, {} trashed, {} purged from the trash, {} bytes freed",
            if report.dry_run { "dry run: " } else { "" },
            report.decisions.len(),
            if report.dry_run {
                acting
                    .iter()
                    .filter(|d| matches!(d.action, Action::Archive(_)))
                    .count()
            } else {
                report.archived.len()
            },
            if report.dry_run {
                acting.iter().filter(|d| d.action == Action::Delete).count()
            } else {
                report.deleted.len()
            },
            report.purged.len(),
            report.bytes_freed
        );
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
