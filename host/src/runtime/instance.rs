//! One live instance of an extension: its store and typed exports.

use std::sync::Arc;

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store, StoreContextMut, Trap, UpdateDeadline};

use super::bindings::{addon, instrument, operator};
use super::state::{ExtensionContext, StoreState};
use crate::extension::{ExtensionKind, Limits, NodeConfig};
use crate::{CallError, ExtError};

/// A component linked and type-checked against its world, ready to be
/// instantiated many times.
pub(crate) enum WorldPre {
    Instrument(instrument::InstrumentExtensionPre<StoreState>),
    Operator(operator::OperatorExtensionPre<StoreState>),
    Addon(addon::AddonExtensionPre<StoreState>),
}

impl WorldPre {
    /// Links `component` and checks its exports against `kind`'s world.
    pub(crate) fn new(
        linker: &Linker<StoreState>,
        component: &Component,
        kind: ExtensionKind,
    ) -> wasmtime::Result<Self> {
        let pre: InstancePre<StoreState> = linker.instantiate_pre(component)?;
        Ok(match kind {
            ExtensionKind::Instrument => {
                WorldPre::Instrument(instrument::InstrumentExtensionPre::new(pre)?)
            }
            ExtensionKind::Operator => {
                WorldPre::Operator(operator::OperatorExtensionPre::new(pre)?)
            }
            ExtensionKind::Addon => WorldPre::Addon(addon::AddonExtensionPre::new(pre)?),
        })
    }
}

/// The exported interface of each kind.
pub(crate) type InstrumentApi = instrument::exports::symphony::extension::instrument::Guest;
pub(crate) type OperatorApi = operator::exports::symphony::extension::operator::Guest;
pub(crate) type AddonApi = addon::exports::symphony::extension::addon::Guest;

fn wrong_world(expected: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!("instance does not export the {expected} world"))
}

/// The typed exports of one instance.
pub(crate) enum Exports {
    Instrument(instrument::InstrumentExtension),
    Operator(operator::OperatorExtension),
    Addon(addon::AddonExtension),
}

/// Calls a lifecycle function on whichever world `$exports` is; each world's
/// bindings have their own (identical) lifecycle type.
macro_rules! lifecycle {
    ($exports:expr, $store:expr, $call:ident $(, $arg:expr)*) => {
        match $exports {
            Exports::Instrument(w) => w.symphony_extension_lifecycle().$call($store $(, $arg)*),
            Exports::Operator(w) => w.symphony_extension_lifecycle().$call($store $(, $arg)*),
            Exports::Addon(w) => w.symphony_extension_lifecycle().$call($store $(, $arg)*),
        }
    };
}

/// A live instance with its own store, memory and fuel.
pub(crate) struct Instance {
    pub(crate) store: Store<StoreState>,
    pub(crate) exports: Exports,
    /// The configuration last given to an Instrument's `configure`, so it is
    /// called again only when a node's config differs.
    pub(crate) configured: Option<NodeConfig>,
}

impl Instance {
    /// Creates an instance and runs its `on-load` and `on-activate` hooks.
    pub(crate) fn new(
        engine: &Engine,
        pre: &WorldPre,
        ext: &Arc<ExtensionContext>,
        limits: &Limits,
        deadline_ticks: u64,
    ) -> Result<Instance, CallError> {
        let fail = |message: String| CallError::Instantiate {
            extension: ext.name.to_string(),
            message,
        };
        let state = StoreState::new(ext.clone(), limits.memory, limits.deadline)
            .map_err(|e| fail(format!("{e:#}")))?;
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.memory);
        store.epoch_deadline_callback(at_deadline);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| fail(format!("{e:#}")))?;
        store.set_epoch_deadline(deadline_ticks);
        let exports = match pre {
            WorldPre::Instrument(pre) => pre.instantiate(&mut store).map(Exports::Instrument),
            WorldPre::Operator(pre) => pre.instantiate(&mut store).map(Exports::Operator),
            WorldPre::Addon(pre) => pre.instantiate(&mut store).map(Exports::Addon),
        }
        .map_err(|e| fail(format!("{e:#}")))?;
        let mut instance = Instance {
            store,
            exports,
            configured: None,
        };
        for (hook, result) in [
            (
                "on-load",
                lifecycle!(&instance.exports, &mut instance.store, call_on_load),
            ),
            (
                "on-activate",
                lifecycle!(&instance.exports, &mut instance.store, call_on_activate),
            ),
        ] {
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return Err(fail(format!(
                        "{hook} returned an error: {}",
                        ExtError::from(e)
                    )));
                }
                Err(e) => return Err(instance.classify(e, &ext.name, hook, limits)),
            }
        }
        Ok(instance)
    }

    /// The Instrument interface and the store to call it with, plus the
    /// config it was last given. An error (never reached through a handle
    /// of the right kind) if the instance is of another world.
    pub(crate) fn instrument(
        &mut self,
    ) -> wasmtime::Result<(
        &InstrumentApi,
        &mut Store<StoreState>,
        &mut Option<NodeConfig>,
    )> {
        match &self.exports {
            Exports::Instrument(world) => Ok((
                world.symphony_extension_instrument(),
                &mut self.store,
                &mut self.configured,
            )),
            _ => Err(wrong_world("instrument")),
        }
    }

    /// The Operator interface and the store to call it with.
    pub(crate) fn operator(&mut self) -> wasmtime::Result<(&OperatorApi, &mut Store<StoreState>)> {
        match &self.exports {
            Exports::Operator(world) => Ok((world.symphony_extension_operator(), &mut self.store)),
            _ => Err(wrong_world("operator")),
        }
    }

    /// The Addon interface and the store to call it with.
    pub(crate) fn addon(&mut self) -> wasmtime::Result<(&AddonApi, &mut Store<StoreState>)> {
        match &self.exports {
            Exports::Addon(world) => Ok((world.symphony_extension_addon(), &mut self.store)),
            _ => Err(wrong_world("addon")),
        }
    }

    /// Resets fuel, deadline and per-call state before a call.
    pub(crate) fn begin_call(&mut self, config: &NodeConfig, fuel: u64, deadline_ticks: u64) {
        // Fuel is always enabled on the host's engine, so this cannot fail.
        let _ = self.store.set_fuel(fuel);
        // A call its caller may stop runs to its deadline in short steps,
        // so the stop is seen within one step (see `at_deadline`); the
        // caller sets its end with `interruptible_until`.
        let first = match config.interrupt() {
            Some(_) => deadline_ticks.min(INTERRUPT_STEP_TICKS),
            None => deadline_ticks,
        };
        self.store.set_epoch_deadline(first);
        let data = self.store.data_mut();
        data.deadline_at = None;
        data.memory.exceeded = None;
        // A clone is a reference count: the interrupt flag must be this
        // call's even when the configuration text is the same.
        data.config = config.clone();
    }

    /// The time the interruptible call just begun must end by.
    pub(crate) fn interruptible_until(&mut self, at: std::time::Instant) {
        self.store.data_mut().deadline_at = Some(at);
    }

    /// The fuel the call in progress (or the last one) has used so far,
    /// given the `fuel` it was begun with.
    pub(crate) fn fuel_used(&self, fuel: u64) -> u64 {
        // Fuel is always enabled on the host's engine; an error reads as
        // nothing used rather than failing the call.
        fuel.saturating_sub(self.store.get_fuel().unwrap_or(fuel))
    }

    /// The linear memory the instance holds, in bytes.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.store.data().memory.bytes()
    }

    /// The guest's `snapshot` of its state, for a reload to hand over.
    pub(crate) fn snapshot(&mut self) -> wasmtime::Result<Option<Vec<u8>>> {
        lifecycle!(&self.exports, &mut self.store, call_snapshot)
    }

    /// Gives the guest the state a previous version's `snapshot` returned.
    pub(crate) fn restore(&mut self, state: &[u8]) -> wasmtime::Result<Result<(), ExtError>> {
        Ok(
            lifecycle!(&self.exports, &mut self.store, call_restore, state)?
                .map_err(ExtError::from),
        )
    }

    /// Runs `on-deactivate` and `on-unload` before the instance is dropped.
    pub(crate) fn shut_down(mut self, fuel: u64, deadline_ticks: u64) {
        self.begin_call(&NodeConfig::default(), fuel, deadline_ticks);
        let name = self.store.data().ext.name.clone();
        if let Err(e) = lifecycle!(&self.exports, &mut self.store, call_on_deactivate)
            .and_then(|()| lifecycle!(&self.exports, &mut self.store, call_on_unload))
        {
            tracing::warn!(extension = %name, "shutdown hooks failed: {e:#}");
        }
    }

    /// Turns an error from a call into the reason a user can act on.
    pub(crate) fn classify(
        &self,
        error: wasmtime::Error,
        extension: &str,
        function: &'static str,
        limits: &Limits,
    ) -> CallError {
        let extension = extension.to_string();
        if let Some(requested) = self.store.data().memory.exceeded {
            return CallError::MemoryLimit {
                extension,
                function,
                limit: self.store.data().memory.limit(),
                requested,
            };
        }
        if error.downcast_ref::<Interrupted>().is_some() {
            return CallError::Interrupted {
                extension,
                function,
            };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => CallError::OutOfFuel {
                extension,
                function,
                fuel: limits.fuel,
            },
            Some(Trap::Interrupt) => CallError::Deadline {
                extension,
                function,
                deadline: limits.deadline,
            },
            _ => {
                tracing::debug!(%extension, function, "guest trapped: {error:?}");
                CallError::Trap {
                    extension,
                    function,
                    message: error.root_cause().to_string(),
                }
            }
        }
    }
}

/// Epoch ticks between checks of a call's interrupt flag (with the default
/// 5 ms tick, a stopped call ends within about 10 ms).
const INTERRUPT_STEP_TICKS: u64 = 2;

/// The error a call stopped through its interrupt flag traps with.
#[derive(Debug)]
struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted by its caller")
    }
}

impl std::error::Error for Interrupted {}

/// Called when a store reaches its epoch deadline: stops a call whose
/// interrupt flag is set, lets an interruptible call whose time has not
/// come run another step, and otherwise ends the call as past its
/// deadline.
fn at_deadline(mut store: StoreContextMut<'_, StoreState>) -> wasmtime::Result<UpdateDeadline> {
    let data = store.data_mut();
    if data.config.interrupt().is_some_and(|flag| flag.is_set()) {
        return Err(wasmtime::Error::new(Interrupted));
    }
    match data.deadline_at {
        Some(at) if std::time::Instant::now() < at => {
            Ok(UpdateDeadline::Continue(INTERRUPT_STEP_TICKS))
        }
        _ => Ok(UpdateDeadline::Interrupt),
    }
}
