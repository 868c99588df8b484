//! Write coalescing on the server: a reader thread routing a burst of
//! frames holds back the writes to the peers it delivers to, and writes
//! each peer's share at once when the burst ends.
//!
//! Why (issue 22 measured one publishing client at 0.12–0.16 M msg/s
//! through the server, where a raw socket moves 6–8 M/s at 64 frames per
//! write but only 0.22–0.25 M/s at one): a message for a peer whose queue
//! is empty is written in place, at once, so while a publisher streams,
//! every message cost the server one `send` system call and the subscriber
//! one wake-up and one `read`. A burst is
//! what the reader already holds in its buffer: frames that arrived
//! together are routed together, and their deliveries to one peer leave in
//! one write. A lone message is still written the moment it is routed, and
//! whatever was held is written before the thread may block.

use std::cell::RefCell;
use std::sync::Arc;

use super::peer::Peer;

/// Peers one thread holds writes for at most; past this, deliveries to
/// further peers are written as they come.
const MAX_HELD: usize = 32;

/// Queued messages for one peer that wake its writer thread although the
/// burst goes on, so a long burst streams instead of waiting to the end.
pub(super) const WAKE_AT: usize = 256;

thread_local! {
    /// `None`: this thread writes in place; `Some`: the peers it holds
    /// writes for.
    static HELD: RefCell<Option<Vec<Arc<Peer>>>> = const { RefCell::new(None) };
}

/// Holds this thread's writes (while `burst`) or writes out what it held.
pub(super) fn set(burst: bool) {
    if burst {
        HELD.with_borrow_mut(|held| {
            held.get_or_insert_with(Vec::new);
        });
    } else {
        release();
    }
}

/// Writes out what this thread held and stops holding. Called, too, before
/// this thread may block (a handler run in place, a full queue), so nothing
/// it held waits for as long as it does. (User code reached from a reader
/// thread runs only in a handler, which releases first: its requests and
/// receives find nothing held.)
pub(crate) fn release() {
    let Some(peers) = HELD.with_borrow_mut(Option::take) else {
        return;
    };
    for peer in &peers {
        peer.flush_held();
    }
}

/// Releases on drop: whatever way a reader loop ends, it leaves nothing
/// held.
pub(super) struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        release();
    }
}

/// Whether this thread holds writes for `peer` now (recording it so the
/// release writes its share); `false` when it writes in place.
pub(super) fn hold(peer: &Peer, me: impl FnOnce() -> Option<Arc<Peer>>) -> bool {
    HELD.with_borrow_mut(|held| {
        let Some(held) = held else { return false };
        if held.iter().any(|p| std::ptr::eq(&**p, peer)) {
            return true;
        }
        if held.len() >= MAX_HELD {
            return false;
        }
        match me() {
            Some(me) => {
                held.push(me);
                true
            }
            None => false,
        }
    })
}
