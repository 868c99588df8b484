//! `symphony run`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use symphony_host::{
    Host, NodeReport, NodeState, RunEvent, RunReport, RunState, Workflow, render_text,
};

use super::{ExtDirs, HostArgs, build_host};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The workflow file (JSON).
    workflow: PathBuf,
    #[command(flatten)]
    setup: RunSetup,
    /// Print the report (and addon views) as one JSON document.
    #[arg(long)]
    json: bool,
}

/// What running a workflow needs besides its file: the input and the
/// extensions (shared by `run` and `ext stats`).
#[derive(Debug, clap::Args)]
pub(super) struct RunSetup {
    /// The run's input: JSON text, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE")]
    input: Option<String>,
    #[command(flatten)]
    ext: ExtDirs,
}

impl RunSetup {
    /// Reads the input and the workflow at `workflow` (so a typo fails
    /// before anything loads), then builds the host and loads the
    /// extensions.
    pub(super) fn prepare(
        &self,
        host_args: HostArgs,
        workflow: &Path,
    ) -> anyhow::Result<(Host, Workflow, Value)> {
        let input = read_input(self.input.as_deref())?;
        let workflow = Workflow::from_file(workflow)?;
        let host = self.load(host_args)?;
        Ok((host, workflow, input))
    }

    /// Builds the host and loads the extensions.
    pub(super) fn load(&self, host_args: HostArgs) -> anyhow::Result<Host> {
        let host = build_host(host_args)?;
        self.ext.load_into(&host)?;
        Ok(host)
    }
}

/// The run's input from `--input`: JSON text, `@FILE`, or null when absent.
fn read_input(arg: Option<&str>) -> anyhow::Result<Value> {
    let Some(arg) = arg else {
        return Ok(Value::Null);
    };
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("reading --input file {path}"))?,
            path.to_string(),
        ),
        None => (arg.to_string(), "--input".to_string()),
    };
    serde_json::from_str(&text).with_context(|| {
        format!("{origin} is not JSON (a string must be quoted, e.g. --input '\"some text\"')")
    })
}

fn symbol(state: NodeState) -> &'static str {
    match state {
        NodeState::Completed => "✓",
        NodeState::Failed => "✗",
        NodeState::Skipped => "↷",
        NodeState::Running => "▶",
        NodeState::Pending => "·",
    }
}

fn node_line(node: &NodeReport) -> String {
    let time = node
        .duration_ms
        .map_or_else(|| "-".to_string(), |ms| format!("{ms:.2} ms"));
    format!(
        "  {} {:<16} {:<10} {:<18} {:>10}",
        symbol(node.state),
        node.id,
        node.kind.as_str(),
        node.extension,
        time
    )
}

/// Renders the report with every addon the workflow lists. An addon that
/// fails is reported in its place; it never hides the run's own report.
fn addon_views(host: &Host, workflow: &Workflow, report: &RunReport) -> Map<String, Value> {
    let status = report.to_json();
    let mut views = Map::new();
    for view in &workflow.addons {
        let rendered = host
            .addon(&view.extension)
            .and_then(|addon| Ok(addon.render(&status)?));
        let value = match rendered {
            Ok(nodes) => json!({"text": render_text(&nodes), "vnodes": nodes}),
            Err(error) => json!({"error": error.to_string()}),
        };
        views.insert(view.extension.clone(), value);
    }
    views
}

pub fn run(host_args: HostArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let (host, workflow, input) = args.setup.prepare(host_args, &args.workflow)?;
    let live = !args.json && std::io::stderr().is_terminal();
    let report = host.run_with(&workflow, &input, &mut |event| {
        if let (true, RunEvent::NodeStarted { node }) = (live, event) {
            eprintln!("  ▶ {} ({}) ...", node.id, node.extension);
        }
    })?;
    let views = addon_views(&host, &workflow, &report);
    host.shutdown();

    if args.json {
        let mut doc = serde_json::to_value(&report)?;
        doc["addons"] = Value::Object(views);
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let state = match report.state {
            RunState::Completed => "completed",
            RunState::Failed => "failed",
            RunState::Running => "running",
        };
        println!(
            "workflow '{}' {state} in {:.2} ms (run {})",
            report.workflow, report.elapsed_ms, report.run_id
        );
        for node in &report.nodes {
            println!("{}", node_line(node));
        }
        if let Some(output) = &report.output {
            println!("\noutput:\n{}", serde_json::to_string_pretty(output)?);
        }
        for (name, view) in &views {
            match (view["text"].as_str(), view["error"].as_str()) {
                (Some(text), _) => println!("\n{name}:\n{}", text.trim_end()),
                (None, error) => println!("\n{name}: cannot render: {}", error.unwrap_or_default()),
            }
        }
    }
    match report.error {
        Some(error) => bail!("{error}"),
        None => Ok(ExitCode::SUCCESS),
    }
}
