use super::*;

const NOW: i64 = 1_000 * DAY_MS;

fn setup() -> (tempfile::TempDir, Trash, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let trash = Trash::open(dir.path().join("trash"), 7).unwrap();
    let id = "cd".repeat(32);
    let hot = dir.path().join("objects").join("cd").join(&id[2..]);
    std::fs::create_dir_all(hot.parent().unwrap()).unwrap();
    std::fs::write(&hot, b"precious").unwrap();
    (dir, trash, id, hot)
}

#[test]
fn undo_within_the_window_restores_the_file() {
    let (_dir, trash, id, hot) = setup();
    let entry = trash.put(&id, &hot, NOW).unwrap();
    assert_eq!(entry.size, 8);
    assert!(!hot.exists() && trash.contains(&id));
    assert_eq!(trash.entries().unwrap(), std::slice::from_ref(&entry));
    let undone = trash.undo(&id, &hot, NOW + 7 * DAY_MS).unwrap();
    assert_eq!(undone, entry);
    assert_eq!(std::fs::read(&hot).unwrap(), b"precious");
    assert!(!trash.contains(&id) && trash.entries().unwrap().is_empty());
    let e = trash.undo(&id, &hot, NOW).unwrap_err();
    assert!(matches!(e, StaleError::NotInTrash(_)), "{e}");
}

#[test]
fn purge_after_the_window_deletes_and_undo_is_refused() {
    let (_dir, trash, id, hot) = setup();
    trash.put(&id, &hot, NOW).unwrap();
    assert!(trash.purge(NOW + 7 * DAY_MS).unwrap().is_empty());
    assert!(trash.contains(&id));
    let late = NOW + 7 * DAY_MS + 1;
    let e = trash.undo(&id, &hot, late).unwrap_err();
    assert!(matches!(e, StaleError::UndoExpired { .. }), "{e}");
    assert!(e.to_string().contains(&id));
    let purged = trash.purge(late).unwrap();
    assert_eq!(purged.len(), 1);
    assert!(!trash.contains(&id) && !hot.exists());
    assert!(std::fs::read_dir(&trash.dir).unwrap().next().is_none());
}

#[test]
fn undo_refuses_to_overwrite() {
    let (_dir, trash, id, hot) = setup();
    trash.put(&id, &hot, NOW).unwrap();
    std::fs::write(&hot, b"new").unwrap();
    let e = trash.undo(&id, &hot, NOW).unwrap_err();
    assert!(matches!(e, StaleError::Exists { .. }), "{e}");
    assert!(trash.contains(&id));
}

#[test]
fn interrupted_steps_are_recovered() {
    let (_dir, trash, id, _hot) = setup();
    // A manifest whose object never arrived (crash between the two steps).
    let other = "ef".repeat(32);
    std::fs::write(trash.manifest_path(&other), b"{}").unwrap();
    // An object without a manifest, and a leftover temporary file.
    std::fs::write(trash.object_path(&id), b"x").unwrap();
    std::fs::write(trash.dir.join(".tmp-leftover"), b"x").unwrap();
    let trash = Trash::open(&trash.dir, 7).unwrap();
    assert!(!trash.dir.join(".tmp-leftover").exists());
    assert!(trash.purge(NOW).unwrap().is_empty());
    assert!(!trash.manifest_path(&other).exists());
    // The orphan object is dated now and kept for the full window.
    assert_eq!(trash.entries().unwrap()[0].trashed_at_ms, NOW);
    assert_eq!(trash.purge(NOW + 8 * DAY_MS).unwrap().len(), 1);
}
