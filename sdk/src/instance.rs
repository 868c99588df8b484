//! The one extension value a component holds.
//!
//! A component instance is single-threaded and exports exactly one extension,
//! so the SDK keeps that value in a thread-local slot, created with `Default`
//! on first use. Export glue borrows it for the length of one call; the
//! component model forbids re-entering an instance, so the borrow never
//! overlaps another.

use std::any::Any;
use std::cell::RefCell;

thread_local! {
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Runs `f` with the extension value of type `T`, creating it if needed.
pub fn with_instance<T: Default + 'static, R>(f: impl FnOnce(&mut T) -> R) -> R {
    INSTANCE.with(|slot| {
        let mut slot = slot.borrow_mut();
        let value = slot.get_or_insert_with(|| Box::new(T::default()));
        // A component registers one extension type, so the downcast holds
        // unless two `register_*!` lines name different types; that build
        // would export clashing symbols and never link.
        let value = value
            .downcast_mut::<T>()
            .expect("one extension type per component");
        f(value)
    })
}
