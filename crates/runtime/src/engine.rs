//! The one wasmtime `Engine` of a host: pooling, fuel, epochs.

use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::SetupError;

/// How the engine is sized. Part of `HostBuilder`.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSettings {
    /// Component instances the pooling allocator keeps slots for, across all
    /// extensions. Default: 256.
    pub pool_instances: u32,
    /// The largest memory any instance may have, in bytes; per-extension
    /// memory limits must not exceed it. Default: 4 GiB.
    pub max_memory: usize,
    /// How often the epoch advances; deadlines are rounded up to whole ticks.
    /// Default: 5 ms.
    pub epoch_tick: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            pool_instances: 256,
            max_memory: 4 << 30,
            epoch_tick: Duration::from_millis(5),
        }
    }
}

/// Builds the engine and starts its epoch ticker.
pub(crate) fn new_engine(settings: &EngineSettings) -> Result<Engine, SetupError> {
    let n = settings.pool_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    // A Rust wasm32-wasip2 component holds a few core instances (its module
    // plus wit-component's shims) and tables, but one memory.
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(8))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(4))
        .max_memory_size(settings.max_memory);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        // Synchronous calls only: skipping the component-model-async
        // bookkeeping makes every export call about 3x cheaper.
        .concurrency_support(false)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));

    let engine = Engine::new(&config).map_err(|e| SetupError(format!("{e:#}")))?;
    start_epoch_ticker(&engine, settings.epoch_tick)?;
    Ok(engine)
}

/// Advances the engine's epoch every `tick` until the engine is dropped.
fn start_epoch_ticker(engine: &Engine, tick: Duration) -> Result<(), SetupError> {
    let weak = engine.weak();
    thread::Builder::new()
        .name("symphony-epoch".into())
        .spawn(move || {
            loop {
                thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| SetupError(format!("cannot start the epoch thread: {e}")))
}
