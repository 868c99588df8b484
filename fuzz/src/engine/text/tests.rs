use super::*;

#[test]
fn line_mutations_keep_text_and_replay() {
    let seed = b"[extension]\nname = \"x\"\nversion = \"1.0.0\"\n".to_vec();
    let (mut a, mut b) = (Rng::new(9), Rng::new(9));
    let (mut x, mut y) = (seed.clone(), seed);
    for _ in 0..300 {
        mutate_lines(&mut a, &mut x, &["[limits]"], &["1"]);
        mutate_lines(&mut b, &mut y, &["[limits]"], &["1"]);
        assert_eq!(x, y);
        assert!(std::str::from_utf8(&x).is_ok());
        x.truncate(4096);
        y.truncate(4096);
    }
}
