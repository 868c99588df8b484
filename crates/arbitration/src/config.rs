//! `<home>/arbitration.toml`: the strategy of each resource, tenants'
//! weights and budgets, the fairness floor and the log's size.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::StrategyKind;

#[cfg(test)]
mod tests;

/// The Arbitration Engine's settings. Every field may be left out.
///
/// ```toml
/// aging_ms = 500            # priority rises one level per 500 ms waited
/// fairness_floor = 0.8      # Jain's index below which the starved tenant is boosted
/// window_secs = 60          # the sliding window of stats and fairness
///
/// [slots]                   # the host's parallel node slots
/// capacity = 16
/// strategy = "priority"
///
/// [instances]               # waits for an instance of any extension
/// strategy = "priority"
///
/// [extensions.mock-llm]     # ... or of this one
/// strategy = "fair-share"
///
/// [memory]                  # which idle instance is evicted for a new one
/// strategy = "priority"
///
/// [tenants.alice]
/// weight = 2
/// budget = 100.0
/// budget_window_secs = 3600
///
/// [log]
/// max_rows = 100000
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Symphony arbitration settings (arbitration.toml)",
    description = "The Arbitration Engine's settings in <home>/arbitration.toml: the strategy of each contended resource (parallel slots, extensions' instances, the pool's memory), tenants' weights and budgets, the fairness floor and the decision log's size. Every field may be left out."
)]
pub struct ArbitrationConfig {
    /// How long a waiting request waits to gain one priority level, in
    /// milliseconds (the priority strategy's aging). Default 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aging_ms: Option<u64>,
    /// Jain's index (0–1] below which the engine boosts the starved tenant
    /// and says so on the bus. Default: no floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness_floor: Option<f64>,
    /// The sliding window of stats and fairness, in seconds. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    /// The host's parallel node slots.
    #[serde(default)]
    pub slots: SlotsConfig,
    /// Waits for an instance of any extension.
    #[serde(default)]
    pub instances: ResourceConfig,
    /// Waits for an instance of one extension, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, ResourceConfig>,
    /// The eviction order of the pool's memory and instance budget:
    /// `priority` (an idle instance last used at a lower priority goes
    /// first, and none is evicted for a lower-priority request) or `fifo`
    /// (least recently used). Default `priority`.
    #[serde(default)]
    pub memory: ResourceConfig,
    /// Tenants' weights and budgets, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, TenantConfig>,
    /// The decision log.
    #[serde(default)]
    pub log: LogConfig,
}

/// The parallel node slots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotsConfig {
    /// Nodes running at once across all runs. Default: 4 per core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    /// How waiting nodes are ordered. Default `priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyKind>,
}

/// A resource's strategy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// How waiting requests are ordered. Default `priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyKind>,
}

/// A tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Its weight under fair share, more than 0. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// What its calls may cost in all (manifests' `limits.cost` per call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    /// Spending ages out of the budget after this many seconds (it
    /// refills); without it the budget is for the host's lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_window_secs: Option<u64>,
}

/// The decision log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Decisions kept; older ones are deleted. Default 100,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
}

/// The largest budget: spending is counted in millionths in 64 bits.
pub const MAX_BUDGET: f64 = 1e12;

/// `arbitration.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not valid TOML of this shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong and where (line and column).
        message: String,
    },
    /// A value is out of range.
    #[error("{path}: {field}: {problem}")]
    Invalid {
        /// The file.
        path: String,
        /// The setting.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// `text` on one line: control characters (a newline quoted from the
/// file) escaped.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

impl ArbitrationConfig {
    /// Reads `path`; a missing file is the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses `text` (named `origin` in errors) and checks its values.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: ArbitrationConfig = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!("line {line}, column {column}: ")
                })
                .unwrap_or_default();
            ConfigError::Parse {
                path: origin.to_string(),
                message: format!("{at}{}", one_line(e.message())),
            }
        })?;
        config.check(origin)?;
        Ok(config)
    }

    /// Refuses values out of range, naming the setting.
    pub fn check(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |field: String, problem: String| {
            Err(ConfigError::Invalid {
                path: origin.to_string(),
                field: one_line(&field),
                problem,
            })
        };
        if self.aging_ms == Some(0) {
            return invalid("aging_ms".into(), "must be at least 1".into());
        }
        if let Some(floor) = self.fairness_floor
            && !(floor > 0.0 && floor <= 1.0)
        {
            return invalid(
                "fairness_floor".into(),
                format!("must be in (0, 1], not {floor}"),
            );
        }
        if self.window_secs == Some(0) {
            return invalid("window_secs".into(), "must be at least 1".into());
        }
        if self.slots.capacity == Some(0) {
            return invalid("slots.capacity".into(), "must be at least 1".into());
        }
        if let Some(strategy) = self.memory.strategy
            && !matches!(strategy, StrategyKind::Priority | StrategyKind::Fifo)
        {
            return invalid(
                "memory.strategy".into(),
                format!("must be \"priority\" or \"fifo\" (an eviction order), not \"{strategy}\""),
            );
        }
        for (name, tenant) in &self.tenants {
            if let Some(weight) = tenant.weight
                && !(weight > 0.0 && weight.is_finite())
            {
                return invalid(
                    format!("tenants.{name}.weight"),
                    format!("must be more than 0, not {weight}"),
                );
            }
            if let Some(budget) = tenant.budget
                && !(0.0..=MAX_BUDGET).contains(&budget)
            {
                return invalid(
                    format!("tenants.{name}.budget"),
                    format!("must be from 0 to {MAX_BUDGET:e}, not {budget}"),
                );
            }
            if tenant.budget_window_secs == Some(0) {
                return invalid(
                    format!("tenants.{name}.budget_window_secs"),
                    "must be at least 1".into(),
                );
            }
        }
        if self.log.max_rows == Some(0) {
            return invalid("log.max_rows".into(), "must be at least 1".into());
        }
        Ok(())
    }

    /// The aging step.
    pub fn aging(&self) -> Duration {
        Duration::from_millis(self.aging_ms.unwrap_or(1000))
    }

    /// The stats window.
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_secs.unwrap_or(60))
    }

    /// The slots' capacity.
    pub fn slot_capacity(&self) -> u64 {
        self.slots.capacity.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            4 * cores as u64
        })
    }

    /// The strategy for waits on `extension`'s instances.
    pub fn instance_strategy(&self, extension: &str) -> StrategyKind {
        self.extensions
            .get(extension)
            .and_then(|r| r.strategy)
            .or(self.instances.strategy)
            .unwrap_or(StrategyKind::Priority)
    }

    /// The log's size.
    pub fn max_rows(&self) -> u64 {
        self.log.max_rows.unwrap_or(100_000)
    }
}
