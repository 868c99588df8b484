//! Host-side bindings for the three extension worlds of
//! `symphony:extension@0.1.1`, the newest WIT version. Components built
//! against 0.1.0 link to them too: wasmtime matches 0.1.x names with each
//! other, and 0.1.1 only adds an import.
//!
//! The instrument world generates the shared `types` and `host` interfaces;
//! the other worlds reuse them so one `Host` implementation serves all three.
//! Imports and exports are async: every call runs as a future that a
//! deadline or an interrupt can drop while the guest waits in the host.

/// The WIT version the host binds.
pub(crate) const WIT_VERSION: &str = "0.1.1";

/// The `instrument-extension` world, plus the shared `types` and `host`.
pub mod instrument {
    wasmtime::component::bindgen!({
        path: "../../wit/since_v0.1.1",
        world: "instrument-extension",
        imports: { default: async },
        exports: { default: async },
    });
}

/// The `operator-extension` world.
pub mod operator {
    wasmtime::component::bindgen!({
        path: "../../wit/since_v0.1.1",
        world: "operator-extension",
        imports: { default: async },
        exports: { default: async },
        with: {
            "symphony:extension/types": super::instrument::symphony::extension::types,
            "symphony:extension/host": super::instrument::symphony::extension::host,
        },
    });
}

/// The `addon-extension` world.
pub mod addon {
    wasmtime::component::bindgen!({
        path: "../../wit/since_v0.1.1",
        world: "addon-extension",
        imports: { default: async },
        exports: { default: async },
        with: {
            "symphony:extension/types": super::instrument::symphony::extension::types,
            "symphony:extension/host": super::instrument::symphony::extension::host,
        },
    });
}

pub use instrument::symphony::extension::{host, types};
