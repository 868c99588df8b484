//! The decision engine: a pure function from a policy and facts to one
//! decision per artifact.
//!
//! The rules, in order:
//!
//! 1. **Protected** artifacts — pinned, tagged with a `keep_tags` tag, or
//!    training data while `preserve_training` is on — are never deleted, by
//!    any rule. Pinned ones are also never archived: a pin means "keep it
//!    hot". Keep-tagged and training artifacts may still move to warm or cold
//!    when idle, since archiving loses nothing.
//! 2. **Age rule**: an unprotected artifact created more than `max_age_days`
//!    ago is deleted when it is also low-value: read fewer than
//!    `min_access_count` times or of quality below `min_quality` (when neither
//!    is set, age alone is enough).
//! 3. **Tiering**: an artifact idle (since its last read, or creation if never
//!    read) for `cold_after_days` goes cold, for `archive_after_days` warm.
//!    Artifacts only move down (hot → warm → cold), never back up.
//! 4. **Budget**: while the kept artifacts' total size exceeds
//!    `max_total_bytes`, the unprotected artifact with the lowest value score
//!    (ties: older first, then by id) is deleted.
//!
//! Decisions come back in the order of the facts; they depend only on the
//! inputs, not on their order (ties are broken by id).

use std::fmt;

use super::{ArtifactFacts, DAY_MS, RetentionPolicy, Tier, value_score};

/// What to do with one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave it where it is.
    Keep,
    /// Move it to this (colder) tier.
    Archive(Tier),
    /// Move it to the trash.
    Delete,
}

/// Why the engine decided what it did. Displays as a short phrase.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// Pinned by a user: kept, and kept hot.
    Pinned,
    /// Tagged with one of the policy's `keep_tags`.
    KeepTag(String),
    /// Training data, preserved by the policy.
    TrainingData,
    /// Created longer ago than `max_age_days`.
    OlderThan {
        /// The policy's limit.
        limit_days: u32,
        /// The artifact's age in whole days.
        age_days: i64,
    },
    /// Read fewer times than `min_access_count`.
    RarelyAccessed {
        /// How often it was read.
        count: u64,
        /// The policy's minimum.
        min: u64,
    },
    /// Quality below `min_quality`.
    LowQuality {
        /// The artifact's quality.
        quality: f64,
        /// The policy's minimum.
        min: f64,
    },
    /// Idle long enough to move to a colder tier.
    Idle {
        /// Whole days since last use.
        idle_days: i64,
        /// The policy's threshold for `tier`.
        after_days: u32,
        /// The tier it goes to.
        tier: Tier,
    },
    /// Chosen to bring the total under `max_total_bytes`.
    OverBudget {
        /// How far over the budget the total was when it was chosen.
        over_bytes: u64,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Pinned => f.write_str("pinned"),
            Reason::KeepTag(tag) => write!(f, "tagged {tag}"),
            Reason::TrainingData => f.write_str("training data"),
            Reason::OlderThan {
                limit_days,
                age_days,
            } => write!(f, "older than {limit_days} days ({age_days} days)"),
            Reason::RarelyAccessed { count, min } => {
                write!(f, "accessed {count} times (< {min})")
            }
            Reason::LowQuality { quality, min } => write!(f, "quality {quality:.2} < {min:.2}"),
            Reason::Idle {
                idle_days,
                after_days,
                tier,
            } => write!(
                f,
                "idle {idle_days} days (≥ {after_days}), to the {tier} tier"
            ),
            Reason::OverBudget { over_bytes } => {
                write!(f, "over the size budget by {}", human_bytes(*over_bytes))
            }
        }
    }
}

/// `bytes` as "512 B", "3.1 MiB", "2.0 GiB".
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The engine's verdict on one artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The artifact.
    pub id: String,
    /// What to do with it.
    pub action: Action,
    /// Why; protections are listed for kept artifacts too.
    pub reasons: Vec<Reason>,
    /// Its value score (see [`value_score`]).
    pub score: f64,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Keep => "keep".to_owned(),
            Action::Archive(tier) => format!("archive to {tier}"),
            Action::Delete => "delete".to_owned(),
        };
        write!(f, "{}: {action} (score {:.2})", self.id, self.score)?;
        for (i, reason) in self.reasons.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(f, "{reason}")?;
        }
        Ok(())
    }
}

/// Decides what to do with each artifact in `facts` at `now_ms` under
/// `policy` (see the module docs for the rules). One decision per fact, in
/// the same order.
pub fn evaluate(policy: &RetentionPolicy, facts: &[ArtifactFacts], now_ms: i64) -> Vec<Decision> {
    let mut protected = Vec::with_capacity(facts.len());
    let mut decisions: Vec<Decision> = facts
        .iter()
        .map(|f| {
            let (decision, is_protected) = decide_one(policy, f, now_ms);
            protected.push(is_protected);
            decision
        })
        .collect();
    if let Some(budget) = policy.max_total_bytes {
        apply_budget(budget, facts, &protected, &mut decisions);
    }
    decisions
}

/// The per-artifact rules (1–3); returns the decision and whether the
/// artifact is protected.
fn decide_one(policy: &RetentionPolicy, f: &ArtifactFacts, now_ms: i64) -> (Decision, bool) {
    let score = value_score(policy, f, now_ms);
    let mut protections = Vec::new();
    if f.pinned {
        protections.push(Reason::Pinned);
    }
    if let Some(tag) = f.tags.iter().find(|t| policy.keep_tags.contains(t)) {
        protections.push(Reason::KeepTag(tag.clone()));
    }
    if policy.preserve_training && policy.is_training(&f.tags) {
        protections.push(Reason::TrainingData);
    }
    let protected = !protections.is_empty();
    let decision = |action, reasons| Decision {
        id: f.id.clone(),
        action,
        reasons,
        score,
    };

    let age_ms = now_ms.saturating_sub(f.created_ms).max(0);
    if !protected
        && let Some(limit_days) = policy.max_age_days
        && age_ms > i64::from(limit_days) * DAY_MS
    {
        let mut low_value = Vec::new();
        if let Some(min) = policy.min_access_count
            && f.access_count < min
        {
            low_value.push(Reason::RarelyAccessed {
                count: f.access_count,
                min,
            });
        }
        if let Some(min) = policy.min_quality {
            let quality = if f.quality.is_nan() { 0.0 } else { f.quality };
            if quality < min {
                low_value.push(Reason::LowQuality { quality, min });
            }
        }
        let no_value_rule = policy.min_access_count.is_none() && policy.min_quality.is_none();
        if no_value_rule || !low_value.is_empty() {
            let mut reasons = vec![Reason::OlderThan {
                limit_days,
                age_days: age_ms / DAY_MS,
            }];
            reasons.extend(low_value);
            return (decision(Action::Delete, reasons), false);
        }
    }

    if !f.pinned {
        let last_used = f.last_access_ms.unwrap_or(f.created_ms);
        let idle_ms = now_ms.saturating_sub(last_used).max(0);
        let target = [
            (policy.cold_after_days, Tier::Cold),
            (policy.archive_after_days, Tier::Warm),
        ]
        .into_iter()
        .find_map(|(after, tier)| {
            after
                .filter(|days| idle_ms >= i64::from(*days) * DAY_MS)
                .map(|days| (days, tier))
        });
        if let Some((after_days, tier)) = target
            && tier > f.tier
        {
            let mut reasons = protections;
            reasons.push(Reason::Idle {
                idle_days: idle_ms / DAY_MS,
                after_days,
                tier,
            });
            return (decision(Action::Archive(tier), reasons), protected);
        }
    }
    (decision(Action::Keep, protections), protected)
}

/// Rule 4: deletes the lowest-scoring unprotected artifacts until the kept
/// total is within `budget`.
fn apply_budget(
    budget: u64,
    facts: &[ArtifactFacts],
    protected: &[bool],
    decisions: &mut [Decision],
) {
    let mut total: u64 = facts
        .iter()
        .zip(decisions.iter())
        .filter(|(_, d)| d.action != Action::Delete)
        .fold(0u64, |sum, (f, _)| sum.saturating_add(f.size));
    if total <= budget {
        return;
    }
    let mut candidates: Vec<usize> = (0..facts.len())
        .filter(|&i| !protected[i] && decisions[i].action != Action::Delete && facts[i].size > 0)
        .collect();
    candidates.sort_by(|&a, &b| {
        decisions[a]
            .score
            .total_cmp(&decisions[b].score)
            .then(facts[a].created_ms.cmp(&facts[b].created_ms))
            .then(facts[a].id.cmp(&facts[b].id))
    });
    for i in candidates {
        if total <= budget {
            break;
        }
        let d = &mut decisions[i];
        d.action = Action::Delete;
        d.reasons = vec![Reason::OverBudget {
            over_bytes: total - budget,
        }];
        total -= facts[i].size;
    }
}

#[cfg(test)]
mod tests;
