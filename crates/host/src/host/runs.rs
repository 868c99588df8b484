//! Running workflows on the host: [`Host::run`] and its variants hand a
//! validated workflow to the DAG Tracker, which calls the host's
//! extensions back through [`NodeRunner`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use symphony_arbitration::Requester;
use symphony_dag::{
    Bounds, FailureKind, NodeError, NodeRunner, Resume, RunError, RunEvent, RunOptions, RunReport,
    RunStore,
};
use symphony_manifest::{ConfigSchema, ExtError};
use symphony_runtime::CallError;
use symphony_runtime::extension::{NodeConfig, Slot};
use symphony_workflow::{Control, Node, NodeKind, Problem, Workflow};

use super::HostInner;
use crate::{Error, Host};

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
    /// timeout, a `RunControl` to pause, resume or cancel the run and
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
        let inner = &*self.inner;
        Ok(inner
            .tracker
            .execute(inner, workflow, &plan, input, options, None, observer)?)
    }

    /// Picks up run `run_id` where it stopped (killed, or failed): the
    /// nodes its checkpoint holds are not run again, failed nodes are, and
    /// the run ends as an uninterrupted one would. The workflow and input
    /// come from the run store; the extensions must be loaded. This is
    /// also how a failed run is retried: pass its own
    /// `RunControl` in `options` and it goes Failed →
    /// Running.
    /// A resumed run is always checkpointed.
    pub fn resume(
        &self,
        run_id: &str,
        options: RunOptions,
        observer: &mut dyn FnMut(RunEvent<'_>),
    ) -> Result<RunReport, Error> {
        let store = self.runs()?;
        // Read and check everything before the store is told anything.
        let checkpoint = store
            .checkpoint(run_id)
            .map_err(|refusal| RunError::Resume {
                run: run_id.to_string(),
                refusal,
            })?;
        let workflow = Workflow::from_json(&checkpoint.workflow, &format!("run {run_id}"))?;
        let input: Value =
            serde_json::from_str(&checkpoint.input).map_err(|e| RunError::Checkpoint {
                run: run_id.to_string(),
                problem: format!("holds an input that is unreadable: {e}"),
            })?;
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
        let inner = &*self.inner;
        Ok(inner.tracker.execute(
            inner,
            &workflow,
            &plan,
            &input,
            options,
            Some(resume),
            observer,
        )?)
    }

    /// The host's record of workflow runs (`<home>/runs.db`).
    pub fn runs(&self) -> Result<&RunStore, Error> {
        Ok(self.inner.tracker.runs().map_err(RunError::Store)?)
    }
}

/// How the DAG Tracker calls the host's extensions.
impl NodeRunner for HostInner {
    fn prewarm(&self, workflow: &Workflow) {
        self.prewarm_in_background_for(workflow);
    }

    /// Calls the extension `node` names on `input`, within `bounds`.
    fn call(&self, node: &Node, input: &str, bounds: &Bounds) -> Result<String, NodeError> {
        let missing = |e: Error| NodeError::new(FailureKind::Unavailable, e.to_string());
        let base = |ext: &Slot| -> Result<(NodeConfig, Duration), NodeError> {
            let mut config = ext
                .node_config(&node.config)
                .map_err(|e| NodeError::new(FailureKind::InvalidConfig, e.to_string()))?;
            if let Some(interrupt) = &bounds.interrupt {
                config = config.with_interrupt(interrupt.clone());
            }
            let limits = ext.current().limits;
            if let Some(requester) = &bounds.requester {
                self.charge(requester, bounds, limits.cost())?;
                config = config.with_requester(requester.clone());
            }
            Ok((config, limits.deadline))
        };
        // Each call gets what is left of the deadline now (an Operator node
        // makes three), and a deadline error names its cause when the node's
        // deadline was tighter than the extension's own.
        let bounded =
            |(config, own): &(NodeConfig, Duration),
             call: &dyn Fn(&NodeConfig) -> Result<String, CallError>| {
                let Some(deadline) = bounds.deadline else {
                    return call(config).map_err(|e| node_error(&e, e.to_string()));
                };
                let left = match deadline.at.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => {
                        return Err(NodeError::new(
                            FailureKind::Timeout,
                            format!("{} passed before it could run", deadline.cause),
                        ));
                    }
                };
                call(&config.clone().with_deadline(left)).map_err(|e| match &e {
                    CallError::Deadline {
                        extension,
                        function,
                        waiting,
                        ..
                    } if left < *own => node_error(
                        &e,
                        format!(
                            "{extension}.{function} was stopped at {}{}",
                            deadline.cause,
                            waiting
                                .as_ref()
                                .map(|wait| format!(" while waiting in a host call: {wait}"))
                                .unwrap_or_default()
                        ),
                    ),
                    e => node_error(e, e.to_string()),
                })
            };
        match node.kind {
            NodeKind::Instrument => {
                let model = self.instrument(&node.extension).map_err(missing)?;
                let config = base(&model.ext)?;
                bounded(&config, &|c| model.invoke(c, input))
            }
            NodeKind::Operator => {
                let operator = self.operator(&node.extension).map_err(missing)?;
                let config = base(&operator.ext)?;
                bounded(&config, &|c| {
                    operator.validate_input(c, input).map(|()| String::new())
                })?;
                let output = bounded(&config, &|c| operator.process(c, input))?;
                bounded(&config, &|c| {
                    operator.validate_output(c, &output).map(|()| String::new())
                })?;
                Ok(output)
            }
            NodeKind::Control => Err(NodeError::new(
                FailureKind::Workflow,
                "a control node without a \"control\" step calls no extension",
            )),
        }
    }
}

impl HostInner {
    /// Charges a node's call of `cost` to its tenant's and run's budgets,
    /// waiting for a budget that refills before the node's deadline.
    fn charge(&self, requester: &Requester, bounds: &Bounds, cost: f64) -> Result<(), NodeError> {
        if cost <= 0.0 {
            return Ok(());
        }
        let until = bounds.deadline.map(|d| d.at);
        self.arbiter
            .charge(
                requester,
                bounds.budget.as_deref(),
                cost,
                until,
                bounds.interrupt.as_ref(),
            )
            .map_err(|e| NodeError::new(FailureKind::BudgetExhausted, e.to_string()))
    }
}

/// The kind of node failure a call error is, for the recovery policy.
fn node_error(error: &CallError, message: String) -> NodeError {
    let kind = match error {
        CallError::Guest { error, .. } => match error {
            ExtError::InvalidInput(_) => FailureKind::InvalidInput,
            ExtError::InvalidConfig(_) => FailureKind::InvalidConfig,
            ExtError::Denied(_) => FailureKind::Denied,
            ExtError::Unavailable(_) => FailureKind::Unavailable,
            _ => FailureKind::Failed,
        },
        CallError::Deadline { .. } => FailureKind::Timeout,
        CallError::Interrupted { .. } => FailureKind::Interrupted,
        CallError::Busy { .. } | CallError::Unavailable { .. } => FailureKind::Unavailable,
        _ => FailureKind::Trap,
    };
    NodeError::new(kind, message)
}

impl HostInner {
    /// Every node in `nodes` (map bodies included) whose config does not
    /// fit its extension's declared keys, named as validation names nodes
    /// (`node 'each' > node 'x'`). Nodes of unknown extensions are left to
    /// validation.
    pub(crate) fn config_problems(&self, nodes: &[Node]) -> Vec<Problem> {
        let mut schemas = HashMap::new();
        let mut problems = Vec::new();
        self.collect_config_problems(nodes, "", &mut schemas, &mut problems);
        problems
    }

    fn collect_config_problems(
        &self,
        nodes: &[Node],
        prefix: &str,
        schemas: &mut HashMap<String, Option<Arc<ConfigSchema>>>,
        problems: &mut Vec<Problem>,
    ) {
        for node in nodes {
            if let Some(Control::Map(body)) = &node.control {
                let prefix = format!("{prefix}node '{}' > ", node.id);
                self.collect_config_problems(&body.nodes, &prefix, schemas, problems);
            }
            if node.kind == NodeKind::Control {
                continue;
            }
            let schema = schemas.entry(node.extension.clone()).or_insert_with(|| {
                self.find(&node.extension)
                    .ok()
                    .and_then(|slot| slot.current().config.clone())
            });
            if let Some(Err(found)) = schema.as_ref().map(|s| s.check(&node.config)) {
                problems.extend(found.into_iter().map(|message| Problem {
                    at: format!("{prefix}node '{}'", node.id),
                    message,
                }));
            }
        }
    }
}
