//! Host-side bindings for the three extension worlds of `symphony:extension@0.1.0`.
//!
//! The instrument world generates the shared `types` and `host` interfaces;
//! the other worlds reuse them so one `Host` implementation serves all three.

/// The `instrument-extension` world, plus the shared `types` and `host`.
pub mod instrument {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "instrument-extension",
    });
}

/// The `operator-extension` world.
pub mod operator {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "operator-extension",
        with: {
            "symphony:extension/types": super::instrument::symphony::extension::types,
            "symphony:extension/host": super::instrument::symphony::extension::host,
        },
    });
}

/// The `addon-extension` world.
pub mod addon {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "addon-extension",
        with: {
            "symphony:extension/types": super::instrument::symphony::extension::types,
            "symphony:extension/host": super::instrument::symphony::extension::host,
        },
    });
}

pub use instrument::symphony::extension::{host, types};
