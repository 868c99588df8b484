//! The scheduler's state: which nodes wait on how many others, which are
//! ready, running or waiting to retry, and what became of each.

mod outputs;
mod settle;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::workers::{Done, Handle, Job};
use symphony_arbitration::Explanation;
use symphony_bus::Interrupt;
use symphony_workflow::adjacency::Adjacency;
use symphony_workflow::{Control, FailureKind, Node, Plan, RecoveryPolicy, Workflow};

use super::{Events, RunClaim, Tracker};
use crate::output_archive::OutputArchive;
use crate::report::{NodeReport, NodeState, RunEvent, RunMetrics, RunReport};
use crate::run_store::CheckpointWriter;
use crate::runner::{Bounds, Deadline, DeadlineCause, NodeError, NodeRunner};
use crate::walk::{Graph, Outcome};
use crate::{ExecEvent, ExecutionState, Progress, RunControl, RunError};

/// How often the scheduler looks at its control while running a long
/// stretch of inline steps.
const CONTROL_EVERY: usize = 256;

/// How often progress goes out while nodes finish.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// `finished_at` of a standby fallback node: set aside, never run.
const STANDBY: usize = usize::MAX - 1;

/// Restarts from the checkpoint a run may make before it fails.
const MAX_RESTARTS: u32 = 3;

/// One run's scheduling state.
pub(super) struct Scheduler<'a, 'o> {
    tracker: &'a Tracker,
    runner: &'a dyn NodeRunner,
    graph: &'a Graph<'a>,
    input: &'a Value,
    run: Arc<str>,
    control: RunControl,
    events: Events<'a>,
    writer: Option<&'a CheckpointWriter>,
    /// Where node outputs go into the Artifact Store, when they are kept.
    archive: Option<&'a OutputArchive>,
    /// The artifact id of the run's input, stored with the first output.
    input_artifact: Option<String>,
    workflow_id: &'a str,
    observer: &'o mut dyn FnMut(RunEvent<'_>),
    /// Node index → position in the plan's order.
    position_of: Vec<usize>,
    /// Node index → the node indices its edges lead to (one entry per
    /// edge).
    outgoing: Adjacency<usize>,
    /// Node index → edges from nodes not finished yet.
    waiting: Vec<u32>,
    /// Node index → what became of it.
    outcomes: Vec<Outcome>,
    /// Node index → when it finished, in finish order (`usize::MAX`: not
    /// yet), for `merge: first`.
    finished_at: Vec<usize>,
    next_seq: usize,
    /// Positions ready to start, smallest (earliest in the plan) first.
    ready: BinaryHeap<Reverse<usize>>,
    /// (when, position) of nodes waiting to retry.
    retries: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Positions running their fallback node rather than themselves.
    on_fallback: Vec<bool>,
    in_flight: usize,
    done: usize,
    restarts: u32,
    /// Why the run stopped early: a failure, a timeout or a cancel.
    stop: Option<String>,
    report: RunReport,
    started: Instant,
    last_progress: Instant,
    /// Node id → index of the nodes some node names as its fallback.
    fallbacks: HashMap<&'a str, usize>,
    /// Positions whose fallback node is to start.
    fallback_queue: Vec<usize>,
    /// A node asked to restart from the checkpoint once nothing runs.
    restart_pending: bool,
    /// Set when the run stops early: running calls stop at once.
    interrupt: Interrupt,
    /// The workflow's deadline and its length.
    deadline: Option<(Instant, Duration)>,
    completed_nodes: usize,
    failed_nodes: usize,
    skipped_nodes: usize,
    /// Who asks for its nodes, and its budget (with an arbiter).
    claim: Option<RunClaim>,
    /// Where nodes tell that they wait for a contended resource (from
    /// their worker threads), by position.
    waits: (UnboundedSender<Waited>, UnboundedReceiver<Waited>),
}

/// A node (by position) waits for a contended resource.
type Waited = (usize, Explanation);

impl<'a, 'o> Scheduler<'a, 'o> {
    #[allow(clippy::too_many_arguments, reason = "built once, by execute")]
    pub(super) fn new(
        tracker: &'a Tracker,
        runner: &'a dyn NodeRunner,
        workflow: &'a Workflow,
        plan: &'a Plan,
        graph: &'a Graph<'a>,
        input: &'a Value,
        run: Arc<str>,
        control: RunControl,
        writer: Option<&'a CheckpointWriter>,
        archive: Option<&'a OutputArchive>,
        observer: &'o mut dyn FnMut(RunEvent<'_>),
        deadline: Option<(Instant, Duration)>,
        claim: Option<&RunClaim>,
    ) -> Self {
        let n = workflow.nodes.len();
        let mut position_of = vec![0; n];
        for (position, &index) in plan.order.iter().enumerate() {
            position_of[index] = position;
        }
        let edges = (0..n).flat_map(|to| {
            plan.incoming
                .of(to)
                .iter()
                .map(move |&(from, _)| (from, to))
        });
        let outgoing = Adjacency::group(n, edges);
        let named: std::collections::HashSet<&str> = (workflow.nodes.iter())
            .filter_map(|node| match &node.recovery {
                Some(RecoveryPolicy::FallbackNode(id)) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        let fallbacks = (workflow.nodes.iter().enumerate())
            .filter(|(_, node)| named.contains(node.id.as_str()))
            .map(|(i, node)| (node.id.as_str(), i))
            .collect();
        let report = RunReport {
            run_id: run.to_string(),
            workflow: workflow.name.clone(),
            state: ExecutionState::Pending,
            elapsed_ms: 0.0,
            nodes: plan
                .order
                .iter()
                .map(|&i| {
                    let node = &workflow.nodes[i];
                    NodeReport {
                        id: node.id.clone(),
                        kind: node.kind,
                        extension: node.runs().to_string(),
                        state: NodeState::Pending,
                        duration_ms: None,
                        started_ms: None,
                        attempts: 0,
                        restored: false,
                        recovered: None,
                        error: None,
                        artifact: None,
                        waited: None,
                    }
                })
                .collect(),
            output: None,
            error: None,
            progress: Progress::new(n, 0, 0, 0),
            metrics: RunMetrics::default(),
            resumed: false,
            warnings: Vec::new(),
        };
        let now = Instant::now();
        let mut scheduler = Scheduler {
            tracker,
            runner,
            graph,
            input,
            events: Events::new(&tracker.bus, control.clone()),
            run,
            control,
            writer,
            archive,
            input_artifact: None,
            workflow_id: &workflow.id,
            observer,
            position_of,
            outgoing,
            waiting: vec![0; n],
            outcomes: vec![Outcome::Skipped; n],
            finished_at: vec![usize::MAX; n],
            next_seq: 0,
            ready: BinaryHeap::new(),
            retries: BinaryHeap::new(),
            on_fallback: vec![false; n],
            in_flight: 0,
            done: 0,
            restarts: 0,
            stop: None,
            report,
            started: now,
            last_progress: now,
            fallbacks,
            fallback_queue: Vec::new(),
            restart_pending: false,
            interrupt: Interrupt::new(),
            deadline,
            completed_nodes: 0,
            failed_nodes: 0,
            skipped_nodes: 0,
            claim: claim.cloned(),
            waits: unbounded_channel(),
        };
        scheduler.set_aside_standby();
        scheduler.recount();
        scheduler
    }

    /// How many nodes may need a worker thread: extension calls, map
    /// steps and fallback nodes.
    pub(super) fn needs_workers(&self) -> usize {
        self.graph.nodes.iter().filter(|n| !inline(n)).count() + self.fallbacks.len()
    }

    /// Standby fallback nodes are not run as nodes of their own: they
    /// count as finished (call [`Scheduler::recount`] after).
    pub(super) fn set_aside_standby(&mut self) {
        for &i in &self.graph.plan.standby {
            let entry = &mut self.report.nodes[self.position_of[i]];
            entry.state = NodeState::Skipped;
            self.finished_at[i] = STANDBY;
            self.skipped_nodes += 1;
            self.done += 1;
        }
    }

    /// Takes the nodes a checkpoint says finished as done, with their
    /// outcomes, so only the rest run.
    pub(super) fn restore(&mut self, finished: Vec<(String, u64, String)>) -> Result<(), RunError> {
        let index: HashMap<&str, usize> = (self.graph.nodes.iter().enumerate())
            .map(|(i, node)| (node.id.as_str(), i))
            .collect();
        let corrupt = |problem: String| RunError::Checkpoint {
            run: self.run.to_string(),
            problem,
        };
        let mut found = Vec::with_capacity(finished.len());
        let mut restorable = vec![false; self.graph.nodes.len()];
        for (id, seq, outcome) in finished {
            let Some(&i) = index.get(id.as_str()) else {
                return Err(corrupt(format!(
                    "names node '{id}', which the workflow lacks"
                )));
            };
            let outcome: Outcome = serde_json::from_str(&outcome)
                .map_err(|e| corrupt(format!("holds an unreadable outcome for '{id}': {e}")))?;
            restorable[i] = true;
            found.push((i, seq, outcome));
        }
        // A node is restored only if every node before it was (or stands
        // by): a checkpoint that lost a node to a failed write runs that
        // node and everything after it again.
        for &i in &self.graph.plan.order {
            if restorable[i] {
                let upstream = self.graph.plan.incoming.of(i);
                restorable[i] = upstream
                    .iter()
                    .all(|&(from, _)| restorable[from] || self.finished_at[from] == STANDBY);
            }
        }
        for (i, seq, outcome) in found {
            if !restorable[i] {
                continue;
            }
            let seq = usize::try_from(seq)
                .unwrap_or(usize::MAX - 2)
                .min(usize::MAX - 2);
            let entry = &mut self.report.nodes[self.position_of[i]];
            entry.state = match outcome {
                Outcome::Skipped => NodeState::Skipped,
                _ => NodeState::Completed,
            };
            match entry.state {
                NodeState::Skipped => self.skipped_nodes += 1,
                _ => self.completed_nodes += 1,
            }
            entry.restored = true;
            // Stored again in case the killed execution did not get to
            // it (the store keeps one copy either way).
            self.archive_output(i, &outcome);
            self.outcomes[i] = outcome;
            self.finished_at[i] = seq;
            self.next_seq = self.next_seq.max(seq + 1);
            self.done += 1;
        }
        self.report.resumed = true;
        self.recount();
        Ok(())
    }

    /// Rebuilds the waiting counts and the ready queue from which nodes
    /// have finished.
    fn recount(&mut self) {
        let n = self.graph.nodes.len();
        let finished = |i: usize| self.finished_at[i] != usize::MAX;
        for i in 0..n {
            self.waiting[i] = u32::try_from(
                (self.graph.plan.incoming.of(i).iter())
                    .filter(|&&(from, _)| !finished(from))
                    .count(),
            )
            .unwrap_or(u32::MAX);
        }
        self.ready = (0..n)
            .filter(|&i| !finished(i) && self.waiting[i] == 0)
            .map(|i| Reverse(self.position_of[i]))
            .collect();
    }

    /// Runs the scheduling loop until every node finished or the run
    /// stopped; returns the report and the run's final state.
    pub(super) async fn drive(mut self, mut workers: Handle) -> (RunReport, ExecutionState) {
        let deadline = self.deadline;
        let total = self.graph.nodes.len();
        let restored = self.done;
        self.events.send("started", || ExecEvent::Started {
            run: self.run.clone(),
            total,
            restored,
        });
        // The state last announced; any other seen is announced.
        let mut announced = self.control.state();
        let mut timed_out = false;
        loop {
            let now = Instant::now();
            while let Some(&Reverse((when, position))) = self.retries.peek() {
                if when > now {
                    break;
                }
                self.retries.pop();
                self.ready.push(Reverse(position));
            }
            if self.restart_due() {
                self.restart();
            }
            let mut seen = self.control.state();
            if seen == ExecutionState::Running && self.stop.is_none() {
                self.dispatch(&workers);
                seen = self.control.state();
            }
            if seen != announced {
                announced = seen;
                self.state_changed(seen);
            }
            if self.stop.is_some() && self.in_flight > 0 && !self.interrupt.is_set() {
                // Nothing more starts; what runs is stopped rather than
                // waited for.
                self.interrupt.set();
            }
            if self.in_flight == 0 {
                if self.stop.is_some() || self.done == total {
                    break;
                }
                let pending_work = !self.ready.is_empty()
                    || !self.retries.is_empty()
                    || !self.fallback_queue.is_empty()
                    || self.restart_pending;
                if !pending_work && seen != ExecutionState::Paused {
                    // Nothing can run: only possible if a node waits on one
                    // that never finishes, which validation rules out.
                    self.stop = Some("no node can run (a bug in the scheduler)".into());
                    break;
                }
                if self.restart_due()
                    || (seen == ExecutionState::Running && !self.fallback_queue.is_empty())
                {
                    continue;
                }
            }
            let next_retry = self.retries.peek().map(|Reverse((when, _))| *when);
            tokio::select! {
                done = workers.done.recv(), if self.in_flight > 0 => {
                    if let Some(done) = done {
                        self.in_flight -= 1;
                        self.finished(done);
                    }
                }
                Some((position, explanation)) = self.waits.1.recv() => {
                    self.node_waiting(position, &explanation);
                }
                _ = self.control.changed(seen) => {}
                () = sleep_until(next_retry), if next_retry.is_some() => {}
                () = sleep_until(deadline.map(|d| d.0)), if deadline.is_some() && !timed_out => {
                    timed_out = true;
                    let message = self.timed_out_message();
                    self.stop.get_or_insert(message);
                }
            }
        }
        drop(workers);
        self.end()
    }

    /// Why a run stopped at the workflow's deadline.
    fn timed_out_message(&self) -> String {
        let limit = self.deadline.map_or(0, |d| d.1.as_millis());
        format!("the workflow timed out after {limit} ms")
    }

    /// Whether the workflow's deadline has passed.
    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|(at, _)| Instant::now() >= at)
    }

    /// Starts ready nodes while slots are free; inline steps run at once.
    fn dispatch(&mut self, workers: &Handle) {
        for position in std::mem::take(&mut self.fallback_queue) {
            self.start_fallback(position, workers);
        }
        let mut since_check = 0;
        while let Some(&Reverse(position)) = self.ready.peek() {
            let index = self.graph.plan.order[position];
            let node = &self.graph.nodes[index];
            let needs_slot = !inline(node);
            if needs_slot && self.in_flight >= workers.workers.max(1) {
                break;
            }
            self.ready.pop();
            if self.finished_at[index] != usize::MAX {
                // Already finished (a restored node made ready again).
                continue;
            }
            self.start(position, index, workers);
            if self.stop.is_some() {
                break;
            }
            since_check += 1;
            if since_check == CONTROL_EVERY {
                since_check = 0;
                if self.control.state() != ExecutionState::Running {
                    break;
                }
            }
        }
    }

    /// Gathers node `index`'s input and runs it: inline, or on a worker.
    fn start(&mut self, position: usize, index: usize, workers: &Handle) {
        let node = &self.graph.nodes[index];
        let input = match self
            .graph
            .gather(index, self.input, &self.outcomes, &self.finished_at)
        {
            Ok(Ok(input)) => input,
            Ok(Err(reason)) => return self.skipped(position, index, reason),
            Err(message) => {
                let error = NodeError::workflow(message);
                return self.failed(position, index, error, Duration::ZERO);
            }
        };
        let entry = &mut self.report.nodes[position];
        entry.attempts += 1;
        entry.state = NodeState::Running;
        entry.started_ms = Some(self.started.elapsed().as_secs_f64() * 1e3);
        let attempt = entry.attempts;
        (self.observer)(RunEvent::NodeStarted { node: entry });
        self.events.send("node.started", || ExecEvent::NodeStarted {
            run: self.run.clone(),
            node: node.id.as_str().into(),
            attempt,
        });
        if inline(node) {
            let began = Instant::now();
            let result = self
                .graph
                .run_node(self.runner, index, input, &Bounds::default());
            return self.finished(Done {
                position,
                result,
                elapsed: began.elapsed(),
                interrupted: false,
            });
        }
        if workers.workers == 0 {
            let error = NodeError::new(
                FailureKind::Unavailable,
                "no worker thread could be started to run it",
            );
            return self.failed(position, index, error, Duration::ZERO);
        }
        workers.submit(Job {
            position,
            node: index,
            input,
            bounds: self.bounds_for(node, position),
        });
        self.in_flight += 1;
    }

    /// What bounds an attempt of `node` (at `position`) starting now: the
    /// run's interrupt, and its timeout or the workflow's, whichever comes
    /// first; with an arbiter, who asks (the run's tenant and priority, the
    /// node's deadline) and who is told when it waits.
    pub(super) fn bounds_for(&self, node: &Node, position: usize) -> Bounds {
        let deadline = self.deadline_for(node);
        let (requester, budget) = match &self.claim {
            None => (None, None),
            Some(claim) => {
                let waits = self.waits.0.clone();
                let requester = claim
                    .requester
                    .clone()
                    .deadline(deadline.map(|d| d.at))
                    .label(format!("node {}", node.id))
                    .on_wait(Arc::new(move |explanation: &Explanation| {
                        // The run may have ended; then nobody needs to know.
                        let _ = waits.send((position, explanation.clone()));
                    }));
                (Some(requester), claim.budget.clone())
            }
        };
        Bounds {
            deadline,
            interrupt: Some(self.interrupt.clone()),
            requester,
            budget,
        }
    }

    /// Node at `position` waits for a contended resource: told to the
    /// observer and the run's subscribers, and kept in its report.
    fn node_waiting(&mut self, position: usize, explanation: &Explanation) {
        let Some(entry) = self.report.nodes.get_mut(position) else {
            return;
        };
        entry.waited = Some(explanation.to_string());
        let node: Arc<str> = entry.id.as_str().into();
        (self.observer)(RunEvent::NodeWaiting {
            node: &self.report.nodes[position],
            explanation,
        });
        self.events.send("node.waiting", || ExecEvent::NodeWaiting {
            run: self.run.clone(),
            node,
            resource: explanation.resource.clone(),
            position: explanation.position,
            waiting: explanation.waiting,
            estimate_ms: explanation.estimate_ms,
            explanation: explanation.to_string(),
        });
    }

    fn deadline_for(&self, node: &Node) -> Option<Deadline> {
        let own = node.timeout_ms.map(|ms| Deadline {
            at: Instant::now() + Duration::from_millis(ms),
            cause: DeadlineCause::Node(ms),
        });
        let run = self.deadline.map(|(at, length)| Deadline {
            at,
            cause: DeadlineCause::Workflow(length.as_millis()),
        });
        match (own, run) {
            (Some(own), Some(run)) => Some(if own.at <= run.at { own } else { run }),
            (own, run) => own.or(run),
        }
    }

    fn finished(&mut self, done: Done) {
        let index = self.graph.plan.order[done.position];
        match done.result {
            Ok(outcome) => self.completed(done.position, index, outcome, done.elapsed, None),
            Err(error) if done.interrupted => self.interrupted(done.position, index, error.message),
            // Stopped by the workflow's deadline, not a failure of its own:
            // no recovery policy applies.
            Err(error) if self.past_deadline() => {
                let stop = self.timed_out_message();
                self.stop.get_or_insert(stop);
                self.interrupted(done.position, index, error.message);
            }
            Err(error) => self.failed(done.position, index, error, done.elapsed),
        }
    }
}

fn inline(node: &Node) -> bool {
    matches!(node.control, Some(Control::Branch(_) | Control::Merge(_)))
}

/// Sleeps until `at`; forever when there is none (the branch is disabled
/// then anyway).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
