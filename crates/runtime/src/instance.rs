//! One live instance of an extension: its store and typed exports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store, StoreContextMut, Trap, UpdateDeadline};

use super::bindings::{addon, instrument, operator};
use super::bounds::{Stop, stopped};
use super::store_data::{ExtensionContext, StoreState};
use symphony_manifest::{ExtensionKind, Limits};

use crate::NodeConfig;
use crate::{CallError, ExtError};

/// A component linked and type-checked against its world, ready to be
/// instantiated many times ([`Runtime::prepare`](crate::Runtime::prepare)).
pub struct WorldPre(Linked);

/// The linked component, by world.
enum Linked {
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
        Ok(WorldPre(match kind {
            ExtensionKind::Instrument => {
                Linked::Instrument(instrument::InstrumentExtensionPre::new(pre)?)
            }
            ExtensionKind::Operator => Linked::Operator(operator::OperatorExtensionPre::new(pre)?),
            ExtensionKind::Addon => Linked::Addon(addon::AddonExtensionPre::new(pre)?),
        }))
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
            Exports::Instrument(w) => w.symphony_extension_lifecycle().$call($store $(, $arg)*).await,
            Exports::Operator(w) => w.symphony_extension_lifecycle().$call($store $(, $arg)*).await,
            Exports::Addon(w) => w.symphony_extension_lifecycle().$call($store $(, $arg)*).await,
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
    /// A buffer kept for the text argument of a call (see
    /// [`Instance::text_arg`]).
    text: String,
}

/// The largest text argument buffer an idle instance keeps.
const KEPT_TEXT: usize = 64 << 10;

impl Instance {
    /// Creates an instance and runs its `on-load` and `on-activate` hooks,
    /// all within `limits.deadline`.
    pub(crate) async fn new(
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
        let until = store.data().deadline_at;
        let instantiate = async {
            match &pre.0 {
                Linked::Instrument(pre) => pre
                    .instantiate_async(&mut store)
                    .await
                    .map(Exports::Instrument),
                Linked::Operator(pre) => pre
                    .instantiate_async(&mut store)
                    .await
                    .map(Exports::Operator),
                Linked::Addon(pre) => pre.instantiate_async(&mut store).await.map(Exports::Addon),
            }
        };
        // Start functions run guest code too: bounded like any call.
        let exports = tokio::select! {
            biased;
            exports = instantiate => exports.map_err(|e| fail(format!("{e:#}")))?,
            // Without an interrupt only the deadline stops it.
            _ = stopped(until, None) => return Err(fail(format!(
                "it did not start within its {:?} deadline",
                limits.deadline,
            ))),
        };
        let mut instance = Instance {
            store,
            exports,
            configured: None,
            text: String::new(),
        };
        for hook in ["on-load", "on-activate"] {
            let answer = instance
                .finish(hook, limits, async |instance: &mut Instance| {
                    let store = &mut instance.store;
                    match hook {
                        "on-load" => lifecycle!(&instance.exports, store, call_on_load),
                        _ => lifecycle!(&instance.exports, store, call_on_activate),
                    }
                })
                .await;
            match answer {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return Err(fail(format!(
                        "{hook} returned an error: {}",
                        ExtError::from(e)
                    )));
                }
                Err(error) => return Err(error),
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

    /// `text` as the `String` wasmtime's bindings take (a WIT `string`
    /// argument is a `&String`), copied into the buffer this instance
    /// keeps: a copy into a kept buffer allocates nothing, where `to_owned`
    /// allocated on every call. Give it back with [`Instance::keep_text`].
    pub(crate) fn text_arg(&mut self, text: &str) -> String {
        let mut buffer = std::mem::take(&mut self.text);
        buffer.clear();
        buffer.push_str(text);
        buffer
    }

    /// Keeps `buffer` (from [`Instance::text_arg`]) for the next call,
    /// unless it grew large: an idle instance should not hold a large
    /// input's memory.
    pub(crate) fn keep_text(&mut self, buffer: String) {
        if buffer.capacity() <= KEPT_TEXT {
            self.text = buffer;
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

    /// Resets fuel, deadline and per-call state before a call that must
    /// end by `until` (`deadline_ticks` epoch ticks from now).
    pub(crate) fn begin_call(
        &mut self,
        config: &NodeConfig,
        fuel: u64,
        until: Instant,
        deadline_ticks: u64,
    ) {
        // Fuel is always enabled on the host's engine, so this cannot fail.
        let _ = self.store.set_fuel(fuel);
        // A call its caller may stop runs to its deadline in short steps,
        // so the stop is seen within one step (see `at_deadline`).
        let first = match config.interrupt() {
            Some(_) => deadline_ticks.min(INTERRUPT_STEP_TICKS),
            None => deadline_ticks,
        };
        self.store.set_epoch_deadline(first);
        let data = self.store.data_mut();
        data.deadline_at = until;
        data.memory.exceeded = None;
        data.waits.current = None;
        // The interrupt flag must be this call's even when the text is the
        // same; a call that repeats the last one's configuration exactly
        // skips the two reference counts of a clone.
        if !data.config.is_identical(config) {
            data.config = config.clone();
        }
    }

    /// Runs `call` (begun with [`Instance::begin_call`]) to its end: its
    /// answer, or the reason it stopped. Guest code is stopped by the epoch
    /// deadline; a wait in a host call, by dropping the call when the
    /// deadline passes or the interrupt is set. A call that stopped leaves
    /// the instance unusable: discard it.
    pub(crate) async fn finish<R>(
        &mut self,
        function: &'static str,
        limits: &Limits,
        call: impl AsyncFnOnce(&mut Instance) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let until = self.store.data().deadline_at;
        let interrupt = self.store.data().config.interrupt().cloned();
        let outcome = tokio::select! {
            biased;
            answer = call(self) => Ok(answer),
            why = stopped(until, interrupt) => Err(why),
        };
        match outcome {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(self.classify(error, function, limits)),
            Err(why) => Err(self.stopped_waiting(why, function, limits.deadline)),
        }
    }

    /// The error of a call dropped while it waited in a host call.
    fn stopped_waiting(
        &mut self,
        why: Stop,
        function: &'static str,
        deadline: Duration,
    ) -> CallError {
        let data = self.store.data_mut();
        let extension = data.ext.name.to_string();
        let waiting = data.waits.current.take().map(|wait| wait.to_string());
        match why {
            Stop::Deadline => CallError::Deadline {
                extension,
                function,
                deadline,
                waiting,
            },
            Stop::Interrupted => CallError::Interrupted {
                extension,
                function,
                waiting,
            },
        }
    }

    /// The fuel the call in progress (or the last one) has used so far,
    /// given the `fuel` it was begun with.
    pub(crate) fn fuel_used(&self, fuel: u64) -> u64 {
        // Fuel is always enabled on the host's engine; an error reads as
        // nothing used rather than failing the call.
        fuel.saturating_sub(self.store.get_fuel().unwrap_or(fuel))
    }

    /// The memory limit and what the call in progress (or the last one)
    /// asked for past it, if it did.
    pub(crate) fn memory_refused(&self) -> Option<(usize, usize)> {
        let memory = &self.store.data().memory;
        memory.exceeded.map(|requested| (memory.limit(), requested))
    }

    /// The linear memory the instance holds, in bytes.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.store.data().memory.bytes()
    }

    /// The guest's `snapshot` of its state, for a reload to hand over.
    pub(crate) async fn snapshot(&mut self, limits: &Limits) -> Result<Option<Vec<u8>>, CallError> {
        self.finish("snapshot", limits, async |instance: &mut Instance| {
            lifecycle!(&instance.exports, &mut instance.store, call_snapshot)
        })
        .await
    }

    /// Gives the guest the state a previous version's `snapshot` returned.
    pub(crate) async fn restore(
        &mut self,
        state: &[u8],
        limits: &Limits,
    ) -> Result<Result<(), ExtError>, CallError> {
        let restored = self
            .finish("restore", limits, async |instance: &mut Instance| {
                lifecycle!(&instance.exports, &mut instance.store, call_restore, state)
            })
            .await?;
        Ok(restored.map_err(ExtError::from))
    }

    /// Runs `on-deactivate` and `on-unload`, within one deadline, before
    /// the instance is dropped.
    pub(crate) async fn shut_down(mut self, limits: &Limits, deadline_ticks: u64) {
        let until = symphony_protocol::clock::deadline(limits.deadline);
        self.begin_call(&NodeConfig::default(), limits.fuel, until, deadline_ticks);
        let name = self.store.data().ext.name.clone();
        let ran = self
            .finish("on-deactivate", limits, async |instance: &mut Instance| {
                lifecycle!(&instance.exports, &mut instance.store, call_on_deactivate)?;
                lifecycle!(&instance.exports, &mut instance.store, call_on_unload)
            })
            .await;
        if let Err(e) = ran {
            tracing::warn!(extension = %name, "shutdown hooks failed: {e}");
        }
    }

    /// Turns an error from a call into the reason a user can act on.
    pub(crate) fn classify(
        &self,
        error: wasmtime::Error,
        function: &'static str,
        limits: &Limits,
    ) -> CallError {
        let data = self.store.data();
        let extension = data.ext.name.to_string();
        if let Some(requested) = data.memory.exceeded {
            return CallError::MemoryLimit {
                extension,
                function,
                limit: data.memory.limit(),
                requested,
            };
        }
        if error.downcast_ref::<Interrupted>().is_some() {
            return CallError::Interrupted {
                extension,
                function,
                waiting: None,
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
                waiting: None,
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
/// interrupt flag is set, lets a call whose time has not come run another
/// step, and otherwise ends the call as past its deadline.
fn at_deadline(mut store: StoreContextMut<'_, StoreState>) -> wasmtime::Result<UpdateDeadline> {
    let data = store.data_mut();
    if data.config.interrupt().is_some_and(|flag| flag.is_set()) {
        return Err(wasmtime::Error::new(Interrupted));
    }
    if Instant::now() < data.deadline_at {
        Ok(UpdateDeadline::Continue(INTERRUPT_STEP_TICKS))
    } else {
        Ok(UpdateDeadline::Interrupt)
    }
}
