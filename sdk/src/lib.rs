//! Write Symphony extensions in Rust.
//!
//! An extension is a struct, an `impl` of its kind's trait, and one macro
//! line. This Operator uppercases every string in its input:
//!
//! ```
//! use symphony_sdk::{ExtError, Operator, register_operator};
//!
//! #[derive(Default)]
//! struct Shout;
//!
//! impl Operator for Shout {
//!     fn process(&mut self, input: &str) -> Result<String, ExtError> {
//!         if input.trim().is_empty() {
//!             return Err(ExtError::InvalidInput("expected JSON, got nothing".into()));
//!         }
//!         Ok(input.to_uppercase())
//!     }
//! }
//!
//! register_operator!(Shout);
//! # fn main() { assert_eq!(Shout.process("\"hi\"").unwrap(), "\"HI\""); }
//! ```
//!
//! Build it as a `cdylib` for `wasm32-wasip2`:
//!
//! ```text
//! cargo build --release --target wasm32-wasip2     # or: cargo component build --release
//! symphony ext inspect target/wasm32-wasip2/release/shout.wasm
//! ```
//!
//! # Core concepts
//!
//! - **Kinds.** [`Instrument`] adapts an AI model (`configure`, `invoke`,
//!   `health_check`), [`Operator`] transforms workflow data (`validate_input`,
//!   `process`, `validate_output`), [`Addon`] renders UI as a flat tree of
//!   [`VNode`]s and handles events. Each has a `register_*!` macro.
//! - **Lifecycle.** Every kind also implements [`Lifecycle`], whose hooks all
//!   default to doing nothing; the macros write the empty impl unless you ask
//!   for `, with_lifecycle`.
//! - **JSON text.** Data between workflow nodes is JSON text (`&str` in,
//!   `String` out); parse it with any JSON crate.
//! - **Host calls.** [`host`] holds what the host offers: logging, the node's
//!   config, and calls that need a capability (publishing on the bus,
//!   artifacts, calling an Instrument). A call without the capability returns
//!   [`ExtError::Denied`]; it never traps.
//! - **One instance, one value.** The extension value is created with
//!   `Default` the first time the host calls the instance and lives as long as
//!   the instance.
//!
//! # Crate features
//!
//! None. The SDK depends on `wit-bindgen` only, with default features off.

#![deny(missing_docs)]

// The generated bindings name this crate by its absolute path.
extern crate self as symphony_sdk;

mod addon;
#[allow(
    missing_docs,
    reason = "generated bindings, reached only through documented re-exports"
)]
mod bindings;
mod instance;
mod instrument;
mod lifecycle;
mod operator;

pub use addon::{Addon, VTree};
pub use instrument::Instrument;
pub use lifecycle::Lifecycle;
pub use operator::Operator;

pub use bindings::imports::symphony::extension::types::{
    ExtError, Health, HealthStatus, LogLevel, UiEvent, Vnode as VNode,
};

/// Calls into the host. Each checks the extension's grants when it runs.
///
/// ```no_run
/// use symphony_sdk::{host, LogLevel};
///
/// let length = host::config("length").unwrap_or_else(|| "3".to_string());
/// host::log(LogLevel::Info, &format!("summary length {length}"));
/// match host::model_call("mock-llm", r#"{"text": "Hello there."}"#) {
///     Ok(json) => host::log(LogLevel::Debug, &json),
///     Err(err) => host::log(LogLevel::Warn, &format!("{err:?}")),
/// }
/// ```
pub mod host {
    pub use crate::bindings::imports::symphony::extension::host::{
        artifact_get, artifact_put, config, log, model_call, publish, request,
    };
}

/// Exports `$ty` as this component's extension: the lifecycle interface and
/// the kind's interface, each through the export macro wit-bindgen generated.
/// Component exports exist only in the wasm build; natively (unit tests of
/// an extension crate) the type stays an ordinary Rust type.
#[doc(hidden)]
#[macro_export]
macro_rules! __register_extension {
    ($ty:ty, $adapter:ident, $world_macro:ident, $module:ident) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type SymphonyLifecycleExport = $crate::__internal::LifecycleExport<$ty>;
            $crate::__internal::lifecycle::export_lifecycle_world!(
                SymphonyLifecycleExport with_types_in $crate::__internal::lifecycle
            );
            type SymphonyKindExport = $crate::__internal::$adapter<$ty>;
            $crate::__internal::$module::$world_macro!(
                SymphonyKindExport with_types_in $crate::__internal::$module
            );
        };
    };
}

/// Support for the `register_*!` macros; not part of the public API.
#[doc(hidden)]
pub mod __internal {
    pub use crate::addon::AddonExport;
    pub use crate::bindings::{addon, instrument, lifecycle, operator};
    pub use crate::instrument::InstrumentExport;
    pub use crate::lifecycle::LifecycleExport;
    pub use crate::operator::OperatorExport;
    pub use wit_bindgen::rt;
}
