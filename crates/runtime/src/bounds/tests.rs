use std::time::Duration;

use super::*;

#[test]
fn a_deadline_stops_a_wait() {
    let until = Instant::now() + Duration::from_millis(20);
    let stop = block_on(async {
        tokio::select! {
            biased;
            () = std::future::pending::<()>() => None,
            why = stopped(until, None) => Some(why),
        }
    })
    .unwrap();
    assert_eq!(stop, Some(Stop::Deadline));
    assert!(Instant::now() >= until);
}

#[test]
fn an_interrupt_set_from_another_thread_stops_a_wait_at_once() {
    let interrupt = Interrupt::new();
    let setter = {
        let interrupt = interrupt.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            interrupt.set();
        })
    };
    let began = Instant::now();
    let far = began + Duration::from_secs(60);
    let stop = block_on(stopped(far, Some(interrupt))).unwrap();
    setter.join().unwrap();
    assert_eq!(stop, Stop::Interrupted);
    assert!(began.elapsed() < Duration::from_secs(30));
}

#[test]
fn block_on_nests_and_runs_inside_other_runtimes() {
    // Nested inside a call, as a pool step taken by a call runs guest
    // hooks of another instance.
    let nested = block_on(async { block_on(async { 7 }).unwrap() }).unwrap();
    assert_eq!(nested, 7);
    // Inside an embedder's single-thread runtime.
    let theirs = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let inside = theirs.block_on(async { block_on(async { 8 }).unwrap() });
    assert_eq!(inside, 8);
}
