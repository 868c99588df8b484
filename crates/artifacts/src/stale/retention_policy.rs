//! Retention policies: what to keep, archive and delete, parsed from TOML.
//!
//! ```toml
//! max_age_days = 90            # older than this and low-value → delete
//! min_access_count = 2         # "low value": read fewer times than this…
//! min_quality = 0.3            # …or quality below this
//! keep_tags = ["keep", "golden"]
//! preserve_training = true
//! max_total_bytes = 53687091200
//! archive_after_days = 14      # idle this long → warm
//! cold_after_days = 60         # idle this long → cold
//! trash_days = 7
//!
//! [weights]
//! recency = 0.35
//!
//! [throttle]
//! max_bytes_per_sec = 52428800
//! max_ops_per_sec = 200
//!
//! [schedule]
//! interval = "6h"
//! off_peak = "01:00-05:00"
//!
//! [cold]
//! kind = "local"
//! path = "/srv/symphony/cold"
//! ```

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use super::StaleError;
use super::schedule::{OffPeakWindow, Schedule, parse_interval};

/// A retention policy. Every field is optional in TOML; the [`Default`]
/// deletes nothing and archives nothing (no age rule, no budget, no tiering),
/// keeps a 7-day undo window and cleans once a day.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(title = "Symphony retention policy (retention.toml)")]
pub struct RetentionPolicy {
    /// Artifacts created more than this many days ago are deleted when they
    /// are also low-value (see `min_access_count` and `min_quality`) and not
    /// protected. Unset: no age rule. Example: `max_age_days = 90`.
    pub max_age_days: Option<u32>,
    /// Low value: read fewer times than this. Example: `min_access_count = 2`.
    pub min_access_count: Option<u64>,
    /// Low value: quality below this, in `0..=1`. Example: `min_quality = 0.3`.
    /// When neither `min_access_count` nor `min_quality` is set, age alone
    /// makes an artifact deletable.
    pub min_quality: Option<f64>,
    /// Artifacts with any of these tags are never deleted. Default `["keep"]`.
    /// Example: `keep_tags = ["keep", "golden"]`.
    pub keep_tags: Vec<String>,
    /// Never delete training data (artifacts tagged with a `training_tags`
    /// tag). Default `true`. Example: `preserve_training = false`.
    pub preserve_training: bool,
    /// The tags that mark training data. Default `["training"]`.
    /// Example: `training_tags = ["training", "eval-set"]`.
    pub training_tags: Vec<String>,
    /// A budget for the total plaintext size of kept artifacts (all tiers).
    /// Over it, the lowest-scoring unprotected artifacts are deleted until
    /// under. Unset: no budget. Example: `max_total_bytes = 53687091200`.
    pub max_total_bytes: Option<u64>,
    /// Artifacts idle (not read, or not created if never read) this many days
    /// move from hot to warm. Example: `archive_after_days = 14`.
    pub archive_after_days: Option<u32>,
    /// Artifacts idle this many days move to cold. Must not be less than
    /// `archive_after_days`. Example: `cold_after_days = 60`.
    pub cold_after_days: Option<u32>,
    /// Weights for the value score. Example: `[weights] recency = 0.5`.
    pub weights: Weights,
    /// Days a deleted artifact stays in the trash and can be undone.
    /// Default 7. Example: `trash_days = 30`.
    pub trash_days: u32,
    /// Limits on how hard the cleaner hits the disk.
    /// Example: `[throttle] max_bytes_per_sec = 52428800`.
    pub throttle: ThrottlePolicy,
    /// When the background manager runs. Example: `[schedule] interval = "6h"`.
    pub schedule: SchedulePolicy,
    /// Where the cold tier lives. Example: `[cold] kind = "local" path = "/srv/cold"`.
    pub cold: Option<ColdConfig>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            max_age_days: None,
            min_access_count: None,
            min_quality: None,
            keep_tags: vec!["keep".to_owned()],
            preserve_training: true,
            training_tags: vec!["training".to_owned()],
            max_total_bytes: None,
            archive_after_days: None,
            cold_after_days: None,
            weights: Weights::default(),
            trash_days: 7,
            throttle: ThrottlePolicy::default(),
            schedule: SchedulePolicy::default(),
            cold: None,
        }
    }
}

/// Weights of the value score's components (see [`value_score`](super::value_score)).
/// They are normalised by their sum, so only their ratios matter; each must
/// be finite and non-negative and at least one positive.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(
    description = "Weights of the value score's components; only their ratios \
    matter. Each must be finite and non-negative, and at least one positive."
)]
pub struct Weights {
    /// How recently it was used. Default 0.35. Example: `recency = 0.5`.
    pub recency: f64,
    /// How often it was used. Default 0.25. Example: `frequency = 0.2`.
    pub frequency: f64,
    /// Its quality mark. Default 0.2. Example: `quality = 0.1`.
    pub quality: f64,
    /// Whether it is training data. Default 0.1. Example: `training = 0.3`.
    pub training: f64,
    /// How much else depends on this content. Default 0.1. Example: `uniqueness = 0`.
    pub uniqueness: f64,
    /// Days of idleness that halve the recency component. Default 30.
    /// Example: `recency_half_life_days = 7`.
    pub recency_half_life_days: f64,
    /// Reads that put the frequency component at one half. Default 4.
    /// Example: `frequency_midpoint = 10`.
    pub frequency_midpoint: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            recency: 0.35,
            frequency: 0.25,
            quality: 0.2,
            training: 0.1,
            uniqueness: 0.1,
            recency_half_life_days: 30.0,
            frequency_midpoint: 4.0,
        }
    }
}

/// Throttling of the cleaner's disk and network work. Unset fields are unlimited.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottlePolicy {
    /// Bytes copied or moved per second. Example: `max_bytes_per_sec = 52428800`.
    pub max_bytes_per_sec: Option<u64>,
    /// Archive and delete operations per second. Example: `max_ops_per_sec = 50`.
    pub max_ops_per_sec: Option<f64>,
}

/// When the background [`StaleManager`](super::StaleManager) runs.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(description = "When the background Stale Manager runs.")]
pub struct SchedulePolicy {
    /// Time between runs: a number with `s`, `m`, `h` or `d`. Default `"24h"`.
    /// Example: `interval = "6h"`.
    pub interval: String,
    /// Runs only start inside this UTC window, `"HH:MM-HH:MM"`; it may cross
    /// midnight. Unset: any time. Example: `off_peak = "23:00-05:00"`.
    pub off_peak: Option<String>,
}

impl Default for SchedulePolicy {
    fn default() -> Self {
        SchedulePolicy {
            interval: "24h".to_owned(),
            off_peak: None,
        }
    }
}

impl SchedulePolicy {
    /// The schedule these settings describe.
    pub fn to_schedule(&self) -> Result<Schedule, StaleError> {
        let interval = parse_interval(&self.interval).ok_or_else(|| StaleError::PolicyField {
            field: "schedule.interval",
            value: format!("{:?}", self.interval),
            expected: "a positive number followed by s, m, h or d, e.g. \"6h\"".to_owned(),
        })?;
        let off_peak = match &self.off_peak {
            None => None,
            Some(text) => Some(OffPeakWindow::parse(text).ok_or_else(|| {
                StaleError::PolicyField {
                    field: "schedule.off_peak",
                    value: format!("{text:?}"),
                    expected: "a UTC window \"HH:MM-HH:MM\" with different ends, \
                               e.g. \"01:00-05:00\""
                        .to_owned(),
                }
            })?),
        };
        Ok(Schedule { interval, off_peak })
    }
}

/// Where the cold tier lives.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ColdConfig {
    /// A local directory (e.g. a mounted network share).
    /// Example: `[cold] kind = "local" path = "/mnt/archive"`.
    Local {
        /// The directory; created if missing.
        path: PathBuf,
    },
    /// An S3 or S3-compatible bucket; credentials come from the usual
    /// `AWS_*` environment variables. Needs the `s3` cargo feature.
    /// Example: `[cold] kind = "s3" bucket = "symphony-cold" region = "eu-west-1"`.
    S3 {
        /// The bucket name.
        bucket: String,
        /// A custom endpoint for S3-compatible stores, e.g. `"http://localhost:9000"`.
        endpoint: Option<String>,
        /// The region. Example: `"eu-west-1"`.
        region: Option<String>,
    },
}

/// The JSON Schema (draft 2020-12) of a retention policy file, as
/// `symphony schema retention` prints it. Editors that read JSON Schemas
/// for TOML take a first-line comment `#:schema PATH-OR-URL`.
pub fn retention_schema() -> serde_json::Value {
    symphony_manifest::file_schema::<RetentionPolicy>()
}

impl RetentionPolicy {
    /// Parses and validates a policy from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, StaleError> {
        Self::parse(text, "(inline)")
    }

    /// Reads, parses and validates a policy file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, StaleError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| StaleError::io("reading retention policy", path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Self, StaleError> {
        let policy: RetentionPolicy =
            toml::from_str(text).map_err(|e| StaleError::PolicyParse {
                origin: origin.to_owned(),
                message: e.to_string(),
            })?;
        policy.validate()?;
        Ok(policy)
    }

    /// Checks every field's value; the error names the first bad field.
    pub fn validate(&self) -> Result<(), StaleError> {
        let bad = |field: &'static str, value: String, expected: &str| StaleError::PolicyField {
            field,
            value,
            expected: expected.to_owned(),
        };
        if let Some(q) = self.min_quality
            && !(0.0..=1.0).contains(&q)
        {
            return Err(bad("min_quality", q.to_string(), "a number in 0..=1"));
        }
        if let (Some(warm), Some(cold)) = (self.archive_after_days, self.cold_after_days)
            && cold < warm
        {
            return Err(bad(
                "cold_after_days",
                cold.to_string(),
                &format!("at least archive_after_days ({warm})"),
            ));
        }
        if self.max_total_bytes == Some(0) {
            return Err(bad("max_total_bytes", "0".into(), "a positive byte count"));
        }
        if self.preserve_training && self.training_tags.is_empty() {
            return Err(bad(
                "training_tags",
                "[]".into(),
                "at least one tag while preserve_training is true",
            ));
        }
        let w = &self.weights;
        let parts = [
            ("weights.recency", w.recency),
            ("weights.frequency", w.frequency),
            ("weights.quality", w.quality),
            ("weights.training", w.training),
            ("weights.uniqueness", w.uniqueness),
        ];
        for (field, value) in parts {
            if !value.is_finite() || value < 0.0 {
                return Err(bad(field, value.to_string(), "a finite number ≥ 0"));
            }
        }
        if parts.iter().all(|(_, v)| *v == 0.0) {
            return Err(bad(
                "weights",
                "all 0".into(),
                "at least one positive weight",
            ));
        }
        for (field, value) in [
            ("weights.recency_half_life_days", w.recency_half_life_days),
            ("weights.frequency_midpoint", w.frequency_midpoint),
        ] {
            if !value.is_finite() || value <= 0.0 {
                return Err(bad(field, value.to_string(), "a finite number > 0"));
            }
        }
        if self.throttle.max_bytes_per_sec == Some(0) {
            return Err(bad(
                "throttle.max_bytes_per_sec",
                "0".into(),
                "a positive rate (leave it out for no limit)",
            ));
        }
        if let Some(ops) = self.throttle.max_ops_per_sec
            && !(ops.is_finite() && ops > 0.0)
        {
            return Err(bad(
                "throttle.max_ops_per_sec",
                ops.to_string(),
                "a positive rate (leave it out for no limit)",
            ));
        }
        self.schedule.to_schedule()?;
        Ok(())
    }

    /// Whether `tags` make an artifact training data.
    pub(crate) fn is_training(&self, tags: &[String]) -> bool {
        tags.iter().any(|t| self.training_tags.contains(t))
    }
}

#[cfg(test)]
mod tests;
