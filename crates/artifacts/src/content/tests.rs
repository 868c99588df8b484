use super::*;

/// Processes opening one new store at once (three runs started together in
/// a fresh home) each record or check its mode; none reads another's
/// half-written format file.
#[test]
fn stores_created_at_once_agree_on_their_format() {
    for _ in 0..50 {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let outcomes: Vec<_> = (0..8)
            .map(|_| {
                let root = root.clone();
                std::thread::spawn(move || check_format(&root, false))
            })
            .collect();
        for outcome in outcomes {
            outcome.join().unwrap().unwrap();
        }
        assert_eq!(
            fs::read_to_string(root.join(FORMAT_FILE)).unwrap(),
            FORMAT_PLAIN
        );
        assert!(matches!(
            check_format(&root, true),
            Err(ArtifactError::ModeMismatch { .. })
        ));
    }
}
