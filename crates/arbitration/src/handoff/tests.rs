use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::*;
use crate::{Arbiter, ArbitrationConfig};

fn arbiter(config: &str) -> Arbiter {
    Arbiter::new(
        ArbitrationConfig::parse(config, "test").unwrap(),
        None,
        None,
    )
}

fn poll<F: Future>(
    runtime: &tokio::runtime::Runtime,
    future: &mut std::pin::Pin<Box<F>>,
) -> Poll<F::Output> {
    let _context = runtime.enter();
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn an_offer_goes_to_the_request_the_strategy_picks_and_none_waits_gives_it_back() {
    let arbiter = arbiter("aging_ms = 3600000\n[extensions.llm]\nstrategy = \"priority\"\n");
    let line: Arc<Handoff<&str>> = arbiter.instances("llm", 1);
    assert_eq!(line.offer("idle"), Err("idle"));
    let rt = runtime();
    let low = line.enqueue(&arbiter.requester("a").priority(1).label("low"));
    let high = line.enqueue(&arbiter.requester("b").priority(9).label("high"));
    assert_eq!(high.explanation().position, 1, "{}", high.explanation());
    assert_eq!(low.explanation().position, 1, "it was alone when it joined");
    assert_eq!(line.waiting(), 2);
    let mut low = Box::pin(low.wait(None, None));
    let mut high = Box::pin(high.wait(None, None));
    assert!(poll(&rt, &mut low).is_pending());
    line.offer("instance #1").unwrap();
    assert_eq!(poll(&rt, &mut high), Poll::Ready(Ok("instance #1")));
    assert!(poll(&rt, &mut low).is_pending());
    line.offer("instance #1").unwrap();
    assert_eq!(poll(&rt, &mut low), Poll::Ready(Ok("instance #1")));
    assert_eq!(line.waiting(), 0);
}

#[test]
fn a_ticket_that_times_out_leaves_the_line_and_a_dropped_one_too() {
    let arbiter = arbiter("");
    let line: Arc<Handoff<u32>> = arbiter.instances("llm", 1);
    let rt = runtime();
    let ticket = line.enqueue(&arbiter.requester("a").label("node late"));
    let mut late = Box::pin(ticket.wait(Some(Instant::now() - Duration::from_millis(1)), None));
    let Poll::Ready(Err(error)) = poll(&rt, &mut late) else {
        panic!("a past deadline ends the wait")
    };
    assert!(error.to_string().contains("node late waited"), "{error}");
    assert!(error.to_string().contains("instances:llm"), "{error}");
    assert_eq!(line.waiting(), 0);
    drop(line.enqueue(&arbiter.requester("b")));
    assert_eq!(line.waiting(), 0);
    assert_eq!(line.offer(7), Err(7));
}

#[test]
fn drained_requests_learn_the_line_closed() {
    let arbiter = arbiter("");
    let line: Arc<Handoff<u32>> = arbiter.instances("llm", 1);
    let rt = runtime();
    let mut waiting = Box::pin(line.enqueue(&arbiter.requester("a")).wait(None, None));
    assert!(poll(&rt, &mut waiting).is_pending());
    let senders = line.drain();
    assert_eq!(senders.len(), 1);
    drop(senders);
    assert!(matches!(
        poll(&rt, &mut waiting),
        Poll::Ready(Err(WaitError::Closed { .. }))
    ));
}

#[test]
fn fair_share_hands_instances_out_by_weight() {
    let arbiter = arbiter(
        "[extensions.llm]\nstrategy = \"fair-share\"\n[tenants.a]\nweight = 1\n[tenants.b]\nweight = 2\n[tenants.c]\nweight = 1\n",
    );
    let line: Arc<Handoff<u32>> = arbiter.instances("llm", 1);
    let rt = runtime();
    let mut grants = std::collections::BTreeMap::new();
    let names = ["a", "b", "c"];
    // Each tenant always has two requests in line.
    let mut waiting: Vec<_> = names
        .iter()
        .flat_map(|n| [n, n])
        .map(|n| {
            (
                *n,
                Box::pin(line.enqueue(&arbiter.requester(n)).wait(None, None)),
            )
        })
        .collect();
    for _ in 0..400 {
        line.offer(0).unwrap();
        let mut next = Vec::new();
        for (name, mut future) in waiting.drain(..) {
            match poll(&rt, &mut future) {
                Poll::Ready(Ok(_)) => {
                    *grants.entry(name).or_insert(0i32) += 1;
                    next.push((
                        name,
                        Box::pin(line.enqueue(&arbiter.requester(name)).wait(None, None)),
                    ));
                }
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => next.push((name, future)),
            }
        }
        waiting = next;
    }
    assert_eq!(grants["a"] + grants["b"] + grants["c"], 400);
    assert!((grants["b"] - 200).abs() <= 1, "{grants:?}");
    assert!((grants["a"] - 100).abs() <= 1, "{grants:?}");
}
