use std::path::{Path, PathBuf};

use super::Project;

fn project() -> Project {
    Project {
        dir: PathBuf::from("/src/shout"),
        manifest: PathBuf::from("/src/shout/symphony.toml"),
    }
}

#[test]
fn sources_rebuild_and_build_output_does_not() {
    let project = project();
    let component = Path::new("/src/shout/target/wasm32-wasip2/release/shout.wasm");
    let source = |path: &str| project.is_source(Path::new(path), component, None);
    assert!(source("/src/shout/src/lib.rs"));
    assert!(source("/src/shout/Cargo.toml"));
    assert!(source("/src/shout/symphony.toml"));
    assert!(source("/src/shout/wit/world.wit"));
    assert!(!source("/src/shout/target/debug/build/x"));
    assert!(!source("/src/shout/.git/index"));
    assert!(!source("/src/shout/src/.lib.rs.swp"));
    assert!(!source("/src/shout/src/lib.rs~"));
    assert!(!source("/src/shout/4913"));
    assert!(!source("/src/shout/Cargo.lock"));
    assert!(!source("/elsewhere/lib.rs"));
}

#[test]
fn a_component_kept_beside_the_manifest_or_in_cargo_target_dir_is_output() {
    let project = project();
    let beside = Path::new("/src/shout/shout.wasm");
    assert!(!project.is_source(beside, beside, None));
    let target = Path::new("/src/shout/build");
    assert!(!project.is_source(Path::new("/src/shout/build/x.rlib"), beside, Some(target)));
    assert!(project.is_source(Path::new("/src/shout/src/lib.rs"), beside, Some(target)));
}

#[test]
fn a_project_inside_cargo_target_dir_still_has_sources() {
    let project = project();
    let component = Path::new("/src/shout/shout.wasm");
    let target = Path::new("/src");
    assert!(project.is_source(Path::new("/src/shout/src/lib.rs"), component, Some(target)));
}

#[test]
fn a_file_rewritten_with_the_same_bytes_is_not_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("symphony.toml"), "x").unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    let source = root.join("src/lib.rs");
    std::fs::write(&source, "fn a() {}").unwrap();
    let project = Project {
        manifest: root.join("symphony.toml"),
        dir: root.clone(),
    };
    let mut prints = super::Fingerprints::of_tree(&project);
    std::fs::write(&source, "fn a() {}").unwrap();
    assert!(!prints.changed(&source), "same bytes");
    std::fs::write(&source, "fn b() {}").unwrap();
    assert!(prints.changed(&source), "new bytes");
    assert!(!prints.changed(&source), "seen since");
    let output = root.join("dist/out.js");
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    std::fs::write(&output, "1").unwrap();
    assert!(prints.changed(&output), "a new file");
    std::fs::write(&output, "1").unwrap();
    assert!(!prints.changed(&output), "regenerated the same");
    std::fs::remove_file(&source).unwrap();
    assert!(prints.changed(&source), "deleted");
}
