//! Instruments: AI model adapters.

use std::marker::PhantomData;

use crate::bindings::instrument::exports::symphony::extension::instrument as exports;
use crate::instance::with_instance;
use crate::{ExtError, Health, HealthStatus, Lifecycle};

/// An AI model adapter: configured once, then invoked with JSON input.
///
/// Inputs and outputs are JSON text; parse them with the JSON library of your
/// choice. Register the type with [`register_instrument!`](crate::register_instrument).
pub trait Instrument: Lifecycle + Default + 'static {
    /// Applies a configuration (a JSON object, `{}` when the node sets none).
    /// The host calls it before `invoke` whenever the configuration changes.
    fn configure(&mut self, config: &str) -> Result<(), ExtError> {
        let _ = config;
        Ok(())
    }

    /// Runs the model on `input` and returns its output.
    fn invoke(&mut self, input: &str) -> Result<String, ExtError>;

    /// Reports whether the model can serve requests. Healthy by default.
    fn health_check(&self) -> Health {
        Health {
            status: HealthStatus::Healthy,
            detail: None,
        }
    }
}

#[doc(hidden)]
pub struct InstrumentExport<T>(PhantomData<T>);

impl<T: Instrument> exports::Guest for InstrumentExport<T> {
    fn configure(config: String) -> Result<(), ExtError> {
        with_instance::<T, _>(|ext| ext.configure(&config))
    }
    fn invoke(input: String) -> Result<String, ExtError> {
        with_instance::<T, _>(|ext| ext.invoke(&input))
    }
    fn health_check() -> Health {
        with_instance::<T, _>(|ext| ext.health_check())
    }
}

/// Exports a type implementing [`Instrument`] as this component's extension.
///
/// `register_instrument!(MyModel)` also writes an empty
/// `impl Lifecycle for MyModel {}`; write
/// `register_instrument!(MyModel, with_lifecycle)` when you implement
/// [`Lifecycle`] yourself.
#[macro_export]
macro_rules! register_instrument {
    ($ty:ty) => {
        impl $crate::Lifecycle for $ty {}
        $crate::register_instrument!($ty, with_lifecycle);
    };
    ($ty:ty, with_lifecycle) => {
        $crate::__register_extension!($ty, InstrumentExport, export_instrument_world, instrument);
    };
}
