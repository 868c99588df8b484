use super::*;

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

#[test]
fn counters_add_up_by_kind() {
    let m = ExtensionMetrics::default();
    m.record_call(us(10), 500, None);
    m.record_call(us(10), 700, None);
    let trap = CallError::Trap {
        extension: "x".into(),
        function: "process",
        message: "unreachable".into(),
    };
    let fuel = CallError::OutOfFuel {
        extension: "x".into(),
        function: "process",
        fuel: 1000,
    };
    m.record_call(us(10), 0, Some(&trap));
    m.record_call(us(10), 1000, Some(&fuel));
    m.record_denial();
    m.record_memory(1 << 20);
    m.record_memory(1 << 16);
    let s = m.snapshot();
    assert_eq!(s.calls, 4);
    assert_eq!(
        (s.errors.trap, s.errors.out_of_fuel, s.errors.total()),
        (1, 1, 2)
    );
    assert_eq!(s.denials, 1);
    assert_eq!(s.fuel_used, 2200);
    assert_eq!(s.memory_high_water, 1 << 20);
    assert_eq!(s.latency.count, 4);
}
