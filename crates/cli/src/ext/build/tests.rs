use std::path::Path;

use super::*;

#[test]
fn project_files_leave_out_build_output_and_hidden_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for file in [
        "app.py",
        "lib/util.py",
        ".git/HEAD",
        "target/x",
        "build/x.wasm",
        "node_modules/a/index.js",
        "__pycache__/app.pyc",
        "out.wasm",
        "symphony.toml",
    ] {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, file).unwrap();
    }
    let files = project_files(root, &root.join("out.wasm")).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["app.py", "lib/util.py", "symphony.toml"]);
}

#[test]
fn place_replaces_the_target_whole() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("a.wasm");
    let to = dir.path().join("deep/er/b.wasm");
    std::fs::write(&from, b"new").unwrap();
    place(&from, &to).unwrap();
    assert_eq!(std::fs::read(&to).unwrap(), b"new");
    let left: Vec<_> = std::fs::read_dir(to.parent().unwrap()).unwrap().collect();
    assert_eq!(left.len(), 1, "no partial file is left behind");
}

#[test]
fn a_tool_is_named_by_its_program_and_the_version_it_prints() {
    let tool = |program: &str, version: &str| Tool {
        program: program.into(),
        version: version.into(),
    };
    assert_eq!(
        tool(
            "/usr/bin/clang-19",
            "Debian clang version 19.1.7 (3~deb12u1)"
        )
        .name_and_version(),
        ("clang".to_string(), "19.1.7".to_string())
    );
    assert_eq!(
        tool("/x/bin/componentize-py", "componentize-py 0.25.1").name_and_version(),
        ("componentize-py".to_string(), "0.25.1".to_string())
    );
}

#[test]
fn the_cache_key_is_the_same_for_the_same_project_anywhere() {
    let key_of = |root: &Path| {
        let dir = root.join("proj");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("symphony.toml"),
            "[extension]\nname = \"p\"\nversion = \"0.1.0\"\nkind = \"operator\"\n\
             component = \"build/p.wasm\"\n[build]\nlanguage = \"python\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("app.py"), "print('hi')\n").unwrap();
        // Not a build input: what it says does not change the key.
        std::fs::write(dir.join("README.md"), format!("{}", root.display())).unwrap();
        let manifest = Manifest::from_file(dir.join("symphony.toml")).unwrap();
        let tool = Tool {
            program: "componentize-py".into(),
            version: "componentize-py 0.25.1".into(),
        };
        let home = tempfile::tempdir().unwrap();
        let sdks = sdk::install(home.path()).unwrap();
        let job = Job {
            manifest: &manifest,
            world: "operator-extension",
            tool: &tool,
            sdks: &sdks,
        };
        let key = job.key(&manifest.component).unwrap();
        std::fs::write(dir.join("app.py"), "print('changed')\n").unwrap();
        (key, job.key(&manifest.component).unwrap())
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, changed) = key_of(a.path());
    assert_eq!(first, key_of(b.path()).0, "the same sources elsewhere");
    assert_ne!(first, changed, "an edited source is another build");
}

#[test]
fn xtask_installs_the_toolchain_versions_ext_build_names() {
    let xtask = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../xtask/src/toolchains.rs"),
    )
    .unwrap();
    for (name, version) in [
        ("COMPONENTIZE_PY", toolchain::COMPONENTIZE_PY.to_string()),
        ("COMPONENTIZE_JS", toolchain::COMPONENTIZE_JS.to_string()),
        ("CLANG", toolchain::CLANG_MIN.to_string()),
    ] {
        let line = format!("pub const {name}: &str = \"{version}\";");
        assert!(
            xtask.contains(&line),
            "xtask/src/toolchains.rs lacks `{line}`"
        );
    }
}
