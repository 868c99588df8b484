//! The typed client of the control API: what the CLI uses, and what any
//! Rust program driving a service uses.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use symphony_host::bus::ERROR_KIND_HEADER;
use symphony_host::protocol::client::{Client, ClientError, ClientOptions, ClientSubscription};
use symphony_host::protocol::messages::ErrorReply as BusError;
use symphony_host::protocol::{Envelope, Message};

use crate::api::{ErrorKind, ErrorReply, Request};

/// How long a request waits for its reply by default. Loading extensions
/// compiles them, which can take longer: [`ServiceClient::call_within`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to the service failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The service answered with an error.
    #[error("{0}")]
    Service(ErrorReply),
    /// The bus failed: no connection, no reply in time, no responder.
    #[error(transparent)]
    Bus(#[from] ClientError),
    /// The reply could not be read.
    #[error("the service's reply is unreadable: {0}")]
    Reply(String),
}

impl CallError {
    /// The kind of the service's error, when it answered with one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            CallError::Service(reply) => Some(reply.kind),
            _ => None,
        }
    }
}

/// A connection to a service.
///
/// ```no_run
/// use symphony_service::{ServiceClient, api::RunList};
///
/// let client = ServiceClient::connect("/home/me/.local/share/symphony/run/bus.sock")?;
/// for run in client.call(&RunList { limit: 5 })?.runs {
///     println!("{} {}", run.id, run.state);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ServiceClient {
    client: Client,
    path: PathBuf,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceClient")
            .field("path", &self.path)
            .field("name", &self.client.name())
            .finish()
    }
}

impl ServiceClient {
    /// Connects to the service at `path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<ServiceClient, ClientError> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let options = ClientOptions {
            name: Some(format!(
                "client-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            )),
            ..ClientOptions::default()
        };
        ServiceClient::connect_with(path, options)
    }

    /// Connects with `options` (a name, a token, shared memory).
    pub fn connect_with(
        path: impl AsRef<Path>,
        options: ClientOptions,
    ) -> Result<ServiceClient, ClientError> {
        let path = path.as_ref().to_path_buf();
        let client = Client::connect_with(&path, options)?;
        Ok(ServiceClient { client, path })
    }

    /// The socket it is connected to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bus client, to subscribe to run events (`exec.<run>.>`).
    pub fn bus(&self) -> &Client {
        &self.client
    }

    /// Subscribes to `pattern` and waits until the service has the
    /// subscription, so nothing published after this returns is missed.
    pub fn subscribe(&self, pattern: &str) -> Result<ClientSubscription, ClientError> {
        let subscription = self.client.subscribe(pattern)?;
        self.client.flush(DEFAULT_TIMEOUT)?;
        Ok(subscription)
    }

    /// Sends `request` and waits for its reply.
    pub fn call<R: Request>(&self, request: &R) -> Result<R::Reply, CallError> {
        self.call_within(request, DEFAULT_TIMEOUT)
    }

    /// Sends `request` and waits up to `timeout` for its reply.
    pub fn call_within<R: Request>(
        &self,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Reply, CallError> {
        let envelope = request.to_envelope(R::KIND).map_err(ClientError::from)?;
        let reply = self.client.request_envelope(envelope, timeout)?;
        read_reply::<R>(&reply)
    }
}

/// The reply to an `R`: its answer, or the error it carries.
fn read_reply<R: Request>(reply: &Envelope) -> Result<R::Reply, CallError> {
    match reply.kind.as_str() {
        kind if kind == R::Reply::KIND => {
            R::Reply::from_envelope(reply).map_err(|e| CallError::Reply(e.to_string()))
        }
        ErrorReply::KIND => Err(CallError::Service(
            ErrorReply::from_envelope(reply).map_err(|e| CallError::Reply(e.to_string()))?,
        )),
        // The bus server refused the request before the service saw it.
        BusError::KIND => {
            let message = BusError::from_envelope(reply)
                .map(|e| e.message)
                .map_err(|e| CallError::Reply(e.to_string()))?;
            let kind = reply
                .header(ERROR_KIND_HEADER)
                .map_or(ErrorKind::Internal, ErrorKind::from_name);
            Err(CallError::Service(ErrorReply::new(kind, message)))
        }
        other => Err(CallError::Reply(format!(
            "expected '{}' or an error, got '{other}'",
            R::Reply::KIND
        ))),
    }
}
