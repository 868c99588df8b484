//! Outbound HTTP for guests (`wasi:http/outgoing-handler`), allowed only to
//! the hosts in the extension's `http` grants.
//!
//! The host's HTTP client (wasmtime-wasi-http's default sender: hyper, with
//! rustls for `https`) makes the connection, not the guest's sockets, so
//! `net` grants play no part here in either direction. A request takes no
//! longer than the call making it: the call's deadline drops it with the
//! call (see `bounds`).

use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks, default_hooks};

use super::store_data::ExtensionContext;
use symphony_manifest::Grants;

/// A response and the future that drives its connection, as
/// [`WasiHttpHooks::send_request`] returns them.
type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// The `wasi:http` hooks of one instance: every request is checked against
/// the extension's `http` grants before it leaves the host.
pub(crate) struct HttpGate {
    ext: Arc<ExtensionContext>,
}

impl HttpGate {
    /// The gate for `ext`'s instances.
    pub(crate) fn new(ext: Arc<ExtensionContext>) -> Self {
        HttpGate { ext }
    }
}

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Result<Sent, Error>> + Send> {
        if let Some(refused) = refusal(&self.ext.grants, request.uri()) {
            tracing::debug!(extension = %self.ext.name, "{}", refused.detail);
            self.ext.audit_denial(refused.capability, refused.detail);
            return Box::new(std::future::ready(Err(Error::HttpRequestDenied)));
        }
        default_hooks().send_request(request, options, fut)
    }
}

/// A refused request: the capability it lacked, in its text form
/// (`http:<host>`), and why, for the audit log.
#[derive(Debug, PartialEq, Eq)]
struct Refusal {
    capability: String,
    detail: String,
}

/// Why a request to `uri` is refused under `grants`, if it is: its host is
/// not granted, or its authority carries user info (which the client would
/// try to connect to as written).
fn refusal(grants: &Grants, uri: &http::Uri) -> Option<Refusal> {
    let Some(authority) = uri.authority() else {
        return Some(Refusal {
            capability: "http:".into(),
            detail: format!("HTTP request to '{uri}' refused: it names no host"),
        });
    };
    let host = authority.host();
    let detail = if authority.as_str().contains('@') {
        format!("HTTP request to '{host}' refused: user info in the URL is not supported")
    } else if grants.may_request_http(host) {
        return None;
    } else {
        format!("HTTP request to '{host}' refused: no http grant allows host '{host}'")
    };
    Some(Refusal {
        capability: format!("http:{host}"),
        detail,
    })
}

#[cfg(test)]
mod tests;
