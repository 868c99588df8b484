//! The waiting line of one resource: requests by tenant in arrival order,
//! ranked by the resource's strategy at each decision. Pure: time comes in
//! as an argument, so property tests run it on a simulated clock.

use std::cmp::Ordering;
use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use crate::strategy::{Context, Entry, Strategy};

#[cfg(test)]
mod tests;

/// What a request asks for.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    /// The tenant's index.
    pub tenant: u32,
    /// Its priority.
    pub priority: i32,
    /// When its work is due.
    pub deadline: Option<Instant>,
    /// Units wanted (1 for an instance or a slot).
    pub units: u64,
}

/// A queued request and what to hand it when it is served.
#[derive(Debug)]
pub struct Waiter<S> {
    /// How strategies see it.
    pub entry: Entry,
    /// What the resource keeps for it (e.g. where to send the grant).
    pub payload: S,
    /// Its fixed rank, when the strategy gives one.
    rank: Option<Rank>,
}

/// A rank, ordered totally.
#[derive(Debug, Clone, Copy)]
struct Rank(f64);

impl PartialEq for Rank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Rank {}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The requests waiting for one resource.
pub struct Queue<S> {
    strategy: Box<dyn Strategy>,
    /// Waiters of each tenant, in arrival order.
    by_tenant: Vec<VecDeque<Waiter<S>>>,
    /// (rank, arrival, tenant) of every waiter, when the strategy ranks
    /// them on arrival: the first is served next.
    ranked: BTreeSet<(Rank, u64, u32)>,
    len: usize,
    next_seq: u64,
    epoch: Instant,
}

impl<S> Queue<S> {
    /// An empty line served by `strategy`; `epoch` must precede every
    /// deadline and wait it will see (the resource's creation time).
    pub fn new(strategy: Box<dyn Strategy>, epoch: Instant) -> Self {
        Queue {
            strategy,
            by_tenant: Vec::new(),
            ranked: BTreeSet::new(),
            len: 0,
            next_seq: 0,
            epoch,
        }
    }

    /// The strategy serving it.
    pub fn strategy(&self) -> &dyn Strategy {
        &*self.strategy
    }

    /// When it was made: before every deadline it compares.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Requests waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Requests of `tenant` waiting.
    pub fn waiting_of(&self, tenant: u32) -> usize {
        self.by_tenant.get(tenant as usize).map_or(0, VecDeque::len)
    }

    /// Tenants with requests waiting.
    pub fn backlogged(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_tenant
            .iter()
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .map(|(tenant, _)| tenant as u32)
    }

    /// One past the highest tenant index seen.
    pub fn tenants(&self) -> u32 {
        self.by_tenant.len() as u32
    }

    /// Queues `ask`, waiting since `now`; returns its arrival number.
    pub fn push(&mut self, ask: Ask, now: Instant, payload: S) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let tenant = ask.tenant as usize;
        if self.by_tenant.len() <= tenant {
            self.by_tenant.resize_with(tenant + 1, VecDeque::new);
        }
        let entry = Entry {
            tenant: ask.tenant,
            priority: ask.priority,
            deadline: ask.deadline,
            units: ask.units,
            since: now,
            seq,
        };
        let rank = self.strategy.rank(&entry, self.epoch).map(Rank);
        if let Some(rank) = rank {
            self.ranked.insert((rank, seq, ask.tenant));
        }
        self.by_tenant[tenant].push_back(Waiter {
            entry,
            payload,
            rank,
        });
        self.len += 1;
        seq
    }

    /// Where request `seq` of `tenant` is: (tenant, index in its line).
    fn find(&self, tenant: u32, seq: u64) -> Option<(usize, usize)> {
        let line = self.by_tenant.get(tenant as usize)?;
        // Arrival numbers rise along a line: a binary search finds it.
        let nth = line.binary_search_by_key(&seq, |w| w.entry.seq).ok()?;
        Some((tenant as usize, nth))
    }

    /// The waiter the strategy serves next: (tenant, index in its line).
    /// Ranked waiters: the first of the ranking. Otherwise each tenant's
    /// first waiter is ranked by its key.
    fn best(&self, ctx: &Context<'_>) -> Option<(usize, usize)> {
        if let Some(&(_, seq, tenant)) = self.ranked.first() {
            return self.find(tenant, seq);
        }
        let mut best: Option<((f64, u64), usize)> = None;
        for (tenant, line) in self.by_tenant.iter().enumerate() {
            let Some(head) = line.front() else { continue };
            let key = (self.strategy.key(&head.entry, 0, ctx), head.entry.seq);
            if best.is_none_or(|(b, _)| key.0 < b.0 || (key.0 == b.0 && key.1 < b.1)) {
                best = Some((key, tenant));
            }
        }
        best.map(|(_, tenant)| (tenant, 0))
    }

    /// Takes the waiter at `at` out of its line and the ranking.
    fn take(&mut self, (tenant, nth): (usize, usize)) -> Option<Waiter<S>> {
        let waiter = self.by_tenant[tenant].remove(nth)?;
        if let Some(rank) = waiter.rank {
            self.ranked.remove(&(rank, waiter.entry.seq, tenant as u32));
        }
        self.len -= 1;
        Some(waiter)
    }

    /// The waiter of `tenant` its strategy ranks first: (tenant, index).
    fn best_of(&self, tenant: u32, ctx: &Context<'_>) -> Option<(usize, usize)> {
        let line = self.by_tenant.get(tenant as usize)?;
        if line.is_empty() {
            return None;
        }
        if line.front().is_some_and(|w| w.rank.is_none()) {
            return Some((tenant as usize, 0));
        }
        let nth = (0..line.len()).min_by(|&a, &b| {
            let ka = (self.strategy.key(&line[a].entry, a, ctx), line[a].entry.seq);
            let kb = (self.strategy.key(&line[b].entry, b, ctx), line[b].entry.seq);
            ka.0.total_cmp(&kb.0).then(ka.1.cmp(&kb.1))
        })?;
        Some((tenant as usize, nth))
    }

    /// The request served next — `tenant`'s first if it has one waiting
    /// (a fairness boost), else the strategy's pick — if `fits` it, taken
    /// out of the line; the strategy is told.
    pub fn take_next(
        &mut self,
        tenant: Option<u32>,
        ctx: &Context<'_>,
        fits: impl FnOnce(&Entry) -> bool,
    ) -> Option<Waiter<S>> {
        let (t, nth) = tenant
            .and_then(|t| self.best_of(t, ctx))
            .or_else(|| self.best(ctx))?;
        if !fits(&self.by_tenant[t].get(nth)?.entry) {
            return None;
        }
        let waiter = self.take((t, nth))?;
        self.strategy.served(&waiter.entry, ctx);
        Some(waiter)
    }

    /// The request the strategy serves next, without taking it.
    pub fn peek(&self, ctx: &Context<'_>) -> Option<&Waiter<S>> {
        let (tenant, nth) = self.best(ctx)?;
        self.by_tenant[tenant].get(nth)
    }

    /// Takes the request the strategy serves next and tells the strategy.
    pub fn pop(&mut self, ctx: &Context<'_>) -> Option<Waiter<S>> {
        self.take_next(None, ctx, |_| true)
    }

    /// Takes request `seq` of `tenant` out of the line (cancelled, timed
    /// out); `None` if it is not waiting (it was served).
    pub fn remove(&mut self, tenant: u32, seq: u64) -> Option<Waiter<S>> {
        let at = self.find(tenant, seq)?;
        self.take(at)
    }

    /// How many requests would be served before request `seq` of `tenant`
    /// if nothing changed (0: it is next).
    pub fn position(&self, tenant: u32, seq: u64, ctx: &Context<'_>) -> Option<usize> {
        let (_, nth) = self.find(tenant, seq)?;
        let line = &self.by_tenant[tenant as usize];
        if let Some(rank) = line[nth].rank {
            return Some(self.ranked.range(..(rank, seq, tenant)).count());
        }
        let own = (self.strategy.key(&line[nth].entry, nth, ctx), seq);
        let ahead = self
            .by_tenant
            .iter()
            .flat_map(|line| line.iter().enumerate())
            .filter(|(n, w)| {
                let key = (self.strategy.key(&w.entry, *n, ctx), w.entry.seq);
                key.0 < own.0 || (key.0 == own.0 && key.1 < own.1)
            })
            .count();
        Some(ahead)
    }

    /// Every waiter, emptying the line.
    pub fn drain(&mut self) -> Vec<Waiter<S>> {
        self.len = 0;
        self.ranked.clear();
        self.by_tenant
            .iter_mut()
            .flat_map(|l| l.drain(..))
            .collect()
    }
}
