//! The daemon: one [`Host`] whose bus is served on a Unix socket, with the
//! control API answered on it.

mod access;
mod handlers;
mod runs;

use std::collections::HashMap;
use std::io;
use std::num::NonZeroUsize;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use symphony_host::Host;
use symphony_host::bus::{BusServer, ServerError, ServerOptions, ServerStats, Service};

use access::Gate;
use runs::Runs;

/// How a [`Daemon`] serves.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The socket to listen on. Its directory is created private (0700,
    /// or 0750 with `allow_group`); an existing one that others may enter
    /// is refused.
    pub socket: PathBuf,
    /// A group whose members may use the service besides its own user.
    pub allow_group: Option<u32>,
    /// The most nodes of one run running at once, unless the run asks for
    /// fewer or more. Default: the number of cores.
    pub concurrency: Option<NonZeroUsize>,
    /// The bus server's options; its registry and gate are the service's.
    pub server: ServerOptions,
}

impl DaemonOptions {
    /// Options for a daemon listening at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        DaemonOptions {
            socket: socket.into(),
            allow_group: None,
            concurrency: None,
            server: ServerOptions::default(),
        }
    }
}

/// Why a daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The socket's directory is unusable or not private.
    #[error("socket directory {path}: {problem}")]
    SocketDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The bus server could not start.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The control API could not be served on the bus.
    #[error("cannot serve the control API: {0}")]
    Serve(String),
}

/// What a [`Daemon::shutdown`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Runs that finished while draining.
    pub finished: Vec<String>,
    /// Runs paused at the drain deadline with every node that finished
    /// checkpointed; `symphony resume RUN` continues them.
    pub interrupted: Vec<String>,
    /// Nodes still running at the deadline (they run again on resume).
    pub abandoned_nodes: usize,
}

/// A running service. Dropping it stops serving at once (use
/// [`Daemon::shutdown`] to drain).
pub struct Daemon {
    shared: Arc<Shared>,
    handlers: Vec<Service>,
}

/// What the request handlers share.
pub(crate) struct Shared {
    pub(crate) host: Host,
    pub(crate) gate: Arc<Gate>,
    pub(crate) runs: Runs,
    pub(crate) stopping: AtomicBool,
    pub(crate) started: Instant,
    pub(crate) concurrency: Option<NonZeroUsize>,
    server: Mutex<Option<BusServer>>,
    /// Artifact reads in progress: (requester, id) → (next offset, reader),
    /// so reading a large artifact chunk by chunk streams it once.
    pub(crate) downloads: Mutex<HashMap<(String, String), handlers::Download>>,
    /// Encoded status replies of runs that ended for good (completed or
    /// cancelled): their record can no longer change, so polling one
    /// costs no database query.
    pub(crate) ended_statuses: Mutex<HashMap<String, symphony_host::bus::Envelope>>,
    /// Signalled when a run ends or a node finishes, for draining.
    pub(crate) changed: Condvar,
    pub(crate) changed_lock: Mutex<()>,
}

impl Shared {
    pub(crate) fn server_stats(&self) -> Option<ServerStats> {
        lock(&self.server).as_ref().map(BusServer::stats)
    }

    /// Whether `sender` may have the service read files by path: this
    /// process, or a peer of the service's own user (or root). Members of
    /// an allowed group drive the service but must not read its user's
    /// files through it.
    pub(crate) fn may_name_paths(&self, sender: &str) -> Result<(), crate::api::ErrorReply> {
        let uid = lock(&self.server)
            .as_ref()
            .and_then(|server| server.peer(sender))
            .and_then(|peer| peer.uid);
        match uid {
            Some(uid) if uid != self.gate.uid() && uid != 0 => Err(crate::api::ErrorReply::new(
                crate::api::ErrorKind::Denied,
                format!(
                    "uid {uid} may not have the service read files as uid {}; send the content instead",
                    self.gate.uid()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The tenant and priority `sender` may run as: anything it asks for
    /// when it is this process or a peer of the service's own user (or
    /// root); a peer of another user (an allowed group's member) runs as
    /// `uid:<uid>`, may not name another tenant, and may lower its
    /// priority but not raise it.
    pub(crate) fn claim_for(
        &self,
        sender: &str,
        tenant: Option<String>,
        priority: i32,
    ) -> Result<(Option<String>, i32), crate::api::ErrorReply> {
        let uid = lock(&self.server)
            .as_ref()
            .and_then(|server| server.peer(sender))
            .and_then(|peer| peer.uid);
        let Some(uid) = uid.filter(|&uid| uid != self.gate.uid() && uid != 0) else {
            return Ok((tenant, priority));
        };
        let own = format!("uid:{uid}");
        let denied = |what: String| {
            Err(crate::api::ErrorReply::new(
                crate::api::ErrorKind::Denied,
                what,
            ))
        };
        if tenant.as_ref().is_some_and(|t| *t != own) {
            return denied(format!(
                "uid {uid} runs as tenant '{own}' and may not name another"
            ));
        }
        if priority > 0 {
            return denied(format!(
                "uid {uid} may not raise a run's priority (asked for {priority}); 0 or lower"
            ));
        }
        Ok((Some(own), priority))
    }

    /// Wakes whoever waits in [`Shared::wait_changed`].
    pub(crate) fn notify(&self) {
        let _guard = lock(&self.changed_lock);
        self.changed.notify_all();
    }

    /// Waits until notified or `timeout` passes.
    pub(crate) fn wait_changed(&self, timeout: Duration) {
        let guard = lock(&self.changed_lock);
        let _ = self.changed.wait_timeout(guard, timeout);
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Daemon {
    /// Serves `host`'s bus at `options.socket` and answers the control API
    /// on it.
    pub fn start(host: Host, options: DaemonOptions) -> Result<Daemon, DaemonError> {
        prepare_dir(&options.socket, options.allow_group)?;
        let gate = Arc::new(Gate::new(host.clone(), options.allow_group));
        let mut server_options = options.server.clone();
        server_options.registry = crate::api::registry();
        server_options.gate = Some(gate.clone());
        let server = BusServer::bind(host.bus(), &options.socket, server_options)?;
        secure_socket(&options.socket, options.allow_group).map_err(|e| {
            DaemonError::SocketDir {
                path: options.socket.clone(),
                problem: format!("cannot make the socket private: {e}"),
            }
        })?;
        let shared = Arc::new(Shared {
            runs: Runs::default(),
            gate,
            stopping: AtomicBool::new(false),
            started: Instant::now(),
            concurrency: options.concurrency,
            server: Mutex::new(Some(server)),
            downloads: Mutex::default(),
            ended_statuses: Mutex::default(),
            changed: Condvar::new(),
            changed_lock: Mutex::new(()),
            host,
        });
        let handler = {
            let shared = shared.clone();
            move |request: &symphony_host::bus::Envelope| Some(handlers::handle(&shared, request))
        };
        let endpoint = shared.host.bus().endpoint("symphony");
        let handlers = vec![
            endpoint
                .serve_typed(&format!("{}.>", crate::api::PREFIX), handler)
                .map_err(|e| DaemonError::Serve(e.to_string()))?,
        ];
        tracing::info!(socket = %options.socket.display(), "symphony service listening");
        Ok(Daemon { shared, handlers })
    }

    /// The host it serves.
    pub fn host(&self) -> &Host {
        &self.shared.host
    }

    /// A token that identifies a bus peer as the extension `name`: a peer
    /// presenting it ([`ClientOptions::token`](symphony_host::protocol::client::ClientOptions::token))
    /// may publish and subscribe only within that extension's grants.
    pub fn issue_token(&self, name: &str) -> Result<String, symphony_host::Error> {
        self.shared.host.grants(name)?;
        self.shared
            .gate
            .issue(name)
            .map_err(|e| symphony_host::Error::Setup(format!("cannot make a token: {e}")))
    }

    /// Stops taking new work and drains: every run is paused, so nodes
    /// running finish and are checkpointed while no new node starts, for up
    /// to `drain`; then the socket closes and every extension is drained
    /// and unloaded (their deactivate and unload hooks run). Runs left
    /// paused show as interrupted once this process exits and continue
    /// with `symphony resume RUN` on the next start.
    pub fn shutdown(mut self, drain: Duration) -> ShutdownReport {
        let until = Instant::now() + drain;
        let shared = self.shared.clone();
        shared.stopping.store(true, Ordering::SeqCst);
        let live = shared.runs.pause_all();
        loop {
            let in_flight = shared.runs.in_flight();
            let now = Instant::now();
            if in_flight == 0 || now >= until {
                break;
            }
            shared.wait_changed((until - now).min(Duration::from_millis(20)));
        }
        let mut report = ShutdownReport {
            abandoned_nodes: shared.runs.in_flight(),
            ..ShutdownReport::default()
        };
        for run in live {
            if shared.runs.is_active(&run) {
                report.interrupted.push(run);
            } else {
                report.finished.push(run);
            }
        }
        self.stop_serving();
        let left = until.saturating_duration_since(Instant::now());
        shared
            .host
            .shutdown_within(left.max(Duration::from_millis(100)));
        unload_all(&shared.host);
        report
    }
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let socket = lock(&self.shared.server)
            .as_ref()
            .map(|s| s.path().to_path_buf());
        f.debug_struct("Daemon")
            .field("socket", &socket)
            .field("runs", &self.shared.runs.counts())
            .finish()
    }
}

impl Daemon {
    /// Stops answering the control API and closes the socket (every peer
    /// disconnects).
    fn stop_serving(&mut self) {
        self.handlers.clear();
        drop(lock(&self.shared.server).take());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop_serving();
    }
}

/// Unloads every extension, dependants before what they depend on.
fn unload_all(host: &Host) {
    loop {
        let names: Vec<String> = host.extensions().into_iter().map(|e| e.name).collect();
        if names.is_empty() {
            return;
        }
        let unloaded = names.iter().filter(|n| host.unload(n).is_ok()).count();
        if unloaded == 0 {
            tracing::warn!("extensions left loaded at shutdown: {}", names.join(", "));
            return;
        }
    }
}

/// Creates the socket's directory private, or checks an existing one is.
fn prepare_dir(socket: &Path, group: Option<u32>) -> Result<(), DaemonError> {
    let dir = match socket.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let problem = |problem: String| DaemonError::SocketDir {
        path: dir.clone(),
        problem,
    };
    let mode = if group.is_some() { 0o750 } else { 0o700 };
    if !dir.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| problem(format!("cannot create it: {e}")))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
            .map_err(|e| problem(format!("cannot make it private: {e}")))?;
        if let Some(group) = group {
            std::os::unix::fs::chown(&dir, None, Some(group))
                .map_err(|e| problem(format!("cannot give it to group {group}: {e}")))?;
        }
        return Ok(());
    }
    let meta = std::fs::metadata(&dir).map_err(|e| problem(e.to_string()))?;
    let open = meta.permissions().mode() & 0o777 & !mode;
    if open != 0 {
        return Err(problem(format!(
            "others may enter it (mode {:o}); the socket needs a directory of its own with mode {mode:o}",
            meta.permissions().mode() & 0o777
        )));
    }
    Ok(())
}

/// Gives the socket mode 0600 (0660 and the group, with one).
fn secure_socket(socket: &Path, group: Option<u32>) -> io::Result<()> {
    let mode = if group.is_some() { 0o660 } else { 0o600 };
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(mode))?;
    if let Some(group) = group {
        std::os::unix::fs::chown(socket, None, Some(group))?;
    }
    Ok(())
}
