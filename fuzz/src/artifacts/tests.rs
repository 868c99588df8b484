use super::*;

#[test]
fn the_seeds_run_and_are_refused_where_they_should_be() {
    for (name, input) in SEEDS {
        let outcome = run(input);
        assert!(outcome.accepted > 0, "{name}: {outcome:?}");
        if *name != "seed-empty" {
            assert!(outcome.rejected > 0, "{name}: {outcome:?}");
        }
    }
}

#[test]
fn decoding_stops_at_the_limit_and_spans_cover_the_input() {
    let data = vec![3u8; 200];
    let (encrypted, ops) = ops::decode(&data);
    assert!(encrypted);
    assert_eq!(ops.len(), ops::MAX_OPS);
    let mut at = 1;
    for (_, span) in &ops {
        assert_eq!(span.start, at);
        at = span.end;
    }
}
