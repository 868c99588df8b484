//! What each wasmtime `Store` carries.

use std::sync::{Arc, Weak};
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::guest_log::LogLimiter;
use super::http::HttpGate;
use super::refusals::Preopens;
use super::waits::Waits;

use symphony_bus::Bus;
use symphony_manifest::{AuditLog, AuditRecord, DecidedBy, Decision, Grants};

use crate::{ExtensionMetrics, HostDelegate, NodeConfig};

/// What every instance of one extension shares.
pub struct ExtensionContext {
    /// The extension's name, for logs and messages.
    pub name: Arc<str>,
    /// What the extension may do; checked by every host import.
    pub grants: Grants,
    /// The host bus, as the endpoint named after the extension, so what it
    /// publishes carries its name as sender.
    pub bus: Bus,
    /// The host, for imports that reach its services. Weak because the host
    /// owns the instances that hold this.
    pub host: Weak<dyn HostDelegate>,
    /// The extension's version, when a manifest gave one.
    pub version: Option<String>,
    /// Where refused capabilities are recorded.
    pub audit: Arc<AuditLog>,
    /// Counters for calls, denials and memory, read by `Host::metrics`.
    pub metrics: Arc<ExtensionMetrics>,
    /// Its budget of host log lines, for its `log` import and its stdout
    /// and stderr.
    pub log: Arc<LogLimiter>,
    /// The empty directory preopened at `/` when no grant is, so that
    /// opening a path no grant covers reaches the host and is audited.
    pub empty_root: Arc<std::path::Path>,
}

impl ExtensionContext {
    /// Records that the running extension was refused `capability`, and
    /// counts it in the extension's denials.
    pub(crate) fn audit_denial(&self, capability: String, detail: String) {
        self.metrics.record_denial();
        let record = AuditRecord::now(
            &*self.name,
            self.version.clone(),
            capability,
            Decision::Denied,
            DecidedBy::Runtime,
            detail,
        );
        if let Err(e) = self.audit.record(&record) {
            tracing::error!(extension = %self.name, "{e}");
        }
    }
}

/// The data of one instance's `Store`.
pub struct StoreState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    /// Checks each outbound HTTP request against the `http` grants.
    http_gate: HttpGate,
    pub table: ResourceTable,
    /// Which host call the guest waits in, and on what.
    pub waits: Waits,
    /// Where each preopened directory is, for auditing refusals there.
    pub preopens: Preopens,
    /// Enforces the memory limit and remembers why growth was refused.
    pub memory: MemoryGuard,
    /// The extension this instance belongs to.
    pub ext: Arc<ExtensionContext>,
    /// The configuration of the call in progress, read by `host.config`.
    pub config: NodeConfig,
    /// When the call in progress must end. Its guest code is stopped at
    /// the epoch check after this time (an absolute time, so ticks that
    /// pass while the guest waits in a host call still count); a wait in a
    /// host call, by dropping the call (see `bounds`).
    pub deadline_at: std::time::Instant,
}

impl StoreState {
    /// The state of a new instance of `ext`: its WASI context from the
    /// grants and `memory_limit` bytes of memory, starting up within
    /// `deadline`.
    pub fn new(
        ext: Arc<ExtensionContext>,
        memory_limit: usize,
        deadline: Duration,
    ) -> wasmtime::Result<Self> {
        Ok(StoreState {
            wasi: super::wasi_ctx(&ext.grants, &ext.log, &ext.empty_root, {
                let ext = ext.clone();
                Arc::new(move |capability, what| ext.audit_denial(capability, what))
            })?,
            http: WasiHttpCtx::new(),
            http_gate: HttpGate::new(ext.clone()),
            table: ResourceTable::new(),
            waits: Waits::default(),
            preopens: Preopens::default(),
            memory: MemoryGuard::new(memory_limit, ext.metrics.clone()),
            ext,
            config: NodeConfig::default(),
            deadline_at: std::time::Instant::now() + deadline,
        })
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.http_gate,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// A memory limit that traps with a recorded reason instead of letting the
/// guest's allocator fail into an opaque `unreachable`.
pub struct MemoryGuard {
    limit: usize,
    /// Where every granted growth is recorded, for the extension's memory
    /// high-water mark.
    metrics: Arc<ExtensionMetrics>,
    /// The size a refused growth asked for, until the next call starts.
    pub exceeded: Option<usize>,
    /// The linear memory the instance holds now, summed over its memories:
    /// its size in the Pool Manager's memory budget.
    bytes: usize,
}

/// Table growth beyond this many elements is refused; no guest we know of
/// needs more, and each element costs host memory.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl MemoryGuard {
    fn new(limit: usize, metrics: Arc<ExtensionMetrics>) -> Self {
        MemoryGuard {
            limit,
            metrics,
            exceeded: None,
            bytes: 0,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The linear memory the instance holds, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = Some(desired);
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded (asked for {desired})",
                self.limit
            )));
        }
        self.metrics.record_memory(desired);
        // Called for each memory as it is created (from 0) and each time it
        // grows, so the deltas sum to what every memory holds. Memories never
        // shrink.
        self.bytes = self.bytes.saturating_add(desired.saturating_sub(current));
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
