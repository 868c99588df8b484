//! The guest toolchains the examples and tests build Python, JavaScript and
//! C extensions with, installed once, pinned, into the tools directory
//! (`symphony ext build` looks there first): componentize-py in a
//! virtualenv, componentize-js with npm, and Debian's clang, lld and
//! wasi-libc with apt-get.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::run;

/// The componentize-py release (PyPI); `symphony ext build` names the same.
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// The componentize-js release (npm); `symphony ext build` names the same.
pub const COMPONENTIZE_JS: &str = "0.23.0";
/// The clang, lld and compiler-rt major version (Debian packages).
pub const CLANG: &str = "19";

/// Installs whichever toolchain is missing or at another version.
pub fn install(tools: &Path) -> Result<()> {
    python(tools)?;
    js(tools)?;
    c()
}

/// Whether `program --version` runs and prints `version`.
fn has_version(program: &Path, version: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(version))
}

fn python(tools: &Path) -> Result<()> {
    let venv = tools.join("python");
    if has_version(&venv.join("bin/componentize-py"), COMPONENTIZE_PY) {
        return Ok(());
    }
    eprintln!(
        "xtask: installing componentize-py {COMPONENTIZE_PY} into {}",
        venv.display()
    );
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .with_context(|| format!("removing the stale {}", venv.display()))?;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
        .context("creating the virtualenv for componentize-py (needs python3 with venv)")?;
    run(Command::new(venv.join("bin/python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("componentize-py=={COMPONENTIZE_PY}"),
    ]))
}

fn js(tools: &Path) -> Result<()> {
    let dir = tools.join("js");
    if has_version(
        &dir.join("node_modules/.bin/componentize-js"),
        COMPONENTIZE_JS,
    ) {
        return Ok(());
    }
    eprintln!(
        "xtask: installing componentize-js {COMPONENTIZE_JS} into {}",
        dir.display()
    );
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // A package.json of its own, so npm installs here and not in a parent.
    let package = dir.join("package.json");
    if !package.is_file() {
        std::fs::write(
            &package,
            "{\"name\": \"symphony-guest-tools\", \"private\": true}\n",
        )?;
    }
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--save-exact"])
        .arg(format!(
            "@bytecodealliance/componentize-js@{COMPONENTIZE_JS}"
        ))
        .current_dir(&dir))
    .context("installing componentize-js (needs Node.js 20 and npm)")
}

/// The Debian packages C guests need.
fn c_packages() -> [String; 4] {
    [
        format!("clang-{CLANG}"),
        format!("lld-{CLANG}"),
        format!("libclang-rt-{CLANG}-dev-wasm32"),
        "wasi-libc".to_string(),
    ]
}

fn c() -> Result<()> {
    let clang = format!("clang-{CLANG}");
    let builtins =
        format!("/usr/lib/llvm-{CLANG}/lib/clang/{CLANG}/lib/wasi/libclang_rt.builtins-wasm32.a");
    let present = Command::new(&clang)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Path::new("/usr/lib/wasm32-wasi/libc.a").is_file()
        && Path::new(&builtins).is_file()
        && Path::new(&format!("/usr/bin/wasm-ld-{CLANG}")).is_file();
    if present {
        return Ok(());
    }
    let packages = c_packages();
    if let Err(error) = apt_install(&packages) {
        bail!(
            "{error:#}\nC guests need {}: install them (`apt-get install {}`) and run again",
            packages.join(", "),
            packages.join(" ")
        );
    }
    Ok(())
}

/// Debian's nats-server, the baseline of the bus's throughput bench.
pub fn nats_server() -> Result<std::path::PathBuf> {
    debian_tool(
        "nats-server",
        "--version",
        "the bus bench measures nats-server alongside",
    )
}

/// Debian's restic, the baseline of the encrypted artifact ingest.
pub fn restic() -> Result<std::path::PathBuf> {
    debian_tool(
        "restic",
        "version",
        "the artifact bench measures restic alongside",
    )
}

/// The Debian package `name`'s program of the same name (found when it
/// answers `version_arg`), installed first if it is missing (`why` says
/// what needs it).
fn debian_tool(name: &str, version_arg: &str, why: &str) -> Result<std::path::PathBuf> {
    // Debian puts servers in /usr/sbin.
    let found = || {
        ["/usr/sbin", "/usr/bin"]
            .into_iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| {
                Command::new(p)
                    .arg(version_arg)
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
    };
    if let Some(program) = found() {
        return Ok(program);
    }
    apt_install(&[name.to_string()])
        .with_context(|| format!("{why}; install it (`apt-get install {name}`) and run again"))?;
    found().with_context(|| format!("{name} was installed but is not in /usr/sbin or /usr/bin"))
}

/// Installs Debian `packages` with apt-get: as root (CI) directly, else
/// through sudo without a prompt.
fn apt_install(packages: &[String]) -> Result<()> {
    eprintln!("xtask: installing {} with apt-get", packages.join(" "));
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update", "-q"])).and_then(|()| {
        let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
        install.args(packages);
        run(&mut install)
    })
}
