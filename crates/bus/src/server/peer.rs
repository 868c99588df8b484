//! One connected peer: its queue, its routes, and the loops that move its
//! frames in and out.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use interprocess::local_socket::Stream;
use serde::{Deserialize, Serialize};
pub use symphony_protocol::client::ERROR_KIND_HEADER;
use symphony_protocol::client::{NO_RESPONDERS, PING_SUBJECT, SID_HEADER, STATS_SUBJECT};
use symphony_protocol::clock::Stamp;
use symphony_protocol::link::{FrameReader, LinkError, LinkRead, SocketHalf, shutdown};
use symphony_protocol::messages::{ErrorReply, Heartbeat, Hello, Subscribe, Unsubscribe, Welcome};
use symphony_protocol::{
    Envelope, MSG, Message, ProtocolError, SmolStr, encode_frame, encode_frame_with_header,
};

use super::{PeerAccess, PeerCredentials, Refusal, ServerOptions, Shared};
use crate::queue::Item;
use crate::{Bus, Offer, Queue, RouteGuard, Target};

/// Marks a queued message the server itself sends to the peer (not a
/// delivery for one of its subscriptions).
const CONTROL: u64 = u64::MAX;

/// Messages written per batch at most.
const BATCH: usize = 256;

/// Payload bytes per batch: past this a batch ends (it holds at least one
/// message), so one write buffer stays small whatever the messages' size.
const BATCH_BYTES: usize = 1 << 20;

/// Counters for one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStats {
    /// The peer's endpoint name.
    pub name: String,
    /// `socket` or `shared-memory`.
    pub transport: String,
    /// Its subscriptions.
    pub subscriptions: usize,
    /// Frames received from it.
    pub frames_in: u64,
    /// Payload bytes of the messages received from it.
    pub bytes_in: u64,
    /// Frames sent to it.
    pub frames_out: u64,
    /// Bytes written to it: whole frames, heartbeats included.
    pub bytes_out: u64,
    /// Messages for it dropped because it read too slowly.
    pub dropped: u64,
    /// Messages it says it dropped itself, because a subscriber in its
    /// process read too slowly (as of its last heartbeat).
    #[serde(default)]
    pub dropped_by_peer: u64,
    /// Messages waiting to be sent to it.
    pub pending: usize,
    /// How long it has been connected, in milliseconds.
    pub connected_ms: u64,
    /// The user id of its process, where the platform reports it.
    #[serde(default)]
    pub uid: Option<u32>,
}

pub(super) struct Peer {
    pub(super) name: SmolStr,
    /// This peer, for a reader thread that holds writes for it (see
    /// [`hold`](super::hold)).
    me: std::sync::Weak<Peer>,
    queue: Arc<Queue>,
    /// The link, shared by the writer thread and publishers that find it
    /// idle and write in place.
    outlet: Mutex<Outlet>,
    bus: Bus,
    routes: Mutex<HashMap<u64, RouteGuard>>,
    closed: AtomicBool,
    shm_path: Option<PathBuf>,
    /// The connection, shut down when the peer closes so every thread
    /// blocked on it returns.
    socket: Mutex<Option<Arc<Stream>>>,
    #[cfg(target_os = "linux")]
    closer: Mutex<Option<symphony_protocol::shm::ShmCloser>>,
    connected: Instant,
    frames_in: AtomicU64,
    bytes_in: AtomicU64,
    /// What its last heartbeat said it dropped itself.
    dropped_by_peer: AtomicU64,
    frames_out: AtomicU64,
    bytes_out: AtomicU64,
    /// When the link was last written.
    last_write: Stamp,
    /// What the server's gate lets it do.
    access: PeerAccess,
    credentials: Option<PeerCredentials>,
}

/// The write side of a peer's link.
pub(super) enum LinkWriter {
    /// The local socket.
    Socket(SocketHalf),
    /// A shared-memory ring.
    #[cfg(target_os = "linux")]
    Ring(symphony_protocol::shm::RingWriter),
}

impl LinkWriter {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            LinkWriter::Socket(socket) => socket.write_all(buf),
            #[cfg(target_os = "linux")]
            LinkWriter::Ring(ring) => ring.write_all(buf),
        }
    }

    /// Writes what fits without waiting; `Ok(0)` if nothing does.
    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            #[cfg(target_os = "linux")]
            LinkWriter::Socket(socket) => {
                use rustix::io::Errno;
                use rustix::net::{SendFlags, send};
                use std::os::fd::AsFd;
                let Stream::UdSocket(stream) = &*socket.0;
                match send(
                    stream.as_fd(),
                    buf,
                    SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
                ) {
                    Ok(n) => Ok(n),
                    Err(Errno::AGAIN | Errno::INTR) => Ok(0),
                    Err(e) => Err(e.into()),
                }
            }
            // Elsewhere only the writer thread writes to sockets.
            #[cfg(not(target_os = "linux"))]
            LinkWriter::Socket(_) => Ok(0),
            #[cfg(target_os = "linux")]
            LinkWriter::Ring(ring) => ring.try_write(buf),
        }
    }
}

#[derive(Default)]
struct Outlet {
    link: Option<LinkWriter>,
    /// The rest of a frame a publisher could only partly write; the writer
    /// thread sends it before anything else.
    carry: Vec<u8>,
    buf: Vec<u8>,
    /// Messages taken off the queue to be encoded into `buf`.
    batch: Vec<Item>,
}

impl Peer {
    pub(super) fn new(
        me: std::sync::Weak<Peer>,
        name: &str,
        options: &ServerOptions,
        bus: &Bus,
        socket: Arc<Stream>,
        shm_path: Option<PathBuf>,
        (access, credentials): (PeerAccess, Option<PeerCredentials>),
    ) -> Peer {
        Peer {
            me,
            name: name.into(),
            queue: Arc::new(Queue::with_byte_limit(
                options.peer_queue,
                options.peer_queue_bytes,
                options.peer_policy,
            )),
            outlet: Mutex::default(),
            bus: bus.clone(),
            routes: Mutex::default(),
            closed: AtomicBool::new(false),
            shm_path,
            socket: Mutex::new(Some(socket)),
            #[cfg(target_os = "linux")]
            closer: Mutex::default(),
            connected: Instant::now(),
            frames_in: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            dropped_by_peer: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            last_write: Stamp::new(),
            access,
            credentials,
        }
    }

    fn outlet(&self) -> MutexGuard<'_, Outlet> {
        self.outlet.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wrote(&self, frames: u64, bytes: usize) {
        self.frames_out.fetch_add(frames, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
        self.last_write.mark();
    }

    fn idle_for(&self) -> Duration {
        self.last_write.elapsed()
    }

    /// Appends one message as a frame, naming the subscription it is for.
    /// The id goes in as a header written after the message's own,
    /// without touching the message (pushing and popping it cost two
    /// allocations a delivery).
    fn encode(&self, tag: u64, envelope: &Envelope, buf: &mut Vec<u8>) {
        let mut digits = itoa::Buffer::new();
        let sid = (tag != CONTROL).then(|| (SID_HEADER, digits.format(tag)));
        if let Err(e) = encode_frame_with_header(envelope, sid, buf) {
            tracing::warn!(peer = %self.name, "dropping a message that cannot be encoded: {e}");
        }
    }

    /// Takes up to a batch of queued messages and appends them to `buf`
    /// as frames; returns how many. Call with the outlet locked, so nothing
    /// written in place overtakes them.
    fn drain_encoded(&self, batch: &mut Vec<Item>, buf: &mut Vec<u8>) -> u64 {
        self.queue.drain_into(batch, BATCH, BATCH_BYTES);
        let frames = batch.len() as u64;
        self.bus.record_deliveries(
            batch
                .iter()
                .filter(|(tag, _)| *tag != CONTROL)
                .map(|(_, e)| e),
        );
        for (tag, envelope) in batch.drain(..) {
            self.encode(tag, &envelope, buf);
        }
        frames
    }

    /// Writes what a reader thread held for this peer (see
    /// [`hold`](super::hold)) in one write if the link is free and has
    /// room; what does not fit, or finds the link busy, is left to the
    /// writer thread, which is woken for it.
    pub(super) fn flush_held(&self) {
        if let Ok(mut outlet) = self.outlet.try_lock()
            && outlet.carry.is_empty()
        {
            let Outlet {
                link,
                carry,
                buf,
                batch,
            } = &mut *outlet;
            if let Some(link) = link.as_mut() {
                buf.clear();
                let frames = self.drain_encoded(batch, buf);
                if frames == 0 {
                    return;
                }
                // Failing: the writer thread finds out and closes the peer.
                let written = link.try_write(buf).unwrap_or(0);
                self.wrote(frames, buf.len());
                carry.extend_from_slice(&buf[written..]);
                if buf.capacity() > 4 * BATCH_BYTES {
                    *buf = Vec::new();
                }
                if carry.is_empty() && self.queue.len() == 0 {
                    return;
                }
            }
        }
        self.queue.kick();
    }

    fn routes(&self) -> MutexGuard<'_, HashMap<u64, RouteGuard>> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(target_os = "linux")]
    pub(super) fn set_closer(&self, closer: symphony_protocol::shm::ShmCloser) {
        *self.closer.lock().unwrap_or_else(|e| e.into_inner()) = Some(closer);
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Marks the peer closed and releases what it holds; `false` if it
    /// already was.
    pub(super) fn close(&self) -> bool {
        // Under the routes lock, so a subscription being added either sees
        // the peer closed or is cleared here.
        let mut routes = self.routes();
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        let routes = std::mem::take(&mut *routes);
        drop(routes);
        self.queue.close("the peer is down");
        if let Some(socket) = self.socket.lock().unwrap_or_else(|e| e.into_inner()).take() {
            // Only the reading side: threads blocked reading it return,
            // while the writer still sends what is queued (an error reply,
            // say) before the connection closes.
            shutdown(&socket, std::net::Shutdown::Read);
        }
        #[cfg(target_os = "linux")]
        if let Some(closer) = self.closer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            closer.close();
        }
        self.remove_region_file();
        true
    }

    /// The region's file is only needed until the peer has mapped it.
    fn remove_region_file(&self) {
        if let Some(path) = &self.shm_path {
            let _ = std::fs::remove_file(path);
        }
    }

    pub(super) fn stats(&self) -> PeerStats {
        PeerStats {
            name: self.name.to_string(),
            transport: self.transport().into(),
            subscriptions: self.routes().len(),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            dropped: self.queue.dropped.load(Ordering::Relaxed),
            dropped_by_peer: self.dropped_by_peer.load(Ordering::Relaxed),
            pending: self.queue.len(),
            connected_ms: u64::try_from(self.connected.elapsed().as_millis()).unwrap_or(u64::MAX),
            uid: self.credentials.map(|c| c.uid),
        }
    }

    /// `socket` or `shared-memory`.
    pub(super) fn transport(&self) -> &'static str {
        if self.shm_path.is_some() {
            "shared-memory"
        } else {
            "socket"
        }
    }

    /// Queues an error report from the server itself.
    fn send_error(&self, message: String) {
        if let Ok(envelope) = (ErrorReply { message }).to_envelope("bus.error") {
            self.queue.offer((CONTROL, envelope));
        }
    }

    /// Installs the link and starts the thread that drains the queue into
    /// it: everything waiting in one write, a heartbeat when idle.
    pub(super) fn start_writer(self: &Arc<Self>, shared: Arc<Shared>, link: LinkWriter) {
        self.outlet().link = Some(link);
        let peer = self.clone();
        let heartbeat = shared.options.heartbeat;
        let on_failure = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("bus-peer-write".into())
            .spawn(move || {
                let mut seq = 0;
                loop {
                    // Wake in time to keep heartbeats no further apart than
                    // the interval, counting writes made in place.
                    let wait = heartbeat
                        .saturating_sub(peer.idle_for())
                        .max(Duration::from_millis(1));
                    if let Err(reason) = peer.queue.wait_nonempty(wait) {
                        // A queue closed by the disconnect policy, not by
                        // `close`: the peer fell too far behind.
                        shared.close_peer(&peer, reason);
                        return;
                    }
                    let mut outlet = peer.outlet();
                    let Outlet {
                        link,
                        carry,
                        buf,
                        batch,
                    } = &mut *outlet;
                    let Some(link) = link.as_mut() else { return };
                    buf.clear();
                    buf.append(carry);
                    let carried = buf.len();
                    // Taken under the outlet lock, so a publisher writing in
                    // place can never overtake what is queued.
                    let frames = peer.drain_encoded(batch, buf);
                    if buf.is_empty() {
                        if peer.idle_for() < heartbeat {
                            continue;
                        }
                        seq += 1;
                        if let Ok(beat) = (Heartbeat { seq, dropped: 0 }).to_envelope("bus") {
                            let _ = encode_frame(&beat, buf);
                        }
                    }
                    if let Err(e) = link.write_all(buf) {
                        drop(outlet);
                        shared.close_peer(&peer, &format!("writing to the peer failed: {e}"));
                        return;
                    }
                    peer.wrote(frames, buf.len() - carried);
                    if buf.capacity() > 4 * BATCH_BYTES {
                        *buf = Vec::with_capacity(BATCH_BYTES);
                    }
                }
            });
        if let Err(e) = spawned {
            on_failure.close_peer(self, &format!("cannot start the peer's writer: {e}"));
        }
    }
}

impl Target for Peer {
    /// Writes the message at once when nothing is queued and the link is
    /// free and has room; otherwise queues it for the writer thread, so a
    /// slow peer costs its publishers nothing but a queue slot.
    fn offer(&self, (tag, envelope): Item) -> Offer {
        if self.is_closed() {
            return Offer::Closed;
        }
        if super::hold::hold(self, || self.me.upgrade()) {
            return self
                .queue
                .offer_waking_at((tag, envelope), super::hold::WAKE_AT);
        }
        if let Ok(mut outlet) = self.outlet.try_lock()
            && outlet.carry.is_empty()
            && self.queue.len() == 0
        {
            let Outlet {
                link, carry, buf, ..
            } = &mut *outlet;
            if let Some(link) = link.as_mut() {
                buf.clear();
                self.encode(tag, &envelope, buf);
                match link.try_write(buf) {
                    // Full, or failing (the writer thread will find out):
                    // queue it.
                    Ok(0) | Err(_) => {}
                    Ok(n) => {
                        if tag != CONTROL {
                            self.bus.record_deliveries([&envelope]);
                        }
                        self.wrote(1, buf.len());
                        if n < buf.len() {
                            // The writer thread sends the rest first.
                            carry.extend_from_slice(&buf[n..]);
                            self.queue.kick();
                        }
                        if buf.capacity() > 4 * BATCH_BYTES {
                            *buf = Vec::new();
                        }
                        return Offer::Queued;
                    }
                }
            }
        }
        self.queue.offer((tag, envelope))
    }

    fn is_closed(&self) -> bool {
        Peer::is_closed(self)
    }

    fn pending(&self) -> usize {
        self.queue.len()
    }

    fn may_block(&self) -> bool {
        // As its queue's policy says: a paced peer's publishers wait only
        // once its queue is full.
        Target::may_block(&*self.queue)
    }
}

impl Shared {
    /// Reads the peer's frames until it is down: routes what it publishes,
    /// applies its subscriptions, and watches its heartbeat.
    pub(super) fn read_frames<R: LinkRead>(&self, peer: &Arc<Peer>, mut frames: FrameReader<R>) {
        let timeout = self.options.peer_timeout;
        let mut last_frame = Instant::now();
        let mut mapped = peer.shm_path.is_none();
        // However the loop ends, nothing held stays unwritten.
        let _release = super::hold::Release;
        loop {
            if peer.is_closed() {
                return;
            }
            match frames.next_envelope() {
                Ok(envelope) => {
                    if !mapped {
                        // The peer wrote on the ring, so it has mapped it.
                        peer.remove_region_file();
                        mapped = true;
                    }
                    // Only this thread writes them: a load and a store, not
                    // a read-modify-write.
                    let count = |counter: &AtomicU64, n: u64| {
                        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
                    };
                    count(&peer.frames_in, 1);
                    count(&peer.bytes_in, envelope.payload.len() as u64);
                    // More frames already here: hold the writes of this
                    // burst and write them when it ends; the clock is read
                    // once a burst.
                    let more = frames.frame_ready();
                    if !more {
                        last_frame = Instant::now();
                    }
                    super::hold::set(more);
                    self.handle(peer, envelope);
                }
                Err(LinkError::TimedOut) => {
                    if last_frame.elapsed() > timeout {
                        let silent = last_frame.elapsed().as_millis();
                        self.close_peer(peer, &format!("no heartbeat for {silent} ms"));
                        return;
                    }
                }
                Err(LinkError::Closed) => {
                    self.close_peer(peer, "the peer disconnected");
                    return;
                }
                Err(LinkError::Protocol(e)) => {
                    let reason = format!("malformed frame: {e}");
                    tracing::warn!(peer = %peer.name, "closing the connection: {reason}");
                    peer.send_error(reason.clone());
                    self.close_peer(peer, &reason);
                    return;
                }
                Err(LinkError::Io(e)) => {
                    self.close_peer(peer, &format!("connection error: {e}"));
                    return;
                }
            }
        }
    }

    fn handle(&self, peer: &Arc<Peer>, mut envelope: Envelope) {
        if let Err(e) = self.options.registry.validate(&envelope) {
            let kind = match e {
                ProtocolError::UnknownType { .. } => "unknown_type",
                ProtocolError::TooNew { .. } | ProtocolError::UnsupportedVersion { .. } => {
                    "unsupported_version"
                }
                _ => "invalid_request",
            };
            let reason = format!("message {} rejected: {e}", envelope.id);
            self.answer_error(peer, kind, reason, &envelope);
            return;
        }
        match envelope.kind.as_str() {
            Subscribe::KIND => match Subscribe::from_envelope(&envelope) {
                Ok(subscribe) if subscribe.sid == CONTROL => {
                    peer.send_error(format!("subscription id {CONTROL} is reserved"));
                }
                Ok(subscribe) => {
                    if let Err(reason) = peer.access.may_subscribe(&peer.name, &subscribe.pattern) {
                        self.deny(
                            peer,
                            &format!("subscribe:{}", subscribe.pattern),
                            reason,
                            None,
                        );
                        return;
                    }
                    let route = self.bus.endpoint(&peer.name).add_route(
                        &subscribe.pattern,
                        subscribe.queue,
                        Some(subscribe.sid),
                        peer.clone(),
                    );
                    match route {
                        Ok(route) => {
                            let mut routes = peer.routes();
                            // A closed peer's route is dropped at once;
                            // replacing a route with the same sid drops
                            // the old one.
                            if !peer.is_closed() {
                                drop(routes.insert(subscribe.sid, route));
                            }
                        }
                        Err(e) => peer.send_error(format!("subscription {}: {e}", subscribe.sid)),
                    }
                }
                Err(e) => peer.send_error(e.to_string()),
            },
            Unsubscribe::KIND => {
                if let Ok(unsubscribe) = Unsubscribe::from_envelope(&envelope) {
                    peer.routes().remove(&unsubscribe.sid);
                }
            }
            Heartbeat::KIND => {
                if let Ok(beat) = Heartbeat::from_envelope(&envelope) {
                    peer.dropped_by_peer.store(beat.dropped, Ordering::Relaxed);
                }
            }
            Hello::KIND | Welcome::KIND => {
                peer.send_error("the connection is already established".into());
            }
            _ => {
                envelope.sender = peer.name.clone();
                match envelope.subject.as_str() {
                    PING_SUBJECT => self.answer(&envelope, Bytes::new()),
                    STATS_SUBJECT => {
                        if let Err(reason) = peer.access.may_read_stats() {
                            self.deny(peer, "stats", reason, Some(&envelope));
                            return;
                        }
                        let stats = serde_json::to_vec(&self.stats()).unwrap_or_default();
                        self.answer(&envelope, stats.into());
                    }
                    subject => {
                        let reply = envelope.correlation.is_some();
                        if let Err(reason) = peer.access.may_publish(subject, reply) {
                            let action = format!("publish:{subject}");
                            self.deny(peer, &action, reason, Some(&envelope));
                            return;
                        }
                        self.route_from(peer, envelope)
                    }
                }
            }
        }
    }

    fn route_from(&self, peer: &Arc<Peer>, mut envelope: Envelope) {
        // Only the server says which subscription a delivery is for.
        envelope.headers.retain(|(key, _)| key != SID_HEADER);
        let reply_to = envelope.reply_to.clone();
        let id = envelope.id;
        match self.bus.send(envelope) {
            Ok(0) => {
                if let Some(reply_to) = reply_to {
                    let mut none = Envelope::new(NO_RESPONDERS, reply_to, Bytes::new());
                    none.correlation = Some(id);
                    let _ = self.bus.send(none.from_sender(self.bus.name()));
                }
            }
            Ok(_) => {}
            Err(e) => peer.send_error(format!("message {id} rejected: {e}")),
        }
    }

    /// Refuses what `peer` tried: tells it (as a reply to `request` when
    /// it is one, so the requester is not left waiting), and tells the
    /// gate, which audits it.
    fn deny(&self, peer: &Arc<Peer>, action: &str, reason: String, request: Option<&Envelope>) {
        tracing::info!(peer = %peer.name, action, "bus peer refused: {reason}");
        if let Some(gate) = &self.options.gate {
            gate.refused(&Refusal {
                peer: &peer.name,
                identity: peer.access.identity(),
                credentials: peer.credentials,
                action,
                reason: &reason,
            });
        }
        match request {
            Some(request) => self.answer_error(peer, "denied", reason, request),
            None => peer.send_error(reason),
        }
    }

    /// Tells `peer` its `message` was refused: as a `bus.error` reply when
    /// it is a request (with an [`ERROR_KIND_HEADER`] saying which kind of
    /// refusal), so the requester is not left waiting; else on the
    /// connection.
    fn answer_error(&self, peer: &Arc<Peer>, kind: &str, reason: String, message: &Envelope) {
        let Some(reply_to) = &message.reply_to else {
            return peer.send_error(reason);
        };
        if let Ok(mut reply) = (ErrorReply { message: reason }).to_envelope(reply_to.clone()) {
            reply.correlation = Some(message.id);
            let reply = reply
                .with_header(ERROR_KIND_HEADER, kind)
                .from_sender(self.bus.name());
            let _ = self.bus.send(reply);
        }
    }

    /// Replies to a request the server answers itself.
    fn answer(&self, request: &Envelope, payload: Bytes) {
        if request.reply_to.is_some() {
            let reply = request.reply(MSG, payload).from_sender(self.bus.name());
            let _ = self.bus.send(reply);
        }
    }
}
