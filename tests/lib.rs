//! Helpers shared by the integration tests: where the built components
//! are, and hosts in temporary directories.
//!
//! Components are built by `cargo xtask build-examples` into
//! `<target>/components` (examples) and `<target>/fixtures` (hostile test
//! guests); `cargo xtask test` passes both directories in
//! `SYMPHONY_COMPONENTS` and `SYMPHONY_FIXTURES`.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use symphony_host::Host;

/// The cargo target directory this test binary was built in.
fn target_dir() -> PathBuf {
    // Test binaries live in <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("the test binary has a path");
    exe.ancestors()
        .nth(3)
        .expect("test binary is under <target>/<profile>/deps")
        .to_path_buf()
}

fn dir(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join(default))
}

fn existing(path: PathBuf) -> PathBuf {
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask build-examples` (or `cargo xtask test`) first",
        path.display()
    );
    path
}

/// The directory of the example extension components.
pub fn components_dir() -> PathBuf {
    dir("SYMPHONY_COMPONENTS", "components")
}

/// An example component, e.g. `component("mock_llm")`: it lies beside its
/// manifest in `<components>/mock-llm/`.
pub fn component(name: &str) -> PathBuf {
    existing(
        components_dir()
            .join(name.replace('_', "-"))
            .join(format!("{name}.wasm")),
    )
}

/// A test fixture component, e.g. `fixture("hostile")`.
pub fn fixture(name: &str) -> PathBuf {
    existing(dir("SYMPHONY_FIXTURES", "fixtures").join(format!("{name}.wasm")))
}

/// The repository's `examples/` directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A host whose data directory is deleted when it is dropped.
pub struct TestHost {
    host: Host,
    /// Kept for its drop, which removes the directory.
    pub home: tempfile::TempDir,
}

impl Deref for TestHost {
    type Target = Host;
    fn deref(&self) -> &Host {
        &self.host
    }
}

/// A host with a fresh data directory and no extensions, sharing one
/// compile cache across tests so each component compiles once per run.
pub fn bare_host() -> TestHost {
    bare_host_with(|builder| builder)
}

/// Like [`bare_host`], with `configure` applied to the builder.
pub fn bare_host_with(
    configure: impl FnOnce(symphony_host::HostBuilder) -> symphony_host::HostBuilder,
) -> TestHost {
    let home = tempfile::tempdir().expect("a temporary directory");
    let builder = Host::builder()
        .home(home.path())
        .compile_cache(target_dir().join("test-compile-cache"));
    let host = configure(builder).build().expect("the host builds");
    TestHost { host, home }
}

/// A host with every example extension loaded from its manifest, with
/// nothing granted beyond what the manifests ask and the (empty) policy
/// allows.
pub fn host() -> TestHost {
    let host = bare_host();
    host.load_extensions(
        &[components_dir()],
        &symphony_host::extension::ExtensionSetup::default(),
    )
    .expect("the example extensions load");
    host
}

/// Loads the hostile fixture into `host` with `options` and returns the
/// host with its operator handle.
pub fn with_hostile(
    host: TestHost,
    options: symphony_host::extension::LoadOptions,
) -> (TestHost, symphony_host::extension::Operator) {
    host.load_with(fixture("hostile"), options)
        .expect("the hostile fixture loads");
    let op = host.operator("hostile").expect("hostile is an operator");
    (host, op)
}

/// Calls `op` with `input` and an empty node config.
pub fn call(
    op: &symphony_host::extension::Operator,
    input: serde_json::Value,
) -> Result<String, symphony_host::extension::CallError> {
    op.process(
        &symphony_host::extension::NodeConfig::default(),
        &input.to_string(),
    )
}

/// Writes an extension directory `<root>/<name>/` holding a copy of
/// `wasm` and a manifest with `extra` appended, and returns it.
pub fn extension_dir(root: &Path, name: &str, kind: &str, wasm: &Path, extra: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(wasm, dir.join("ext.wasm")).unwrap();
    write_manifest(&dir, name, "1.0.0", kind, extra);
    dir
}

/// Writes `<dir>/symphony.toml` for the component `ext.wasm` beside it.
pub fn write_manifest(dir: &Path, name: &str, version: &str, kind: &str, extra: &str) {
    let manifest = format!(
        "[extension]\nname = \"{name}\"\nversion = \"{version}\"\nkind = \"{kind}\"\n\
         component = \"ext.wasm\"\n{extra}"
    );
    std::fs::write(dir.join("symphony.toml"), manifest).unwrap();
}

/// The report of node `id` in a run's report.
pub fn node_report<'r>(
    report: &'r symphony_host::runs::RunReport,
    id: &str,
) -> &'r symphony_host::runs::NodeReport {
    report
        .nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no node '{id}' in the report"))
}

/// Fails, with the run's error, unless the run completed.
#[track_caller]
pub fn assert_completed(report: &symphony_host::runs::RunReport) {
    assert_eq!(
        report.state,
        symphony_host::runs::ExecutionState::Completed,
        "{:?}",
        report.error
    );
}
