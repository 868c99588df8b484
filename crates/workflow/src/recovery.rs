//! What to do when a node fails: retry with backoff, fall back, skip, fail
//! the run, or restart from the last checkpoint.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The cap on a linear or exponential backoff when `max_ms` is not given:
/// one minute.
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 60_000;

/// How long to wait before retrying a failed node.
///
/// Attempts count from 1 (the node's first run): `delay(n)` is the wait
/// after attempt `n` failed, before attempt `n + 1`.
///
/// | shape         | `delay(n)`                         | JSON                                                        |
/// |---------------|------------------------------------|-------------------------------------------------------------|
/// | `constant`    | `delay_ms`                         | `{"constant": {"delay_ms": 250}}`                           |
/// | `linear`      | `base_ms · n`, at most `max_ms`    | `{"linear": {"base_ms": 100, "max_ms": 1000}}`              |
/// | `exponential` | `base_ms · factor^(n-1)`, at most `max_ms` | `{"exponential": {"base_ms": 100, "factor": 2.0, "max_ms": 5000}}` |
///
/// `max_ms` defaults to [`DEFAULT_MAX_BACKOFF_MS`] and `factor` to 2.
/// Each shape takes an optional `jitter` fraction in `[0, 1]` (default 0):
/// [`jittered_delay`](Self::jittered_delay) shortens the delay by up to that
/// fraction, from a random sample the caller supplies, so a jittered delay
/// is never longer than the plain one. Arithmetic saturates: any attempt
/// number, up to `u32::MAX`, gives a delay within the cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(
    description = "How long to wait between attempts: one key naming the shape, \
    e.g. `{\"exponential\": {\"base_ms\": 100, \"factor\": 2.0, \"max_ms\": 5000}}`."
)]
pub enum BackoffPolicy {
    /// The same delay every time.
    Constant {
        /// The delay, in milliseconds.
        delay_ms: u64,
        /// The fraction of the delay jitter may take off.
        #[serde(default, skip_serializing_if = "is_zero")]
        jitter: f64,
    },
    /// `base_ms`, then twice it, three times it, ... up to `max_ms`.
    Linear {
        /// The first delay and the step, in milliseconds.
        base_ms: u64,
        /// The longest delay, in milliseconds.
        #[serde(default = "default_max_ms")]
        max_ms: u64,
        /// The fraction of the delay jitter may take off.
        #[serde(default, skip_serializing_if = "is_zero")]
        jitter: f64,
    },
    /// `base_ms`, then multiplied by `factor` after each failure, up to
    /// `max_ms`.
    Exponential {
        /// The first delay, in milliseconds.
        base_ms: u64,
        /// The growth per attempt; at least 1.
        #[serde(default = "default_factor")]
        factor: f64,
        /// The longest delay, in milliseconds.
        #[serde(default = "default_max_ms")]
        max_ms: u64,
        /// The fraction of the delay jitter may take off.
        #[serde(default, skip_serializing_if = "is_zero")]
        jitter: f64,
    },
}

fn default_max_ms() -> u64 {
    DEFAULT_MAX_BACKOFF_MS
}

fn default_factor() -> f64 {
    2.0
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Clamps to `[0, 1]`, reading NaN as 0.
fn unit(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

impl Default for BackoffPolicy {
    /// Exponential from 100 ms, doubling, capped at 5 s, no jitter.
    fn default() -> Self {
        BackoffPolicy::Exponential {
            base_ms: 100,
            factor: 2.0,
            max_ms: 5_000,
            jitter: 0.0,
        }
    }
}

impl BackoffPolicy {
    /// The wait after attempt `attempt` failed (1 is the first run; 0
    /// counts as 1), without jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let n = attempt.max(1);
        match *self {
            BackoffPolicy::Constant { delay_ms, .. } => Duration::from_millis(delay_ms),
            BackoffPolicy::Linear {
                base_ms, max_ms, ..
            } => Duration::from_millis(base_ms.saturating_mul(u64::from(n)).min(max_ms)),
            BackoffPolicy::Exponential {
                base_ms,
                factor,
                max_ms,
                ..
            } => exponential(base_ms, factor, max_ms, n - 1),
        }
    }

    /// The wait after attempt `attempt` failed, shortened by jitter:
    /// `delay · (1 − jitter · sample)`, where `sample` is a random number
    /// in `[0, 1]` the caller draws (values outside are clamped; NaN reads
    /// as 0). Never longer than [`delay`](Self::delay).
    pub fn jittered_delay(&self, attempt: u32, sample: f64) -> Duration {
        let plain = self.delay(attempt);
        let cut = unit(self.jitter()) * unit(sample);
        // Only the cut goes through floating point, so long delays keep
        // their precision, and the result never exceeds `plain`.
        plain.saturating_sub(plain.mul_f64(cut))
    }

    /// The jitter fraction.
    pub fn jitter(&self) -> f64 {
        match *self {
            BackoffPolicy::Constant { jitter, .. }
            | BackoffPolicy::Linear { jitter, .. }
            | BackoffPolicy::Exponential { jitter, .. } => jitter,
        }
    }

    /// The bound no delay exceeds: `max_ms`, or a constant's `delay_ms`.
    pub fn cap(&self) -> Duration {
        match *self {
            BackoffPolicy::Constant { delay_ms, .. } => Duration::from_millis(delay_ms),
            BackoffPolicy::Linear { max_ms, .. } | BackoffPolicy::Exponential { max_ms, .. } => {
                Duration::from_millis(max_ms)
            }
        }
    }

    /// Checks the parameters: `factor` finite and at least 1, `jitter` in
    /// `[0, 1]`. (`delay` copes with bad values anyway, reading a bad
    /// factor as 1 and clamping jitter.)
    pub fn validate(&self) -> Result<(), RecoveryError> {
        let jitter = self.jitter();
        if !(0.0..=1.0).contains(&jitter) {
            return Err(RecoveryError::Jitter(jitter));
        }
        if let BackoffPolicy::Exponential { factor, .. } = *self
            && !(factor.is_finite() && factor >= 1.0)
        {
            return Err(RecoveryError::Factor(factor));
        }
        Ok(())
    }
}

/// `base_ms · factor^n` capped at `max_ms`, to the microsecond.
fn exponential(base_ms: u64, factor: f64, max_ms: u64, n: u32) -> Duration {
    let cap = Duration::from_millis(max_ms);
    if base_ms == 0 {
        return Duration::ZERO;
    }
    let factor = if factor.is_finite() && factor >= 1.0 {
        factor
    } else {
        1.0
    };
    let ms = base_ms as f64 * factor.powf(f64::from(n));
    // Also catches infinity; `as u64` saturates.
    if ms >= max_ms as f64 {
        return cap;
    }
    Duration::from_micros((ms * 1_000.0).round() as u64).min(cap)
}

/// What the DAG Tracker does when a node fails.
///
/// In JSON, one key naming the strategy (a plain string for those without
/// parameters); a [`BackoffPolicy`] is likewise one key naming its shape.
/// The default is [`FailRun`](Self::FailRun), what the sequential runner
/// does.
///
/// ```
/// use std::time::Duration;
/// use symphony_workflow::{BackoffPolicy, RecoveryPolicy};
///
/// let policy: RecoveryPolicy = serde_json::from_str(
///     r#"{"retry": {"max_attempts": 3,
///                   "backoff": {"exponential": {"base_ms": 100, "factor": 2.0, "max_ms": 5000}}}}"#,
/// )?;
/// // Attempt 1 failed: wait 100 ms; attempt 2 failed: 200 ms; attempt 3
/// // was the last.
/// assert_eq!(policy.retry_delay(1), Some(Duration::from_millis(100)));
/// assert_eq!(policy.retry_delay(2), Some(Duration::from_millis(200)));
/// assert_eq!(policy.retry_delay(3), None);
///
/// // The other shapes, and the other strategies:
/// for backoff in [
///     r#"{"constant": {"delay_ms": 250}}"#,
///     r#"{"linear": {"base_ms": 100, "max_ms": 1000, "jitter": 0.2}}"#,
/// ] {
///     serde_json::from_str::<BackoffPolicy>(backoff)?;
/// }
/// for policy in [
///     r#"{"fallback": {"text": "n/a"}}"#,
///     r#"{"fallback_node": "cheap-llm"}"#,
///     r#"{"skip_with_default": null}"#,
///     r#""fail_run""#,
///     r#""restart_from_checkpoint""#,
/// ] {
///     serde_json::from_str::<RecoveryPolicy>(policy)?.validate()?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(
    description = "What to do when the node fails: one key naming the strategy, or \
    a plain string for those without parameters. Default `\"fail_run\"`."
)]
pub enum RecoveryPolicy {
    /// Run the node again, up to `max_attempts` runs in all, waiting
    /// `backoff` between them; if the last attempt fails, the run fails.
    /// `{"retry": {"max_attempts": 3, "backoff": {"constant": {"delay_ms": 50}}}}`
    Retry {
        /// Runs in all, counting the first; at least 1.
        max_attempts: u32,
        /// The wait between attempts ([`BackoffPolicy::default`] if not
        /// given).
        #[serde(default)]
        backoff: BackoffPolicy,
        /// The kinds of failure to retry, e.g. `["trap", "timeout"]`; the
        /// others fail at once. Default: every kind
        /// [retried by default](FailureKind::retried_by_default) — all but
        /// `invalid-input`, `invalid-config`, `denied` and `interrupted`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(
            description = "The kinds of failure to retry, e.g. `[\"trap\", \"timeout\"]`; \
            the others fail at once. Default: all but `invalid-input`, `invalid-config`, \
            `denied` and `interrupted`."
        )]
        on: Option<Vec<FailureKind>>,
    },
    /// Use this value as the node's output. `{"fallback": {"text": "n/a"}}`
    Fallback(Value),
    /// Run this other node (by id) in its place and use its output.
    /// `{"fallback_node": "cheap-llm"}`
    FallbackNode(String),
    /// Mark the node skipped and pass this value to the nodes after it.
    /// `{"skip_with_default": []}`
    SkipWithDefault(Value),
    /// Fail the whole run. `"fail_run"`
    #[default]
    FailRun,
    /// Restart the run from its last checkpoint, keeping the nodes
    /// finished before it. `"restart_from_checkpoint"`
    RestartFromCheckpoint,
}

impl RecoveryPolicy {
    /// Whether this policy retries a failure of `kind`: a `retry` policy
    /// whose `on` names the kind, or, without `on`, a kind
    /// [retried by default](FailureKind::retried_by_default).
    pub fn retries(&self, kind: FailureKind) -> bool {
        match self {
            RecoveryPolicy::Retry {
                on: Some(kinds), ..
            } => kinds.contains(&kind),
            RecoveryPolicy::Retry { on: None, .. } => kind.retried_by_default(),
            _ => false,
        }
    }

    /// After attempt `failed_attempt` of a node failed (1 is its first
    /// run): how long to wait before running it again, or `None` when
    /// this policy does not retry or the attempts are used up.
    pub fn retry_delay(&self, failed_attempt: u32) -> Option<Duration> {
        match self {
            RecoveryPolicy::Retry {
                max_attempts,
                backoff,
                ..
            } if failed_attempt < *max_attempts => Some(backoff.delay(failed_attempt)),
            _ => None,
        }
    }

    /// Checks the parameters: at least one attempt, a valid backoff, a
    /// non-empty fallback node id.
    pub fn validate(&self) -> Result<(), RecoveryError> {
        match self {
            RecoveryPolicy::Retry {
                max_attempts: 0, ..
            } => Err(RecoveryError::NoAttempts),
            RecoveryPolicy::Retry { backoff, .. } => backoff.validate(),
            RecoveryPolicy::FallbackNode(id) if id.trim().is_empty() => {
                Err(RecoveryError::EmptyFallbackNode)
            }
            _ => Ok(()),
        }
    }
}

/// A recovery or backoff policy has a parameter out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// `retry` with `max_attempts` 0.
    #[error("retry needs max_attempts of at least 1")]
    NoAttempts,
    /// An exponential `factor` below 1 or not finite.
    #[error("backoff factor must be a finite number of at least 1, not {0}")]
    Factor(f64),
    /// A `jitter` outside `[0, 1]`.
    #[error("backoff jitter must be between 0 and 1, not {0}")]
    Jitter(f64),
    /// `fallback_node` with an empty id.
    #[error("fallback_node needs a node id")]
    EmptyFallbackNode,
}

/// The kinds of node failure, as a [`RecoveryPolicy`] tells them apart. The guest's own `ext-error` kinds are kept
/// apart from traps, deadlines and the workflow's own checks, because they
/// call for different recovery: a retry cannot fix input the extension
/// refused, a missing grant or a bad config, but may get past a trap, an
/// unavailable model or a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The extension refused its input (`invalid-input`).
    InvalidInput,
    /// The extension refused its configuration (`invalid-config`), or the
    /// node's config does not fit the extension's manifest.
    InvalidConfig,
    /// A capability the extension lacks (`denied`).
    Denied,
    /// Something the extension needs is not available (`unavailable`), or
    /// the extension is not loaded or is quarantined.
    Unavailable,
    /// The extension reported another failure (`failed`).
    Failed,
    /// The guest trapped: a crash, fuel or memory exhausted, a broken
    /// contract.
    Trap,
    /// A deadline passed: the extension's, the node's or the run's.
    Timeout,
    /// The run was cancelled while the node ran.
    Interrupted,
    /// The workflow's own checks: a port type, an expression, a map's list.
    Workflow,
    /// The call would spend past a tenant's or the run's budget (and the
    /// budget does not refill before the node's deadline).
    BudgetExhausted,
}

impl FailureKind {
    /// Whether a node's recovery policy retries a failure of this kind
    /// unless the policy says otherwise: everything but `invalid-input`,
    /// `invalid-config`, `denied`, a cancelled run and an exhausted
    /// budget, which another attempt with the same input cannot change.
    pub fn retried_by_default(self) -> bool {
        !matches!(
            self,
            FailureKind::InvalidInput
                | FailureKind::InvalidConfig
                | FailureKind::Denied
                | FailureKind::Interrupted
                | FailureKind::BudgetExhausted
        )
    }

    /// The kind's name, as it appears in events and reports:
    /// `invalid-input`, `trap`, `timeout`...
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::InvalidInput => "invalid-input",
            FailureKind::InvalidConfig => "invalid-config",
            FailureKind::Denied => "denied",
            FailureKind::Unavailable => "unavailable",
            FailureKind::Failed => "failed",
            FailureKind::Trap => "trap",
            FailureKind::Timeout => "timeout",
            FailureKind::Interrupted => "interrupted",
            FailureKind::Workflow => "workflow",
            FailureKind::BudgetExhausted => "budget-exhausted",
        }
    }
}

#[cfg(test)]
mod tests;
