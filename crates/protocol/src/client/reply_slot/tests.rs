use super::*;

#[test]
fn a_reply_given_from_another_thread_wakes_the_waiter() {
    let slot = ReplySlot::new();
    let giver = slot.clone();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        giver.give(Envelope::new("msg", "a", &b"hi"[..]));
    });
    let reply = slot.wait(Duration::from_secs(5)).unwrap();
    assert_eq!(&reply.payload[..], b"hi");
    thread.join().unwrap();
    assert!(matches!(
        slot.try_take(),
        Some(Err(RecvTimeoutError::Disconnected))
    ));
}

#[test]
fn a_closed_slot_says_so_and_a_later_reply_is_ignored() {
    let slot = ReplySlot::new();
    slot.close();
    slot.give(Envelope::new("msg", "a", &b""[..]));
    assert!(matches!(
        slot.wait(Duration::from_secs(5)),
        Err(RecvTimeoutError::Disconnected)
    ));
}

#[test]
fn waiting_without_a_reply_times_out() {
    let slot = ReplySlot::new();
    assert!(slot.try_take().is_none());
    assert!(matches!(
        slot.wait(Duration::from_millis(10)),
        Err(RecvTimeoutError::Timeout)
    ));
}
