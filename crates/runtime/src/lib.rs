//! The WebAssembly runtime: one engine, one linker, a compile cache.

mod bindings;
mod bounds;
mod cache;
mod engine;
mod guest_log;
mod host_api;
mod http;
mod inspect;
mod instance;
mod refusals;
mod state;
mod waits;
mod wasi_ctx;

use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

pub use cache::CacheStats;
pub use engine::EngineSettings;
pub use inspect::{ComponentInfo, ComponentItemInfo};

pub(crate) use bindings::types as wit;
pub(crate) use bounds::{Stop, block_on, block_on_call, stopped};
pub(crate) use cache::sha256_hex;
pub(crate) use guest_log::{GuestLog, LogLimiter};
pub(crate) use instance::{Instance, WorldPre};
pub(crate) use state::ExtensionContext;
pub(crate) use wasi_ctx::wasi_ctx;

use crate::extension::ExtensionKind;
use crate::{Error, LoadError};
use cache::ComponentCache;
use state::StoreState;

/// The WASI 0.2 release wasmtime-wasi defines its interfaces at; guests
/// importing any 0.2.x link to them. The wrappers that shadow some of its
/// functions (`waits`, `refusals`) must name the same instances.
const WASI: &str = "0.2.12";

/// The engine with everything built once per host.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    linker: Linker<StoreState>,
    cache: ComponentCache,
    pub(crate) settings: EngineSettings,
    /// An empty directory, preopened read-only at `/` for guests with no
    /// grant there (see `refusals`); removed when the host is dropped.
    empty_root: tempfile::TempDir,
}

impl Runtime {
    pub(crate) fn new(settings: EngineSettings, cache_dir: PathBuf) -> Result<Self, Error> {
        let engine = engine::new_engine(&settings)?;
        let mut linker = Linker::new(&engine);
        let setup = |e: wasmtime::Error| Error::Setup(format!("cannot link host imports: {e:#}"));
        // Calls run on wasmtime's async support (see `bounds`); so do the
        // host functions that can wait.
        bounds::io().map_err(Error::Setup)?;
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(setup)?;
        // wasi:http/outgoing-handler and types; every request passes the
        // extension's `http` grants (see `http::HttpGate`).
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(setup)?;
        // Some WASI functions are replaced by wrappers that note where a
        // guest waits and audit what it is refused.
        linker.allow_shadowing(true);
        let shadowed =
            waits::add_to_linker(&mut linker).and_then(|()| refusals::add_to_linker(&mut linker));
        linker.allow_shadowing(false);
        shadowed.map_err(setup)?;
        bindings::instrument::InstrumentExtension::add_to_linker::<_, HasSelf<StoreState>>(
            &mut linker,
            |s| s,
        )
        .map_err(setup)?;
        let cache = ComponentCache::new(&engine, cache_dir);
        let empty_root = tempfile::Builder::new()
            .prefix("symphony-empty-root-")
            .tempdir()
            .map_err(|e| Error::Setup(format!("cannot create the guests' empty root: {e}")))?;
        Ok(Runtime {
            engine,
            linker,
            cache,
            settings,
            empty_root,
        })
    }

    /// The empty directory guests see at `/` when no grant is there.
    pub(crate) fn empty_root(&self) -> &Path {
        self.empty_root.path()
    }

    pub(crate) fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Compiles (or loads from the cache) the component at `path`, finds its
    /// world and links it. Returns the kind, the linked component and the
    /// SHA-256 of its bytes.
    pub(crate) fn prepare(
        &self,
        path: &Path,
    ) -> Result<(ExtensionKind, WorldPre, String), LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (component, hash) = self.cache.load(&self.engine, &bytes, path)?;
        let info = ComponentInfo::of(&self.engine, &component);
        let kind = info.kind.ok_or_else(|| LoadError::UnknownWorld {
            path: path.to_path_buf(),
            exports: info.exports.iter().map(|e| e.name.clone()).collect(),
        })?;
        let pre = WorldPre::new(&self.linker, &component, kind).map_err(|e| {
            LoadError::WorldMismatch {
                path: path.to_path_buf(),
                kind,
                reason: format!("{e:#}"),
            }
        })?;
        Ok((kind, pre, hash))
    }

    /// Describes the component at `path` without linking it.
    pub(crate) fn inspect(&self, path: &Path) -> Result<ComponentInfo, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (component, _) = self.cache.load(&self.engine, &bytes, path)?;
        Ok(ComponentInfo::of(&self.engine, &component))
    }
}

/// The host's `ExtError` from the WIT one.
impl From<wit::ExtError> for crate::ExtError {
    fn from(e: wit::ExtError) -> Self {
        match e {
            wit::ExtError::InvalidInput(m) => crate::ExtError::InvalidInput(m),
            wit::ExtError::InvalidConfig(m) => crate::ExtError::InvalidConfig(m),
            wit::ExtError::Unavailable(m) => crate::ExtError::Unavailable(m),
            wit::ExtError::Denied(m) => crate::ExtError::Denied(m),
            wit::ExtError::Failed(m) => crate::ExtError::Failed(m),
        }
    }
}

impl From<crate::ExtError> for wit::ExtError {
    fn from(e: crate::ExtError) -> Self {
        match e {
            crate::ExtError::InvalidInput(m) => wit::ExtError::InvalidInput(m),
            crate::ExtError::InvalidConfig(m) => wit::ExtError::InvalidConfig(m),
            crate::ExtError::Unavailable(m) => wit::ExtError::Unavailable(m),
            crate::ExtError::Denied(m) => wit::ExtError::Denied(m),
            crate::ExtError::Failed(m) => wit::ExtError::Failed(m),
            // A kind a later contract adds reaches a guest of this one as
            // a plain failure.
            other => wit::ExtError::Failed(other.to_string()),
        }
    }
}
