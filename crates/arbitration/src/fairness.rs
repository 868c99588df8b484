//! Fairness measures over what tenants received: Jain's index and the Gini
//! coefficient, and Dominant Resource Fairness as progressive filling (the
//! rule [`FairShare`](crate::FairShare) follows one decision at a time).

#[cfg(test)]
mod tests;

/// Jain's fairness index (Σx)² ÷ (n·Σx²): 1 when everyone gets the same,
/// 1/n when one gets everything. 1 for no values or all zero.
pub fn jain(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let squares: f64 = values.iter().map(|x| x * x).sum();
    if values.is_empty() || squares == 0.0 {
        return 1.0;
    }
    sum * sum / (n * squares)
}

/// The Gini coefficient Σᵢ Σⱼ |xᵢ − xⱼ| ÷ (2n²·mean): 0 when everyone gets
/// the same, approaching 1 as one gets everything. 0 for no values or all
/// zero.
pub fn gini(values: &[f64]) -> f64 {
    let n = values.len();
    let sum: f64 = values.iter().sum();
    if n == 0 || sum == 0.0 {
        return 0.0;
    }
    // Sorted, Σᵢ Σⱼ |xᵢ − xⱼ| = 2 Σᵢ (2i − n + 1)·xᵢ (i from 0): O(n log n).
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * i as f64 - n as f64 + 1.0) * x)
        .sum();
    weighted / (n as f64 * sum)
}

/// Weighted Dominant Resource Fairness by progressive filling: tasks are
/// given one at a time to the tenant whose dominant share (the largest,
/// over resources, of its allocation ÷ capacity) divided by its weight is
/// smallest, among tenants whose next task still fits, until none fits.
/// `demands[t]` is tenant t's per-task demand vector; returns tasks per
/// tenant. Tenants demanding nothing get none.
pub fn drf(capacities: &[f64], demands: &[Vec<f64>], weights: &[f64]) -> Vec<u64> {
    let mut used = vec![0.0; capacities.len()];
    let mut tasks = vec![0u64; demands.len()];
    let share = |t: usize, tasks: &[u64]| -> f64 {
        demands[t]
            .iter()
            .zip(capacities)
            .map(|(d, c)| tasks[t] as f64 * d / c)
            .fold(0.0, f64::max)
            / weights[t]
    };
    loop {
        let fits = |t: usize, used: &[f64]| {
            demands[t].iter().any(|d| *d > 0.0)
                && demands[t]
                    .iter()
                    .zip(used)
                    .zip(capacities)
                    .all(|((d, u), c)| u + d <= c + 1e-9)
        };
        let next = (0..demands.len())
            .filter(|&t| fits(t, &used))
            .min_by(|&a, &b| share(a, &tasks).total_cmp(&share(b, &tasks)));
        let Some(t) = next else {
            return tasks;
        };
        for (u, d) in used.iter_mut().zip(&demands[t]) {
            *u += d;
        }
        tasks[t] += 1;
    }
}
