//! Shared pieces of the criterion benches: component paths, a raw wasmtime
//! baseline of the operator world, and the `compare` line every bench prints
//! (`ARCHITECTURE.md` §6):
//!
//! ```text
//! compare <name>: ours=<value> <unit> baseline=<value> <unit> ratio=<ours/baseline>
//! ```

use std::path::{Path, PathBuf};

use criterion::Criterion;

pub mod raw;

/// The cargo target directory this bench binary was built in.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench binary has a path");
    exe.ancestors()
        .nth(3)
        .expect("bench binary is under <target>/<profile>/deps")
        .to_path_buf()
}

/// An example component built by `cargo xtask build-examples`.
pub fn component(name: &str) -> PathBuf {
    let dir = std::env::var_os("SYMPHONY_COMPONENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("components"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask bench`",
        path.display()
    );
    path
}

/// Where criterion keeps its results, so `compare` can read them back.
fn output_dir() -> PathBuf {
    target_dir().join("criterion")
}

/// A criterion configured for these benches: results under the target dir,
/// short runs unless the command line asks for more.
pub fn criterion() -> Criterion {
    Criterion::default()
        .output_directory(&output_dir())
        .configure_from_args()
}

/// The median of a finished benchmark, in nanoseconds.
fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path: &Path = &output_dir()
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
}

/// Prints the `compare` line for `group`'s `ours` and `baseline` functions.
pub fn compare(name: &str, group: &str) {
    match (median_ns(group, "ours"), median_ns(group, "baseline")) {
        (Some(ours), Some(baseline)) => {
            let (scale, unit) = if baseline >= 1e6 {
                (1e6, "ms")
            } else if baseline >= 1e3 {
                (1e3, "us")
            } else {
                (1.0, "ns")
            };
            println!(
                "compare {name}: ours={:.3} {unit} baseline={:.3} {unit} ratio={:.3}",
                ours / scale,
                baseline / scale,
                ours / baseline
            );
        }
        _ => println!("compare {name}: not measured (filtered out)"),
    }
}
