//! The WebAssembly runtime: one engine, one linker, a compile cache; the
//! instances of each extension under its limits and grants, their host
//! imports, their pools and the Pool Manager.
//!
//! ```
//! use symphony_runtime::{EngineSettings, Runtime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let runtime = Runtime::new(EngineSettings::default(), dir.path().join("cache"))?;
//! let file = dir.path().join("notes.wasm");
//! std::fs::write(&file, b"not a component")?;
//! let Err(err) = runtime.prepare(&file) else {
//!     panic!("a text file is not a component");
//! };
//! assert!(err.to_string().contains("notes.wasm"), "{err}");
//! assert_eq!(runtime.cache_stats().compiled, 0);
//! # Ok(())
//! # }
//! ```
//!
//! This crate reaches the host that owns it only through the
//! [`HostDelegate`] trait it defines (a guest's artifact imports, a nested
//! `model-call`, prewarming): it depends on `symphony-manifest` and
//! `symphony-bus`, never on the host, the workflow model or the DAG
//! Tracker.

#![deny(missing_docs)]

mod bindings;
mod bounds;
mod cache;
mod delegate;
mod engine;
mod error;
pub mod extension;
mod guest_log;
mod histogram;
mod host_api;
mod http;
mod inspect;
mod instance;
mod linked;
mod metrics;
mod node_config;
pub mod pool;
mod refusals;
mod store_data;
mod waits;
mod wasi_ctx;

use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

pub use cache::CacheStats;
pub use delegate::{HostDelegate, ModelCall};
pub use engine::EngineSettings;
pub use error::{ActivateError, CallError, ConfigError, LoadError, SetupError};
pub use histogram::{CallLatency, LatencyBucket};
pub use inspect::{BuiltWith, ComponentInfo, ComponentItemInfo, Producer};
pub use metrics::ExtensionMetrics;
pub use node_config::NodeConfig;

pub(crate) use bindings::types as wit;
pub(crate) use bounds::{block_on, block_on_call};
pub use cache::sha256_hex;
pub(crate) use guest_log::GuestLog;
pub use guest_log::LogLimiter;
pub(crate) use instance::Instance;
pub use instance::WorldPre;
pub use store_data::ExtensionContext;
pub(crate) use wasi_ctx::wasi_ctx;

use symphony_manifest::{ExtError, ExtensionKind};

use cache::ComponentCache;
use store_data::StoreState;

/// The WASI 0.2 release wasmtime-wasi defines its interfaces at; guests
/// importing any 0.2.x link to them. The wrappers that shadow some of its
/// functions (`waits`, `refusals`) must name the same instances.
const WASI: &str = "0.2.12";

/// The engine with everything built once per host.
pub struct Runtime {
    /// The engine every extension is compiled for.
    pub engine: Engine,
    linker: Linker<StoreState>,
    cache: ComponentCache,
    /// How the engine is sized.
    pub settings: EngineSettings,
    /// An empty directory, preopened read-only at `/` for guests with no
    /// grant there (see `refusals`); removed when the host is dropped.
    empty_root: tempfile::TempDir,
}

impl Runtime {
    /// An engine sized by `settings`, its host imports linked once, its
    /// compiled components cached in `cache_dir`.
    pub fn new(settings: EngineSettings, cache_dir: PathBuf) -> Result<Self, SetupError> {
        let engine = engine::new_engine(&settings)?;
        let mut linker = Linker::new(&engine);
        let setup = |e: wasmtime::Error| SetupError(format!("cannot link host imports: {e:#}"));
        // Calls run on wasmtime's async support (see `bounds`); so do the
        // host functions that can wait.
        bounds::io().map_err(SetupError)?;
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
            .map_err(|e| SetupError(format!("cannot create the guests' empty root: {e}")))?;
        Ok(Runtime {
            engine,
            linker,
            cache,
            settings,
            empty_root,
        })
    }

    /// The empty directory guests see at `/` when no grant is there.
    pub fn empty_root(&self) -> &Path {
        self.empty_root.path()
    }

    /// How the compile cache has done so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Compiles (or loads from the cache) the component at `path`, finds its
    /// world and links it.
    pub fn prepare(&self, path: &Path) -> Result<Prepared, LoadError> {
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
            // An interface version the host does not link says so by name;
            // anything else is the linker's own words.
            match info.imports.iter().find_map(|i| linked::unlinked(&i.name)) {
                Some(import) => LoadError::UnlinkedImport {
                    path: path.to_path_buf(),
                    interface: import.interface,
                    wanted: import.wanted,
                    have: import.have,
                },
                None => LoadError::WorldMismatch {
                    path: path.to_path_buf(),
                    kind,
                    reason: format!("{e:#}"),
                },
            }
        })?;
        let built_with = BuiltWith {
            wasi: info.wasi_version(),
            producers: inspect::producers(&bytes),
        };
        Ok(Prepared {
            kind,
            pre,
            hash,
            built_with,
        })
    }

    /// Describes the component at `path` without linking it.
    pub fn inspect(&self, path: &Path) -> Result<ComponentInfo, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (component, _) = self.cache.load(&self.engine, &bytes, path)?;
        Ok(ComponentInfo {
            producers: inspect::producers(&bytes),
            ..ComponentInfo::of(&self.engine, &component)
        })
    }
}

/// A component compiled and linked by [`Runtime::prepare`].
pub struct Prepared {
    /// The world it exports.
    pub kind: ExtensionKind,
    /// The linked component, ready to instantiate.
    pub pre: WorldPre,
    /// SHA-256 of its bytes.
    pub hash: String,
    /// The WASI version and tools it was built with.
    pub built_with: BuiltWith,
}

/// The host's `ExtError` from the WIT one.
impl From<wit::ExtError> for ExtError {
    fn from(e: wit::ExtError) -> Self {
        match e {
            wit::ExtError::InvalidInput(m) => ExtError::InvalidInput(m),
            wit::ExtError::InvalidConfig(m) => ExtError::InvalidConfig(m),
            wit::ExtError::Unavailable(m) => ExtError::Unavailable(m),
            wit::ExtError::Denied(m) => ExtError::Denied(m),
            wit::ExtError::Failed(m) => ExtError::Failed(m),
        }
    }
}

impl From<ExtError> for wit::ExtError {
    fn from(e: ExtError) -> Self {
        match e {
            ExtError::InvalidInput(m) => wit::ExtError::InvalidInput(m),
            ExtError::InvalidConfig(m) => wit::ExtError::InvalidConfig(m),
            ExtError::Unavailable(m) => wit::ExtError::Unavailable(m),
            ExtError::Denied(m) => wit::ExtError::Denied(m),
            ExtError::Failed(m) => wit::ExtError::Failed(m),
            // A kind a later contract adds reaches a guest of this one as
            // a plain failure.
            other => wit::ExtError::Failed(other.to_string()),
        }
    }
}
