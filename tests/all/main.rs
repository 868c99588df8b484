//! Integration tests: the host against real components built from
//! `examples/` and `tests/fixtures/` (run `cargo xtask build-examples`).

mod arbitration;
mod artifacts;
mod cache;
mod calls;
mod control;
mod dag;
mod demo;
mod grants;
mod host_calls;
mod hostile;
mod languages;
mod lifecycle;
mod loading;
mod metrics;
mod permissions;
mod pool;
mod schemas;
mod templates;
mod workflows;
