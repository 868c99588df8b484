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
        let mut store = raw_store(&self.engine, &self.spec);
        let bindings = self.pre.instantiate(&mut store).expect("instantiate");
        (store, bindings)
    }
}

/// A store with nothing granted, unlimited fuel and no deadline, whose
/// `config("spec")` answers `spec`.
fn raw_store(engine: &Engine, spec: &str) -> Store<RawState> {
    let state = RawState {
        wasi: WasiCtxBuilder::new().build(),
        table: ResourceTable::new(),
        spec: spec.to_string(),
    };
    let mut store = Store::new(engine, state);
    store.set_fuel(u64::MAX).expect("fuel");
    store.set_epoch_deadline(u64::MAX);
    store
}

/// The same world with async imports and exports, as Symphony binds it:
/// calls run on a wasmtime fiber. The floor for a host whose calls can be
/// stopped while they wait in a host call.
#[allow(missing_docs, reason = "generated bindings")]
mod async_bindings {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.1",
        world: "operator-extension",
        imports: { default: async },
        exports: { default: async },
    });
}

pub use async_bindings::{
    OperatorExtension as AsyncOperatorExtension, OperatorExtensionPre as AsyncOperatorExtensionPre,
};

impl async_bindings::symphony::extension::types::Host for RawState {}

impl async_bindings::symphony::extension::host::Host for RawState {
    async fn log(&mut self, _: async_bindings::symphony::extension::types::LogLevel, _: String) {}
    async fn config(&mut self, key: String) -> Option<String> {
        (key == "spec").then(|| self.spec.clone())
    }
    async fn publish(
        &mut self,
        _: String,
        _: Vec<u8>,
    ) -> Result<(), async_bindings::symphony::extension::types::ExtError> {
        Err(async_bindings::symphony::extension::types::ExtError::Denied("raw".into()))
    }
    async fn request(
        &mut self,
        _: String,
        _: Vec<u8>,
        _: u32,
    ) -> Result<Vec<u8>, async_bindings::symphony::extension::types::ExtError> {
        Err(async_bindings::symphony::extension::types::ExtError::Denied("raw".into()))
    }
    async fn artifact_put(
        &mut self,
        _: Vec<u8>,
    ) -> Result<String, async_bindings::symphony::extension::types::ExtError> {
        Err(async_bindings::symphony::extension::types::ExtError::Denied("raw".into()))
    }
    async fn artifact_get(
        &mut self,
        _: String,
    ) -> Result<Vec<u8>, async_bindings::symphony::extension::types::ExtError> {
        Err(async_bindings::symphony::extension::types::ExtError::Denied("raw".into()))
    }
    async fn model_call(
        &mut self,
        _: String,
        _: String,
    ) -> Result<String, async_bindings::symphony::extension::types::ExtError> {
        Err(async_bindings::symphony::extension::types::ExtError::Denied("raw".into()))
    }
}

/// A linked operator component with async bindings, ready to instantiate.
pub struct RawAsyncOperator {
    engine: Engine,
    pre: AsyncOperatorExtensionPre<RawState>,
    spec: String,
}

impl RawAsyncOperator {
    /// Compiles and links the component at `path` with async WASI and
    /// host imports; `spec` is what `config("spec")` answers.
    pub fn new(path: &Path, spec: &str) -> RawAsyncOperator {
        let engine = engine();
        let component = Component::from_file(&engine, path).expect("component");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi");
        AsyncOperatorExtension::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s)
            .expect("host");
        let pre = AsyncOperatorExtensionPre::new(linker.instantiate_pre(&component).expect("pre"))
            .expect("world");
        RawAsyncOperator {
            engine,
            pre,
            spec: spec.to_string(),
        }
    }

    /// A new store and instance.
    pub fn instantiate(&self) -> (Store<RawState>, AsyncOperatorExtension) {
        let mut store = raw_store(&self.engine, &self.spec);
        let bindings = ready(self.pre.instantiate_async(&mut store)).expect("instantiate");
        (store, bindings)
    }
}

/// Runs a future that never waits (nothing in these calls blocks) on this
/// thread, as the cheapest executor would.
pub fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::noop();
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
    {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a raw call waited"),
    }
}
