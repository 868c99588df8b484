//! Fuzz targets for Symphony: the protocol's frame decoder and the host's
//! manifest parser, workflow loader, template instantiator and artifact
//! store.
//!
//! Each target is a module with a `fuzz(data)` function, the body of its
//! cargo-fuzz target (`fuzz_targets/<name>.rs`, nightly only), and a
//! [`Target`] the stable smoke fuzzer ([`engine::smoke`]) drives: seeds,
//! a run that checks properties and reports coarse features, and mutation
//! hints. [`TARGETS`] lists them all; `cargo run -p symphony-fuzz --bin
//! smoke` runs each for a few seconds.
//!
//! | target | module | what it checks |
//! |---|---|---|
//! | `frame_decoder` | [`frame`] | split reads agree, envelopes re-encode, registry agrees with the typed messages |
//! | `manifest` | [`manifest`] | capabilities round-trip, limits, config defaults; problems point inside the text |
//! | `workflow` | [`workflow`] | JSON and msgpack round trips, format sniffing, validation and its order |
//! | `template` | [`template`] | required parameters, defaults, substitution against a reference, round trips |
//! | `artifacts` | [`artifacts`] | operation sequences on a store against an in-memory model |
//! | `arbitration` | [`arbitration`] | `arbitration.toml`: refusals point inside the text, accepted settings round-trip and configure an arbiter that never over-grants |

pub mod arbitration;
pub mod artifacts;
pub mod engine;
pub mod frame;
pub mod manifest;
pub mod template;
pub mod workflow;

pub use engine::{Outcome, Rng, SmokeReport, Target, smoke};

/// Every target, in the order the smoke binary runs them.
pub static TARGETS: &[&dyn Target] = &[
    &frame::FrameTarget,
    &manifest::ManifestTarget,
    &workflow::WorkflowTarget,
    &template::TemplateTarget,
    &artifacts::ArtifactsTarget,
    &arbitration::ArbitrationTarget,
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static dyn Target> {
    TARGETS.iter().copied().find(|t| t.name() == name)
}

#[cfg(test)]
mod tests;
