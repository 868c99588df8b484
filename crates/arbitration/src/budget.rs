//! Cost budgets: a limit on what calls may spend, for a tenant or a run,
//! optionally over a sliding window (spending ages out and the budget
//! refills). Charged before a call, all or nothing across the budgets it
//! draws on, so concurrent calls never overspend.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::BudgetExhausted;

#[cfg(test)]
mod tests;

/// Spending is counted in millionths, so sums are exact.
const SCALE: f64 = 1e6;

fn units(amount: f64) -> u64 {
    (amount.max(0.0) * SCALE).round() as u64
}

fn amount(units: u64) -> f64 {
    units as f64 / SCALE
}

/// One budget.
#[derive(Debug)]
struct Budget {
    limit: u64,
    window: Option<Duration>,
    /// Charges still inside the window (every charge when there is none,
    /// folded into `spent`).
    charges: VecDeque<(Instant, u64)>,
    spent: u64,
    /// Whether "near its end" was announced since it last had room.
    warned: bool,
}

impl Budget {
    fn age(&mut self, now: Instant) {
        let Some(window) = self.window else { return };
        while let Some(&(at, cost)) = self.charges.front() {
            if now.saturating_duration_since(at) < window {
                break;
            }
            self.charges.pop_front();
            self.spent = self.spent.saturating_sub(cost);
        }
    }

    /// When `cost` would fit, if spending ages out.
    fn fits_at(&self, cost: u64) -> Option<Instant> {
        let window = self.window?;
        if cost > self.limit {
            return None;
        }
        let mut spent = self.spent;
        for &(at, charge) in &self.charges {
            spent = spent.saturating_sub(charge);
            if spent.saturating_add(cost) <= self.limit {
                return Some(at + window);
            }
        }
        None
    }
}

/// The outcome of a charge that did not go through.
#[derive(Debug, Clone, PartialEq)]
pub enum Shortfall {
    /// It never will: the budget is spent and does not refill in time.
    Exhausted(BudgetExhausted),
    /// It will at this time, as spending ages out.
    RefillsAt(Instant, BudgetExhausted),
}

/// Named budgets.
#[derive(Debug, Default)]
pub struct Budgets {
    budgets: Mutex<HashMap<String, Budget>>,
}

/// How full a budget is after a charge.
#[derive(Debug, Clone, PartialEq)]
pub struct Spent {
    /// The budget.
    pub budget: String,
    /// Spent (in the window).
    pub spent: f64,
    /// Its limit.
    pub limit: f64,
    /// Whether it just passed 90% of its limit.
    pub near_end: bool,
}

impl Budgets {
    /// Sets budget `name` to `limit`, spent over `window` if given. An
    /// existing budget keeps what was spent.
    pub fn set(&self, name: &str, limit: f64, window: Option<Duration>) {
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        let budget = budgets.entry(name.to_string()).or_insert(Budget {
            limit: 0,
            window,
            charges: VecDeque::new(),
            spent: 0,
            warned: false,
        });
        budget.limit = units(limit);
        budget.window = window;
    }

    /// Forgets budget `name` (a run's, when the run ends).
    pub fn remove(&self, name: &str) {
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        budgets.remove(name);
    }

    /// (spent, limit) of budget `name`.
    pub fn get(&self, name: &str) -> Option<(f64, f64)> {
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        let budget = budgets.get_mut(name)?;
        budget.age(Instant::now());
        Some((amount(budget.spent), amount(budget.limit)))
    }

    /// Charges `cost` to every budget in `names` that exists, or to none:
    /// if one would be exceeded, says which, and when it refills if it
    /// does.
    pub fn charge(
        &self,
        names: &[&str],
        cost: f64,
        label: &str,
        now: Instant,
    ) -> Result<Vec<Spent>, Shortfall> {
        let cost_units = units(cost);
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        for name in names {
            let Some(budget) = budgets.get_mut(*name) else {
                continue;
            };
            budget.age(now);
            if budget.spent.saturating_add(cost_units) > budget.limit {
                let exhausted = BudgetExhausted {
                    budget: name.to_string(),
                    label: label.to_string(),
                    cost,
                    left: amount(budget.limit.saturating_sub(budget.spent)),
                    limit: amount(budget.limit),
                    refill: budget.window,
                };
                return Err(match budget.fits_at(cost_units) {
                    Some(at) => Shortfall::RefillsAt(at, exhausted),
                    None => Shortfall::Exhausted(exhausted),
                });
            }
        }
        let mut spent = Vec::new();
        for name in names {
            let Some(budget) = budgets.get_mut(*name) else {
                continue;
            };
            budget.spent = budget.spent.saturating_add(cost_units);
            if budget.window.is_some() {
                budget.charges.push_back((now, cost_units));
            }
            let near = u128::from(budget.spent) * 10 >= u128::from(budget.limit) * 9;
            let near_end = near && !budget.warned;
            budget.warned = near;
            spent.push(Spent {
                budget: name.to_string(),
                spent: amount(budget.spent),
                limit: amount(budget.limit),
                near_end,
            });
        }
        Ok(spent)
    }
}
