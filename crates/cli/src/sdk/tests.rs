use std::fs;
use std::path::Path;

use super::*;

/// The files under `dir` (relative, sorted), skipping caches.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == "__pycache__") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_sdk_carried_is_the_source_trees_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk");
    let carried = |files: &[(&str, &str)]| {
        let mut paths: Vec<String> = files.iter().map(|(p, _)| p.to_string()).collect();
        paths.sort();
        paths
    };
    let rust: Vec<String> = files_under(&root.join("src"))
        .into_iter()
        .map(|f| format!("src/{f}"))
        .collect();
    assert_eq!(
        carried(SDK_SOURCES),
        rust,
        "a file of sdk/src is not carried (SDK_SOURCES)"
    );
    assert_eq!(
        carried(PYTHON_SOURCES),
        files_under(&root.join("python")),
        "a file of sdk/python is not carried (PYTHON_SOURCES)"
    );
    assert_eq!(files_under(&root.join("js")), ["symphony.js"]);
    assert_eq!(files_under(&root.join("c")), ["symphony.h"]);

    // The Rust SDK's wit-bindgen is the workspace's.
    let workspace: toml::Table =
        toml::from_str(&fs::read_to_string(root.join("../Cargo.toml")).unwrap()).unwrap();
    let want = &workspace["workspace"]["dependencies"]["wit-bindgen"];
    let ours: toml::Table = toml::from_str(&format!("x = {SDK_WIT_BINDGEN}")).unwrap();
    assert_eq!(&ours["x"], want);
}

#[test]
fn the_sdks_are_written_once_into_the_data_directory() {
    let home = tempfile::tempdir().unwrap();
    let sdks = install(home.path()).unwrap();
    assert!(
        sdks.rust.starts_with(home.path()),
        "{}",
        sdks.rust.display()
    );
    assert!(sdks.rust.join("src/lib.rs").is_file());
    let manifest = fs::read_to_string(sdks.rust.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"symphony-sdk\""), "{manifest}");
    // Where the Rust bindings look for the WIT: `../wit/...` from the SDK.
    assert!(
        sdks.rust
            .join("../wit/since_v0.1.1/extension.wit")
            .is_file()
    );
    assert!(sdks.wit.join("extension.wit").is_file());
    assert!(sdks.python.join("symphony_ext/__init__.py").is_file());
    assert!(sdks.js.is_file());
    assert!(sdks.c.join("symphony.h").is_file());
    let modified = || {
        fs::metadata(sdks.rust.join("src/lib.rs"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = modified();
    assert_eq!(install(home.path()).unwrap().rust, sdks.rust);
    assert_eq!(before, modified(), "an unchanged SDK is not rewritten");
}
