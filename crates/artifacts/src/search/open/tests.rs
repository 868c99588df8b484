use super::is_index_file;

#[test]
fn only_tantivy_files_and_our_marker_count_as_index_files() {
    assert!(is_index_file("meta.json"));
    assert!(is_index_file(".managed.json"));
    assert!(is_index_file(".symphony-uncommitted"));
    assert!(is_index_file("0123456789abcdef0123456789abcdef.idx"));
    assert!(is_index_file("0123456789abcdef0123456789abcdef.12.del"));
    assert!(!is_index_file("notes.txt"));
    assert!(!is_index_file(".tantivy-writer.lock"));
    assert!(!is_index_file("0123456789abcdef0123456789abcdef"));
    assert!(!is_index_file("0123456789abcdef0123456789abcdeg.idx"));
}

#[test]
fn the_writer_indexes_with_one_to_four_threads() {
    assert!((1..=super::MAX_WRITER_THREADS).contains(&super::writer_threads()));
}
