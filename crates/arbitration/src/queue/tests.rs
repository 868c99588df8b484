use std::time::{Duration, Instant};

use super::*;
use crate::ledger::Book;
use crate::strategy::{Fifo, PriorityAging};

fn ask(tenant: u32, priority: i32) -> Ask {
    Ask {
        tenant,
        priority,
        deadline: None,
        units: 1,
    }
}

#[test]
fn positions_follow_the_strategy_and_removal_closes_the_gap() {
    let t0 = Instant::now();
    let book = Book::default();
    let mut queue: Queue<&str> = Queue::new(
        Box::new(PriorityAging {
            step: Duration::from_secs(3600),
        }),
        t0,
    );
    let a = queue.push(ask(0, 1), t0, "a");
    let b = queue.push(ask(1, 5), t0, "b");
    let c = queue.push(ask(0, 5), t0, "c");
    let position = |q: &Queue<&str>, tenant, seq| {
        book.with_context(t0, t0, 2, 1, |ctx| q.position(tenant, seq, ctx))
    };
    assert_eq!(position(&queue, 1, b), Some(0));
    assert_eq!(position(&queue, 0, c), Some(1));
    assert_eq!(position(&queue, 0, a), Some(2));
    assert_eq!(queue.remove(1, b).map(|w| w.payload), Some("b"));
    assert_eq!(position(&queue, 0, a), Some(1));
    assert_eq!(queue.remove(1, b).map(|w| w.payload), None, "not twice");
    let order: Vec<&str> =
        std::iter::from_fn(|| book.with_context(t0, t0, 2, 1, |ctx| queue.pop(ctx)))
            .map(|w| w.payload)
            .collect();
    assert_eq!(order, ["c", "a"]);
    assert!(queue.is_empty());
}

#[test]
fn a_boost_serves_the_favoured_tenant_first() {
    let t0 = Instant::now();
    let book = Book::default();
    let mut queue: Queue<u32> = Queue::new(Box::new(Fifo), t0);
    queue.push(ask(0, 0), t0, 0);
    queue.push(ask(1, 0), t0, 1);
    let first = book.with_context(t0, t0, 2, 1, |ctx| queue.take_next(Some(1), ctx, |_| true));
    assert_eq!(first.map(|w| w.payload), Some(1));
    let next = book.with_context(t0, t0, 2, 1, |ctx| queue.take_next(Some(1), ctx, |_| true));
    assert_eq!(
        next.map(|w| w.payload),
        Some(0),
        "nothing of tenant 1 left: the strategy's pick"
    );
}
