use super::*;

#[test]
fn apply_keeps_what_is_not_given() {
    let base = Limits::default();
    assert_eq!(ManifestLimits::default().apply(base), base);
    let all = ManifestLimits {
        memory: Some(1),
        fuel: Some(2),
        deadline: Some(Duration::from_millis(3)),
        max_instances: Some(4),
        log_rate: Some(5),
        log_burst: Some(6),
        log_line: Some(7),
        cost_micros: Some(8),
    };
    let applied = all.apply(base);
    assert_eq!(
        (
            applied.memory,
            applied.fuel,
            applied.deadline,
            applied.max_instances,
            applied.log,
            applied.cost_micros
        ),
        (
            1,
            2,
            Duration::from_millis(3),
            4,
            LogLimits {
                lines_per_second: 5,
                burst: 6,
                line_bytes: 7
            },
            8
        )
    );
}
