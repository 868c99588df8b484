//! A flag that stops work while it runs: calls into extensions, and the
//! runs that make them. Here, below both the runtime and the DAG Tracker,
//! because the tracker sets it and the runtime obeys it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A flag that stops the calls made with it while they run: set it and
/// each such call ends with `CallError::Interrupted` — within a few epoch
/// ticks while it runs guest code, at once while it waits in a host call or
/// for a free instance. Cheap to clone; every clone is the same flag.
///
/// ```
/// use symphony_bus::Interrupt;
///
/// let stop = Interrupt::new();
/// let seen_by_a_call = stop.clone();
/// // ... calls made with `seen_by_a_call` on other threads ...
/// stop.set();
/// assert!(seen_by_a_call.is_set());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<InterruptState>);

#[derive(Debug, Default)]
struct InterruptState {
    set: AtomicBool,
    /// Wakes calls waiting in a host call, which no epoch check reaches.
    woken: Notify,
}

impl Interrupt {
    /// A flag not yet set.
    pub fn new() -> Self {
        Interrupt::default()
    }

    /// Stops every call made with this flag.
    pub fn set(&self) {
        self.0.set.store(true, Ordering::Release);
        self.0.woken.notify_waiters();
    }

    /// Whether it was set.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.0.set.load(Ordering::Acquire)
    }

    /// Resolves once the flag is set.
    pub async fn wait(&self) {
        loop {
            // Registered before the flag is read, so a `set` between the
            // two still wakes this waiter.
            let woken = self.0.woken.notified();
            let mut woken = std::pin::pin!(woken);
            woken.as_mut().enable();
            if self.is_set() {
                return;
            }
            woken.await;
        }
    }
}
