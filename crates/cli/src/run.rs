//! `symphony run`.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};
use symphony_host::{
    Host,
    runs::{ExecutionState, NodeReport, NodeState, RunEvent, RunOptions, RunReport},
    workflow::Workflow,
};
use symphony_service::ServiceClient;
use symphony_service::api::{ErrorKind, RunReportRequest, RunResume, RunStart, RunStatusRequest};

use super::exit::RunEnded;
use super::remote::{ConnectArgs, Followed, is_end, next_event};
use super::{ExtDirs, HostArgs, LimitArgs, build_host};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The workflow file (JSON); not needed with --resume.
    #[arg(required_unless_present = "resume")]
    workflow: Option<PathBuf>,
    /// Continue run RUN_ID (killed, or failed) from its checkpoint: nodes
    /// that finished are not run again.
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["workflow", "input"])]
    resume: Option<String>,
    #[command(flatten)]
    setup: RunSetup,
    /// The most nodes running at once; default: the number of cores.
    #[arg(long, value_name = "N")]
    concurrency: Option<NonZeroUsize>,
    /// The longest the whole run may take, in milliseconds (overrides the
    /// workflow's timeout_ms).
    #[arg(long = "timeout-ms", value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Do not record the run or checkpoint it (it cannot be resumed).
    #[arg(long)]
    no_checkpoint: bool,
    /// Do not keep node outputs in the Artifact Store.
    #[arg(long)]
    no_artifacts: bool,
    /// Whose run it is, for the Arbitration Engine (weights and budgets in
    /// <home>/arbitration.toml); default: the local user.
    #[arg(long, value_name = "T", value_parser = parse_tenant)]
    tenant: Option<String>,
    /// The run's priority: where a strategy goes by priority, its nodes go
    /// before lower ones when slots or instances are contended.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    priority: i32,
    /// What the run's calls may cost in all (manifests' `limits.cost`);
    /// a call past it fails with budget-exhausted.
    #[arg(long, value_name = "B", value_parser = parse_budget)]
    budget: Option<f64>,
    /// Print the report (and addon views) as one JSON document.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

fn parse_tenant(text: &str) -> Result<String, String> {
    symphony_service::api::check_tenant(text).map(|()| text.to_string())
}

fn parse_budget(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(b) if (0.0..=symphony_host::arbitration::MAX_BUDGET).contains(&b) => Ok(b),
        _ => Err(format!("expected a number from 0 to 1e12, not '{text}'")),
    }
}

/// What running a workflow needs besides its file: the input and the
/// extensions (shared by `run` and `ext stats`).
#[derive(Debug, clap::Args)]
pub(super) struct RunSetup {
    /// The run's input: JSON text, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE")]
    pub(super) input: Option<String>,
    #[command(flatten)]
    pub(super) ext: ExtDirs,
    #[command(flatten)]
    pub(super) limits: LimitArgs,
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

    /// Builds the host (with the limit flags) and loads the extensions.
    pub(super) fn load(&self, host_args: HostArgs) -> anyhow::Result<Host> {
        let host = build_host(self.limits.onto(host_args))?;
        self.ext.load_into(&host)?;
        Ok(host)
    }
}

/// The run's input from `--input`: JSON text, `@FILE`, or null when absent.
pub(super) fn read_input(arg: Option<&str>) -> anyhow::Result<Value> {
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

pub fn run(host_args: HostArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    // A mistake in the input or the workflow is reported alone, before
    // any host is chosen.
    read_input(args.setup.input.as_deref())?;
    if let Some(path) = &args.workflow {
        Workflow::from_file(path)?;
    }
    let all_nodes = host_args.verbose;
    if let Some(client) = args.connect.service(&host_args)? {
        return remote(&client, args, all_nodes);
    }
    embedded(host_args, args)
}

impl RunArgs {
    /// `run --resume RUN_ID` in this process, with the extensions in `ext`.
    pub fn resuming(run_id: String, ext: ExtDirs, limits: LimitArgs, json: bool) -> RunArgs {
        RunArgs {
            workflow: None,
            resume: Some(run_id),
            setup: RunSetup {
                input: None,
                ext,
                limits,
            },
            concurrency: None,
            timeout_ms: None,
            no_checkpoint: false,
            no_artifacts: false,
            tenant: None,
            priority: 0,
            budget: None,
            json,
            connect: ConnectArgs::default(),
        }
    }
}

/// Runs (or resumes) in this process.
pub(super) fn embedded(host_args: HostArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let all_nodes = host_args.verbose;
    let mut options = RunOptions {
        timeout: args.timeout_ms.map(Duration::from_millis),
        checkpoint: !args.no_checkpoint,
        store_outputs: !args.no_artifacts,
        tenant: args.tenant.clone(),
        priority: args.priority,
        budget: args.budget,
        ..RunOptions::default()
    };
    if let Some(concurrency) = args.concurrency {
        options.concurrency = concurrency;
    }
    let live = !args.json && std::io::stderr().is_terminal();
    let (host, workflow, report) = match (&args.resume, &args.workflow) {
        (Some(run_id), _) => {
            let host = args.setup.load(host_args)?;
            let store = host.runs()?;
            let workflow = Workflow::from_json(&store.workflow(run_id)?, run_id)?;
            let mut progress = LiveProgress::new(live, !args.json, workflow.nodes.len());
            let before = store.status(run_id)?.summary;
            progress.restored(before.completed + before.skipped);
            let report = host.resume(run_id, options, &mut |e| progress.event(e))?;
            progress.finish();
            (host, workflow, report)
        }
        (None, Some(path)) => {
            let (host, workflow, input) = args.setup.prepare(host_args, path)?;
            let mut progress = LiveProgress::new(live, !args.json, workflow.nodes.len());
            let report =
                host.run_with_options(&workflow, &input, options, &mut |e| progress.event(e))?;
            progress.finish();
            (host, workflow, report)
        }
        (None, None) => bail!("name a workflow file, or --resume RUN_ID"),
    };
    let views = symphony_service::render_addons(&host, &workflow, &report);
    // Prewarm starts may still be under way: let them finish, then stop.
    host.shutdown_within(Duration::from_secs(5));
    print_outcome(report, views, args.json, args.no_checkpoint, all_nodes)
}

/// Runs (or resumes) on the service, following the run's events to its
/// end, then prints what an embedded run prints.
fn remote(client: &ServiceClient, args: RunArgs, all_nodes: bool) -> anyhow::Result<ExitCode> {
    if !args.setup.ext.is_empty() {
        eprintln!(
            "note: the service uses the extensions it was started with (`symphony serve --ext-dir`); \
             --ext-dir and --grant are not used"
        );
    }
    let live = !args.json && std::io::stderr().is_terminal();
    let run_id = match &args.resume {
        Some(run_id) => run_id.clone(),
        None => symphony_host::runs::new_run_id(),
    };
    // Subscribed before the run starts, so no event is missed.
    let events = client.subscribe(&format!("exec.{run_id}.>"))?;
    let total = match (&args.resume, &args.workflow) {
        (Some(_), _) => {
            let status = client.call(&RunStatusRequest {
                run: run_id.clone(),
            })?;
            client.call(&RunResume {
                run: run_id.clone(),
            })?;
            status.status.summary.total
        }
        (None, Some(path)) => {
            let input = read_input(args.setup.input.as_deref())?;
            // Read here, so a mistake is reported at its file and line.
            let workflow = Workflow::from_file(path)?;
            let request = RunStart {
                workflow: Some(serde_json::from_str(&workflow.to_json())?),
                input,
                run_id: Some(run_id.clone()),
                concurrency: args
                    .concurrency
                    .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX)),
                timeout_ms: args.timeout_ms,
                no_checkpoint: args.no_checkpoint,
                no_artifacts: args.no_artifacts,
                tenant: args.tenant.clone(),
                priority: args.priority,
                budget: args.budget,
                ..RunStart::default()
            };
            client.call(&request).map_err(|e| match e.kind() {
                Some(ErrorKind::InvalidWorkflow) if e.to_string().contains("unknown extension") => {
                    anyhow::anyhow!(
                        "{e}\n(the service at {} has the extensions it was started with: \
                         `symphony serve --ext-dir DIR`)",
                        client.path().display()
                    )
                }
                _ => e.into(),
            })?;
            workflow.nodes.len()
        }
        (None, None) => bail!("name a workflow file, or --resume RUN_ID"),
    };
    let mut progress = LiveProgress::new(live, !args.json, total);
    loop {
        match next_event(client, &events) {
            Followed::Event(event) => {
                progress.remote(&event);
                if is_end(&event) {
                    break;
                }
            }
            Followed::Lost(reason) => {
                progress.finish();
                bail!(
                    "{reason} while run {run_id} ran; `symphony status {run_id}` shows where it is"
                )
            }
        }
    }
    progress.finish();
    let reply = client.call(&RunReportRequest { run: run_id })?;
    print_outcome(
        reply.report,
        reply.addons,
        args.json,
        args.no_checkpoint,
        all_nodes,
    )
}

/// Runs with more nodes than this print a summary unless `-v` asks for
/// every node.
const LISTED_NODES: usize = 50;

/// A big run's nodes in a few lines: counts by state, the failed nodes and
/// the slowest.
fn print_node_summary(report: &RunReport) {
    let count = |state| report.nodes.iter().filter(|n| n.state == state).count();
    println!(
        "  {} nodes: {} completed, {} failed, {} skipped, {} not run",
        report.nodes.len(),
        count(NodeState::Completed),
        count(NodeState::Failed),
        count(NodeState::Skipped),
        count(NodeState::Pending) + count(NodeState::Running),
    );
    let failed: Vec<&NodeReport> = report
        .nodes
        .iter()
        .filter(|n| n.state == NodeState::Failed)
        .collect();
    for node in failed.iter().take(10) {
        println!("{}", node_line(node));
        if let Some(error) = &node.error {
            println!("      {error}");
        }
    }
    if failed.len() > 10 {
        println!("  ... and {} more failed", failed.len() - 10);
    }
    let mut slowest: Vec<(f64, &NodeReport)> = report
        .nodes
        .iter()
        .filter_map(|n| Some((n.duration_ms?, n)))
        .collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    if !slowest.is_empty() {
        println!("  slowest:");
        for (_, node) in slowest.iter().take(5) {
            println!("{}", node_line(node));
        }
    }
    println!(
        "  (`symphony -v run` lists every node; `symphony status {}` shows the record)",
        report.run_id
    );
}

/// Prints a run's report and addon views; the exit code says how it ended.
fn print_outcome(
    report: RunReport,
    views: Map<String, Value>,
    json: bool,
    no_checkpoint: bool,
    all_nodes: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        let mut doc = serde_json::to_value(&report)?;
        doc["addons"] = Value::Object(views);
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "workflow '{}' {}{} in {:.2} ms (run {})",
            report.workflow,
            report.state,
            if report.resumed { " (resumed)" } else { "" },
            report.elapsed_ms,
            report.run_id
        );
        if all_nodes || report.nodes.len() <= LISTED_NODES {
            for node in &report.nodes {
                println!("{}", node_line(node));
            }
        } else {
            print_node_summary(&report);
        }
        if let Some(output) = &report.output {
            println!("\noutput:\n{}", serde_json::to_string_pretty(output)?);
        }
        let stored = report.nodes.iter().filter(|n| n.artifact.is_some()).count();
        if stored > 0 {
            println!(
                "\n{stored} node outputs kept: `symphony artifacts ls --tag run:{}`",
                report.run_id
            );
        }
        for (name, view) in &views {
            match (view["text"].as_str(), view["error"].as_str()) {
                (Some(text), _) => println!("\n{name}:\n{}", text.trim_end()),
                (None, error) => println!("\n{name}: cannot render: {}", error.unwrap_or_default()),
            }
        }
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    let id = &report.run_id;
    let why = match (report.state, report.error) {
        (ExecutionState::Completed, _) => return Ok(ExitCode::SUCCESS),
        (ExecutionState::Failed, Some(error)) if !no_checkpoint => {
            format!("{error} (run {id}; `symphony resume {id}` retries it)")
        }
        (_, Some(error)) => format!("{error} (run {id})"),
        (state, None) => format!("run {id} ended {state}"),
    };
    Err(RunEnded(why).into())
}

/// A progress bar on the terminal with the nodes running now, and each
/// wait for a contended resource said as it happens.
struct LiveProgress {
    bar: Option<ProgressBar>,
    running: BTreeSet<String>,
    /// Whether waits are said (not with --json).
    waits: bool,
}

impl LiveProgress {
    fn new(live: bool, waits: bool, total: usize) -> Self {
        let bar = live.then(|| {
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {percent}% {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        LiveProgress {
            bar,
            running: BTreeSet::new(),
            waits,
        }
    }

    /// A node waits for a contended resource: says where it stands.
    fn waiting(&self, explanation: &str) {
        if !self.waits {
            return;
        }
        let line = format!("  ⧗ {explanation}");
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Nodes a resumed run takes from its checkpoint count as done.
    fn restored(&self, nodes: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(nodes as u64);
        }
    }

    /// Follows a node event of a run in this process.
    fn event(&mut self, event: RunEvent<'_>) {
        match event {
            RunEvent::NodeStarted { node } => self.started(&node.id),
            RunEvent::NodeFinished { node } => {
                let failed =
                    (node.state == NodeState::Failed).then(|| node.error.as_deref().unwrap_or(""));
                self.finished(&node.id, failed);
            }
            RunEvent::NodeWaiting { explanation, .. } => self.waiting(&explanation.to_string()),
            _ => {}
        }
    }

    /// Follows a run event from the service's bus (JSON).
    fn remote(&mut self, event: &Value) {
        let node = event["node"].as_str().unwrap_or_default();
        match event["event"].as_str() {
            Some("started") => self.restored(event["restored"].as_u64().unwrap_or(0) as usize),
            Some("node_started") => self.started(node),
            Some("node_completed" | "node_skipped") => self.finished(node, None),
            Some("node_failed") => {
                self.finished(node, Some(event["error"].as_str().unwrap_or_default()));
            }
            Some("node_waiting") => self.waiting(event["explanation"].as_str().unwrap_or_default()),
            _ => {}
        }
    }

    fn started(&mut self, node: &str) {
        if self.bar.is_some() {
            self.running.insert(node.to_string());
            self.show_running();
        }
    }

    /// A node finished; `failed` carries its error when it failed.
    fn finished(&mut self, node: &str, failed: Option<&str>) {
        let Some(bar) = &self.bar else {
            return;
        };
        self.running.remove(node);
        bar.inc(1);
        if let Some(error) = failed {
            bar.println(format!("  ✗ {node}: {error}"));
        }
        self.show_running();
    }

    fn show_running(&self) {
        let Some(bar) = &self.bar else {
            return;
        };
        let names: Vec<&str> = self.running.iter().take(6).map(String::as_str).collect();
        let more = self.running.len().saturating_sub(names.len());
        let mut message = format!("running: {}", names.join(", "));
        if more > 0 {
            message.push_str(&format!(" +{more}"));
        }
        bar.set_message(message);
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
