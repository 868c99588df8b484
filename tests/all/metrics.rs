//! Per-extension metrics: calls, errors by kind, denials, fuel, memory and
//! latency, as `Host::metrics` reports them.

use serde_json::json;
use symphony_host::{
    Error,
    extension::{CallError, Limits, LoadOptions, Operator},
};
use symphony_tests::{TestHost, call, host, with_hostile};

fn hostile(limits: Limits) -> (TestHost, Operator) {
    let options = LoadOptions {
        limits: Some(limits),
        ..LoadOptions::default()
    };
    with_hostile(host(), options)
}

#[test]
fn calls_errors_denials_fuel_memory_and_latency_are_counted() {
    let limits = Limits {
        fuel: 20_000_000,
        ..Limits::default()
    };
    let (host, op) = hostile(limits);
    let fresh = host.metrics("hostile").unwrap();
    assert_eq!(
        (fresh.calls, fresh.errors.total(), fresh.fuel_used),
        (0, 0, 0)
    );

    const N: u64 = 5;
    for _ in 0..N {
        call(&op, json!({"mode": "echo", "value": 1})).unwrap();
    }
    let ok = host.metrics("hostile").unwrap();
    assert_eq!(ok.calls, N);
    assert_eq!(ok.errors.total(), 0);
    assert!(ok.fuel_used > 0, "{ok:?}");
    assert!(ok.memory_high_water > 0, "{ok:?}");
    assert_eq!(ok.latency.count, N);
    assert_eq!(ok.latency.buckets.iter().map(|b| b.count).sum::<u64>(), N);
    assert!(ok.latency.p50_us <= ok.latency.p99_us);
    assert!(ok.latency.p99_us <= ok.latency.max_us);

    // The warm instance is reused, so its load hooks' own refused
    // announcements are behind us: the publish adds exactly one denial.
    let err = call(&op, json!({"mode": "publish", "subject": "news.today"})).unwrap_err();
    assert!(matches!(err, CallError::Guest { .. }), "{err}");
    let denied = host.metrics("hostile").unwrap();
    assert_eq!(denied.denials, ok.denials + 1);
    assert_eq!(denied.errors.guest, 1);

    let err = call(&op, json!({"mode": "spin"})).unwrap_err();
    assert!(matches!(err, CallError::OutOfFuel { .. }), "{err}");
    let spun = host.metrics("hostile").unwrap();
    assert_eq!(spun.errors.out_of_fuel, 1);
    // A call that ran out used all of its fuel.
    assert!(
        spun.fuel_used >= denied.fuel_used + 20_000_000,
        "{} then {}",
        denied.fuel_used,
        spun.fuel_used
    );

    let err = call(&op, json!({"mode": "panic"})).unwrap_err();
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    let last = host.metrics("hostile").unwrap();
    assert_eq!(last.calls, N + 3);
    assert_eq!(
        (last.errors.guest, last.errors.out_of_fuel, last.errors.trap),
        (1, 1, 1)
    );
    assert_eq!(last.errors.total(), 3);
    assert_eq!(last.latency.count, N + 3);
}

#[test]
fn all_metrics_lists_every_extension_and_unknown_names_are_errors() {
    let (host, op) = hostile(Limits::default());
    call(&op, json!({"mode": "echo", "value": 1})).unwrap();
    let all = host.all_metrics();
    let names: Vec<&str> = all.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        host.extensions()
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
    );
    let (_, hostile) = all.iter().find(|(name, _)| name == "hostile").unwrap();
    assert_eq!(hostile.calls, 1);
    assert!(matches!(
        host.metrics("no-such-extension"),
        Err(Error::UnknownExtension { .. })
    ));
    let json = serde_json::to_value(hostile).unwrap();
    assert_eq!(json["calls"], 1);
    assert!(json["latency"]["buckets"].is_array());
}
