//! Where a guest waits: the WASI functions that can block, wrapped so a
//! call stopped while waiting says in which host call, and on what.
//!
//! In WASI 0.2 a guest blocks in `wasi:io/poll` (`poll`,
//! `pollable.block`) or in a `blocking-*` stream method; what it waits on
//! is a pollable, made by one of the `subscribe` functions. The wrappers
//! below shadow wasmtime-wasi's own definitions of these functions, call
//! its implementations unchanged, and record the wait in the store
//! ([`Waits`]): every pollable is labelled with the function that made it,
//! and the host call the guest is in is noted while it is pending.

use std::collections::HashMap;
use std::fmt;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::bindings::io::{poll, streams};
use wasmtime_wasi::p2::bindings::sockets::{ip_name_lookup, udp};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, TcpSocket, UdpSocket};
use wasmtime_wasi_http::p2::body::HostFutureTrailers;
use wasmtime_wasi_http::p2::types::HostFutureIncomingResponse;

use super::store_data::StoreState;

use super::WASI;

/// A host call a guest is waiting in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostWait {
    /// The host function, e.g. `wasi:io/poll.[method]pollable.block`.
    pub(crate) call: &'static str,
    /// What it waits on, when known: the function that made the pollable,
    /// e.g. `wasi:clocks/monotonic-clock.subscribe-duration`.
    pub(crate) on: Option<&'static str>,
}

impl HostWait {
    /// A wait in `call` on nothing more specific.
    pub(crate) fn on_call(call: &'static str) -> Self {
        HostWait { call, on: None }
    }
}

impl fmt::Display for HostWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.on {
            Some(on) => write!(f, "{on} (through {})", self.call),
            None => f.write_str(self.call),
        }
    }
}

/// What one instance's store knows about its waits.
#[derive(Default)]
pub(crate) struct Waits {
    /// The host call the guest is in now, while it may block; left set
    /// when the call is dropped mid-wait, which is when it is read.
    pub(crate) current: Option<HostWait>,
    /// The function that made each live pollable, by its handle. Every
    /// pollable is made by a wrapped `subscribe`, so a reused handle is
    /// relabelled when it is made again.
    labels: HashMap<u32, &'static str>,
}

impl Waits {
    fn label(&mut self, pollable: &Resource<DynPollable>, made_by: &'static str) {
        self.labels.insert(pollable.rep(), made_by);
    }

    fn wait(&mut self, call: &'static str, pollable: Option<&Resource<DynPollable>>) {
        let on = pollable.and_then(|p| self.labels.get(&p.rep()).copied());
        self.current = Some(HostWait { call, on });
    }
}

/// Defines the `wasi:io/streams` method `$name` as `$method` (one of
/// wasmtime-wasi's blocking stream methods), noting the wait while it runs.
macro_rules! blocking {
    ($instance:expr, $name:literal, ($($arg:ident),+): $params:ty, $method:path) => {
        $instance.func_wrap_async(
            $name,
            |mut store: wasmtime::StoreContextMut<'_, StoreState>, ($($arg,)+): $params| {
                Box::new(async move {
                    let state = store.data_mut();
                    state.waits.current =
                        Some(HostWait::on_call(concat!("wasi:io/streams.", $name)));
                    let table = &mut state.table;
                    let done = $method(table, $($arg),+).await;
                    let done = stream_result(table, done)?;
                    state.waits.current = None;
                    Ok((done,))
                })
            },
        )?;
    };
}

/// Defines `$name` in `$instance` as `subscribe` on the resource type
/// `$ty`, labelling the pollable `$label`.
macro_rules! subscribe {
    ($instance:expr, $ty:ty, $name:literal, $label:literal) => {
        $instance.func_wrap(
            $name,
            |mut store: wasmtime::StoreContextMut<'_, StoreState>, (this,): (Resource<$ty>,)| {
                let state = store.data_mut();
                let pollable = wasmtime_wasi::p2::subscribe(&mut state.table, this)?;
                state.waits.label(&pollable, $label);
                Ok((pollable,))
            },
        )?;
    };
}

/// Shadows wasmtime-wasi's blocking and subscribing functions with the
/// recording wrappers. Call after WASI and `wasi:http` are in `linker`,
/// with shadowing allowed.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    let mut poll = linker.instance(&format!("wasi:io/poll@{WASI}"))?;
    poll.func_wrap_async(
        "poll",
        |mut store, (pollables,): (Vec<Resource<DynPollable>>,)| {
            Box::new(async move {
                let state = store.data_mut();
                state.waits.wait("wasi:io/poll.poll", pollables.first());
                let ready = poll::Host::poll(&mut state.table, pollables).await?;
                state.waits.current = None;
                Ok((ready,))
            })
        },
    )?;
    poll.func_wrap_async(
        "[method]pollable.block",
        |mut store, (pollable,): (Resource<DynPollable>,)| {
            Box::new(async move {
                let state = store.data_mut();
                state
                    .waits
                    .wait("wasi:io/poll.[method]pollable.block", Some(&pollable));
                poll::HostPollable::block(&mut state.table, pollable).await?;
                state.waits.current = None;
                Ok(())
            })
        },
    )?;

    let mut io = linker.instance(&format!("wasi:io/streams@{WASI}"))?;
    subscribe!(
        io,
        DynInputStream,
        "[method]input-stream.subscribe",
        "wasi:io/streams.[method]input-stream.subscribe"
    );
    subscribe!(
        io,
        DynOutputStream,
        "[method]output-stream.subscribe",
        "wasi:io/streams.[method]output-stream.subscribe"
    );
    blocking!(
        io,
        "[method]input-stream.blocking-read",
        (stream, len): (Resource<DynInputStream>, u64),
        streams::HostInputStream::blocking_read
    );
    blocking!(
        io,
        "[method]input-stream.blocking-skip",
        (stream, len): (Resource<DynInputStream>, u64),
        streams::HostInputStream::blocking_skip
    );
    blocking!(
        io,
        "[method]output-stream.blocking-write-and-flush",
        (stream, bytes): (Resource<DynOutputStream>, Vec<u8>),
        streams::HostOutputStream::blocking_write_and_flush
    );
    blocking!(
        io,
        "[method]output-stream.blocking-write-zeroes-and-flush",
        (stream, len): (Resource<DynOutputStream>, u64),
        streams::HostOutputStream::blocking_write_zeroes_and_flush
    );
    blocking!(
        io,
        "[method]output-stream.blocking-flush",
        (stream): (Resource<DynOutputStream>,),
        streams::HostOutputStream::blocking_flush
    );
    blocking!(
        io,
        "[method]output-stream.blocking-splice",
        (dest, src, len): (Resource<DynOutputStream>, Resource<DynInputStream>, u64),
        streams::HostOutputStream::blocking_splice
    );

    let mut clock = linker.instance(&format!("wasi:clocks/monotonic-clock@{WASI}"))?;
    clock.func_wrap("subscribe-duration", |mut store, (duration,): (u64,)| {
        let state = store.data_mut();
        let pollable = monotonic_clock::Host::subscribe_duration(&mut state.clocks(), duration)?;
        state
            .waits
            .label(&pollable, "wasi:clocks/monotonic-clock.subscribe-duration");
        Ok((pollable,))
    })?;
    clock.func_wrap("subscribe-instant", |mut store, (when,): (u64,)| {
        let state = store.data_mut();
        let pollable = monotonic_clock::Host::subscribe_instant(&mut state.clocks(), when)?;
        state
            .waits
            .label(&pollable, "wasi:clocks/monotonic-clock.subscribe-instant");
        Ok((pollable,))
    })?;

    let mut tcp = linker.instance(&format!("wasi:sockets/tcp@{WASI}"))?;
    subscribe!(
        tcp,
        TcpSocket,
        "[method]tcp-socket.subscribe",
        "wasi:sockets/tcp.[method]tcp-socket.subscribe"
    );
    let mut udp_instance = linker.instance(&format!("wasi:sockets/udp@{WASI}"))?;
    subscribe!(
        udp_instance,
        UdpSocket,
        "[method]udp-socket.subscribe",
        "wasi:sockets/udp.[method]udp-socket.subscribe"
    );
    subscribe!(
        udp_instance,
        udp::IncomingDatagramStream,
        "[method]incoming-datagram-stream.subscribe",
        "wasi:sockets/udp.[method]incoming-datagram-stream.subscribe"
    );
    subscribe!(
        udp_instance,
        udp::OutgoingDatagramStream,
        "[method]outgoing-datagram-stream.subscribe",
        "wasi:sockets/udp.[method]outgoing-datagram-stream.subscribe"
    );
    let mut lookup = linker.instance(&format!("wasi:sockets/ip-name-lookup@{WASI}"))?;
    subscribe!(
        lookup,
        ip_name_lookup::ResolveAddressStream,
        "[method]resolve-address-stream.subscribe",
        "wasi:sockets/ip-name-lookup.[method]resolve-address-stream.subscribe"
    );
    let mut http = linker.instance(&format!("wasi:http/types@{WASI}"))?;
    subscribe!(
        http,
        HostFutureIncomingResponse,
        "[method]future-incoming-response.subscribe",
        "wasi:http/outgoing-handler.handle"
    );
    subscribe!(
        http,
        HostFutureTrailers,
        "[method]future-trailers.subscribe",
        "wasi:http/types.[method]future-trailers.subscribe"
    );
    Ok(())
}

/// A stream method's result as the guest receives it: a stream error
/// becomes the WIT `stream-error` (or traps, if it is a trap).
fn stream_result<T>(
    table: &mut wasmtime::component::ResourceTable,
    result: Result<T, wasmtime_wasi::p2::StreamError>,
) -> wasmtime::Result<Result<T, streams::StreamError>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => Ok(Err(streams::Host::convert_stream_error(table, e)?)),
    }
}
