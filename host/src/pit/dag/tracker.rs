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

use super::store::{NewRun, RunStore, RunStoreError};
use super::{ExecEvent, ExecutionState, RunControl};
use crate::Error;
use crate::host::HostInner;
use crate::workflow::expr::Compiled;
use crate::workflow::run::walk::Graph;
use crate::workflow::run::{RunEvent, RunReport};
use crate::workflow::{Plan, Workflow};
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
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            timeout: None,
            control: None,
            checkpoint: true,
            prewarm: true,
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
    host: &HostInner,
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
    prefix: String,
}

impl<'h> Events<'h> {
    pub(crate) fn new(host: &'h HostInner, control: RunControl) -> Self {
        let prefix = format!("exec.{}", control.run_id());
        Events {
            host,
            control,
            prefix,
        }
    }

    pub(crate) fn send(&self, name: &'static str, make: impl FnOnce() -> ExecEvent) {
        let subject = format!("{}.{name}", self.prefix);
        let on_bus = self.host.bus.has_subscribers(&subject);
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
            if let Err(e) = self.host.bus.publish(&subject, payload) {
                tracing::warn!("cannot publish run event {name}: {e}");
            }
        }
        if local {
            self.control.emit(event);
        }
    }
}
