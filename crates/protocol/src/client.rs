//! A bus client for out-of-process peers: connects to a bus server's
//! socket, optionally moves onto shared memory, heartbeats, and reconnects
//! with exponential backoff, resubscribing what it had.
//!
//! ```no_run
//! use std::time::Duration;
//! use symphony_protocol::client::Client;
//!
//! let client = Client::connect("/tmp/symphony-bus.sock")?;
//! let jobs = client.queue_subscribe("jobs.>", "workers")?;
//! client.publish("jobs.resize", &b"image-7"[..])?;
//! if let Ok(job) = jobs.recv(Duration::from_secs(1)) {
//!     println!("{}", job.subject);
//! }
//! # Ok::<(), symphony_protocol::client::ClientError>(())
//! ```

mod connection;
mod outbox;
mod reading;
mod reply_slot;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::clock::{Stamp, deadline};
use crate::messages::{Subscribe, Unsubscribe};
use crate::{Envelope, MSG, Message, ProtocolError, validate_pattern, validate_subject};

use connection::Connection;
use outbox::Outbox;
use reply_slot::ReplySlot;

/// The header naming the subscription a delivery is for. The server adds
/// it (replacing any a publisher sent); the client takes it out before a
/// message reaches its subscription.
pub const SID_HEADER: &str = "sid";

/// The subject a server answers at once; [`Client::flush`] uses it to know
/// everything sent before has been processed.
pub const PING_SUBJECT: &str = "_bus.ping";

/// The subject a server answers with its statistics as JSON.
pub const STATS_SUBJECT: &str = "_bus.stats";

/// The message kind a server answers a request with when nobody is
/// subscribed to its subject.
pub const NO_RESPONDERS: &str = "bus.no-responders";

/// The header of a [`Hello`](crate::messages::Hello) that carries the
/// peer's token ([`ClientOptions::token`]).
pub const TOKEN_HEADER: &str = "token";

/// The header of a `bus.error` naming the kind of refusal: `unknown_type`,
/// `unsupported_version`, `invalid_request` or `denied`.
pub const ERROR_KIND_HEADER: &str = "error-kind";

/// The sid of the client's reply inbox subscription.
const INBOX_SID: u64 = 0;

/// Which link carries the client's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// Frames over the local socket.
    #[default]
    Socket,
    /// Frames over a shared-memory ring the server sets up (Linux); the
    /// socket stays open only so the server sees this process exit.
    SharedMemory,
}

/// How a client connects and reconnects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The endpoint name; unique on the bus. Default: `peer-<pid>-<n>`.
    pub name: Option<String>,
    /// The link to use.
    pub transport: Transport,
    /// Reconnection attempts after the connection drops before the client
    /// gives up and closes. Default: no limit of its own
    /// ([`reconnect_for`](Self::reconnect_for) bounds it).
    pub reconnect_attempts: u32,
    /// How long the client keeps trying to reconnect before it gives up and
    /// closes, so a server restarted within it keeps every subscriber.
    /// Default: 5 minutes.
    pub reconnect_for: Duration,
    /// The wait before the first reconnection attempt; it doubles after
    /// each failure. Default: 50 ms.
    pub reconnect_delay: Duration,
    /// The longest wait between attempts. Default: 2 s.
    pub max_reconnect_delay: Duration,
    /// Messages a subscription holds before new ones are dropped (and
    /// counted, here and in the server's statistics). Memory is taken only
    /// as messages wait, so the limit can be generous: a subscriber that
    /// keeps up on average rides out its scheduling hiccups. Default:
    /// 65,536 (as NATS's clients).
    pub subscription_capacity: usize,
    /// How long the server may take to accept the connection. Default: 2 s.
    pub handshake_timeout: Duration,
    /// The largest frame accepted. Default: 16 MiB.
    pub max_frame: usize,
    /// A token the server issued to identify this peer (a native
    /// extension's, say), sent with the hello. Default: none.
    pub token: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            name: None,
            transport: Transport::Socket,
            reconnect_attempts: u32::MAX,
            reconnect_for: Duration::from_secs(300),
            reconnect_delay: Duration::from_millis(50),
            max_reconnect_delay: Duration::from_secs(2),
            subscription_capacity: 65_536,
            handshake_timeout: Duration::from_secs(2),
            max_frame: crate::frame::DEFAULT_MAX_FRAME,
            token: None,
        }
    }
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server could not be reached.
    #[error("cannot connect to the bus at {path}: {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The server answered the handshake with a refusal or nonsense.
    #[error("the bus at {path} did not accept the connection: {reason}")]
    Handshake {
        /// The socket path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The server refused this peer: its user, group or token may not use
    /// the bus.
    #[error("the bus at {path} refused this peer: {reason}")]
    Refused {
        /// The socket path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The connection dropped and the client is reconnecting.
    #[error("not connected to the bus (reconnecting)")]
    Disconnected,
    /// The client was closed or gave up reconnecting.
    #[error("the bus client is closed: {0}")]
    Closed(String),
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
    /// A message could not be encoded.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// Writing to the connection failed; the client reconnects.
    #[error("writing to the bus failed: {0}")]
    Io(io::Error),
}

/// Why [`ClientSubscription::recv`] returned no message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Nothing arrived in time.
    #[error("no message within the timeout")]
    Timeout,
    /// The client closed (or gave up reconnecting).
    #[error("the bus client is closed")]
    Closed,
}

/// A connection to a bus server. Dropping it closes the connection.
pub struct Client {
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
}

/// One subscription; dropping it unsubscribes.
pub struct ClientSubscription {
    sid: u64,
    rx: Receiver<Envelope>,
    /// Messages waiting in `rx`.
    queued: Arc<AtomicUsize>,
    shared: Weak<Shared>,
}

struct SubEntry {
    /// What was sent to the server, sent again on every reconnect.
    subscribe: Subscribe,
    /// Unbounded, so memory follows what waits; `queued` bounds it.
    tx: Sender<Envelope>,
    queued: Arc<AtomicUsize>,
}

enum Status {
    Connected,
    Reconnecting,
    Closed(String),
}

pub(crate) struct Shared {
    path: PathBuf,
    options: ClientOptions,
    name: String,
    outbox: Outbox,
    subs: Mutex<HashMap<u64, SubEntry>>,
    pending: Mutex<HashMap<u64, Arc<ReplySlot>>>,
    status: Mutex<Status>,
    status_changed: Condvar,
    closing: AtomicBool,
    next_sid: AtomicU64,
    next_request: AtomicU64,
    reconnects: AtomicU64,
    dropped: AtomicU64,
    /// What keeps the current connection's other resources alive (the
    /// socket under a shared-memory link) and how to close them.
    connection_guard: Mutex<Option<connection::Guard>>,
    /// The current connection's read side (`None` while reconnecting).
    /// Whoever holds it reads and dispatches: the reader thread, or a
    /// requester reading its own reply, which saves waking a thread.
    reader: Mutex<Option<connection::Reader>>,
    /// Requesters and subscribers waiting on the link themselves; while
    /// there are any, the reader thread leaves the read side to them.
    own_readers: AtomicUsize,
    /// Why a requester found the link broken, for the reader thread.
    failure: Mutex<Option<String>>,
    /// When a frame last arrived.
    last_read: Stamp,
    /// When the last of the `own_readers` stopped waiting.
    last_own_read: Stamp,
    /// `_inbox.<name>.`: replies come to this prefix and a request id.
    inbox_prefix: String,
    /// The current connection's heartbeat interval and server timeout (set
    /// by `install` before the reader thread starts).
    liveness: Mutex<(Duration, Duration)>,
}

static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);

/// The lock if no other thread holds it (a poisoned one too).
fn try_lock<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Client {
    /// Connects to the bus server at `path` with default options.
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Client::connect_with(path, ClientOptions::default())
    }

    /// Connects to the bus server at `path`.
    pub fn connect_with(
        path: impl AsRef<Path>,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let path = path.as_ref().to_path_buf();
        let name = options.name.clone().unwrap_or_else(|| {
            format!(
                "peer-{}-{}",
                std::process::id(),
                NEXT_CLIENT.fetch_add(1, Ordering::Relaxed)
            )
        });
        validate_subject(&name)
            .map_err(|e| ClientError::InvalidSubject(format!("client name: {e}")))?;
        let connection = Connection::establish(&path, &name, &options)?;
        let shared = Arc::new(Shared {
            path,
            options,
            outbox: Outbox::default(),
            subs: Mutex::default(),
            pending: Mutex::default(),
            status: Mutex::new(Status::Connected),
            status_changed: Condvar::new(),
            closing: AtomicBool::new(false),
            next_sid: AtomicU64::new(INBOX_SID + 1),
            next_request: AtomicU64::new(1),
            reconnects: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            connection_guard: Mutex::default(),
            reader: Mutex::default(),
            own_readers: AtomicUsize::new(0),
            failure: Mutex::default(),
            last_read: Stamp::new(),
            last_own_read: Stamp::new(),
            inbox_prefix: format!("{}{name}.", crate::INBOX),
            liveness: Mutex::default(),
            name,
        });
        shared.install(connection)?;
        let reader = std::thread::Builder::new()
            .name(format!("bus-client-{}", shared.name))
            .spawn({
                let shared = shared.clone();
                move || shared.read_loop()
            })
            .map_err(ClientError::Io)?;
        Ok(Client {
            shared,
            reader: Some(reader),
        })
    }

    /// This client's endpoint name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Whether the client is connected now (not reconnecting or closed).
    pub fn is_connected(&self) -> bool {
        matches!(*lock(&self.shared.status), Status::Connected)
    }

    /// How many times the client has reconnected.
    pub fn reconnects(&self) -> u64 {
        self.shared.reconnects.load(Ordering::Relaxed)
    }

    /// Messages dropped because a subscription's queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Waits until the client is connected, for at most `timeout`.
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), ClientError> {
        self.shared
            .wait_status(timeout, |status| match status {
                Status::Connected => Some(Ok(())),
                Status::Closed(reason) => Some(Err(ClientError::Closed(reason.clone()))),
                Status::Reconnecting => None,
            })
            .unwrap_or(Err(ClientError::Disconnected))
    }

    /// Publishes `payload` on `subject`.
    pub fn publish(&self, subject: &str, payload: impl Into<Bytes>) -> Result<(), ClientError> {
        validate_subject(subject).map_err(ClientError::InvalidSubject)?;
        self.shared.send(&Envelope::new(MSG, subject, payload))
    }

    /// Sends a complete envelope (the server stamps this client's name as
    /// its sender).
    pub fn send(&self, envelope: &Envelope) -> Result<(), ClientError> {
        validate_subject(&envelope.subject).map_err(ClientError::InvalidSubject)?;
        self.shared.send(envelope)
    }

    /// Subscribes to `pattern` (`*` one token, `>` the rest).
    pub fn subscribe(&self, pattern: &str) -> Result<ClientSubscription, ClientError> {
        self.subscribe_in(pattern, None)
    }

    /// Subscribes to `pattern` as a member of queue group `group`: each
    /// message goes to one member.
    pub fn queue_subscribe(
        &self,
        pattern: &str,
        group: &str,
    ) -> Result<ClientSubscription, ClientError> {
        self.subscribe_in(pattern, Some(group.to_string()))
    }

    fn subscribe_in(
        &self,
        pattern: &str,
        group: Option<String>,
    ) -> Result<ClientSubscription, ClientError> {
        validate_pattern(pattern).map_err(ClientError::InvalidSubject)?;
        let sid = self.shared.next_sid.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let subscribe = Subscribe {
            sid,
            pattern: pattern.to_string(),
            queue: group,
        };
        let envelope = subscribe.to_envelope("bus")?;
        let entry = SubEntry {
            subscribe,
            tx,
            queued: queued.clone(),
        };
        lock(&self.shared.subs).insert(sid, entry);
        // While reconnecting the subscription is kept and sent on reconnect.
        match self.shared.send(&envelope) {
            Ok(()) | Err(ClientError::Disconnected) => {}
            Err(e) => {
                lock(&self.shared.subs).remove(&sid);
                return Err(e);
            }
        }
        Ok(ClientSubscription {
            sid,
            rx,
            queued,
            shared: Arc::downgrade(&self.shared),
        })
    }

    /// Sends `payload` to `subject` and waits up to `timeout` for one reply.
    pub fn request(
        &self,
        subject: &str,
        payload: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Envelope, ClientError> {
        self.request_envelope(Envelope::new(MSG, subject, payload), timeout)
    }

    /// Sends `request` (a typed message, say; its reply subject is set
    /// here) and waits up to `timeout` for one reply, of whatever kind the
    /// responder sends.
    pub fn request_envelope(
        &self,
        request: Envelope,
        timeout: Duration,
    ) -> Result<Envelope, ClientError> {
        validate_subject(&request.subject).map_err(ClientError::InvalidSubject)?;
        let id = self.shared.next_request.fetch_add(1, Ordering::Relaxed);
        let slot = ReplySlot::new();
        lock(&self.shared.pending).insert(id, slot.clone());
        let request = request.reply_to(crate::inbox(&self.shared.name, id));
        let subject = || request.subject.to_string();
        let outcome = self.shared.send(&request).and_then(|()| {
            match self.shared.wait_for_reply(&slot, timeout) {
                Ok(reply) if reply.kind == NO_RESPONDERS => {
                    Err(ClientError::NoResponders { subject: subject() })
                }
                Ok(reply) => Ok(reply),
                Err(RecvTimeoutError::Timeout) => Err(ClientError::Timeout {
                    subject: subject(),
                    timeout,
                }),
                Err(RecvTimeoutError::Disconnected) => Err(self.shared.closed_error()),
            }
        });
        lock(&self.shared.pending).remove(&id);
        outcome
    }

    /// Answers `request` on its reply subject.
    pub fn reply(&self, request: &Envelope, payload: impl Into<Bytes>) -> Result<(), ClientError> {
        self.shared.send(&request.reply(MSG, payload))
    }

    /// Waits until the server has processed everything this client sent
    /// before (subscriptions included).
    pub fn flush(&self, timeout: Duration) -> Result<(), ClientError> {
        self.request(PING_SUBJECT, Bytes::new(), timeout).map(drop)
    }

    /// The server's statistics as JSON.
    pub fn server_stats(&self, timeout: Duration) -> Result<serde_json::Value, ClientError> {
        let reply = self.request(STATS_SUBJECT, Bytes::new(), timeout)?;
        serde_json::from_slice(&reply.payload).map_err(|e| {
            ClientError::Protocol(ProtocolError::Malformed(format!("server statistics: {e}")))
        })
    }

    /// Closes the connection (as dropping the client does); subscriptions
    /// see [`RecvError::Closed`].
    pub fn close(self) {}
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shared.close("closed by the application");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Shared {
    /// Waits up to `timeout` for `check` to say something about the status
    /// (checked now and at every change); `None` on timeout.
    fn wait_status<R>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&Status) -> Option<R>,
    ) -> Option<R> {
        let until = deadline(timeout);
        let mut status = lock(&self.status);
        loop {
            if let Some(answer) = check(&status) {
                return Some(answer);
            }
            let now = Instant::now();
            if now >= until {
                return None;
            }
            status = self
                .status_changed
                .wait_timeout(status, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Lets go of the current link: sends fail until the next one is
    /// installed, and whatever blocks on the old one returns.
    fn drop_link(&self) {
        self.outbox.set_link(None);
        if let Some(guard) = lock(&self.connection_guard).take() {
            guard.close();
        }
    }

    fn closed_error(&self) -> ClientError {
        match &*lock(&self.status) {
            Status::Closed(reason) => ClientError::Closed(reason.clone()),
            _ => ClientError::Disconnected,
        }
    }

    fn send(&self, envelope: &Envelope) -> Result<(), ClientError> {
        if self.closing.load(Ordering::Relaxed) {
            return Err(self.closed_error());
        }
        self.outbox.send(envelope)
    }

    /// Makes `connection` current: its reader and writer are installed, and
    /// the inbox and every subscription are (re)sent.
    fn install(&self, connection: Connection) -> Result<(), ClientError> {
        let (reader, writer, guard) = connection.into_parts();
        *lock(&self.connection_guard) = Some(guard);
        self.last_read.mark();
        *lock(&self.liveness) = (reader.heartbeat, reader.timeout);
        *lock(&self.reader) = Some(reader);
        lock(&self.failure).take();
        self.outbox.set_link(Some(writer));
        let inbox = Subscribe {
            sid: INBOX_SID,
            pattern: format!("{}*", self.inbox_prefix),
            queue: None,
        };
        let mut frames = vec![inbox.to_envelope("bus")?];
        for entry in lock(&self.subs).values() {
            frames.push(entry.subscribe.to_envelope("bus")?);
        }
        for frame in &frames {
            self.outbox.send(frame)?;
        }
        Ok(())
    }

    fn close(&self, reason: &str) {
        self.closing.store(true, Ordering::Relaxed);
        self.drop_link();
        let mut status = lock(&self.status);
        if !matches!(*status, Status::Closed(_)) {
            *status = Status::Closed(reason.to_string());
        }
        drop(status);
        self.status_changed.notify_all();
        // Dropping the senders tells every receiver the client is closed.
        lock(&self.subs).clear();
        for (_, slot) in lock(&self.pending).drain() {
            slot.close();
        }
    }
}

impl ClientSubscription {
    /// The subscription's id on this client.
    pub fn sid(&self) -> u64 {
        self.sid
    }

    /// The next message, waiting up to `timeout`.
    ///
    /// With nothing waiting, the calling thread reads the link itself if
    /// no other thread is (the client's reader thread steps aside), so a
    /// stream's messages reach it without a hand-over between threads (on
    /// Linux; elsewhere the reader thread hands them over). It waits for
    /// the link no longer than `timeout`, but a frame that has begun to
    /// arrive is read to its end.
    pub fn recv(&self, timeout: Duration) -> Result<Envelope, RecvError> {
        let got = match self.rx.try_recv() {
            Ok(envelope) => Ok(envelope),
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => match self.shared.upgrade() {
                Some(shared) => shared.wait_for_message(&self.rx, timeout),
                None => self.rx.recv_timeout(timeout),
            },
        };
        let got = got.map_err(|e| match e {
            RecvTimeoutError::Timeout => RecvError::Timeout,
            RecvTimeoutError::Disconnected => RecvError::Closed,
        });
        if got.is_ok() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        got
    }

    /// The next message if one is waiting.
    pub fn try_recv(&self) -> Option<Envelope> {
        let got = self.rx.try_recv().ok();
        if got.is_some() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        got
    }
}

impl Drop for ClientSubscription {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            lock(&shared.subs).remove(&self.sid);
            if let Ok(unsubscribe) = (Unsubscribe { sid: self.sid }).to_envelope("bus") {
                let _ = shared.send(&unsubscribe);
            }
        }
    }
}
