//! The runs a daemon drives: each on its own thread, steered through its
//! [`RunControl`], its report kept once it ends.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use symphony_host::runs::{
    ExecutionState, ResumeRefusal, RunControl, RunError, RunEvent, RunOptions, RunReport,
    RunStoreError, new_run_id,
};
use symphony_host::workflow::Workflow;
use symphony_host::{Error, Host};

use super::{Shared, lock};
use crate::api::{
    ErrorKind, ErrorReply, RunReportReply, RunStart, RunStarted, RunStateReply, RunStatusReply,
};

/// How long `run.report` waits for a run that has ended to be filed.
const REPORT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How many ended runs' reports are kept for `run.report`.
const KEPT_REPORTS: usize = 256;

/// The runs of one daemon.
#[derive(Default)]
pub(crate) struct Runs {
    active: Mutex<HashMap<String, Active>>,
    ended: Mutex<VecDeque<(String, Outcome)>>,
}

/// How a run ended: its report, or why it could not run.
type Outcome = Result<Arc<RunReportReply>, ErrorReply>;

struct Active {
    control: RunControl,
    /// Nodes running now, from the run's observer (a retried node starts
    /// again without finishing; a skipped one finishes without starting).
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// Running nodes that waited for a contended resource: the explanation.
    waiting: Arc<Mutex<std::collections::BTreeMap<String, String>>>,
}

impl Runs {
    /// Pauses every running run; returns the ids of all active runs.
    pub(crate) fn pause_all(&self) -> Vec<String> {
        let active = lock(&self.active);
        for run in active.values() {
            let _ = run.control.pause();
        }
        active.keys().cloned().collect()
    }

    /// Nodes running now, across runs.
    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.active)
            .values()
            .map(|run| lock(&run.in_flight).len())
            .sum()
    }

    pub(crate) fn is_active(&self, run: &str) -> bool {
        lock(&self.active).contains_key(run)
    }

    fn control(&self, run: &str) -> Option<RunControl> {
        lock(&self.active).get(run).map(|a| a.control.clone())
    }

    /// The waits of run `run`'s running nodes.
    fn waiting(&self, run: &str) -> std::collections::BTreeMap<String, String> {
        lock(&self.active)
            .get(run)
            .map(|a| lock(&a.waiting).clone())
            .unwrap_or_default()
    }

    /// Active runs by state.
    pub(crate) fn counts(&self) -> Value {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for run in lock(&self.active).values() {
            *counts.entry(run.control.state().as_str()).or_default() += 1;
        }
        json!(counts)
    }

    fn finish(&self, run: &str, outcome: Outcome) {
        let mut ended = lock(&self.ended);
        if ended.len() == KEPT_REPORTS {
            ended.pop_front();
        }
        ended.push_back((run.to_string(), outcome));
        drop(ended);
        lock(&self.active).remove(run);
    }

    fn report(&self, run: &str) -> Option<Outcome> {
        lock(&self.ended)
            .iter()
            .rev()
            .find(|(id, _)| id == run)
            .map(|(_, outcome)| outcome.clone())
    }
}

fn not_found(run: &str) -> ErrorReply {
    ErrorReply::new(
        ErrorKind::NotFound,
        format!("no run '{run}' (`symphony runs` lists them)"),
    )
}

fn shutting_down() -> ErrorReply {
    ErrorReply::new(
        ErrorKind::ShuttingDown,
        "the service is shutting down and starts no new runs",
    )
}

/// How to run: the service's concurrency unless the request names one.
fn options(shared: &Shared, concurrency: Option<u32>) -> RunOptions {
    let mut options = RunOptions::default();
    if let Some(n) = concurrency
        .and_then(|n| std::num::NonZeroUsize::new(n as usize))
        .or(shared.concurrency)
    {
        options.concurrency = n;
    }
    options
}

pub(crate) fn start(shared: &Arc<Shared>, request: RunStart) -> Result<RunStarted, ErrorReply> {
    if shared.stopping.load(Ordering::SeqCst) {
        return Err(shutting_down());
    }
    let workflow = match (&request.workflow, &request.workflow_path) {
        (Some(doc), _) => Workflow::from_json(&doc.to_string(), "the request's workflow"),
        (None, Some(path)) => Workflow::from_file(path),
        (None, None) => unreachable!("checked by RunStart::check"),
    }
    .map_err(|e| ErrorReply::new(ErrorKind::InvalidWorkflow, e.to_string()))?;
    shared.host.validate(&workflow).map_err(error_reply)?;
    let run_id = request.run_id.clone().unwrap_or_else(new_run_id);
    if let Ok(store) = shared.host.runs()
        && store.status(&run_id).is_ok()
    {
        return Err(ErrorReply::new(
            ErrorKind::InvalidState,
            format!("run id '{run_id}' is taken"),
        ));
    }
    let mut options = options(shared, request.concurrency);
    options.timeout = request.timeout_ms.map(std::time::Duration::from_millis);
    options.checkpoint = !request.no_checkpoint;
    options.store_outputs = !request.no_artifacts;
    options.tenant = request.tenant.clone();
    options.priority = request.priority;
    options.budget = request.budget;
    let name = workflow.name.clone();
    spawn(
        shared,
        run_id.clone(),
        options,
        move |host, options, observer| {
            let report = host.run_with_options(&workflow, &request.input, options, observer)?;
            Ok((report, workflow))
        },
    )?;
    Ok(RunStarted {
        run_id,
        workflow: name,
        restored: 0,
    })
}

/// What driving a run gives: its report and the workflow it ran (for the
/// addons to render).
type Executed = Result<(RunReport, Workflow), Error>;

/// Registers run `run_id` and drives it on its own thread with `execute`.
fn spawn(
    shared: &Arc<Shared>,
    run_id: String,
    mut options: RunOptions,
    execute: impl FnOnce(&Host, RunOptions, &mut dyn FnMut(RunEvent<'_>)) -> Executed + Send + 'static,
) -> Result<(), ErrorReply> {
    let control = RunControl::new(run_id.clone());
    options.control = Some(control.clone());
    let in_flight = Arc::new(Mutex::new(HashSet::new()));
    let waiting = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
    {
        let mut active = lock(&shared.runs.active);
        if active.contains_key(&run_id) {
            return Err(ErrorReply::new(
                ErrorKind::InvalidState,
                format!("run '{run_id}' is already running"),
            ));
        }
        active.insert(
            run_id.clone(),
            Active {
                control,
                in_flight: in_flight.clone(),
                waiting: waiting.clone(),
            },
        );
    }
    let thread = std::thread::Builder::new()
        .name(format!("run-{run_id}"))
        .spawn({
            let shared = shared.clone();
            let run_id = run_id.clone();
            move || {
                let mut observer = |event: RunEvent<'_>| match event {
                    RunEvent::NodeStarted { node } => {
                        lock(&in_flight).insert(node.id.clone());
                    }
                    RunEvent::NodeFinished { node } => {
                        lock(&in_flight).remove(&node.id);
                        lock(&waiting).remove(&node.id);
                        shared.notify();
                    }
                    RunEvent::NodeWaiting { node, explanation } => {
                        lock(&waiting).insert(node.id.clone(), explanation.to_string());
                    }
                    _ => {}
                };
                let outcome = match execute(&shared.host, options, &mut observer) {
                    Ok((report, workflow)) => {
                        let addons = crate::render_addons(&shared.host, &workflow, &report);
                        Ok(Arc::new(RunReportReply { report, addons }))
                    }
                    Err(error) => {
                        // The run never got going: say so where its
                        // followers listen.
                        let reply = error_reply(error);
                        let event = json!({"event": "state", "run": run_id, "state": "failed", "error": reply.message});
                        let _ = shared.host.bus().publish(
                            &format!("exec.{run_id}.state"),
                            event.to_string().into_bytes(),
                        );
                        Err(reply)
                    }
                };
                shared.runs.finish(&run_id, outcome);
                shared.notify();
            }
        });
    if let Err(e) = thread {
        lock(&shared.runs.active).remove(&run_id);
        return Err(ErrorReply::new(
            ErrorKind::Internal,
            format!("cannot start a thread for the run: {e}"),
        ));
    }
    Ok(())
}

pub(crate) fn status(shared: &Shared, run: &str) -> Result<RunStatusReply, ErrorReply> {
    let live = shared.runs.control(run).map(|c| c.state().to_string());
    let waiting = shared.runs.waiting(run);
    let store = shared.host.runs().map_err(error_reply)?;
    match store.status(run) {
        Ok(status) => Ok(RunStatusReply {
            status,
            live,
            waiting,
        }),
        Err(RunStoreError::NotFound(_)) if live.is_some() => Err(ErrorReply::new(
            ErrorKind::NotFound,
            format!("run '{run}' is running unrecorded (started with no_checkpoint)"),
        )),
        Err(RunStoreError::NotFound(_)) => Err(not_found(run)),
        Err(e) => Err(error_reply(RunError::Store(e).into())),
    }
}

/// Pauses or cancels an active run.
pub(crate) fn steer(
    shared: &Shared,
    run: &str,
    to: ExecutionState,
) -> Result<RunStateReply, ErrorReply> {
    let Some(control) = shared.runs.control(run) else {
        return Err(not_running(shared, run));
    };
    let from = control
        .transition(to)
        .map_err(|e| ErrorReply::new(ErrorKind::InvalidState, e.to_string()))?;
    Ok(RunStateReply {
        run: run.to_string(),
        from: from.to_string(),
        state: to.to_string(),
    })
}

/// A run this service is not driving: why a command cannot steer it.
fn not_running(shared: &Shared, run: &str) -> ErrorReply {
    match shared.host.runs().map(|store| store.status(run)) {
        Ok(Ok(status)) => ErrorReply::new(
            ErrorKind::InvalidState,
            format!(
                "run '{run}' is not running here (it is {})",
                if status.summary.interrupted {
                    "interrupted; `symphony resume` continues it".to_string()
                } else {
                    status.summary.state.to_string()
                }
            ),
        ),
        _ => not_found(run),
    }
}

/// Resumes a paused run, or continues an interrupted or failed one from
/// its checkpoint; `only_failed` (retry) refuses anything but a failed run.
pub(crate) fn resume(
    shared: &Arc<Shared>,
    run: &str,
    only_failed: bool,
) -> Result<RunStateReply, ErrorReply> {
    if let Some(control) = shared.runs.control(run) {
        if only_failed {
            return Err(ErrorReply::new(
                ErrorKind::InvalidState,
                format!("run '{run}' is {}, not failed", control.state()),
            ));
        }
        let from = control
            .transition(ExecutionState::Running)
            .map_err(|e| ErrorReply::new(ErrorKind::InvalidState, e.to_string()))?;
        return Ok(RunStateReply {
            run: run.to_string(),
            from: from.to_string(),
            state: ExecutionState::Running.to_string(),
        });
    }
    if shared.stopping.load(Ordering::SeqCst) {
        return Err(shutting_down());
    }
    let store = shared.host.runs().map_err(error_reply)?;
    let summary = match store.status(run) {
        Ok(status) => status.summary,
        Err(RunStoreError::NotFound(_)) => return Err(not_found(run)),
        Err(e) => return Err(error_reply(RunError::Store(e).into())),
    };
    if only_failed && summary.state != ExecutionState::Failed {
        return Err(ErrorReply::new(
            ErrorKind::InvalidState,
            format!("run '{run}' is {}, not failed", summary.state),
        ));
    }
    // Checked here so a refusal is the reply, not a failed thread.
    store.checkpoint(run).map_err(|refusal| {
        let kind = match refusal {
            ResumeRefusal::Store(RunStoreError::NotFound(_)) => ErrorKind::NotFound,
            _ => ErrorKind::InvalidState,
        };
        ErrorReply::new(kind, format!("run '{run}' cannot be resumed: {refusal}"))
    })?;
    let from = if summary.interrupted {
        "interrupted".to_string()
    } else {
        summary.state.to_string()
    };
    let id = run.to_string();
    spawn(
        shared,
        id.clone(),
        options(shared, None),
        move |host, options, observer| {
            let report = host.resume(&id, options, observer)?;
            let text = host.runs()?.workflow(&id).map_err(RunError::Store)?;
            let workflow = Workflow::from_json(&text, &id)?;
            Ok((report, workflow))
        },
    )?;
    Ok(RunStateReply {
        run: run.to_string(),
        from,
        state: ExecutionState::Running.to_string(),
    })
}

pub(crate) fn report(shared: &Shared, run: &str) -> Result<RunReportReply, ErrorReply> {
    // A run announces its end before its thread has filed the report and
    // the run store its last row: give an ended run the moment it takes.
    let until = std::time::Instant::now() + REPORT_GRACE;
    while let Some(control) = shared.runs.control(run) {
        let state = control.state();
        if !state.is_terminal() && state != ExecutionState::Failed
            || std::time::Instant::now() >= until
        {
            return Err(ErrorReply::new(
                ErrorKind::InvalidState,
                format!("run '{run}' is still {state}; its report comes when it ends"),
            ));
        }
        shared.wait_changed(std::time::Duration::from_millis(10));
    }
    match shared.runs.report(run) {
        Some(Ok(report)) => Ok((*report).clone()),
        Some(Err(error)) => Err(error),
        None => match shared.host.runs().map(|store| store.status(run)) {
            Ok(Ok(_)) => Err(ErrorReply::new(
                ErrorKind::NotFound,
                format!(
                    "no report is kept for run '{run}' (`symphony status {run}` shows its record)"
                ),
            )),
            _ => Err(not_found(run)),
        },
    }
}

/// The reply for a host error, by its kind.
pub(crate) fn error_reply(error: Error) -> ErrorReply {
    let kind = match &error {
        Error::Workflow(_) | Error::Config(_) => ErrorKind::InvalidWorkflow,
        Error::UnknownExtension { .. } => ErrorKind::NotFound,
        Error::Load(_)
        | Error::NotLoaded { .. }
        | Error::WrongKind { .. }
        | Error::Manifest(_)
        | Error::Resolve(_)
        | Error::Permission(_)
        | Error::Lifecycle(_)
        | Error::Activate(_)
        | Error::Reload { .. }
        | Error::InUse { .. } => ErrorKind::Extension,
        Error::Run(RunError::AlreadyRunning { .. } | RunError::Resume { .. }) => {
            ErrorKind::InvalidState
        }
        Error::Run(RunError::Store(RunStoreError::NotFound(_))) => ErrorKind::NotFound,
        _ => ErrorKind::Internal,
    };
    ErrorReply::new(kind, error.to_string())
}
