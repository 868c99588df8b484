//! Lifecycle hooks shared by every kind of extension.

use std::marker::PhantomData;

use crate::ExtError;
use crate::bindings::lifecycle::exports::symphony::extension::lifecycle as exports;
use crate::instance::with_instance;

/// Hooks the host calls as an extension instance is created, activated,
/// deactivated and dropped, and when a new version takes over its state.
///
/// Every method has a default that does nothing, so most extensions never
/// implement this trait by hand: `register_instrument!(T)` and its siblings
/// write the empty `impl Lifecycle for T {}`. Write the impl yourself and use
/// the `, with_lifecycle` form of the macro when you need a hook.
///
/// ```
/// use symphony_sdk::{ExtError, Lifecycle};
///
/// #[derive(Default)]
/// struct Counter { calls: u64 }
///
/// impl Lifecycle for Counter {
///     fn snapshot(&self) -> Option<Vec<u8>> {
///         Some(self.calls.to_le_bytes().to_vec())
///     }
///     fn restore(&mut self, state: Vec<u8>) -> Result<(), ExtError> {
///         let bytes: [u8; 8] = state
///             .try_into()
///             .map_err(|_| ExtError::InvalidInput("snapshot must be 8 bytes".into()))?;
///         self.calls = u64::from_le_bytes(bytes);
///         Ok(())
///     }
/// }
/// ```
pub trait Lifecycle {
    /// Called once after the instance is created.
    fn on_load(&mut self) -> Result<(), ExtError> {
        Ok(())
    }
    /// Called when the instance is about to serve calls.
    fn on_activate(&mut self) -> Result<(), ExtError> {
        Ok(())
    }
    /// Called when the instance stops serving calls.
    fn on_deactivate(&mut self) {}
    /// Called before the instance is dropped.
    fn on_unload(&mut self) {}
    /// State to hand to the next version of this extension on hot reload.
    fn snapshot(&self) -> Option<Vec<u8>> {
        None
    }
    /// Receives what the previous version returned from [`Lifecycle::snapshot`].
    fn restore(&mut self, state: Vec<u8>) -> Result<(), ExtError> {
        let _ = state;
        Ok(())
    }
}

#[doc(hidden)]
pub struct LifecycleExport<T>(PhantomData<T>);

impl<T: Lifecycle + Default + 'static> exports::Guest for LifecycleExport<T> {
    fn on_load() -> Result<(), ExtError> {
        with_instance::<T, _>(|ext| ext.on_load())
    }
    fn on_activate() -> Result<(), ExtError> {
        with_instance::<T, _>(|ext| ext.on_activate())
    }
    fn on_deactivate() {
        with_instance::<T, _>(|ext| ext.on_deactivate())
    }
    fn on_unload() {
        with_instance::<T, _>(|ext| ext.on_unload())
    }
    fn snapshot() -> Option<Vec<u8>> {
        with_instance::<T, _>(|ext| ext.snapshot())
    }
    fn restore(state: Vec<u8>) -> Result<(), ExtError> {
        with_instance::<T, _>(|ext| ext.restore(state))
    }
}
