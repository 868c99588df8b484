//! The in-process message bus: subjects with wildcards, publish/subscribe,
//! request/reply, queue groups, bounded queues with an explicit policy for
//! slow subscribers, and per-subject metrics.
//!
//! Messages are [`Envelope`]s from `symphony-protocol`; payloads are
//! [`Bytes`], so delivering one message to many subscribers shares its
//! payload instead of copying it.
//!
//! ```
//! use std::time::Duration;
//! use symphony_bus::Bus;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bus = Bus::new();
//! let events = bus.subscribe("exec.*.node")?;
//! bus.publish("exec.run-1.node", b"started".to_vec())?;
//! let got = events.recv_timeout(Duration::from_secs(1)).expect("delivered");
//! assert_eq!(got.subject, "exec.run-1.node");
//! # Ok(())
//! # }
//! ```
//!
//! A [`server::BusServer`] serves a bus to other processes, which connect
//! with `symphony_protocol::client::Client`. This crate sits on
//! `symphony-protocol` alone; the runtime and the host build on it.

mod interrupt;
mod metrics;
mod queue;
mod reply;
mod route_cache;
pub mod server;
mod service;
mod signal;
mod spin;
mod sublist;

use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
pub use symphony_protocol::{Envelope, subject_matches};
use symphony_protocol::{validate_pattern, validate_subject};

pub use interrupt::Interrupt;
pub use metrics::{LatencyStats, SubjectStats};
pub use queue::SlowPolicy;

use metrics::{Metrics, SubjectCounters};
pub(crate) use queue::{Offer, Queue, Target};
pub use server::{
    BusServer, ERROR_KIND_HEADER, Knock, PeerAccess, PeerCredentials, PeerGate, PeerStats, Refusal,
    ServerError, ServerOptions, ServerStats,
};
pub use service::Service;
pub use signal::Signal;

/// Why a bus operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The subject or pattern is malformed.
    #[error("invalid subject: {0}")]
    InvalidSubject(String),
    /// A request found nobody subscribed to its subject.
    #[error("no responders on '{subject}'")]
    NoResponders {
        /// The request's subject.
        subject: String,
    },
    /// A request got no reply in time.
    #[error("no reply on '{subject}' within {timeout:?}")]
    Timeout {
        /// The request's subject.
        subject: String,
        /// How long it waited.
        timeout: Duration,
    },
}

/// Why [`Subscription::recv`] returned no message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Nothing arrived in time.
    #[error("no message within the timeout")]
    Timeout,
    /// The subscription was closed, and why.
    #[error("subscription closed: {0}")]
    Disconnected(&'static str),
}

/// How a subscription receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeOptions {
    /// Join this queue group: each message goes to one member of the group.
    pub queue_group: Option<String>,
    /// Messages that may wait before the slow policy applies. Default:
    /// 65,536, as a bus client's subscription (and NATS's pending limit),
    /// so a burst from a streaming publisher (a whole read's worth of
    /// frames routed at once while the receiver waits for a core) fits:
    /// with the former 1,024, a receiver that kept up on average lost
    /// thousands of messages.
    pub capacity: usize,
    /// Payload bytes that may wait before the slow policy applies (a queue
    /// always takes one message, however large). Default: 64 MiB, as
    /// NATS's pending limit, so a stuck subscriber holds at most that much
    /// however large the messages.
    pub max_bytes: usize,
    /// What happens when the queue is full. Default: drop the oldest.
    pub policy: SlowPolicy,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        SubscribeOptions {
            queue_group: None,
            capacity: 65_536,
            max_bytes: 64 << 20,
            policy: SlowPolicy::default(),
        }
    }
}

/// One subscription as the router sees it.
struct Route {
    sid: u64,
    /// Travels with each message queued by this route: the peer's own
    /// subscription id when several routes share a peer's queue.
    tag: u64,
    pattern: String,
    group: Option<Group>,
    owner: String,
    target: Arc<dyn Target>,
    /// Messages this route handed to its target; counted here rather than
    /// by the target, since a peer's routes share one.
    delivered: AtomicU64,
    /// Messages this route's target dropped because it was slow.
    dropped: AtomicU64,
}

/// The routes one message goes to: most go to a few, held inline, so
/// routing a message allocates nothing for the list.
type Targets = smallvec::SmallVec<[Arc<Route>; 4]>;

/// A queue group as its member routes see it.
struct Group {
    name: String,
    /// The group's own round-robin position, shared by its members: one
    /// counter for all groups would let two groups matching the same
    /// subject each always pick the same member.
    next: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Routes {
    /// Patterns without wildcards, by subject: found with one lookup.
    exact: FxHashMap<String, Vec<Arc<Route>>>,
    /// Patterns with wildcards, by token: a publish visits only the
    /// branches its subject's tokens lead to.
    wild: sublist::Sublist<Arc<Route>>,
    /// Round-robin positions of the queue groups that have members.
    groups: FxHashMap<String, Arc<AtomicUsize>>,
}

/// Numbers the buses of a process, for the route cache.
static NEXT_BUS: AtomicU64 = AtomicU64::new(1);

struct BusInner {
    /// This bus among the process's buses.
    id: u64,
    routes: ShardedLock<Routes>,
    /// Moves with every change to `routes`, under its write lock (see
    /// [`route_cache`]).
    generation: AtomicU64,
    /// How many routes have a pattern that could match a reply inbox
    /// (`_inbox.…`, `*.…`, `>`); changed under the route table's write
    /// lock. While there are none, a reply goes straight to its waiter
    /// without a look at the table.
    inbox_routes: AtomicUsize,
    next_sid: AtomicU64,
    replies: reply::Replies,
    metrics: Arc<Metrics>,
}

/// The bus. Cheap to clone; clones share everything.
///
/// ```
/// use std::time::Duration;
/// use symphony_bus::Bus;
///
/// let bus = Bus::new();
/// let echo = bus.subscribe("svc.echo").unwrap();
/// let server = std::thread::spawn({
///     let bus = bus.clone();
///     move || {
///         let request = echo.recv(Duration::from_secs(5)).unwrap();
///         bus.reply(&request, request.payload.clone());
///     }
/// });
/// let reply = bus.request("svc.echo", &b"ping"[..], Duration::from_secs(5)).unwrap();
/// assert_eq!(&reply.payload[..], b"ping");
/// server.join().unwrap();
/// ```
#[derive(Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
    /// The endpoint name stamped on what this handle sends.
    name: Arc<str>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}

/// A subscription; dropping it unsubscribes.
pub struct Subscription {
    queue: Arc<Queue>,
    guard: RouteGuard,
    /// The bus's counters, held directly: upgrading the guard's weak
    /// reference on every receive wrote the bus's reference count, on the
    /// cache line every sender reads the route table through.
    metrics: Arc<Metrics>,
}

/// Keeps a route in the bus; dropping it removes the route (but leaves its
/// queue open, since a peer's routes share one).
pub(crate) struct RouteGuard {
    route: Arc<Route>,
    bus: Weak<BusInner>,
}

/// Counters for one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionStats {
    /// The subscription's id.
    pub sid: u64,
    /// Its pattern.
    pub pattern: String,
    /// Its queue group.
    pub queue_group: Option<String>,
    /// The endpoint that subscribed.
    pub endpoint: String,
    /// Messages handed to it.
    pub delivered: u64,
    /// Messages dropped because it was slow.
    pub dropped: u64,
    /// Messages waiting now (for a peer's subscription, all that wait for
    /// the peer).
    pub pending: usize,
}

/// A snapshot of the bus's metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusStats {
    /// Per subject, sorted.
    pub subjects: Vec<SubjectStats>,
    /// Per subscription, by id.
    pub subscriptions: Vec<SubscriptionStats>,
    /// Publish-to-receive latency.
    pub latency: LatencyStats,
}

impl Bus {
    /// A new, empty bus; this handle sends as endpoint `bus`.
    pub fn new() -> Self {
        Bus {
            inner: Arc::new(BusInner {
                id: NEXT_BUS.fetch_add(1, Ordering::Relaxed),
                routes: ShardedLock::default(),
                generation: AtomicU64::new(0),
                inbox_routes: AtomicUsize::new(0),
                next_sid: AtomicU64::new(1),
                replies: reply::Replies::default(),
                metrics: Arc::default(),
            }),
            name: "bus".into(),
        }
    }

    /// A handle on the same bus that sends as endpoint `name`.
    pub fn endpoint(&self, name: &str) -> Bus {
        Bus {
            inner: self.inner.clone(),
            name: name.into(),
        }
    }

    /// This handle's endpoint name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Subscribes to `pattern` with the default options.
    pub fn subscribe(&self, pattern: &str) -> Result<Subscription, BusError> {
        self.subscribe_with(pattern, SubscribeOptions::default())
    }

    /// Subscribes to `pattern` (`*` one token, `>` the rest).
    pub fn subscribe_with(
        &self,
        pattern: &str,
        options: SubscribeOptions,
    ) -> Result<Subscription, BusError> {
        let queue = Arc::new(Queue::with_byte_limit(
            options.capacity,
            options.max_bytes,
            options.policy,
        ));
        let route = self.add_route(pattern, options.queue_group, None, queue.clone())?;
        Ok(Subscription {
            queue,
            guard: route,
            metrics: self.inner.metrics.clone(),
        })
    }

    /// Adds a route that delivers to `target`, tagging what it delivers
    /// with `tag` (else with the route's own id). The route lasts as long
    /// as the returned guard.
    pub(crate) fn add_route(
        &self,
        pattern: &str,
        group: Option<String>,
        tag: Option<u64>,
        target: Arc<dyn Target>,
    ) -> Result<RouteGuard, BusError> {
        validate_pattern(pattern).map_err(BusError::InvalidSubject)?;
        let sid = self.inner.next_sid.fetch_add(1, Ordering::Relaxed);
        let mut routes = self.inner.write_routes();
        let group = group.map(|name| Group {
            next: routes.groups.entry(name.clone()).or_default().clone(),
            name,
        });
        let route = Arc::new(Route {
            sid,
            tag: tag.unwrap_or(sid),
            pattern: pattern.to_string(),
            group,
            owner: self.name.to_string(),
            target,
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        if may_match_inbox(pattern) {
            self.inner.inbox_routes.fetch_add(1, Ordering::Release);
        }
        if is_wild(pattern) {
            routes.wild.insert(pattern, route.clone());
        } else {
            routes
                .exact
                .entry(pattern.to_string())
                .or_default()
                .push(route.clone());
        }
        Ok(RouteGuard {
            route,
            bus: Arc::downgrade(&self.inner),
        })
    }

    /// Whether any subscription would receive a message on `subject`, so a
    /// publisher can skip building a message nobody reads.
    pub fn has_subscribers(&self, subject: &str) -> bool {
        let routes = self.inner.read_routes();
        routes.exact.get(subject).is_some_and(|r| !r.is_empty())
            || routes.wild.any_match(subject)
            || (subject.starts_with(reply::INBOX) && self.inner.replies.is_waiting(subject))
    }

    /// Publishes `payload` on `subject`; returns how many subscribers got it.
    pub fn publish(&self, subject: &str, payload: impl Into<Bytes>) -> Result<usize, BusError> {
        validate_subject(subject).map_err(BusError::InvalidSubject)?;
        Ok(self.inner.route(
            Envelope::new(symphony_protocol::MSG, subject, payload).from_sender(&*self.name),
        ))
    }

    /// Routes a complete envelope as it is (its sender included).
    pub fn send(&self, envelope: Envelope) -> Result<usize, BusError> {
        validate_subject(&envelope.subject).map_err(BusError::InvalidSubject)?;
        Ok(self.inner.route(envelope))
    }

    /// Sends `payload` to `subject` and waits up to `timeout` for one reply.
    pub fn request(
        &self,
        subject: &str,
        payload: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Envelope, BusError> {
        validate_subject(subject).map_err(BusError::InvalidSubject)?;
        let mut ticket = self.inner.replies.expect(&self.name);
        let inbox = ticket.inbox();
        validate_subject(&inbox).map_err(BusError::InvalidSubject)?;
        let request = Envelope::new(symphony_protocol::MSG, subject, payload)
            .from_sender(&*self.name)
            .reply_to(inbox);
        if self.inner.route(request) == 0 {
            return Err(BusError::NoResponders {
                subject: subject.to_string(),
            });
        }
        let reply = ticket.wait(timeout).ok_or_else(|| BusError::Timeout {
            subject: subject.to_string(),
            timeout,
        })?;
        self.inner.metrics.record_deliveries([&reply]);
        Ok(reply)
    }

    /// Publishes from async code (a guest's host call): like
    /// [`Bus::publish`], but when a subscriber may make the publisher wait
    /// (a queue with [`SlowPolicy::Block`], an in-process handler) the
    /// delivery runs on a blocking-pool thread, so the calling task is never
    /// blocked and can be dropped meanwhile. Must be polled inside a tokio
    /// runtime.
    pub async fn publish_async(
        &self,
        subject: &str,
        payload: impl Into<Bytes>,
    ) -> Result<usize, BusError> {
        validate_subject(subject).map_err(BusError::InvalidSubject)?;
        let envelope =
            Envelope::new(symphony_protocol::MSG, subject, payload).from_sender(&*self.name);
        Ok(self.send_async(envelope).await)
    }

    /// Routes `envelope` without blocking the calling task (see
    /// [`Bus::publish_async`]).
    async fn send_async(&self, envelope: Envelope) -> usize {
        let (targets, counters) = self.inner.targets(&envelope.subject);
        if !targets.iter().any(|route| route.target.may_block()) {
            return self.inner.deliver(envelope, &targets, &counters);
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.deliver(envelope, &targets, &counters))
            .await
            // A handler that panicked delivered nothing.
            .unwrap_or(0)
    }

    /// [`Bus::request`] from async code: the request is sent as
    /// [`Bus::publish_async`] sends, and the reply awaited without blocking
    /// the calling task. Must be polled inside a tokio runtime.
    pub async fn request_async(
        &self,
        subject: &str,
        payload: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Envelope, BusError> {
        validate_subject(subject).map_err(BusError::InvalidSubject)?;
        let mut ticket = self.inner.replies.expect_async(&self.name);
        let inbox = ticket.inbox();
        validate_subject(&inbox).map_err(BusError::InvalidSubject)?;
        let request = Envelope::new(symphony_protocol::MSG, subject, payload)
            .from_sender(&*self.name)
            .reply_to(inbox);
        if self.send_async(request).await == 0 {
            return Err(BusError::NoResponders {
                subject: subject.to_string(),
            });
        }
        let reply = ticket
            .wait(timeout)
            .await
            .ok_or_else(|| BusError::Timeout {
                subject: subject.to_string(),
                timeout,
            })?;
        self.inner.metrics.record_deliveries([&reply]);
        Ok(reply)
    }

    /// Answers `request` on its reply subject; returns whether anyone was
    /// waiting.
    pub fn reply(&self, request: &Envelope, payload: impl Into<Bytes>) -> bool {
        let reply = request
            .reply(symphony_protocol::MSG, payload)
            .from_sender(&*self.name);
        self.inner.route(reply) > 0
    }

    /// Counts messages handed to their receiver now in the latency
    /// histogram (the server does this for its peers).
    pub(crate) fn record_deliveries<'e>(&self, envelopes: impl IntoIterator<Item = &'e Envelope>) {
        self.inner.metrics.record_deliveries(envelopes);
    }

    /// Counters per subject and subscription, and delivery latency.
    pub fn stats(&self) -> BusStats {
        let routes = self.inner.read_routes();
        let mut subscriptions: Vec<SubscriptionStats> = routes
            .exact
            .values()
            .flatten()
            .chain(routes.wild.all())
            .map(|r| SubscriptionStats {
                sid: r.sid,
                pattern: r.pattern.clone(),
                queue_group: r.group.as_ref().map(|g| g.name.clone()),
                endpoint: r.owner.clone(),
                delivered: r.delivered.load(Ordering::Relaxed),
                dropped: r.dropped.load(Ordering::Relaxed),
                pending: r.target.pending(),
            })
            .collect();
        subscriptions.sort_by_key(|s| s.sid);
        BusStats {
            subjects: self.inner.metrics.subjects(),
            subscriptions,
            latency: self.inner.metrics.latency(),
        }
    }
}

impl BusInner {
    fn read_routes(&self) -> ShardedLockReadGuard<'_, Routes> {
        self.routes.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The table for changing it: whatever a thread cached from it is
    /// stale from here on.
    fn write_routes(&self) -> ShardedLockWriteGuard<'_, Routes> {
        let routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::Release);
        routes
    }

    /// Delivers to every matching plain subscription and to one member of
    /// each matching queue group. Queues are offered outside the route lock
    /// so a blocking subscriber never holds up subscribe or unsubscribe.
    fn route(&self, envelope: Envelope) -> usize {
        let (targets, counters) = self.targets(&envelope.subject);
        self.deliver(envelope, &targets, &counters)
    }

    /// Where a message on `subject` goes now (one member of each queue
    /// group picked), and the subject's counters.
    fn targets(&self, subject: &str) -> (Targets, Arc<SubjectCounters>) {
        if subject.starts_with(reply::INBOX) {
            // Every reply has a subject of its own: nothing worth caching.
            let targets = if self.inbox_routes.load(Ordering::Acquire) == 0 {
                Targets::new()
            } else {
                resolve(&self.read_routes(), subject).pick()
            };
            return (targets, self.metrics.subject(subject));
        }
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((resolved, counters)) = route_cache::get(self.id, generation, subject) {
            return (resolved.pick(), counters);
        }
        let routes = self.read_routes();
        // Read under the lock: the entry is of the table it was made from.
        let generation = self.generation.load(Ordering::Acquire);
        let resolved = resolve(&routes, subject);
        drop(routes);
        let counters = self.metrics.subject(subject);
        route_cache::put(self.id, generation, subject, &resolved, &counters);
        (resolved.pick(), counters)
    }

    fn deliver(
        &self,
        envelope: Envelope,
        targets: &[Arc<Route>],
        counters: &SubjectCounters,
    ) -> usize {
        let bytes = envelope.payload.len();
        let (mut delivered, mut dropped, mut closed) = (0, 0, false);
        // A reply to an in-process request goes to its waiter first.
        let claim = if envelope.subject.starts_with(reply::INBOX) {
            self.replies.claim(&envelope.subject)
        } else {
            None
        };
        let envelope = match claim {
            Some(claim) if targets.is_empty() => {
                let taken = claim.give(envelope);
                Metrics::published(counters, bytes, taken as usize, 0);
                return taken as usize;
            }
            Some(claim) => {
                delivered += claim.give(envelope.clone()) as usize;
                envelope
            }
            None => envelope,
        };
        let mut offer = |route: &Route, envelope| {
            let (to, lost) = match route.target.offer((route.tag, envelope)) {
                Offer::Queued => (1, 0),
                Offer::Displaced => (1, 1),
                Offer::Dropped => (0, 1),
                Offer::Closed => {
                    closed = true;
                    return;
                }
            };
            route.delivered.fetch_add(to, Ordering::Relaxed);
            if lost > 0 {
                route.dropped.fetch_add(lost, Ordering::Relaxed);
            }
            delivered += to as usize;
            dropped += lost as usize;
        };
        // Every target but the last gets a clone; the payload is shared.
        if let Some((last, rest)) = targets.split_last() {
            for route in rest {
                offer(route, envelope.clone());
            }
            offer(last, envelope);
        }
        Metrics::published(counters, bytes, delivered, dropped);
        if closed {
            self.remove_routes(|r| r.target.is_closed());
        }
        delivered
    }

    /// Drops every route for which `gone` holds, and the positions of
    /// groups left without members. Scans the whole table: for routes whose
    /// targets closed.
    fn remove_routes(&self, gone: impl Fn(&Route) -> bool) {
        let mut routes = self.write_routes();
        let inbox_gone = std::cell::Cell::new(0);
        let keep = |r: &Route| {
            let gone = gone(r);
            inbox_gone.set(inbox_gone.get() + usize::from(gone && may_match_inbox(&r.pattern)));
            !gone
        };
        routes.exact.retain(|_, list| {
            list.retain(|r| keep(r));
            !list.is_empty()
        });
        routes.wild.retain(|r| keep(r));
        self.inbox_routes
            .fetch_sub(inbox_gone.get(), Ordering::Release);
        routes.groups.retain(|_, next| Arc::strong_count(next) > 1);
    }

    /// Drops one route, looking only where its pattern puts it, and its
    /// group's position once no other member holds it.
    fn remove_route(&self, route: &Arc<Route>) {
        let mut routes = self.write_routes();
        let other = |r: &Arc<Route>| !Arc::ptr_eq(r, route);
        let removed = if is_wild(&route.pattern) {
            routes.wild.remove(&route.pattern, |r| !other(r))
        } else if let Some(list) = routes.exact.get_mut(&route.pattern) {
            let before = list.len();
            list.retain(other);
            let removed = list.len() < before;
            if list.is_empty() {
                routes.exact.remove(&route.pattern);
            }
            removed
        } else {
            false
        };
        if removed && may_match_inbox(&route.pattern) {
            self.inbox_routes.fetch_sub(1, Ordering::Release);
        }
        // Held by the table and by `route` itself, which is still alive.
        if let Some(group) = &route.group
            && Arc::strong_count(&group.next) <= 2
            && routes
                .groups
                .get(&group.name)
                .is_some_and(|next| Arc::ptr_eq(next, &group.next))
        {
            routes.groups.remove(&group.name);
        }
    }
}

/// Where a message on `subject` goes by `routes`: the plain subscriptions
/// in subscription order (a scan of every pattern found them so, and a
/// queue group's round robin goes by its members' order), then each queue
/// group with its members.
fn resolve(routes: &Routes, subject: &str) -> route_cache::Resolved {
    let mut wild: Vec<&Arc<Route>> = Vec::new();
    routes.wild.matches(subject, |route| wild.push(route));
    wild.sort_unstable_by_key(|route| route.sid);
    let matching = routes.exact.get(subject).into_iter().flatten().chain(wild);
    let mut resolved = route_cache::Resolved::default();
    let mut names: Vec<&str> = Vec::new();
    for route in matching {
        match &route.group {
            None => resolved.plain.push(route.clone()),
            Some(group) => match names.iter().position(|name| *name == group.name) {
                Some(at) => resolved.groups[at].push(route.clone()),
                None => {
                    names.push(&group.name);
                    resolved
                        .groups
                        .push(std::iter::once(route.clone()).collect());
                }
            },
        }
    }
    resolved
}

impl route_cache::Resolved {
    /// The targets: the plain ones and the next member of each group.
    fn pick(self) -> Targets {
        let mut targets = self.plain;
        for members in self.groups {
            // Every member shares its group's position.
            if let Some(group) = members.first().and_then(|m| m.group.as_ref()) {
                let at = group.next.fetch_add(1, Ordering::Relaxed) % members.len();
                targets.push(members[at].clone());
            }
        }
        targets
    }
}

/// Whether `pattern` could match a reply inbox (`_inbox.<endpoint>.<n>`).
fn may_match_inbox(pattern: &str) -> bool {
    matches!(pattern.split('.').next(), Some("_inbox" | "*" | ">"))
}

/// Whether `pattern` has wildcards (so it is not found by exact lookup).
fn is_wild(pattern: &str) -> bool {
    pattern.split('.').any(|t| t == "*" || t == ">")
}

impl Subscription {
    /// The subscription's id.
    pub fn sid(&self) -> u64 {
        self.guard.route.sid
    }

    /// The next message, waiting up to `timeout`.
    pub fn recv(&self, timeout: Duration) -> Result<Envelope, RecvError> {
        match self.queue.take(timeout) {
            Ok(Some((_, envelope))) => {
                self.metrics.record_deliveries([&envelope]);
                Ok(envelope)
            }
            Ok(None) => Err(RecvError::Timeout),
            Err(reason) => Err(RecvError::Disconnected(reason)),
        }
    }

    /// The next message if one is waiting.
    pub fn try_recv(&self) -> Option<Envelope> {
        self.recv(Duration::ZERO).ok()
    }

    /// The next message, waiting up to `timeout`; `None` on timeout or once
    /// the subscription is closed.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Envelope> {
        self.recv(timeout).ok()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The queue is this subscription's own; the guard removes the route.
        self.queue.close("unsubscribed");
    }
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        if let Some(bus) = self.bus.upgrade() {
            bus.remove_route(&self.route);
        }
    }
}

#[cfg(test)]
mod tests;
