//! One connected peer: its queue, its routes, and the loops that move its
//! frames in and out.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use serde::Serialize;
use symphony_protocol::client::{NO_RESPONDERS, PING_SUBJECT, SID_HEADER, STATS_SUBJECT};
use symphony_protocol::link::{FrameReader, LinkError};
use symphony_protocol::messages::{ErrorReply, Heartbeat, Hello, Subscribe, Unsubscribe, Welcome};
use symphony_protocol::{Envelope, MSG, Message, encode_frame};

use super::{ServerOptions, Shared};
use crate::bus::queue::Item;
use crate::bus::{Queue, RouteGuard};

/// Marks a queued message the server itself sends to the peer (not a
/// delivery for one of its subscriptions).
const CONTROL: u64 = u64::MAX;

/// Messages written per batch at most.
const BATCH: usize = 256;

/// Counters for one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerStats {
    /// The peer's endpoint name.
    pub name: String,
    /// `socket` or `shared-memory`.
    pub transport: &'static str,
    /// Its subscriptions.
    pub subscriptions: usize,
    /// Frames received from it.
    pub frames_in: u64,
    /// Bytes received from it.
    pub bytes_in: u64,
    /// Frames sent to it.
    pub frames_out: u64,
    /// Bytes sent to it.
    pub bytes_out: u64,
    /// Messages for it dropped because it read too slowly.
    pub dropped: u64,
    /// Messages waiting to be sent to it.
    pub pending: usize,
    /// How long it has been connected, in milliseconds.
    pub connected_ms: u64,
}

pub(super) struct Peer {
    pub(super) name: String,
    pub(super) transport: &'static str,
    queue: Arc<Queue>,
    routes: Mutex<HashMap<u64, RouteGuard>>,
    closed: AtomicBool,
    shm_path: Option<PathBuf>,
    #[cfg(target_os = "linux")]
    closer: Mutex<Option<symphony_protocol::shm::ShmCloser>>,
    connected: Instant,
    frames_in: AtomicU64,
    bytes_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_out: AtomicU64,
}

impl Peer {
    pub(super) fn new(name: &str, options: &ServerOptions, shm_path: Option<PathBuf>) -> Peer {
        Peer {
            name: name.to_string(),
            transport: if shm_path.is_some() {
                "shared-memory"
            } else {
                "socket"
            },
            queue: Arc::new(Queue::new(options.peer_queue, options.peer_policy)),
            routes: Mutex::default(),
            closed: AtomicBool::new(false),
            shm_path,
            #[cfg(target_os = "linux")]
            closer: Mutex::default(),
            connected: Instant::now(),
            frames_in: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        }
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
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.routes().clear();
        self.queue.close("the peer is down");
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
            name: self.name.clone(),
            transport: self.transport,
            subscriptions: self.routes().len(),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            dropped: self.queue.dropped.load(Ordering::Relaxed),
            pending: self.queue.len(),
            connected_ms: u64::try_from(self.connected.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Queues a message from the server itself.
    fn send_control(&self, envelope: Envelope) {
        self.queue.offer((CONTROL, envelope));
    }

    fn send_error(&self, message: String) {
        if let Ok(envelope) = (ErrorReply { message }).to_envelope("bus.error") {
            self.send_control(envelope);
        }
    }

    /// Starts the thread that drains the peer's queue into `link`: every
    /// waiting message in one write, a heartbeat when idle.
    pub(super) fn spawn_writer(
        self: &Arc<Self>,
        shared: Arc<Shared>,
        mut link: impl Write + Send + 'static,
    ) {
        let peer = self.clone();
        let heartbeat = shared.options.heartbeat;
        let on_failure = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("bus-peer-write".into())
            .spawn(move || {
                let mut batch: Vec<Item> = Vec::with_capacity(BATCH);
                let mut buf = Vec::with_capacity(64 * 1024);
                let mut seq = 0;
                while peer.queue.take_batch(&mut batch, BATCH, heartbeat).is_ok() {
                    buf.clear();
                    if batch.is_empty() {
                        seq += 1;
                        if let Ok(beat) = (Heartbeat { seq }).to_envelope("bus") {
                            let _ = encode_frame(&beat, &mut buf);
                        }
                    }
                    let frames = batch.len().max(1) as u64;
                    for (tag, mut envelope) in batch.drain(..) {
                        if tag != CONTROL {
                            shared.bus.record_delivery(&envelope);
                            envelope
                                .headers
                                .push((SID_HEADER.to_string(), tag.to_string()));
                        }
                        if let Err(e) = encode_frame(&envelope, &mut buf) {
                            tracing::warn!(peer = %peer.name, "dropping a message that cannot be encoded: {e}");
                        }
                    }
                    if let Err(e) = link.write_all(&buf) {
                        shared.close_peer(&peer, &format!("writing to the peer failed: {e}"));
                        return;
                    }
                    peer.frames_out.fetch_add(frames, Ordering::Relaxed);
                    peer.bytes_out
                        .fetch_add(buf.len() as u64, Ordering::Relaxed);
                }
            });
        if let Err(e) = spawned {
            on_failure.close_peer(self, &format!("cannot start the peer's writer: {e}"));
        }
    }
}

impl Shared {
    /// Reads the peer's frames until it is down: routes what it publishes,
    /// applies its subscriptions, and watches its heartbeat.
    pub(super) fn read_frames<R: Read>(&self, peer: &Arc<Peer>, mut frames: FrameReader<R>) {
        let timeout = self.options.peer_timeout;
        let mut last_frame = Instant::now();
        let mut mapped = peer.shm_path.is_none();
        loop {
            if peer.is_closed() {
                return;
            }
            match frames.next_envelope() {
                Ok(envelope) => {
                    last_frame = Instant::now();
                    if !mapped {
                        // The peer wrote on the ring, so it has mapped it.
                        peer.remove_region_file();
                        mapped = true;
                    }
                    peer.frames_in.fetch_add(1, Ordering::Relaxed);
                    peer.bytes_in
                        .fetch_add(envelope.payload.len() as u64, Ordering::Relaxed);
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
        if let Err(e) = self.registry.validate(&envelope) {
            peer.send_error(format!("message {} rejected: {e}", envelope.id));
            return;
        }
        match envelope.kind.as_str() {
            Subscribe::KIND => match Subscribe::from_envelope(&envelope) {
                Ok(subscribe) => {
                    let route = self.bus.endpoint(&peer.name).add_route(
                        &subscribe.pattern,
                        subscribe.queue,
                        Some(subscribe.sid),
                        peer.queue.clone(),
                    );
                    match route {
                        // Replacing an old route with the same sid drops it.
                        Ok(route) => drop(peer.routes().insert(subscribe.sid, route)),
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
            Heartbeat::KIND => {}
            Hello::KIND | Welcome::KIND => {
                peer.send_error("the connection is already established".into());
            }
            _ => {
                envelope.sender = peer.name.clone();
                match envelope.subject.as_str() {
                    PING_SUBJECT => self.answer(&envelope, Bytes::new()),
                    STATS_SUBJECT => {
                        let stats = serde_json::to_vec(&self.stats()).unwrap_or_default();
                        self.answer(&envelope, stats.into());
                    }
                    _ => self.route_from(peer, envelope),
                }
            }
        }
    }

    fn route_from(&self, peer: &Arc<Peer>, envelope: Envelope) {
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

    /// Replies to a request the server answers itself.
    fn answer(&self, request: &Envelope, payload: Bytes) {
        if request.reply_to.is_some() {
            let reply = request.reply(MSG, payload).from_sender(self.bus.name());
            let _ = self.bus.send(reply);
        }
    }
}
