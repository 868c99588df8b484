use super::*;

fn msg(n: u8) -> Item {
    (0, Envelope::new("msg", "s", vec![n]))
}

fn payload(item: Option<Item>) -> u8 {
    item.unwrap().1.payload[0]
}

#[test]
fn drop_oldest_keeps_the_newest_messages() {
    let q = Queue::new(2, SlowPolicy::DropOldest);
    assert_eq!(q.offer(msg(1)), Offer::Queued);
    q.offer(msg(2));
    assert_eq!(q.offer(msg(3)), Offer::Displaced);
    let got: Vec<u8> = (0..2)
        .map(|_| payload(q.take(Duration::ZERO).unwrap()))
        .collect();
    assert_eq!(got, [2, 3]);
    assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
}

#[test]
fn disconnect_closes_the_queue_but_keeps_what_was_queued() {
    let q = Queue::new(1, SlowPolicy::Disconnect);
    q.offer(msg(1));
    assert_eq!(q.offer(msg(2)), Offer::Closed);
    assert_eq!(payload(q.take(Duration::ZERO).unwrap()), 1);
    assert!(q.take(Duration::ZERO).unwrap_err().contains("fell behind"));
}

#[test]
fn block_gives_up_after_max_wait() {
    let q = Queue::new(
        1,
        SlowPolicy::Block {
            max_wait: Duration::from_millis(20),
        },
    );
    q.offer(msg(1));
    assert_eq!(q.offer(msg(2)), Offer::Dropped);
    assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
}

#[test]
fn a_byte_limit_bounds_the_queue_whatever_the_message_count() {
    let q = Queue::with_byte_limit(1000, 100, SlowPolicy::DropOldest);
    for n in 0..10 {
        q.offer((0, Envelope::new("msg", "s", vec![n; 40])));
    }
    assert_eq!(q.len(), 2, "two 40-byte payloads fit in 100 bytes");
    assert_eq!(q.dropped.load(Ordering::Relaxed), 8);
    // One message always fits, however large.
    q.offer((0, Envelope::new("msg", "s", vec![0; 500])));
    assert_eq!(q.len(), 1);
    let mut out = Vec::new();
    q.drain_into(&mut out, 10, 1);
    assert_eq!(out.len(), 1);
}

#[test]
fn a_kick_wakes_a_waiter_with_nothing_queued() {
    let q = std::sync::Arc::new(Queue::new(4, SlowPolicy::DropOldest));
    let started = Instant::now();
    let waiter = {
        let q = q.clone();
        std::thread::spawn(move || q.wait_nonempty(Duration::from_secs(600)))
    };
    // Kick only once the waiter sleeps, so the wake-up is what ends
    // its wait (its timeout is ten minutes away).
    while q.not_empty.waiters() == 0 {
        assert!(!waiter.is_finished(), "the waiter returned without a kick");
        std::thread::yield_now();
    }
    q.kick();
    assert_eq!(waiter.join().unwrap(), Ok(()));
    assert!(started.elapsed() < Duration::from_secs(300));
    assert_eq!(q.len(), 0);
}

#[test]
fn drain_into_takes_up_to_max_in_order() {
    let q = Queue::new(10, SlowPolicy::DropOldest);
    for n in 0..5 {
        q.offer(msg(n));
    }
    let mut out = Vec::new();
    q.drain_into(&mut out, 3, usize::MAX);
    assert_eq!(q.len(), 2);
    q.drain_into(&mut out, 3, usize::MAX);
    let got: Vec<u8> = out.into_iter().map(|(_, e)| e.payload[0]).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    q.close("done");
    assert_eq!(q.wait_nonempty(Duration::ZERO), Err("done"));
}

#[test]
fn block_waits_until_the_reader_makes_room() {
    let q = std::sync::Arc::new(Queue::new(
        1,
        SlowPolicy::Block {
            max_wait: Duration::from_secs(10),
        },
    ));
    q.offer(msg(1));
    let reader = {
        let q = q.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            q.take(Duration::from_secs(10)).unwrap()
        })
    };
    assert_eq!(q.offer(msg(2)), Offer::Queued);
    assert_eq!(payload(reader.join().unwrap()), 1);
}
