//! The scheduler: runs a validated workflow's ready nodes in parallel up
//! to a limit, applies each node's timeout and recovery policy, records a
//! checkpoint after every finished node and tells subscribers as it goes.
//!
//! The scheduler is one tokio task (on a current-thread runtime driven by
//! the calling thread): it waits on node completions, on the run's
//! control (pause, resume, cancel), on retry timers and on the workflow's
//! deadline at once. Calls into extensions are synchronous wasmtime calls,
//! so they run on a scoped pool of `concurrency` worker threads; control
//! steps (branch, merge) are a few microseconds of work and run inline on
//! the scheduler, so a graph of them costs no thread hand-offs at all.

mod state;
mod workers;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::outputs::OutputArchive;
use super::store::{NewRun, RunStore, RunStoreError};
use super::{ExecEvent, ExecutionState, RunControl};
use crate::host::HostInner;
use crate::pit::dag::report::{RunEvent, RunReport};
use crate::pit::dag::walk::Graph;
use crate::workflow::expr::Compiled;
use crate::workflow::{Plan, Workflow};
use crate::{Error, Host};
use state::Scheduler;

/// How to run a workflow. The default: as many nodes at once as the
/// machine has cores, the workflow's own timeout, checkpoints in the
/// host's run store, a fresh control handle.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The most nodes running at once (extension calls and map nodes;
    /// branch and merge steps take no slot).
    pub concurrency: NonZeroUsize,
    /// The longest the whole run may take; overrides the workflow's
    /// `timeout_ms`.
    pub timeout: Option<Duration>,
    /// The handle to pause, resume or cancel the run and subscribe to its
    /// events; keep a clone before passing it. Its id becomes the run's.
    pub control: Option<RunControl>,
    /// Whether to record the run and a checkpoint after every node in the
    /// host's run store (`<home>/runs.db`), so it shows in `symphony runs`
    /// and can be resumed.
    pub checkpoint: bool,
    /// Whether to start an instance of each extension the workflow calls
    /// in the background as the run begins, so nodes deep in the graph
    /// find theirs warm (the Pool Manager's prewarming).
    pub prewarm: bool,
    /// Whether to keep every extension and map node's output (and the
    /// run's input) in the host's Artifact Store: tagged `run:<id>`,
    /// `node:<id>`, `workflow:<id>`, versioned as `<workflow id>/<node id>`
    /// (the input as `<workflow id>#input`)
    /// and linked to the outputs they were computed from. Stored off the
    /// scheduler's path in batches; the run returns once they are durable.
    pub store_outputs: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            timeout: None,
            control: None,
            checkpoint: true,
            prewarm: true,
            store_outputs: true,
        }
    }
}

/// A run to pick up where it stopped: the nodes its checkpoint holds.
pub(crate) struct Resume {
    pub(crate) run_id: String,
    /// (node id, finish order, outcome JSON).
    pub(crate) finished: Vec<(String, u64, String)>,
}

/// Runs `workflow` (already validated into `plan`) on `input`.
pub(crate) fn execute(
    host: &Arc<HostInner>,
    workflow: &Workflow,
    plan: &Plan,
    input: &Value,
    options: RunOptions,
    resume: Option<Resume>,
    observer: &mut dyn FnMut(RunEvent<'_>),
) -> Result<RunReport, Error> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Setup(
            "a workflow run blocks its thread; call it from tokio::task::spawn_blocking, \
             not from inside an async task"
                .into(),
        ));
    }
    let run_id = match (&resume, &options.control) {
        (Some(resume), Some(control)) if control.run_id() != resume.run_id => {
            return Err(Error::Setup(format!(
                "resuming run {} with a control handle for run {}",
                resume.run_id,
                control.run_id()
            )));
        }
        (Some(resume), _) => resume.run_id.clone(),
        (None, Some(control)) => control.run_id().to_string(),
        (None, None) => new_run_id(),
    };
    let _active = ActiveRun::enter(host, &run_id)?;
    if options.prewarm {
        Host::prewarm_in_background_for(host, workflow);
    }
    let control = options
        .control
        .clone()
        .unwrap_or_else(|| RunControl::new(run_id.clone()));
    // A control steers one execution: a fresh one starts it; a failed
    // run's own control retries it (Failed → Running) when resumed.
    match (control.state(), &resume) {
        (ExecutionState::Pending, _) | (ExecutionState::Failed, Some(_)) => {}
        (state, _) => {
            return Err(Error::Setup(format!(
                "run {run_id}: its RunControl is already {state}; each run needs a new one \
                 (a failed run's own control can retry it through Host::resume)"
            )));
        }
    }
    let mut warnings = Vec::new();
    let store = match (options.checkpoint, &resume) {
        (false, _) => None,
        // A resumed run exists only in the store: it must keep recording.
        (true, Some(_)) => Some(host.runs()?),
        (true, None) => match host.runs() {
            Ok(store) => Some(store),
            Err(e) => {
                warnings.push(format!("{e}; this run is not checkpointed"));
                None
            }
        },
    };
    let writer = match store {
        None => None,
        Some(store) => {
            let setup = |e: RunStoreError| Error::Setup(e.to_string());
            match &resume {
                None => store
                    .begin(&NewRun {
                        id: &run_id,
                        workflow_id: &workflow.id,
                        workflow_name: &workflow.name,
                        workflow: &workflow.to_json(),
                        input: &input.to_string(),
                        total: workflow.nodes.len() - plan.standby.len(),
                    })
                    .map_err(setup)?,
                Some(_) => store.reopen(&run_id).map_err(setup)?,
            }
            Some(store.writer(&run_id).map_err(setup)?)
        }
    };
    let moved = match control.state() {
        ExecutionState::Failed => control.retry_failed(),
        _ => control.start(),
    };
    moved.map_err(|e| Error::Setup(e.to_string()))?;
    let deadline = options
        .timeout
        .or(workflow.timeout_ms.map(Duration::from_millis));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::Setup(format!("cannot start the run's scheduler: {e}")))?;
    let run: Arc<str> = run_id.into();
    let expressions = Compiled::default();
    let graph = Graph {
        nodes: &workflow.nodes,
        edges: &workflow.edges,
        plan,
        expressions: &expressions,
    };
    let archive = match options.store_outputs {
        false => None,
        true => match OutputArchive::start(host) {
            Ok(archive) => Some(archive),
            Err(e) => {
                warnings.push(format!("{e}; node outputs are not kept"));
                None
            }
        },
    };
    let started = Instant::now();
    let mut scheduler = Scheduler::new(
        host,
        workflow,
        plan,
        &graph,
        input,
        run,
        control,
        writer.as_ref(),
        archive.as_ref(),
        observer,
        deadline.map(|d| (started + d, d)),
    );
    if let Some(resume) = resume {
        scheduler.restore(resume.finished)?;
    }
    let (workers, jobs) = workers::Pool::new(options.concurrency, scheduler.needs_workers());
    let (mut report, end) = std::thread::scope(|scope| {
        let handle = workers.start(scope, host, &graph, jobs);
        runtime.block_on(scheduler.drive(handle))
    });
    if let Some(e) = archive.and_then(OutputArchive::finish) {
        warnings.push(e);
    }
    report.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    report.warnings.extend(warnings);
    if let Some(writer) = writer {
        let output = report.output.as_ref().map(Value::to_string);
        if let Err(e) = writer.finish(end, output, report.error.clone(), report.elapsed_ms) {
            report
                .warnings
                .push(format!("{e}; resuming may re-run some nodes"));
        }
    }
    Ok(report)
}

impl Host {
    /// Validates and runs `workflow` on `input`. A node failure is not an
    /// error: the report's state is `failed` and says which node and why.
    pub fn run(&self, workflow: &Workflow, input: &Value) -> Result<RunReport, Error> {
        self.run_with(workflow, input, &mut |_| {})
    }

    /// Like [`Host::run`], calling `observer` as nodes start and finish.
    pub fn run_with(
        &self,
        workflow: &Workflow,
        input: &Value,
        observer: &mut dyn FnMut(RunEvent<'_>),
    ) -> Result<RunReport, Error> {
        self.run_with_options(workflow, input, RunOptions::default(), observer)
    }

    /// Like [`Host::run_with`], with `options`: the concurrency, a
    /// timeout, a [`RunControl`](crate::RunControl) to pause, resume or cancel the run and
    /// subscribe to its events, and whether to checkpoint it.
    ///
    /// Blocks the calling thread until the run ends; from async code, call
    /// it inside `tokio::task::spawn_blocking`.
    pub fn run_with_options(
        &self,
        workflow: &Workflow,
        input: &Value,
        options: RunOptions,
        observer: &mut dyn FnMut(RunEvent<'_>),
    ) -> Result<RunReport, Error> {
        let plan = self.validate(workflow)?;
        execute(&self.inner, workflow, &plan, input, options, None, observer)
    }

    /// Picks up run `run_id` where it stopped (killed, or failed): the
    /// nodes its checkpoint holds are not run again, failed nodes are, and
    /// the run ends as an uninterrupted one would. The workflow and input
    /// come from the run store; the extensions must be loaded. This is
    /// also how a failed run is retried: pass its own
    /// [`RunControl`](crate::RunControl) in `options` and it goes Failed →
    /// Running.
    /// A resumed run is always checkpointed.
    pub fn resume(
        &self,
        run_id: &str,
        options: RunOptions,
        observer: &mut dyn FnMut(RunEvent<'_>),
    ) -> Result<RunReport, Error> {
        let store = self.inner.runs()?;
        let refused = |why: String| Error::Setup(format!("cannot resume run {run_id}: {why}"));
        // Read and check everything before the store is told anything.
        let checkpoint = store
            .checkpoint(run_id)
            .map_err(|e| refused(e.to_string()))?;
        let workflow = Workflow::from_json(&checkpoint.workflow, &format!("run {run_id}"))?;
        let input: Value = serde_json::from_str(&checkpoint.input)
            .map_err(|e| refused(format!("its stored input is unreadable: {e}")))?;
        let plan = self.validate(&workflow)?;
        tracing::debug!(run = run_id, from = %checkpoint.state, "resuming");
        let resume = Resume {
            run_id: run_id.to_string(),
            finished: checkpoint.finished,
        };
        let options = RunOptions {
            checkpoint: true,
            ..options
        };
        execute(
            &self.inner,
            &workflow,
            &plan,
            &input,
            options,
            Some(resume),
            observer,
        )
    }

    /// The host's record of workflow runs (`<home>/runs.db`).
    pub fn runs(&self) -> Result<&RunStore, Error> {
        self.inner.runs()
    }
}

/// Marks a run as executing in this host for as long as it lives, so the
/// same run is never driven twice at once (a resume while it runs).
struct ActiveRun<'h> {
    host: &'h HostInner,
    id: String,
}

impl<'h> ActiveRun<'h> {
    fn enter(host: &'h HostInner, id: &str) -> Result<Self, Error> {
        let mut active = host.active_runs.lock().unwrap_or_else(|e| e.into_inner());
        if !active.insert(id.to_string()) {
            return Err(Error::Setup(format!(
                "run {id} is already executing in this host"
            )));
        }
        Ok(ActiveRun {
            host,
            id: id.to_string(),
        })
    }
}

impl Drop for ActiveRun<'_> {
    fn drop(&mut self) {
        let mut active = (self.host.active_runs.lock()).unwrap_or_else(|e| e.into_inner());
        active.remove(&self.id);
    }
}

/// A new run id: the time in nanoseconds and a counter, in hex.
pub(crate) fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{:x}-{:x}",
        symphony_protocol::now_us(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl HostInner {
    /// The host's run store, opened on first use.
    pub(crate) fn runs(&self) -> Result<&RunStore, Error> {
        if let Some(store) = self.run_store.get() {
            return Ok(store);
        }
        let store =
            RunStore::open(self.home.join("runs.db")).map_err(|e| Error::Setup(e.to_string()))?;
        Ok(self.run_store.get_or_init(|| store))
    }
}

/// Sends a run's events to its subscribers and to the bus
/// (`exec.<run>.<event>`, JSON), building each event only when someone
/// listens.
pub(crate) struct Events<'h> {
    host: &'h HostInner,
    control: RunControl,
    /// `exec.<run>.<event>` for each event name, built once per run so
    /// sending an event nobody listens to allocates nothing.
    subjects: Vec<(&'static str, String)>,
}

impl<'h> Events<'h> {
    pub(crate) fn new(host: &'h HostInner, control: RunControl) -> Self {
        let subjects = ExecEvent::NAMES
            .iter()
            .map(|&name| (name, format!("exec.{}.{name}", control.run_id())))
            .collect();
        Events {
            host,
            control,
            subjects,
        }
    }

    pub(crate) fn send(&self, name: &'static str, make: impl FnOnce() -> ExecEvent) {
        let Some((_, subject)) = self.subjects.iter().find(|(n, _)| *n == name) else {
            return;
        };
        let on_bus = self.host.bus.has_subscribers(subject);
        let local = self.control.has_subscribers();
        if !on_bus && !local {
            return;
        }
        let event = make();
        debug_assert_eq!(event.name(), name);
        if on_bus {
            let payload = serde_json::to_vec(&event).unwrap_or_default();
            // Run ids and event names are valid subject tokens, so this only
            // fails if that stops being true; the run itself goes on.
            if let Err(e) = self.host.bus.publish(subject, payload) {
                tracing::warn!("cannot publish run event {name}: {e}");
            }
        }
        if local {
            self.control.emit(event);
        }
    }
}
