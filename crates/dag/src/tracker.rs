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

mod scheduler;
mod workers;

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use symphony_arbitration::{Arbiter, Requester};
use symphony_artifacts::ArtifactStore;
use symphony_bus::Bus;
use symphony_workflow::expr::Compiled;
use symphony_workflow::{Plan, Workflow};

use crate::output_archive::OutputArchive;
use crate::report::{RunEvent, RunReport};
use crate::run_store::{NewRun, RunStore, RunStoreError};
use crate::runner::NodeRunner;
use crate::walk::Graph;
use crate::{ExecEvent, ExecutionState, RunControl, RunError};
use scheduler::Scheduler;

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
    /// run's input) in the host's Artifact Store: tagged `run:<id>` and
    /// `workflow:<id>`, versioned as `<workflow id>/<node id>`
    /// (the input as `<workflow id>#input`)
    /// and linked to the outputs they were computed from. Stored off the
    /// scheduler's path in batches; the run returns once they are durable.
    pub store_outputs: bool,
    /// Whose run it is, for the Arbitration Engine (its weight, budget and
    /// share); `None`: the host's default tenant, the local user.
    pub tenant: Option<String>,
    /// Its priority: where strategies go by priority, higher goes first
    /// when nodes contend for slots and instances. Default 0.
    pub priority: i32,
    /// What its calls may cost in all (manifests' `limits.cost` per call);
    /// a call past it fails with `BudgetExhausted`. `None`: no run budget
    /// (the tenant's may still apply).
    pub budget: Option<f64>,
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
            tenant: None,
            priority: 0,
            budget: None,
        }
    }
}

/// A run to pick up where it stopped: the nodes its checkpoint holds
/// (see [`RunStore::checkpoint`]).
#[derive(Debug, Clone)]
pub struct Resume {
    /// The run.
    pub run_id: String,
    /// (node id, finish order, outcome JSON).
    pub finished: Vec<(String, u64, String)>,
}

/// The DAG Tracker: runs validated workflows, records them in its run
/// store and publishes their events on the bus. It calls extensions
/// through the [`NodeRunner`] each run is given.
pub struct Tracker {
    bus: Bus,
    artifacts: Arc<ArtifactStore>,
    /// Where the run store lives; opened on first use.
    run_store_path: PathBuf,
    run_store: OnceLock<RunStore>,
    /// Runs executing now, so the same run is never driven twice at once.
    active_runs: Mutex<HashSet<String>>,
    /// The Arbitration Engine nodes take their parallel slot from, and the
    /// tenant of runs that name none.
    arbiter: Option<(Arbiter, Arc<str>)>,
}

impl Tracker {
    /// A tracker publishing run events on `bus`, keeping node outputs in
    /// `artifacts` and recording runs in the SQLite database at
    /// `run_store` (opened when first needed).
    pub fn new(bus: Bus, artifacts: Arc<ArtifactStore>, run_store: impl Into<PathBuf>) -> Self {
        Tracker {
            bus,
            artifacts,
            run_store_path: run_store.into(),
            run_store: OnceLock::new(),
            active_runs: Mutex::default(),
            arbiter: None,
        }
    }

    /// The same tracker with nodes taking their parallel slot from
    /// `arbiter`'s slots, as `default_tenant` unless a run names its own.
    pub fn with_arbiter(mut self, arbiter: Arbiter, default_tenant: &str) -> Self {
        self.arbiter = Some((arbiter, default_tenant.into()));
        self
    }

    /// The Arbitration Engine, if it has one.
    pub fn arbiter(&self) -> Option<&Arbiter> {
        self.arbiter.as_ref().map(|(arbiter, _)| arbiter)
    }

    /// The record of runs, opened on first use.
    pub fn runs(&self) -> Result<&RunStore, RunStoreError> {
        if let Some(store) = self.run_store.get() {
            return Ok(store);
        }
        let store = RunStore::open(&self.run_store_path)?;
        Ok(self.run_store.get_or_init(|| store))
    }

    /// Runs `workflow` (already validated into `plan`) on `input`, calling
    /// its extensions through `runner`; with `resume`, picks the run up
    /// where its checkpoint left it. A node failure is not an error: the
    /// report's state is `failed` and says which node and why.
    ///
    /// Blocks the calling thread until the run ends.
    #[allow(
        clippy::too_many_arguments,
        reason = "one entry point for fresh and resumed runs; the host wraps it in small methods"
    )]
    pub fn execute(
        &self,
        runner: &dyn NodeRunner,
        workflow: &Workflow,
        plan: &Plan,
        input: &Value,
        options: RunOptions,
        resume: Option<Resume>,
        observer: &mut dyn FnMut(RunEvent<'_>),
    ) -> Result<RunReport, RunError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(RunError::InsideAsync);
        }
        let run_id = match (&resume, &options.control) {
            (Some(resume), Some(control)) if control.run_id() != resume.run_id => {
                return Err(RunError::ControlForAnotherRun {
                    run: resume.run_id.clone(),
                    control: control.run_id().to_string(),
                });
            }
            (Some(resume), _) => resume.run_id.clone(),
            (None, Some(control)) => control.run_id().to_string(),
            (None, None) => new_run_id(),
        };
        let _active = ActiveRun::enter(self, &run_id)?;
        if options.prewarm {
            runner.prewarm(workflow);
        }
        let control = options
            .control
            .clone()
            .unwrap_or_else(|| RunControl::new(run_id.clone()));
        // A control steers one execution: a fresh one starts it; a failed
        // run's own control retries it (Failed → Running) when resumed.
        match (control.state(), &resume) {
            (ExecutionState::Pending, _) | (ExecutionState::Failed, Some(_)) => {}
            (state, _) => return Err(RunError::ControlUsed { run: run_id, state }),
        }
        let resumed = resume.is_some();
        let mut warnings = Vec::new();
        let store = match (options.checkpoint, &resume) {
            (false, _) => None,
            // A resumed run exists only in the store: it must keep recording.
            (true, Some(_)) => Some(self.runs()?),
            (true, None) => match self.runs() {
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
                let setup = RunError::Store;
                match &resume {
                    None => store
                        .begin(&NewRun {
                            id: &run_id,
                            workflow_id: &workflow.id,
                            workflow_name: &workflow.name,
                            total: workflow.nodes.len() - plan.standby.len(),
                        })
                        .map_err(setup)?,
                    Some(_) => store.reopen(&run_id).map_err(setup)?,
                }
                Some(store.writer(&run_id, !resumed).map_err(setup)?)
            }
        };
        let moved = match control.state() {
            ExecutionState::Failed => control.retry_failed(),
            _ => control.start(),
        };
        moved?;
        let deadline = options
            .timeout
            .or(workflow.timeout_ms.map(Duration::from_millis));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(RunError::Scheduler)?;
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
            true => match OutputArchive::start(&self.artifacts) {
                Ok(archive) => Some(archive),
                Err(e) => {
                    warnings.push(format!("{e}; node outputs are not kept"));
                    None
                }
            },
        };
        let started = Instant::now();
        let claim = self.claim(&run, &options);
        let mut scheduler = Scheduler::new(
            self,
            runner,
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
            claim.as_ref().map(|c| &c.base),
        );
        if let Some(resume) = resume {
            scheduler.restore(resume.finished)?;
        }
        let slots = claim.as_ref().map(|c| c.arbiter.slots());
        let (workers, jobs) =
            workers::Pool::new(options.concurrency, scheduler.needs_workers(), slots);
        let fresh = writer.as_ref().filter(|_| !resumed);
        let (mut report, end) = std::thread::scope(|scope| {
            if let Some(writer) = fresh {
                // What a resume needs, stored while the run goes: for a
                // 100k-node workflow, 12 MB of JSON and 30 ms on the
                // scheduler's thread, which a spare core does instead.
                let store = move || {
                    let document = serde_json::to_string(workflow).unwrap_or_default();
                    writer.documents(document, input.to_string());
                };
                if workflow.nodes.len() >= DOCUMENTS_OFF_THREAD {
                    scope.spawn(store);
                } else {
                    store();
                }
            }
            let handle = workers.start(scope, runner, &graph, jobs);
            runtime.block_on(scheduler.drive(handle))
        });
        if let Some(e) = archive.and_then(OutputArchive::finish) {
            warnings.push(e);
        }
        report.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        report.warnings.extend(warnings);
        drop(claim);
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
}

impl Tracker {
    /// The run's claim on the arbiter, if there is one: its requester and
    /// its budget, set up for as long as the claim lives.
    fn claim(&self, run: &Arc<str>, options: &RunOptions) -> Option<Claim> {
        let (arbiter, default_tenant) = self.arbiter.as_ref()?;
        let tenant = options.tenant.as_deref().unwrap_or(default_tenant);
        let budget = options.budget.map(|limit| {
            let name: Arc<str> = format!("run:{run}").into();
            arbiter.budgets().set(&name, limit, None);
            name
        });
        let base = arbiter
            .requester(tenant)
            .priority(options.priority)
            .label(format!("run {run}"));
        Some(Claim {
            arbiter: arbiter.clone(),
            base: RunClaim {
                requester: base,
                budget,
            },
        })
    }
}

/// A run's claim: who asks for its nodes, and its budget.
#[derive(Clone)]
pub(crate) struct RunClaim {
    pub(crate) requester: Requester,
    pub(crate) budget: Option<Arc<str>>,
}

/// A run's claim on the arbiter; dropped as the run ends, it flushes the
/// arbiter's usage counts to its log and forgets the run's budget.
struct Claim {
    arbiter: Arbiter,
    base: RunClaim,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(budget) = &self.base.budget {
            self.arbiter.budgets().remove(budget);
        }
        self.arbiter.flush_usage();
    }
}

/// Marks a run as executing in this host for as long as it lives, so the
/// same run is never driven twice at once (a resume while it runs).
struct ActiveRun<'t> {
    tracker: &'t Tracker,
    id: String,
}

impl<'t> ActiveRun<'t> {
    fn enter(tracker: &'t Tracker, id: &str) -> Result<Self, RunError> {
        let mut active = (tracker.active_runs.lock()).unwrap_or_else(|e| e.into_inner());
        if !active.insert(id.to_string()) {
            return Err(RunError::AlreadyRunning {
                run: id.to_string(),
            });
        }
        Ok(ActiveRun {
            tracker,
            id: id.to_string(),
        })
    }
}

impl Drop for ActiveRun<'_> {
    fn drop(&mut self) {
        let mut active = (self.tracker.active_runs.lock()).unwrap_or_else(|e| e.into_inner());
        active.remove(&self.id);
    }
}

/// From how many nodes a run's workflow is serialised for the run store
/// on a thread of its own, alongside the run; below, a thread would cost
/// more than the serialising.
const DOCUMENTS_OFF_THREAD: usize = 1000;

/// A new run id, unique across the processes sharing a run store: the
/// time in microseconds, then this process's id and a counter, in hex
/// (`661fe5e16bacc-3e2e-0`). Letters, digits and `-`, so it is one bus
/// subject token.
pub fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{:x}-{:x}-{:x}",
        symphony_protocol::now_us(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sends a run's events to its subscribers and to the bus
/// (`exec.<run>.<event>`, JSON), building each event only when someone
/// listens.
pub(crate) struct Events<'h> {
    bus: &'h Bus,
    control: RunControl,
    /// `exec.<run>.<event>` for each event name, built once per run so
    /// sending an event nobody listens to allocates nothing.
    subjects: Vec<(&'static str, String)>,
}

impl<'h> Events<'h> {
    pub(crate) fn new(bus: &'h Bus, control: RunControl) -> Self {
        let subjects = ExecEvent::NAMES
            .iter()
            .map(|&name| (name, format!("exec.{}.{name}", control.run_id())))
            .collect();
        Events {
            bus,
            control,
            subjects,
        }
    }

    pub(crate) fn send(&self, name: &'static str, make: impl FnOnce() -> ExecEvent) {
        let Some((_, subject)) = self.subjects.iter().find(|(n, _)| *n == name) else {
            return;
        };
        let on_bus = self.bus.has_subscribers(subject);
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
            if let Err(e) = self.bus.publish(subject, payload) {
                tracing::warn!("cannot publish run event {name}: {e}");
            }
        }
        if local {
            self.control.emit(event);
        }
    }
}
