//! Operators: workflow data transforms.

use std::marker::PhantomData;

use crate::bindings::operator::exports::symphony::extension::operator as exports;
use crate::instance::with_instance;
use crate::{ExtError, Lifecycle};

/// A data transform: JSON in, JSON out.
///
/// Configuration arrives through [`host::config`](crate::host::config) during
/// each call: it is the workflow node's config. Register the type with
/// [`register_operator!`](crate::register_operator).
pub trait Operator: Lifecycle + Default + 'static {
    /// Checks an input before `process` runs. Accepts everything by default.
    fn validate_input(&mut self, input: &str) -> Result<(), ExtError> {
        let _ = input;
        Ok(())
    }

    /// Transforms `input` into the output.
    fn process(&mut self, input: &str) -> Result<String, ExtError>;

    /// Checks an output produced by `process`. Accepts everything by default.
    fn validate_output(&mut self, output: &str) -> Result<(), ExtError> {
        let _ = output;
        Ok(())
    }
}

#[doc(hidden)]
pub struct OperatorExport<T>(PhantomData<T>);

impl<T: Operator> exports::Guest for OperatorExport<T> {
    fn validate_input(input: String) -> Result<(), ExtError> {
        with_instance::<T, _>(|ext| ext.validate_input(&input))
    }
    fn process(input: String) -> Result<String, ExtError> {
        with_instance::<T, _>(|ext| ext.process(&input))
    }
    fn validate_output(output: String) -> Result<(), ExtError> {
        with_instance::<T, _>(|ext| ext.validate_output(&output))
    }
}

/// Exports a type implementing [`Operator`] as this component's extension.
///
/// `register_operator!(MyTransform)` also writes an empty
/// `impl Lifecycle for MyTransform {}`; write
/// `register_operator!(MyTransform, with_lifecycle)` when you implement
/// [`Lifecycle`] yourself.
#[macro_export]
macro_rules! register_operator {
    ($ty:ty) => {
        impl $crate::Lifecycle for $ty {}
        $crate::register_operator!($ty, with_lifecycle);
    };
    ($ty:ty, with_lifecycle) => {
        $crate::__register_extension!($ty, OperatorExport, export_operator_world, operator);
    };
}
