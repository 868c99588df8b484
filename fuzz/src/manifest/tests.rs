use super::*;

#[test]
fn the_seeds_reach_both_paths() {
    let (mut accepted, mut rejected) = (0, 0);
    for (name, text) in SEEDS {
        let outcome = run(text.as_bytes());
        assert_eq!(outcome.accepted + outcome.rejected, 1, "{name}");
        accepted += outcome.accepted;
        rejected += outcome.rejected;
    }
    // The examples, the full one, the minimal one and the `.` path read.
    assert_eq!(accepted, 6);
    assert_eq!(rejected, SEEDS.len() as u64 - 6);
}
