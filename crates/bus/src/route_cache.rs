//! The last subject each thread routed on each bus, and where it went.
//!
//! A stream publishes one subject over and over. Matching it against the
//! route table every time (splitting it into tokens, walking the wildcard
//! trie, sorting what matched, hashing it for its counters) took 15–20% of
//! a bus server reader's time (issue 22), the thread every message from a
//! peer goes through. The table's generation moves with every change made
//! to it (under its write lock), so an entry is used only while the table
//! is exactly as it was when the entry was made.
//!
//! Entries hold the routes weakly: a thread that routes once and then
//! idles keeps no closed peer or dropped subscription alive.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use smallvec::SmallVec;

use crate::metrics::SubjectCounters;
use crate::{Route, Targets};

/// Where a subject's messages go, before a queue group member is picked.
#[derive(Default)]
pub(crate) struct Resolved {
    /// Plain subscriptions, in subscription order.
    pub(crate) plain: Targets,
    /// The members of each matching queue group (its round-robin position
    /// is their group's: no copy of it is held here, since the table drops
    /// a group's position by counting who holds it).
    pub(crate) groups: Vec<Targets>,
}

/// Routes held weakly.
type WeakRoutes = SmallVec<[Weak<Route>; 4]>;

/// One thread's entry.
struct Entry {
    bus: u64,
    generation: u64,
    subject: String,
    plain: WeakRoutes,
    groups: Vec<WeakRoutes>,
    counters: Arc<SubjectCounters>,
}

thread_local! {
    static LAST: RefCell<Option<Entry>> = const { RefCell::new(None) };
}

/// The routes and counters this thread last found for `subject` on bus
/// `bus` at `generation`, if it did and every route is still alive.
pub(crate) fn get(
    bus: u64,
    generation: u64,
    subject: &str,
) -> Option<(Resolved, Arc<SubjectCounters>)> {
    LAST.with(|last| {
        let last = last.try_borrow().ok()?;
        let entry = last.as_ref()?;
        if entry.bus != bus || entry.generation != generation || &*entry.subject != subject {
            return None;
        }
        let plain = upgrade(&entry.plain)?;
        let groups = (entry.groups.iter())
            .map(|members| upgrade(members))
            .collect::<Option<_>>()?;
        Some((Resolved { plain, groups }, entry.counters.clone()))
    })
}

/// Remembers what `subject` resolved to on bus `bus` at `generation`.
pub(crate) fn put(
    bus: u64,
    generation: u64,
    subject: &str,
    resolved: &Resolved,
    counters: &Arc<SubjectCounters>,
) {
    LAST.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return;
        };
        // Filled in place: a thread publishing ever-new subjects (a run's
        // events, say) replaces its entry on every publish, and reuses its
        // buffers rather than allocating new ones each time.
        let entry = last.get_or_insert_with(|| Entry {
            bus,
            generation,
            subject: String::new(),
            plain: WeakRoutes::new(),
            groups: Vec::new(),
            counters: counters.clone(),
        });
        entry.bus = bus;
        entry.generation = generation;
        entry.subject.clear();
        entry.subject.push_str(subject);
        entry.plain.clear();
        entry
            .plain
            .extend(resolved.plain.iter().map(Arc::downgrade));
        entry.groups.clear();
        (entry.groups).extend(resolved.groups.iter().map(|members| downgrade(members)));
        entry.counters.clone_from(counters);
    });
}

fn upgrade(routes: &[Weak<Route>]) -> Option<Targets> {
    routes.iter().map(Weak::upgrade).collect()
}

fn downgrade(routes: &[Arc<Route>]) -> WeakRoutes {
    routes.iter().map(Arc::downgrade).collect()
}
