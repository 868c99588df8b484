//! Serving a [`Bus`] to other processes: a local socket (a Unix domain
//! socket here, a named pipe on Windows) through `interprocess`, and
//! shared-memory rings for peers that ask for them.
//!
//! Each peer gets a reader thread (frames in, validated against the message
//! registry, routed into the bus) and a writer thread that drains the
//! peer's one bounded queue in batches, one write per batch. Peers
//! heartbeat; one that goes quiet longer than the timeout, disconnects, or
//! sends a malformed frame is dropped, its subscriptions removed, and
//! `bus.peer.down` announced.
//!
//! ```no_run
//! use std::time::Duration;
//! use symphony_protocol::client::Client;
//! use symphony_bus::{Bus, BusServer, ServerOptions};
//!
//! let bus = Bus::new();
//! let server = BusServer::bind(&bus, "/tmp/symphony-bus.sock", ServerOptions::default())?;
//! let events = bus.subscribe("sensor.>")?;
//!
//! // In another process:
//! let client = Client::connect("/tmp/symphony-bus.sock")?;
//! client.publish("sensor.door", &b"open"[..])?;
//! assert_eq!(&events.recv(Duration::from_secs(1))?.payload[..], b"open");
//! # drop(server);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod access;
pub(crate) mod hold;
mod peer;

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use interprocess::local_socket::traits::{ListenerExt as _, Stream as _};
use interprocess::local_socket::{ListenerOptions, Stream};
use serde::{Deserialize, Serialize};
use symphony_protocol::link::{FrameReader, SocketHalf, WRITE_TIMEOUT, socket_name, write_message};
use symphony_protocol::messages::{ErrorReply, Hello, Welcome};
use symphony_protocol::{Message, MessageRegistry};

use super::{Bus, BusStats, SlowPolicy};
pub use access::{Knock, PeerAccess, PeerCredentials, PeerGate, Refusal};
pub use peer::{ERROR_KIND_HEADER, PeerStats};
use peer::{LinkWriter, Peer};

/// How a [`BusServer`] treats its peers.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The server's endpoint name (the sender of what it announces).
    /// Default: `bus`.
    pub name: String,
    /// Each side heartbeats after this long without sending. Default: 20 ms.
    pub heartbeat: Duration,
    /// A peer silent this long is down. Default: 75 ms; with silence
    /// checked every 10 ms, a stopped peer is announced within 100 ms.
    pub peer_timeout: Duration,
    /// Messages waiting for one peer before its slow policy applies.
    /// Default: 8192.
    pub peer_queue: usize,
    /// Payload bytes waiting for one peer before its slow policy applies.
    /// Default: 64 MiB.
    pub peer_queue_bytes: usize,
    /// What a full peer queue does. Default: [`SlowPolicy::Pace`] with
    /// 250 ms, so publishers run at the pace of peers that keep up, and a
    /// peer that takes nothing for 250 ms loses its oldest messages
    /// (counted in its stats) instead of holding everyone up.
    pub peer_policy: SlowPolicy,
    /// The largest frame accepted from a peer. Default: 16 MiB.
    pub max_frame: usize,
    /// Where shared-memory regions are created. Default: `/dev/shm` when it
    /// exists, else the temporary directory.
    pub shm_dir: Option<PathBuf>,
    /// Bytes in each direction of a shared-memory link. Default: 1 MiB.
    pub shm_capacity: usize,
    /// How long a new connection may take to say hello. Default: 2 s.
    pub handshake_timeout: Duration,
    /// The message types peers may send, each checked against its
    /// validator before it is routed. Default: the bus's own types and
    /// `msg` ([`MessageRegistry::with_builtin`]).
    pub registry: MessageRegistry,
    /// Decides who may connect and what each peer may do. Default: none,
    /// and every peer that can open the socket is trusted.
    pub gate: Option<Arc<dyn PeerGate>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            name: "bus".into(),
            heartbeat: Duration::from_millis(20),
            peer_timeout: Duration::from_millis(75),
            peer_queue: 8192,
            peer_queue_bytes: 64 << 20,
            peer_policy: SlowPolicy::Pace {
                max_wait: Duration::from_millis(250),
            },
            max_frame: symphony_protocol::frame::DEFAULT_MAX_FRAME,
            shm_dir: None,
            shm_capacity: 1 << 20,
            handshake_timeout: Duration::from_secs(2),
            registry: MessageRegistry::with_builtin(),
            gate: None,
        }
    }
}

impl ServerOptions {
    /// How often a silent connection is checked: often enough that the
    /// check adds little to the timeout.
    fn check_interval(&self) -> Duration {
        self.heartbeat
            .min(self.peer_timeout / 8)
            .max(Duration::from_millis(1))
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Another server answers at the path.
    #[error("a bus server is already listening at {0}")]
    InUse(PathBuf),
    /// The socket could not be created.
    #[error("cannot listen at {path}: {source}")]
    Listen {
        /// The socket path.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The options contradict each other.
    #[error("invalid server options: {0}")]
    Options(String),
}

/// The server's statistics, as `symphony bus stats` shows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerStats {
    /// The server's endpoint name.
    pub server: String,
    /// The socket it listens on.
    pub socket: PathBuf,
    /// Connected peers, by name.
    pub peers: Vec<PeerStats>,
    /// The bus's own counters.
    pub bus: BusStats,
}

/// A running bus server. Dropping it stops accepting, disconnects every
/// peer and removes the socket.
pub struct BusServer {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    bus: Bus,
    path: PathBuf,
    options: ServerOptions,
    peers: Mutex<HashMap<String, Arc<Peer>>>,
    stopping: AtomicBool,
    next_region: AtomicU64,
}

impl BusServer {
    /// Listens at `path` and serves `bus` there until dropped. A stale
    /// socket file left by a dead server is replaced; a live one is an
    /// error.
    pub fn bind(
        bus: &Bus,
        path: impl AsRef<Path>,
        options: ServerOptions,
    ) -> Result<BusServer, ServerError> {
        let path = path.as_ref().to_path_buf();
        if options.heartbeat.is_zero() || options.peer_timeout <= options.heartbeat {
            return Err(ServerError::Options(format!(
                "the heartbeat ({:?}) must be positive and shorter than the peer timeout ({:?})",
                options.heartbeat, options.peer_timeout
            )));
        }
        let listen_error = |source| ServerError::Listen {
            path: path.clone(),
            source,
        };
        if path.exists() {
            let name = socket_name(&path).map_err(listen_error)?;
            if Stream::connect(name).is_ok() {
                return Err(ServerError::InUse(path));
            }
            std::fs::remove_file(&path).map_err(listen_error)?;
        }
        let listener = ListenerOptions::new()
            .name(socket_name(&path).map_err(listen_error)?)
            .reclaim_name(true)
            .create_sync()
            .map_err(listen_error)?;
        let shared = Arc::new(Shared {
            bus: bus.endpoint(&options.name),
            path: path.clone(),
            peers: Mutex::default(),
            stopping: AtomicBool::new(false),
            next_region: AtomicU64::new(1),
            options,
        });
        let accept = std::thread::Builder::new()
            .name("bus-accept".into())
            .spawn({
                let shared = shared.clone();
                move || {
                    for stream in listener.incoming() {
                        if shared.stopping.load(Ordering::Relaxed) {
                            break;
                        }
                        match stream {
                            Ok(stream) => shared.clone().spawn_connection(stream),
                            Err(e) => {
                                // E.g. out of file descriptors: back off
                                // rather than spin.
                                tracing::warn!("accepting a bus connection failed: {e}");
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                    }
                }
            })
            .map_err(listen_error)?;
        tracing::info!(socket = %shared.path.display(), "bus server listening");
        Ok(BusServer {
            shared,
            accept: Some(accept),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The connected peers.
    pub fn peers(&self) -> Vec<PeerStats> {
        self.shared.peer_stats()
    }

    /// The connected peer named `name`.
    pub fn peer(&self, name: &str) -> Option<PeerStats> {
        let peer = self.shared.lock_peers().get(name).cloned();
        peer.map(|p| p.stats())
    }

    /// Peers, bus counters and the socket, together.
    pub fn stats(&self) -> ServerStats {
        self.shared.stats()
    }

    /// Stops the server (as dropping it does).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        {
            let _peers = self.shared.lock_peers();
            self.shared.stopping.store(true, Ordering::Relaxed);
        }
        // The accept loop checks the flag on its next connection; if none
        // can be made it stops at the next real one instead.
        let woken = socket_name(&self.shared.path)
            .and_then(Stream::connect)
            .is_ok();
        if woken {
            let _ = accept.join();
        }
        let peers: Vec<Arc<Peer>> = self.shared.lock_peers().values().cloned().collect();
        for peer in peers {
            self.shared.close_peer(&peer, "the server is shutting down");
        }
    }
}

impl Drop for BusServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock_peers(&self) -> MutexGuard<'_, HashMap<String, Arc<Peer>>> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn peer_stats(&self) -> Vec<PeerStats> {
        let mut peers: Vec<PeerStats> = self.lock_peers().values().map(|p| p.stats()).collect();
        peers.sort_by(|a, b| a.name.cmp(&b.name));
        peers
    }

    fn stats(&self) -> ServerStats {
        ServerStats {
            server: self.options.name.clone(),
            socket: self.path.clone(),
            peers: self.peer_stats(),
            bus: self.bus.stats(),
        }
    }

    fn spawn_connection(self: Arc<Self>, stream: Stream) {
        let spawned = std::thread::Builder::new()
            .name("bus-peer".into())
            .spawn(move || {
                if let Err(reason) = self.serve_connection(stream) {
                    tracing::info!("bus connection refused: {reason}");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start a thread for a bus connection: {e}");
        }
    }

    /// Runs the handshake, then the peer's reader until it is down.
    fn serve_connection(self: Arc<Self>, stream: Stream) -> Result<(), String> {
        let io_error = |e: io::Error| e.to_string();
        stream
            .set_recv_timeout(Some(self.options.handshake_timeout))
            .map_err(io_error)?;
        // A peer that stops reading fails writes instead of hanging them.
        stream
            .set_send_timeout(Some(WRITE_TIMEOUT))
            .map_err(io_error)?;
        let stream = Arc::new(stream);
        let mut socket = SocketHalf(stream.clone());
        let mut frames = FrameReader::new(SocketHalf(stream.clone()), self.options.max_frame);
        let first = frames
            .next_envelope()
            .map_err(|e| format!("no hello: {e}"))?;
        let hello = match Hello::from_envelope(&first) {
            Ok(hello) => hello,
            Err(e) => return refuse(&mut socket, format!("expected a hello: {e}")),
        };
        if hello.peer == self.options.name {
            return refuse(
                &mut socket,
                format!("'{}' is the server's own name", hello.peer),
            );
        }
        let credentials = PeerCredentials::of(&stream);
        let access = match &self.options.gate {
            None => PeerAccess::Trusted,
            Some(gate) => {
                let knock = Knock {
                    peer: &hello.peer,
                    credentials,
                    token: first.header(symphony_protocol::client::TOKEN_HEADER),
                };
                match gate.admit(&knock) {
                    Ok(access) => access,
                    Err(reason) => {
                        gate.refused(&Refusal {
                            peer: &hello.peer,
                            identity: None,
                            credentials,
                            action: "connect",
                            reason: &reason,
                        });
                        return refuse_denied(&mut socket, reason);
                    }
                }
            }
        };
        let link = if hello.shared_memory {
            match self.create_region() {
                Ok(region) => Some(region),
                Err(e) => {
                    return refuse(&mut socket, format!("cannot set up shared memory: {e}"));
                }
            }
        } else {
            None
        };
        let peer = Arc::new_cyclic(|me| {
            Peer::new(
                me.clone(),
                &hello.peer,
                &self.options,
                &self.bus,
                stream.clone(),
                link.as_ref().map(|l| l.path.clone()),
                (access, credentials),
            )
        });
        {
            let mut peers = self.lock_peers();
            // Checked under the peers lock, which `stop` takes to close
            // every peer, so no peer joins a stopped server.
            if self.stopping.load(Ordering::Relaxed) {
                drop(peers);
                return refuse(&mut socket, "the server is shutting down".into());
            }
            if peers.contains_key(&hello.peer) {
                drop(peers);
                return refuse(
                    &mut socket,
                    format!("the endpoint name '{}' is already connected", hello.peer),
                );
            }
            peers.insert(hello.peer.clone(), peer.clone());
        }
        if let Err(reason) = self.clone().run_peer(&peer, stream, socket, frames, link) {
            self.close_peer(&peer, &reason);
        }
        Ok(())
    }

    /// Welcomes an accepted peer and serves it until it is down.
    fn run_peer(
        self: Arc<Self>,
        peer: &Arc<Peer>,
        stream: Arc<Stream>,
        mut socket: SocketHalf,
        frames: FrameReader<SocketHalf>,
        link: Option<Region>,
    ) -> Result<(), String> {
        let io_error = |e: io::Error| e.to_string();
        let welcome = Welcome {
            server: self.options.name.clone(),
            heartbeat_ms: millis(self.options.heartbeat),
            timeout_ms: millis(self.options.peer_timeout),
            shared_memory: link.as_ref().map(|l| l.path.display().to_string()),
        };
        write_message(&mut socket, &welcome)
            .map_err(|e| format!("sending the welcome failed: {e}"))?;
        tracing::info!(peer = %peer.name, transport = peer.transport(), "bus peer connected");
        match link {
            None => {
                stream
                    .set_recv_timeout(Some(self.options.check_interval()))
                    .map_err(io_error)?;
                peer.start_writer(self.clone(), LinkWriter::Socket(socket));
                self.read_frames(peer, frames);
            }
            #[cfg(target_os = "linux")]
            Some(link) => {
                let (mut ring_reader, mut ring_writer) =
                    link.region.split(symphony_protocol::shm::Side::Server);
                ring_reader.set_timeout(Some(self.options.check_interval()));
                // As the socket's send timeout: a peer that stops reading
                // fails the writer instead of hanging it.
                ring_writer.set_timeout(Some(WRITE_TIMEOUT));
                peer.set_closer(link.region.closer());
                peer.start_writer(self.clone(), LinkWriter::Ring(ring_writer));
                // The socket now only tells us when the peer's process
                // exits; watch it so that is noticed at once.
                stream.set_recv_timeout(None).map_err(io_error)?;
                let watcher = std::thread::Builder::new()
                    .name("bus-peer-watch".into())
                    .spawn({
                        let (shared, peer) = (self.clone(), peer.clone());
                        let mut socket = SocketHalf(stream.clone());
                        move || {
                            let _ = io::Read::read(&mut socket, &mut [0u8; 1]);
                            shared.close_peer(&peer, "the peer disconnected");
                        }
                    });
                watcher.map_err(|e| format!("cannot watch the peer: {e}"))?;
                self.read_frames(peer, FrameReader::new(ring_reader, self.options.max_frame));
            }
            #[cfg(not(target_os = "linux"))]
            Some(_) => unreachable!("shared memory is refused before this point"),
        }
        Ok(())
    }

    /// Takes `peer` off the bus: its routes go, its queue closes (the
    /// writer sends what is queued, then stops), and `bus.peer.down` is
    /// announced. Only the first call for a peer does anything.
    fn close_peer(&self, peer: &Arc<Peer>, reason: &str) {
        if !peer.close() {
            return;
        }
        {
            let mut peers = self.lock_peers();
            if peers
                .get(peer.name.as_str())
                .is_some_and(|p| Arc::ptr_eq(p, peer))
            {
                peers.remove(peer.name.as_str());
            }
        }
        tracing::info!(peer = %peer.name, "bus peer down: {reason}");
        let down = symphony_protocol::messages::PeerDown {
            peer: peer.name.to_string(),
            reason: reason.to_string(),
        };
        if let Ok(envelope) = down.to_envelope("bus.peer.down") {
            let _ = self.bus.send(envelope.from_sender(self.bus.name()));
        }
    }
}

/// A shared-memory region made for one peer.
struct Region {
    path: PathBuf,
    #[cfg(target_os = "linux")]
    region: symphony_protocol::shm::ShmRegion,
}

impl Shared {
    #[cfg(target_os = "linux")]
    fn create_region(&self) -> io::Result<Region> {
        let dir = self.options.shm_dir.clone().unwrap_or_else(|| {
            let dev_shm = PathBuf::from("/dev/shm");
            if dev_shm.is_dir() {
                dev_shm
            } else {
                std::env::temp_dir()
            }
        });
        let path = dir.join(format!(
            "symphony-bus-{}-{}",
            std::process::id(),
            self.next_region.fetch_add(1, Ordering::Relaxed)
        ));
        let region = symphony_protocol::shm::ShmRegion::create(&path, self.options.shm_capacity)?;
        Ok(Region { path, region })
    }

    #[cfg(not(target_os = "linux"))]
    fn create_region(&self) -> io::Result<Region> {
        Err(io::Error::other("shared memory is only available on Linux"))
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

/// Tells a connecting peer why it is refused; the connection then closes.
fn refuse(socket: &mut impl Write, reason: String) -> Result<(), String> {
    let _ = write_message(
        socket,
        &ErrorReply {
            message: reason.clone(),
        },
    );
    Err(reason)
}

/// Tells a connecting peer its credentials or token were refused (the
/// refusal says `denied` in its [`ERROR_KIND_HEADER`]).
fn refuse_denied(socket: &mut impl Write, reason: String) -> Result<(), String> {
    let mut frame = Vec::new();
    let refusal = ErrorReply {
        message: reason.clone(),
    }
    .to_envelope("bus")
    .map(|e| e.with_header(ERROR_KIND_HEADER, "denied"));
    if let Ok(envelope) = refusal
        && symphony_protocol::encode_frame(&envelope, &mut frame).is_ok()
    {
        let _ = socket.write_all(&frame);
    }
    Err(reason)
}

#[cfg(test)]
mod tests;
