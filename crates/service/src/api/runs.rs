//! Starting, watching and steering runs.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use symphony_host::protocol::Message;
use symphony_host::runs::{RunReport, RunStatus, RunSummary};

use super::{Request, default_limit};

/// Checks a run id: one subject token of letters, digits, `-` and `_`,
/// at most 64 characters (it names the run's `exec.<run>.>` subjects).
pub fn check_run_id(run: &str) -> Result<(), String> {
    let ok = !run.is_empty()
        && run.len() <= 64
        && run
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "run id '{run}' must be 1 to 64 letters, digits, '-' or '_'"
        ))
    }
}

/// Starts a run of a workflow, given inline or by a path the service
/// reads. Answered with [`RunStarted`] once the workflow is validated and
/// the run is under way; its events follow on `exec.<run>.>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunStart {
    /// The workflow document (the JSON format of `symphony workflow`),
    /// inline. Exactly one of `workflow` and `workflow_path` is given.
    #[serde(default)]
    pub workflow: Option<Value>,
    /// A workflow file the service reads.
    #[serde(default)]
    pub workflow_path: Option<String>,
    /// The run's input. Default: null.
    #[serde(default)]
    pub input: Value,
    /// The run's id, so a client can subscribe to `exec.<run>.>` before
    /// the run starts. Default: the service picks one.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The most nodes running at once. Default: the service's.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// The longest the run may take, in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Do not record or checkpoint the run. Default: false.
    #[serde(default)]
    pub no_checkpoint: bool,
    /// Do not keep node outputs in the Artifact Store. Default: false.
    #[serde(default)]
    pub no_artifacts: bool,
    /// Whose run it is, for the Arbitration Engine. Default: the service's
    /// user. A peer of another user (an allowed group's member) runs as
    /// `uid:<its uid>` and may not name another tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Its priority (higher first where a strategy goes by priority).
    /// Default 0; a peer of another user may only lower it.
    #[serde(default)]
    pub priority: i32,
    /// What its calls may cost in all (manifests' `limits.cost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
}

/// A tenant's name: 1 to 64 letters, digits, `-`, `_`, `.`, `@` or `:`.
pub fn check_tenant(tenant: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&tenant.len())
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tenant '{tenant}' must be 1 to 64 letters, digits, '-', '_', '.', '@' or ':'"
        ))
    }
}
message!(RunStart, "run.start", |m: &RunStart| {
    match (&m.workflow, &m.workflow_path) {
        (Some(_), Some(_)) => return Err("give either workflow or workflow_path, not both".into()),
        (None, None) => {
            return Err("give the workflow inline (workflow) or by path (workflow_path)".into());
        }
        _ => {}
    }
    if m.concurrency == Some(0) {
        return Err("concurrency must be at least 1".into());
    }
    if let Some(budget) = m.budget
        && !(0.0..=symphony_host::arbitration::MAX_BUDGET).contains(&budget)
    {
        return Err(format!(
            "budget must be a number from 0 to 1e12, not {budget}"
        ));
    }
    if let Some(tenant) = &m.tenant {
        check_tenant(tenant)?;
    }
    m.run_id.as_deref().map_or(Ok(()), check_run_id)
});
request!(RunStart => RunStarted);

/// A run was started (or resumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The run's id.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// Nodes taken from a checkpoint (a resumed run), else 0.
    #[serde(default)]
    pub restored: usize,
}
message!(RunStarted, "reply.run-started");

/// Names one run.
macro_rules! run_request {
    ($(#[$doc:meta])* $ty:ident, $kind:literal => $reply:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $ty {
            /// The run's id.
            pub run: String,
        }
        message!($ty, $kind, |m: &$ty| check_run_id(&m.run));
        request!($ty => $reply);
    };
}

run_request!(
    /// A run's state, nodes and output ([`RunStatusReply`]).
    RunStatusRequest, "run.status" => RunStatusReply
);
run_request!(
    /// Pauses a running run: nodes already running finish, no new one
    /// starts ([`RunStateReply`]).
    RunPause, "run.pause" => RunStateReply
);
run_request!(
    /// Resumes a paused run, or continues an interrupted or failed one
    /// from its checkpoint without redoing finished nodes
    /// ([`RunStateReply`]).
    RunResume, "run.resume" => RunStateReply
);
run_request!(
    /// Cancels a run: nothing more starts, and it ends `cancelled`
    /// ([`RunStateReply`]).
    RunCancel, "run.cancel" => RunStateReply
);
run_request!(
    /// Runs a failed run's failed nodes again, keeping the rest
    /// ([`RunStateReply`]).
    RunRetry, "run.retry" => RunStateReply
);
run_request!(
    /// The report of a run that ended: per-node reports, output, metrics,
    /// and the views of the workflow's addons ([`RunReportReply`]).
    RunReportRequest, "run.report" => RunReportReply
);

/// A run's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStatusReply {
    /// As recorded: its nodes, output, and whether it was interrupted.
    pub status: RunStatus,
    /// Its state right now, when this service is running it (`paused`,
    /// say, which the record does not show).
    #[serde(default)]
    pub live: Option<String>,
    /// While it runs: nodes waiting (or that waited in their current
    /// attempt) for a contended resource, with where they stand in line
    /// and the expected wait.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub waiting: std::collections::BTreeMap<String, String>,
}
message!(RunStatusReply, "reply.run-status");

/// Lists recent runs, newest first ([`RunsReply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunList {
    /// How many. Default: 20.
    #[serde(default = "default_limit")]
    pub limit: usize,
}
message!(RunList, "run.list", |m: &RunList| {
    if m.limit > 10_000 {
        Err(format!("limit {} is more than 10000", m.limit))
    } else {
        Ok(())
    }
});
request!(RunList => RunsReply);

/// Recent runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsReply {
    /// Newest first.
    pub runs: Vec<RunSummary>,
}
message!(RunsReply, "reply.runs");

/// A run's state after a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStateReply {
    /// The run.
    pub run: String,
    /// The state it was in.
    pub from: String,
    /// The state it is in now.
    pub state: String,
}
message!(RunStateReply, "reply.run-state");

/// A finished run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReportReply {
    /// The report.
    pub report: RunReport,
    /// Each addon of the workflow, by name: `{"text", "vnodes"}` or
    /// `{"error"}`.
    #[serde(default)]
    pub addons: serde_json::Map<String, Value>,
}
message!(RunReportReply, "reply.run-report");
