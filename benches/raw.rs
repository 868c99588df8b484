//! The baseline: the same operator component called through wasmtime
//! directly, with the same engine settings and no Symphony in between.

use std::path::Path;

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

#[allow(missing_docs, reason = "generated bindings")]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "operator-extension",
    });
}

use bindings::symphony;
pub use bindings::{OperatorExtension, OperatorExtensionPre};
use symphony::extension::host::Host as HostImports;
use symphony::extension::types::{ExtError, LogLevel};

/// Store data for the raw baseline: WASI plus a fixed config.
pub struct RawState {
    wasi: WasiCtx,
    table: ResourceTable,
    spec: String,
}

impl WasiView for RawState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl symphony::extension::types::Host for RawState {}

impl HostImports for RawState {
    fn log(&mut self, _: LogLevel, _: String) {}
    fn config(&mut self, key: String) -> Option<String> {
        (key == "spec").then(|| self.spec.clone())
    }
    fn publish(&mut self, _: String, _: Vec<u8>) -> Result<(), ExtError> {
        Err(ExtError::Denied("raw".into()))
    }
    fn artifact_put(&mut self, _: Vec<u8>) -> Result<String, ExtError> {
        Err(ExtError::Denied("raw".into()))
    }
    fn artifact_get(&mut self, _: String) -> Result<Vec<u8>, ExtError> {
        Err(ExtError::Denied("raw".into()))
    }
    fn model_call(&mut self, _: String, _: String) -> Result<String, ExtError> {
        Err(ExtError::Denied("raw".into()))
    }
}

/// An engine configured like Symphony's (pooling, fuel, epochs, no
/// component-model-async), so only the host layer differs.
pub fn engine() -> Engine {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(64)
        .total_core_instances(512)
        .total_memories(128)
        .total_tables(256);
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .concurrency_support(false)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).expect("engine")
}

/// A linked operator component ready to instantiate.
pub struct RawOperator {
    /// The engine.
    pub engine: Engine,
    /// The typed pre-instance.
    pub pre: OperatorExtensionPre<RawState>,
    spec: String,
}

impl RawOperator {
    /// Compiles and links the component at `path`; `spec` is what
    /// `config("spec")` answers.
    pub fn new(path: &Path, spec: &str) -> RawOperator {
        let engine = engine();
        let component = Component::from_file(&engine, path).expect("component");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
        OperatorExtension::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).expect("host");
        let pre = OperatorExtensionPre::new(linker.instantiate_pre(&component).expect("pre"))
            .expect("world");
        RawOperator {
            engine,
            pre,
            spec: spec.to_string(),
        }
    }

    /// A new store and instance.
    pub fn instantiate(&self) -> (Store<RawState>, OperatorExtension) {
        let state = RawState {
            wasi: WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
            spec: self.spec.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.set_fuel(u64::MAX).expect("fuel");
        store.set_epoch_deadline(u64::MAX);
        let bindings = self.pre.instantiate(&mut store).expect("instantiate");
        (store, bindings)
    }
}
