//! Guest calls bounded end to end, host calls included.
//!
//! Every guest call runs as a future on wasmtime's async support: while
//! the guest computes, its epoch deadline stops it (see
//! [`Instance::finish`](super::Instance::finish)); while it waits in a host
//! call (a WASI sleep, a socket read, an HTTP response, a bus request, a
//! nested `model-call`) the future is pending, and [`stopped`] racing it
//! ends the call by dropping it when its deadline passes or its
//! [`Interrupt`] is set. Wasmtime unwinds a dropped call's fiber, so the
//! instance is left unusable and is discarded like any interrupted one.
//!
//! The futures are polled on the calling thread ([`block_on`]); one shared
//! runtime thread, `symphony-io`, drives the timers and sockets they wait
//! on, so a call costs no thread of its own.

use std::future::Future;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

use crate::CallError;
use symphony_bus::Interrupt;

/// The runtime whose thread drives every host's guest I/O and timers.
/// Process-wide, as wasmtime-wasi's own: a handle to an extension may
/// outlive its host, and a call made with it must still find its timers.
static IO: LazyLock<Result<Runtime, String>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("symphony-io")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the host's I/O thread: {e}"))
});

/// The I/O runtime, or why it could not start.
pub(crate) fn io() -> Result<&'static Runtime, String> {
    IO.as_ref().map_err(Clone::clone)
}

/// Runs `future` to completion on this thread, its timers and sockets
/// driven by the I/O runtime. Works from anywhere: on a plain thread; from
/// inside a call (a host import, or a pool step a call took) it steps out
/// of the runtime for the nested run; inside someone else's single-thread
/// runtime, where blocking would stall it, on a helper thread.
pub(crate) fn block_on<F>(future: F) -> Result<F::Output, String>
where
    F: Future + Send,
    F::Output: Send,
{
    let io = io()?;
    Ok(match Handle::try_current() {
        Err(_) => {
            // Most calls never wait: poll once in the runtime's context
            // (where a wait would register its timers and sockets) and
            // park only for one that does.
            let _context = io.enter();
            let mut future = std::pin::pin!(future);
            let mut first = Context::from_waker(Waker::noop());
            match future.as_mut().poll(&mut first) {
                Poll::Ready(output) => output,
                Poll::Pending => io.block_on(future),
            }
        }
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| io.block_on(future))
        }
        Ok(_) => std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("symphony-call".into())
                .spawn_scoped(scope, || io.block_on(future))
                .map_err(|e| format!("cannot start a thread for the call: {e}"))?
                .join()
                .map_err(|_| "the call's thread panicked".to_string())
        })?,
    })
}

/// [`block_on`] for a call into the extension `extension`: a host that
/// cannot run calls at all (its I/O thread did not start) says so as the
/// call's error.
pub(crate) fn block_on_call<T: Send>(
    extension: &str,
    call: impl Future<Output = Result<T, CallError>> + Send,
) -> Result<T, CallError> {
    block_on(call).unwrap_or_else(|message| {
        Err(CallError::Instantiate {
            extension: extension.to_string(),
            message,
        })
    })
}

/// Why a call was stopped from outside while it waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Its deadline passed.
    Deadline,
    /// Its interrupt flag was set.
    Interrupted,
}

/// Resolves when a call bounded by `until` and `interrupt` must stop.
/// Lazy: nothing is registered until it is first polled, which a call that
/// finishes without waiting never does.
pub(crate) async fn stopped(until: Instant, interrupt: Option<Interrupt>) -> Stop {
    let deadline = tokio::time::sleep_until(until.into());
    match interrupt {
        None => {
            deadline.await;
            Stop::Deadline
        }
        Some(interrupt) => tokio::select! {
            () = deadline => Stop::Deadline,
            () = interrupt.wait() => Stop::Interrupted,
        },
    }
}

#[cfg(test)]
mod tests;
