//! The value score: how much an artifact is worth keeping, in `0..=1`.
//!
//! ```text
//! idle_days  = max(0, now − (last_access or created)) / 1 day
//! recency    = 0.5 ^ (idle_days / recency_half_life_days)     1 when just used
//! frequency  = n / (n + frequency_midpoint), n = access_count 0 never, → 1
//! quality    = clamp(quality, 0, 1)                             NaN counts as 0
//! training   = 1 if tagged as training data, else 0
//! uniqueness = d / (d + 1), d = references + (copies − 1)      what depends on it
//! score      = Σ weightᵢ · componentᵢ / Σ weightᵢ
//! ```
//!
//! Every component is in `0..=1` and the weights are normalised, so the score
//! is too. Equal inputs give equal scores: the function is pure.

use super::{ArtifactFacts, DAY_MS, RetentionPolicy};

/// The value score of `facts` at `now_ms` under `policy`'s weights, in
/// `0..=1` (see the module docs for the formula).
pub fn value_score(policy: &RetentionPolicy, facts: &ArtifactFacts, now_ms: i64) -> f64 {
    let w = &policy.weights;
    let last_used = facts.last_access_ms.unwrap_or(facts.created_ms);
    let idle_days = (now_ms.saturating_sub(last_used)).max(0) as f64 / DAY_MS as f64;
    let recency = 0.5_f64.powf(idle_days / w.recency_half_life_days);
    let n = facts.access_count as f64;
    let frequency = n / (n + w.frequency_midpoint);
    let quality = if facts.quality.is_nan() {
        0.0
    } else {
        facts.quality.clamp(0.0, 1.0)
    };
    let training = if policy.is_training(&facts.tags) {
        1.0
    } else {
        0.0
    };
    let dependents = facts
        .references
        .saturating_add(facts.copies.saturating_sub(1)) as f64;
    let uniqueness = dependents / (dependents + 1.0);
    let parts = [
        (w.recency, recency),
        (w.frequency, frequency),
        (w.quality, quality),
        (w.training, training),
        (w.uniqueness, uniqueness),
    ];
    let total: f64 = parts.iter().map(|(weight, _)| weight).sum();
    if total <= 0.0 || !total.is_finite() {
        return 0.0;
    }
    let score = parts.iter().map(|(weight, c)| weight * c).sum::<f64>() / total;
    score.clamp(0.0, 1.0)
}

#[cfg(test)]
pub(crate) mod tests;
