use super::*;
use proptest::prelude::*;

#[test]
fn jain_is_one_for_equal_shares_and_one_over_n_for_a_monopoly() {
    assert_eq!(jain(&[3.0, 3.0, 3.0]), 1.0);
    assert!((jain(&[9.0, 0.0, 0.0]) - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(jain(&[]), 1.0);
}

#[test]
fn gini_is_zero_for_equal_shares_and_near_one_for_a_monopoly() {
    assert_eq!(gini(&[2.0, 2.0, 2.0, 2.0]), 0.0);
    assert!((gini(&[0.0, 0.0, 0.0, 8.0]) - 0.75).abs() < 1e-12);
    // The textbook example: (1, 2, 3, 4) has Gini 0.25.
    assert!((gini(&[4.0, 1.0, 3.0, 2.0]) - 0.25).abs() < 1e-12);
}

#[test]
fn drf_reproduces_the_papers_example() {
    // Ghodsi et al.: 9 CPUs, 18 GB; A's tasks <1 CPU, 4 GB>, B's <3 CPU,
    // 1 GB>. DRF gives A three tasks and B two (dominant shares 2/3 each).
    let tasks = drf(&[9.0, 18.0], &[vec![1.0, 4.0], vec![3.0, 1.0]], &[1.0, 1.0]);
    assert_eq!(tasks, vec![3, 2]);
}

fn dominant(tasks: u64, demand: &[f64], capacities: &[f64]) -> f64 {
    demand
        .iter()
        .zip(capacities)
        .map(|(d, c)| tasks as f64 * d / c)
        .fold(0.0, f64::max)
}

proptest! {
    #[test]
    fn drf_equalises_weighted_dominant_shares_within_one_task_and_nobody_envies(
        caps in proptest::collection::vec(10.0f64..100.0, 2..4),
        raw in proptest::collection::vec(proptest::collection::vec(0.5f64..5.0, 4), 2..5),
        weights in proptest::collection::vec(1u8..4, 5),
    ) {
        let demands: Vec<Vec<f64>> = raw.iter().map(|d| d[..caps.len()].to_vec()).collect();
        let weights: Vec<f64> = weights[..demands.len()].iter().map(|&w| f64::from(w)).collect();
        let tasks = drf(&caps, &demands, &weights);
        let used: Vec<f64> = (0..caps.len())
            .map(|r| demands.iter().zip(&tasks).map(|(d, n)| d[r] * *n as f64).sum())
            .collect();
        // Granted never exceeds capacity.
        for (u, c) in used.iter().zip(&caps) {
            prop_assert!(*u <= c + 1e-6);
        }
        // Pareto efficiency: no tenant's next task still fits.
        for d in &demands {
            let fits = d.iter().zip(&used).zip(&caps).all(|((d, u), c)| u + d <= c + 1e-9);
            prop_assert!(!fits, "a task still fits: {tasks:?}");
        }
        // Equal weighted dominant shares, within one task: a tenant with a
        // smaller share stopped only because its next task did not fit.
        for a in 0..demands.len() {
            for b in 0..demands.len() {
                let share_a = dominant(tasks[a], &demands[a], &caps) / weights[a];
                let share_b = dominant(tasks[b].saturating_sub(1), &demands[b], &caps) / weights[b];
                let a_blocked = demands[a].iter().zip(&used).zip(&caps).any(|((d, u), c)| u + d > c + 1e-9);
                prop_assert!(share_b <= share_a + 1e-9 || a_blocked,
                    "tenant {b} got a task while {a} had less: {tasks:?}");
            }
        }
        // Envy-freeness (equal weights), as it holds for whole tasks: up to
        // one task (EF1) — no tenant could run more of its own tasks with
        // another's allocation less one of that tenant's tasks.
        if weights.iter().all(|w| *w == weights[0]) {
            for a in 0..demands.len() {
                for b in 0..demands.len() {
                    let kept = tasks[b].saturating_sub(1) as f64;
                    let bundle: Vec<f64> = demands[b].iter().map(|d| d * kept).collect();
                    let could = demands[a].iter().zip(&bundle)
                        .map(|(d, have)| (have / d + 1e-9).floor() as u64)
                        .min().unwrap_or(0);
                    prop_assert!(could <= tasks[a], "{a} envies {b}: {tasks:?}");
                }
            }
        }
    }

    #[test]
    fn jain_and_gini_stay_in_range(values in proptest::collection::vec(0.0f64..1e6, 1..50)) {
        let j = jain(&values);
        let g = gini(&values);
        prop_assert!(j >= 1.0 / values.len() as f64 - 1e-9 && j <= 1.0 + 1e-9);
        prop_assert!((0.0..1.0).contains(&g) || g.abs() < 1e-12);
    }
}
