//! Reaching a running service: the CLI is its client when one answers on
//! the socket, and embeds a host otherwise.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use symphony_host::protocol::client::{ClientSubscription, RecvError};
use symphony_service::ServiceClient;

use super::HostArgs;

/// Where to find a running service.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// The service's socket; default: $SYMPHONY_BUS, else run/bus.sock in
    /// the data directory. Given, a service must answer there.
    #[arg(long, value_name = "PATH", global = true)]
    connect: Option<PathBuf>,
    /// Run in this process even when a service answers.
    #[arg(long, global = true, conflicts_with = "connect")]
    embedded: bool,
}

/// The socket of the service for `home`.
pub fn socket(host: &HostArgs, explicit: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.clone());
    }
    let home = host.home_dir()?;
    Ok(symphony_service::default_socket(&home))
}

impl ConnectArgs {
    /// A client of the service when one answers (saying so on stderr), or
    /// `None` to embed a host (saying that).
    pub fn service(&self, host: &HostArgs) -> anyhow::Result<Option<ServiceClient>> {
        if self.embedded {
            eprintln!("symphony: embedded host (--embedded)");
            return Ok(None);
        }
        let path = socket(host, self.connect.as_ref())?;
        if self.connect.is_some() {
            let client = ServiceClient::connect(&path)
                .with_context(|| format!("--connect {}", path.display()))?;
            eprintln!("symphony: using the service at {}", path.display());
            return Ok(Some(client));
        }
        if path.exists()
            && let Ok(client) = ServiceClient::connect(&path)
        {
            eprintln!("symphony: using the service at {}", path.display());
            return Ok(Some(client));
        }
        eprintln!("symphony: no service at {}; embedded host", path.display());
        Ok(None)
    }

    /// A client of the service; a command that steers live runs needs one.
    pub fn require(&self, host: &HostArgs, command: &str) -> anyhow::Result<ServiceClient> {
        if self.embedded {
            bail!("`symphony {command}` steers runs of a running service; --embedded has none");
        }
        let path = socket(host, self.connect.as_ref())?;
        ServiceClient::connect(&path).with_context(|| {
            format!(
                "`symphony {command}` needs a running service (`symphony serve`), and none \
                 answers at {}",
                path.display()
            )
        })
    }
}

/// A run event as JSON, or why following stopped.
pub enum Followed {
    /// One event.
    Event(serde_json::Value),
    /// The service went away.
    Lost(String),
}

/// How long a run's follower waits for a lost service to come back: its
/// runs stop with it, and a restarted one only continues them on `resume`.
const LOST_AFTER: Duration = Duration::from_secs(3);

/// Waits for the next event of a run's subscription on `client`.
pub fn next_event(client: &ServiceClient, events: &ClientSubscription) -> Followed {
    let mut away_since: Option<std::time::Instant> = None;
    loop {
        match events.recv(Duration::from_millis(250)) {
            Ok(envelope) => match serde_json::from_slice(&envelope.payload) {
                Ok(event) => return Followed::Event(event),
                Err(e) => eprintln!(
                    "warning: an unreadable run event on {}: {e}",
                    envelope.subject
                ),
            },
            Err(RecvError::Timeout) => {
                if client.bus().is_connected() {
                    away_since = None;
                } else if away_since
                    .get_or_insert_with(std::time::Instant::now)
                    .elapsed()
                    > LOST_AFTER
                {
                    return Followed::Lost("the connection to the service was lost".into());
                }
            }
            Err(RecvError::Closed) => {
                return Followed::Lost("the connection to the service closed".into());
            }
        }
    }
}

/// Whether `event` says the run ended.
pub fn is_end(event: &serde_json::Value) -> bool {
    event["event"] == "state"
        && matches!(
            event["state"].as_str(),
            Some("completed" | "failed" | "cancelled")
        )
}
