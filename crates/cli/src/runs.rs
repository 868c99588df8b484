//! `symphony runs` and `symphony status`: the history of workflow runs.

use std::process::ExitCode;

use anyhow::Context;
use symphony_host::runs::{RunStore, RunSummary};

use super::HostArgs;
use super::remote::ConnectArgs;
use symphony_host::runs::RunStatus;
use symphony_service::api::{RunList, RunStatusRequest};

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// How many of the most recent runs to list.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print the runs as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The run's id, as `symphony run` and `symphony runs` print it.
    run_id: String,
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// The run store under the home directory, without loading any extension.
fn store(host: HostArgs) -> anyhow::Result<RunStore> {
    let home = host.home_dir()?;
    RunStore::open(home.join("runs.db")).context("opening the run history")
}

/// A run's state, or `interrupted` when its process is gone.
fn state(run: &RunSummary) -> String {
    if run.interrupted {
        "interrupted".into()
    } else {
        run.state.to_string()
    }
}

/// How long ago a Unix time in milliseconds was, e.g. `5m ago`.
pub(super) fn age(started_ms: u64) -> String {
    let now = symphony_host::protocol::now_us() / 1000;
    let secs = now.saturating_sub(started_ms) / 1000;
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

pub fn list(host: HostArgs, args: RunsArgs) -> anyhow::Result<ExitCode> {
    let runs = match args.connect.service(&host)? {
        Some(client) => client.call(&RunList { limit: args.limit })?.runs,
        None => store(host)?.runs(args.limit)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("no runs yet");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<20} {:<12} {:>13} {:>12} {:>9}",
        "RUN", "WORKFLOW", "STATE", "NODES", "TIME", "STARTED"
    );
    for run in &runs {
        let time = run
            .elapsed_ms
            .map_or_else(|| "-".into(), |ms| format!("{ms:.1} ms"));
        println!(
            "{:<24} {:<20} {:<12} {:>13} {:>12} {:>9}",
            run.id,
            run.workflow,
            state(run),
            // Finished in any way, as a run's progress counts them.
            format!("{}/{}", run.completed + run.skipped + run.failed, run.total),
            time,
            age(run.started_ms)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(host: HostArgs, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let mut waiting = std::collections::BTreeMap::new();
    let status: RunStatus = match args.connect.service(&host)? {
        Some(client) => {
            let reply = client.call(&RunStatusRequest {
                run: args.run_id.clone(),
            })?;
            waiting = reply.waiting;
            let mut status = reply.status;
            // The record does not show a pause; the service knows.
            if let Some(live) = reply
                .live
                .and_then(|l| serde_json::from_value(l.into()).ok())
            {
                status.summary.state = live;
            }
            status
        }
        None => store(host)?.status(&args.run_id)?,
    };
    if args.json {
        let mut doc = serde_json::to_value(&status)?;
        if !waiting.is_empty() {
            doc["waiting"] = serde_json::to_value(&waiting)?;
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let run = &status.summary;
    println!(
        "run {} of workflow '{}' ({})",
        run.id, run.workflow, run.workflow_id
    );
    println!("  state:    {}", state(run));
    println!(
        "  nodes:    {} completed, {} skipped, {} failed of {}",
        run.completed, run.skipped, run.failed, run.total
    );
    println!("  started:  {}", age(run.started_ms));
    if let Some(ms) = run.elapsed_ms {
        println!("  time:     {ms:.1} ms");
    }
    if run.resumes > 0 {
        println!("  resumed:  {} time(s)", run.resumes);
    }
    if let Some(error) = &run.error {
        println!("  error:    {error}");
    }
    if run.interrupted || run.state == symphony_host::runs::ExecutionState::Failed {
        println!("  continue: symphony resume {}", run.id);
    }
    for node in &status.nodes {
        let time = node
            .duration_ms
            .map_or_else(|| "-".into(), |ms| format!("{ms:.2} ms"));
        println!(
            "  {:>5} {:<20} {:<10} {:>12} attempts {}{}",
            node.seq,
            node.node,
            node.state,
            time,
            node.attempts,
            node.error
                .as_ref()
                .map(|e| format!("  {e}"))
                .unwrap_or_default()
        );
    }
    for explanation in waiting.values() {
        println!("  waiting:  {explanation}");
    }
    if let Some(output) = &status.output {
        println!("\noutput:\n{}", serde_json::to_string_pretty(output)?);
    }
    Ok(ExitCode::SUCCESS)
}
