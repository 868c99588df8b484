//! The Pool Manager's hit path allocates nothing: a counting global
//! allocator (in its own test binary, so it affects no other test) watches
//! `HotSet::touch`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::num::NonZeroUsize;

use symphony_host::pool::HotSet;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn touch_does_not_allocate() {
    let mut hot = HotSet::new(NonZeroUsize::new(64).unwrap(), 1 << 20);
    let keys: Vec<String> = (0..64).map(|i| format!("instrument-{i}")).collect();
    for key in &keys {
        assert!(hot.insert(key.clone(), 1024).unwrap().is_empty());
    }
    let before = allocations();
    for round in 0..1000 {
        assert!(hot.touch(keys[round % keys.len()].as_str()));
        assert!(!hot.touch("missing"));
    }
    assert_eq!(allocations() - before, 0);
    // Sanity check: the counter does see allocations.
    let boxed = std::hint::black_box(Box::new(1u64));
    assert!(allocations() > before);
    drop(boxed);
}

/// The whole hit path on a real host (checkout from the idle stack, the
/// hot set's touch and size check, the counters, checkin) allocates
/// nothing. Needs the example components (`cargo xtask build-examples`;
/// `SYMPHONY_COMPONENTS` names where they are, else `<target>/components`).
#[test]
fn a_pool_hit_does_not_allocate() {
    // `$SYMPHONY_COMPONENTS`, else `<target>/components` (this binary is
    // `<target>/<profile>/deps/pool_alloc-…`).
    let components = std::env::var_os("SYMPHONY_COMPONENTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            exe.ancestors().nth(3).unwrap().join("components")
        });
    let path = components.join("json-transform/json_transform.wasm");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask build-examples`",
        path.display()
    );
    let home = tempfile::tempdir().unwrap();
    let host = symphony_host::Host::builder()
        .home(home.path())
        .build()
        .unwrap();
    host.load(&path).unwrap();
    let hit = || symphony_host::__internal::checkout_checkin(&host, "json-transform").unwrap();
    // The first round trips may size the idle stack and the counters.
    hit();
    hit();
    let before = allocations();
    for _ in 0..1000 {
        hit();
    }
    assert_eq!(allocations() - before, 0);
    assert_eq!(host.pool_stats().totals.hits, 1002);
}
