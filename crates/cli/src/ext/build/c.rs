//! C guests: wit-bindgen's C bindings for the world (generated here, from
//! the WIT this binary carries), compiled with the author's sources and
//! `symphony.h` by clang for `wasm32-wasip1` as a reactor, then made a
//! component with the preview-1 adapter of the wasmtime release the host
//! runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, anyhow};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

use super::Job;
use super::toolchain::wasi_sysroot;

/// Builds the component into `stage` and returns its path.
pub(super) fn build(job: &Job<'_>, stage: &Path) -> anyhow::Result<PathBuf> {
    let bindings = stage.join("bindings");
    let generated = generate_bindings(&job.sdks.wit, job.world, job.kind(), &bindings)?;
    let core = stage.join("core.wasm");
    let mut command = Command::new(&job.tool.program);
    // wasi-libc releases before 2023 (Debian 12's) install under the
    // target's old name, wasm32-wasi.
    let sysroot = wasi_sysroot();
    let target = match &sysroot {
        Some(root) if !root.join("lib/wasm32-wasip1").is_dir() => "wasm32-wasi",
        _ => "wasm32-wasip1",
    };
    command.arg(format!("--target={target}"));
    command.args(["-mexec-model=reactor", "-O2", "-Wall"]);
    if let Some(sysroot) = sysroot {
        command.arg(format!("--sysroot={}", sysroot.display()));
    }
    command
        .arg("-I")
        .arg(&bindings)
        .arg("-I")
        .arg(&job.sdks.c)
        .args(&job.manifest.build.sources)
        .args(&generated)
        .arg("-o")
        .arg(&core);
    super::run_step(&mut command, "clang")?;
    let module = std::fs::read(&core).context("reading clang's output")?;
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|e| {
            e.adapter(
                WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(|e| e.encode())
        .map_err(|e| anyhow!("making a component of clang's module: {e:#}"))?;
    let out = stage.join("component.wasm");
    std::fs::write(&out, component).context("writing the component")?;
    Ok(out)
}

/// Writes the world's C bindings, and `symphony_world.h` (which
/// `symphony.h` includes to learn the world), into `dir`; returns the
/// files to compile and link.
fn generate_bindings(
    wit: &Path,
    world: &str,
    kind: &str,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(wit)
        .with_context(|| format!("reading the WIT in {}", wit.display()))?;
    let world_id = resolve.select_world(&[package], Some(world))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world_id, &mut files)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut compile = Vec::new();
    for (name, bytes) in files.iter() {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        if name.ends_with(".c") || name.ends_with(".o") {
            compile.push(path);
        }
    }
    let prefix = world.replace('-', "_");
    std::fs::write(
        dir.join("symphony_world.h"),
        format!(
            "// Written by `symphony ext build`: the world symphony.h wraps.\n\
             #include \"{prefix}.h\"\n\
             #define SYMPHONY_KIND_{} 1\n\
             #define SYMPHONY_W(name) {prefix}_##name\n",
            kind.to_ascii_uppercase()
        ),
    )
    .context("writing symphony_world.h")?;
    // The SDK's implementation, compiled once whatever includes the header.
    let implementation = dir.join("symphony_impl.c");
    std::fs::write(
        &implementation,
        "// Written by `symphony ext build`: symphony.h's implementation.\n\
         #define SYMPHONY_IMPLEMENTATION\n\
         #include \"symphony.h\"\n",
    )
    .context("writing symphony_impl.c")?;
    compile.push(implementation);
    Ok(compile)
}
