//! The WASI context of one instance, built from its extension's [`Grants`]
//! alone: granted directories, variables and `net` addresses; a stopped
//! clock and fixed randomness unless granted.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use symphony_manifest::{FsAccess, Grants, net_allows};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{Deterministic, FsPerms, HostWallClock, WasiCtx, WasiCtxBuilder};

use super::{GuestLog, LogLimiter};

/// The WASI context for one instance: exactly `grants`, output to
/// `log`. Every socket use passes the `net` grants (none: every use is
/// refused); `on_denied(capability, what)` hears of each refusal. Paths
/// no directory grant covers resolve into `empty_root`, preopened
/// read-only at `/`, where opening anything is refused and audited
/// (see `runtime::refusals`).
pub(crate) fn wasi_ctx(
    grants: &Grants,
    log: &Arc<LogLimiter>,
    empty_root: &Path,
    on_denied: Arc<dyn Fn(String, String) + Send + Sync>,
) -> wasmtime::Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(GuestLog::new(log.clone(), "stdout"))
        .stderr(GuestLog::new(log.clone(), "stderr"))
        // Allowed here so that each use reaches the check below and a
        // refusal is audited; a name lookup passes only for names a
        // net grant names (`runtime::refusals`).
        .allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(true);
    let net = Arc::new(grants.net_patterns().to_vec());
    builder.socket_addr_check(move |addr, used| {
        let net = net.clone();
        let on_denied = on_denied.clone();
        Box::pin(async move {
            let allowed = match used {
                // The implicit bind before a connect.
                SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                SocketAddrUse::TcpConnect => {
                    let mut allowed = false;
                    for pattern in net.iter() {
                        if connect_allowed(pattern, addr).await {
                            allowed = true;
                            break;
                        }
                    }
                    allowed
                }
                // No grant allows listening, accepting or UDP.
                _ => false,
            };
            if !allowed {
                let capability = match used {
                    SocketAddrUse::UdpBind | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                        format!("udp:{addr}")
                    }
                    _ => format!("net:{addr}"),
                };
                on_denied(capability, format!("{} {addr}", socket_use(used)));
            }
            allowed
        })
    });
    if !grants.has_clock() {
        builder.wall_clock(Epoch);
    }
    if !grants.has_random() {
        builder.secure_random(fixed_random());
        builder.insecure_random(fixed_random());
        builder.insecure_random_seed(0);
    }
    for (key, value) in grants.env_vars() {
        builder.env(key, value);
    }
    if !grants.dirs().iter().any(|dir| dir.guest == "/") {
        builder.preopened_dir(empty_root, "/", FsPerms::ReadOnly)?;
    }
    for dir in grants.dirs() {
        let perms = match dir.access {
            FsAccess::Read => FsPerms::ReadOnly,
            FsAccess::ReadWrite => FsPerms::ReadWrite,
        };
        builder.preopened_dir(&dir.host, &dir.guest, perms)?;
    }
    Ok(builder.build())
}

/// Whether `pattern` (`host:port`, port `*` for any) grants a connection to
/// `addr`. An address pattern matches by value (`[0:0::1]` is `::1`); a
/// host name matches the addresses it resolves to now, looked up only once
/// the port matches; names with a wildcard cannot be told from an address,
/// so they match none.
async fn connect_allowed(pattern: &str, addr: SocketAddr) -> bool {
    let Some((host, _)) = pattern.rsplit_once(':') else {
        return false;
    };
    // The port rule is the pattern's own: ask with the host as written.
    if !net_allows(pattern, host, addr.port()) {
        return false;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip == addr.ip();
    }
    // Looked up as a future: the guest's call can be stopped meanwhile.
    !host.contains('*')
        && tokio::net::lookup_host((host, addr.port()))
            .await
            .is_ok_and(|mut found| found.any(|a| a.ip() == addr.ip()))
}

fn socket_use(used: SocketAddrUse) -> &'static str {
    match used {
        SocketAddrUse::TcpBind => "bind tcp",
        SocketAddrUse::TcpListen => "listen on tcp",
        SocketAddrUse::TcpAccept => "accept tcp from",
        SocketAddrUse::TcpConnect => "connect tcp to",
        SocketAddrUse::UdpBind => "bind udp",
        SocketAddrUse::UdpSend => "send udp to",
        SocketAddrUse::UdpReceive => "receive udp from",
    }
}

/// A wall clock stopped at the Unix epoch, for guests without the clock
/// grant.
struct Epoch;

impl HostWallClock for Epoch {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// The same bytes on every run, for guests without the random grant:
/// enough to seed a hash map, useless as a secret.
fn fixed_random() -> Deterministic {
    Deterministic::new(
        (0..=255u8)
            .map(|i| i.wrapping_mul(167).wrapping_add(13))
            .collect(),
    )
}

#[cfg(test)]
mod tests;
