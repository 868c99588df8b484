//! Symphony as a service: one long-running [`Host`] whose own bus is
//! served on a Unix socket, answering a versioned control API
//! (`symphony.v1.*`) on it, and the typed [`ServiceClient`] that drives it.
//!
//! ```
//! use symphony_host::Host;
//! use symphony_service::{Daemon, DaemonOptions, ServiceClient, api::{ErrorKind, RunList, RunStatusRequest}};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let home = tempfile::tempdir()?;
//! let host = Host::builder().home(home.path()).build()?;
//! let socket = home.path().join("run/bus.sock");
//! let daemon = Daemon::start(host, DaemonOptions::new(&socket))?;
//!
//! // In another process (or this one): a typed request, a typed reply.
//! let client = ServiceClient::connect(&socket)?;
//! assert!(client.call(&RunList { limit: 10 })?.runs.is_empty());
//! let missing = client.call(&RunStatusRequest { run: "nope".into() }).unwrap_err();
//! assert_eq!(missing.kind(), Some(ErrorKind::NotFound));
//!
//! daemon.shutdown(std::time::Duration::from_secs(1));
//! # Ok(())
//! # }
//! ```
//!
//! Every run's events go out on the served bus (`exec.<run>.<event>`, JSON),
//! as does everything extensions publish; `PROTOCOL.md` at the repository's
//! root describes the subjects and messages for clients in any language.
//!
//! Who may connect: the user the service runs as (and root), members of
//! one group if allowed ([`DaemonOptions::allow_group`]), and extension
//! peers presenting a token from [`Daemon::issue_token`], which may publish
//! and subscribe only within their grants. The socket's directory is
//! private (0700) and the socket 0600; every refusal is audited.

#![deny(missing_docs)]

pub mod api;
mod client;
mod daemon;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use symphony_host::Host;
use symphony_host::extension::render_text;
use symphony_host::runs::RunReport;
use symphony_host::workflow::Workflow;

pub use client::{CallError, DEFAULT_TIMEOUT, ServiceClient};
pub use daemon::{Daemon, DaemonError, DaemonOptions, ShutdownReport};

/// The environment variable naming the service's socket.
pub const SOCKET_ENV: &str = "SYMPHONY_BUS";

/// Where the service of `home` listens: `$SYMPHONY_BUS`, else
/// `<home>/run/bus.sock`.
pub fn default_socket(home: &Path) -> PathBuf {
    match std::env::var_os(SOCKET_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => home.join("run").join("bus.sock"),
    }
}

/// Renders `report` with every addon `workflow` lists, by name: `{"text",
/// "vnodes"}`, or `{"error"}` for an addon that fails (it never hides the
/// run's own report).
pub fn render_addons(host: &Host, workflow: &Workflow, report: &RunReport) -> Map<String, Value> {
    let status = report.to_json();
    let mut views = Map::new();
    for view in &workflow.addons {
        let rendered = host
            .addon(&view.extension)
            .and_then(|addon| Ok(addon.render(&status)?));
        let value = match rendered {
            Ok(nodes) => json!({"text": render_text(&nodes), "vnodes": nodes}),
            Err(error) => json!({"error": error.to_string()}),
        };
        views.insert(view.extension.clone(), value);
    }
    views
}
