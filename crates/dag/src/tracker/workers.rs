//! The threads extension calls run on: synchronous wasmtime calls must
//! not block the scheduler's task, so each runs on one of a scoped pool of
//! threads, borrowing the run's graph and host for exactly as long as the
//! run lasts.

use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::Scope;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use symphony_arbitration::{Units, WaitError};

use symphony_workflow::FailureKind;

use crate::runner::{Bounds, NodeError, NodeRunner};
use crate::walk::{Graph, Outcome};
use symphony_workflow::expr::Compiled;

/// One node attempt for a worker.
pub(super) struct Job {
    /// The node's position in the plan's order (what the scheduler tracks).
    pub(super) position: usize,
    /// The node to run: the node itself, or its fallback node.
    pub(super) node: usize,
    pub(super) input: Value,
    pub(super) bounds: Bounds,
}

/// A finished attempt.
pub(super) struct Done {
    pub(super) position: usize,
    pub(super) result: Result<Outcome, NodeError>,
    pub(super) elapsed: Duration,
    /// It failed after the run's interrupt was set: stopped, not broken.
    pub(super) interrupted: bool,
}

/// A run's workers: its concurrency, but no more than it has nodes
/// needing one, sharing one job queue.
pub(super) struct Pool {
    size: usize,
    queue: Mutex<mpsc::Receiver<Job>>,
    /// The host's parallel node slots each job takes one of while it runs.
    slots: Option<Arc<Units>>,
}

/// The scheduler's end of the pool.
pub(super) struct Handle {
    jobs: mpsc::Sender<Job>,
    /// Worker threads that started.
    pub(super) workers: usize,
    pub(super) done: UnboundedReceiver<Done>,
}

impl Handle {
    /// Hands `job` to the next idle worker.
    pub(super) fn submit(&self, job: Job) {
        // Workers only stop once this handle is dropped.
        let _ = self.jobs.send(job);
    }
}

impl Pool {
    /// The pool and the sender its jobs come through (for
    /// [`Pool::start`]).
    pub(super) fn new(
        concurrency: NonZeroUsize,
        needing: usize,
        slots: Option<&Arc<Units>>,
    ) -> (Pool, mpsc::Sender<Job>) {
        let (jobs, queue) = mpsc::channel();
        let pool = Pool {
            size: concurrency.get().min(needing),
            queue: Mutex::new(queue),
            slots: slots.cloned(),
        };
        (pool, jobs)
    }

    /// Starts the workers in `scope`; they stop once the handle is
    /// dropped and the queue is empty.
    pub(super) fn start<'scope, 'env: 'scope>(
        &'env self,
        scope: &'scope Scope<'scope, 'env>,
        runner: &'env dyn NodeRunner,
        graph: &Graph<'env>,
        jobs: mpsc::Sender<Job>,
    ) -> Handle {
        // Compiled expressions are not shareable between threads (jmespath
        // counts references with `Rc`): each worker compiles its own.
        let (nodes, edges, plan) = (graph.nodes, graph.edges, graph.plan);
        let (finished, done) = unbounded_channel();
        let queue = &self.queue;
        let slots = self.slots.as_ref();
        let mut workers = 0;
        for i in 0..self.size {
            let finished = finished.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("symphony-node-{i}"))
                .spawn_scoped(scope, move || {
                    let expressions = Compiled::default();
                    let graph = Graph {
                        nodes,
                        edges,
                        plan,
                        expressions: &expressions,
                    };
                    work(runner, &graph, queue, &finished, slots);
                });
            match spawned {
                Ok(_) => workers += 1,
                Err(e) => tracing::warn!("cannot start node worker {i}: {e}"),
            }
        }
        Handle {
            jobs,
            workers,
            done,
        }
    }
}

fn work(
    runner: &dyn NodeRunner,
    graph: &Graph<'_>,
    queue: &Mutex<mpsc::Receiver<Job>>,
    finished: &UnboundedSender<Done>,
    slots: Option<&Arc<Units>>,
) {
    loop {
        let job = {
            let queue = queue.lock().unwrap_or_else(|e| e.into_inner());
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let began = Instant::now();
        let Job {
            position,
            node,
            input,
            bounds,
        } = job;
        // The node takes one of the host's parallel slots for as long as
        // it runs, waiting in line by the slots' strategy when all are taken.
        let slot = match (slots, &bounds.requester) {
            (Some(slots), Some(requester)) => {
                let until = bounds.deadline.map(|d| d.at);
                match slots.acquire_blocking(requester, 1, until, bounds.interrupt.as_ref()) {
                    Ok(permit) => Ok(Some(permit)),
                    Err(e) => Err(slot_error(e)),
                }
            }
            _ => Ok(None),
        };
        let result = slot.and_then(|slot| {
            let result = catch_unwind(AssertUnwindSafe(|| {
                graph.run_node(runner, node, input, &bounds)
            }));
            drop(slot);
            result.unwrap_or_else(|panic| Err(panicked(&panic)))
        });
        let interrupted = result.is_err() && bounds.interrupt.as_ref().is_some_and(|i| i.is_set());
        let done = Done {
            position,
            result,
            elapsed: began.elapsed(),
            interrupted,
        };
        if finished.send(done).is_err() {
            return;
        }
    }
}

/// A node's failure for a panic in the host while it ran.
fn panicked(panic: &Box<dyn std::any::Any + Send>) -> NodeError {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    NodeError::new(
        FailureKind::Failed,
        format!("the host failed running this node (a bug): {what}"),
    )
}

/// A node's failure for a wait for a parallel slot that ended without one.
fn slot_error(error: WaitError) -> NodeError {
    let kind = match error {
        WaitError::Deadline { .. } => FailureKind::Timeout,
        _ => FailureKind::Unavailable,
    };
    NodeError::new(kind, error.to_string())
}
