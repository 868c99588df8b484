use super::*;

#[test]
fn the_seeds_reach_both_paths_in_both_formats() {
    let mut loaded = [0u64; 2];
    let mut rejected = 0;
    for (name, bytes) in seeds::seeds() {
        let outcome = run(&bytes);
        assert_eq!(outcome.accepted + outcome.rejected, 1, "{name}");
        loaded[usize::from(bytes[0] & 1)] += outcome.accepted;
        rejected += outcome.rejected;
    }
    assert!(loaded[0] >= 5 && loaded[1] >= 5, "{loaded:?}");
    assert!(rejected >= 3, "{rejected}");
}
