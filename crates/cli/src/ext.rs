//! `symphony ext ...`.

pub(crate) mod build;
mod dev;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use symphony_host::extension::{MANIFEST_FILE, Manifest, MetricsSnapshot};

use super::run::RunSetup;
use super::{HostArgs, build_host};

#[derive(Debug, Subcommand)]
pub enum ExtCommand {
    /// Show a component's world, imports and exports (and, given an
    /// extension's directory, its manifest and the node config it takes).
    Inspect {
        /// The component file (*.wasm), or an extension's directory or
        /// symphony.toml (then its manifest and node config are shown too).
        component: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Say in plain words what an extension's manifest asks to do.
    Permissions {
        /// The extension's symphony.toml, or the directory holding it.
        manifest: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a workflow once and show each extension's metrics: calls,
    /// errors, refused imports, fuel, memory high-water mark and latency.
    ///
    /// Metrics live in one process, so this loads the extensions, runs the
    /// workflow and reports what the run did, e.g.
    /// `symphony ext stats --workflow demo.json --input '"some text"' --ext-dir DIR`.
    Stats(StatsArgs),
    /// Create a new extension, ready to build and load.
    ///
    /// Writes NAME/symphony.toml and a small working extension with unit
    /// tests: Cargo.toml and src/lib.rs, or with --lang app.py, app.js or
    /// extension.c, e.g. `symphony ext new --kind operator --lang python
    /// word-count`.
    New(super::scaffold::NewArgs),
    /// List the extensions with their version, lifecycle state and crash
    /// counts, and why any failed.
    ///
    /// With --workflow, runs it first, so the counts show what the run did.
    List(ListArgs),
    /// Build an extension's component from its sources: Rust, Python,
    /// JavaScript or C.
    ///
    /// The manifest's [build] table names the language (rust by default)
    /// and sources, e.g. `symphony ext build ./shout`. A missing toolchain
    /// is reported with the command that installs it. Builds other than
    /// Cargo's are cached by a hash of their sources and toolchain.
    Build(build::BuildArgs),
    /// Develop an extension: build it, load it into the service (or, with
    /// none, into this process), and rebuild and reload it on every source
    /// change, printing what changed, e.g. `symphony ext dev ./shout
    /// --workflow try.json --input '"hi"'`. A build or load that fails
    /// leaves the last good version serving.
    Dev(dev::DevArgs),
    /// Load the extensions and reload each one whenever its component or
    /// manifest changes, until interrupted: calls in flight finish on the
    /// old version, and a version that fails to load leaves the old one
    /// serving.
    Watch {
        #[command(flatten)]
        ext: super::ExtDirs,
        /// Print each reload as one line of JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// A workflow to run before listing (JSON).
    #[arg(long, value_name = "FILE")]
    workflow: Option<PathBuf>,
    #[command(flatten)]
    setup: RunSetup,
    /// Print the list as JSON, with each extension's lifecycle history.
    #[arg(long)]
    json: bool,
}

/// `symphony ext list`.
fn list(host_args: HostArgs, args: ListArgs) -> anyhow::Result<ExitCode> {
    let host = match &args.workflow {
        Some(workflow) => {
            let (host, workflow, input) = args.setup.prepare(host_args, workflow)?;
            let report = host.run(&workflow, &input)?;
            if let Some(error) = report.error {
                eprintln!("warning: the run failed: {error}");
            }
            host
        }
        None => args.setup.load(host_args)?,
    };
    let extensions = host.extensions();
    let not_loaded = host.load_failures();
    if args.json {
        let mut list = serde_json::to_value(&extensions)?;
        if let Some(list) = list.as_array_mut() {
            // An extension that could not be loaded is listed as failed,
            // with why and the file at fault.
            list.extend(not_loaded.iter().map(|failure| {
                json!({
                    "name": failure.name,
                    "kind": failure.kind,
                    "version": failure.version,
                    "path": failure.path,
                    "state": "failed",
                    "loaded": false,
                    "last_error": format!("failed to load: {}", failure.reason),
                })
            }));
        }
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<20} {:<10} {:<10} {:<9} {:>8} {:>7}",
        "extension", "version", "kind", "state", "failures", "recent"
    );
    for ext in &extensions {
        let version = ext.version.as_ref().map_or("-".into(), ToString::to_string);
        println!(
            "{:<20} {:<10} {:<10} {:<9} {:>8} {:>7}",
            ext.name,
            version,
            ext.kind.as_str(),
            ext.state.as_str(),
            ext.failures,
            ext.recent_failures
        );
    }
    for failure in &not_loaded {
        let version = failure
            .version
            .as_ref()
            .map_or("-".into(), ToString::to_string);
        let kind = failure.kind.map_or("-", |k| k.as_str());
        println!(
            "{:<20} {:<10} {:<10} {:<9} {:>8} {:>7}",
            failure.name, version, kind, "failed", "-", "-"
        );
    }
    for ext in &extensions {
        if let Some(error) = &ext.last_error {
            println!("{}: {error}", ext.name);
        }
    }
    for failure in &not_loaded {
        println!(
            "{}: failed to load ({}): {}",
            failure.name,
            failure.path.display(),
            failure.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `symphony ext watch`: serves until interrupted.
fn watch(host_args: HostArgs, ext: &super::ExtDirs, json: bool) -> anyhow::Result<ExitCode> {
    let host = super::build_host(host_args)?;
    ext.load_into(&host)?;
    let names: Vec<String> = host.extensions().into_iter().map(|e| e.name).collect();
    if names.is_empty() {
        anyhow::bail!("no extensions to watch: pass --ext-dir DIR");
    }
    let _watcher = host.watch(move |event| {
        if json {
            let line = match &event.result {
                Ok(report) => json!({"extension": event.name, "ok": true, "report": report}),
                Err(error) => json!({"extension": event.name, "ok": false, "error": error}),
            };
            println!("{line}");
            return;
        }
        match &event.result {
            Ok(report) => {
                let version = |v: &Option<semver::Version>, hash: &str| {
                    v.as_ref().map_or_else(
                        || hash.get(..12).unwrap_or(hash).to_string(),
                        ToString::to_string,
                    )
                };
                let state = report.state_bytes.map_or(String::new(), |n| {
                    format!(", {n} bytes of state handed over")
                });
                println!(
                    "reloaded {}: {} -> {}{state}",
                    event.name,
                    version(&report.from_version, &report.from_sha256),
                    version(&report.to_version, &report.to_sha256),
                );
                for denial in &report.denied {
                    println!("  {} {denial}", event.name);
                }
            }
            Err(error) => println!("{error}"),
        }
    })?;
    eprintln!("watching {} for changes (Ctrl-C to stop)", names.join(", "));
    loop {
        std::thread::park();
    }
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The workflow to run (JSON).
    #[arg(long, value_name = "FILE")]
    workflow: PathBuf,
    #[command(flatten)]
    setup: RunSetup,
    /// Print the metrics as JSON: the run's state and error, and every
    /// extension's full snapshot (with its latency histogram).
    #[arg(long)]
    json: bool,
}

/// `symphony ext stats`: prints the metrics even when the run fails (they
/// say why), then fails with the run's error.
fn stats(host_args: HostArgs, args: StatsArgs) -> anyhow::Result<ExitCode> {
    let (host, workflow, input) = args.setup.prepare(host_args, &args.workflow)?;
    let report = host.run(&workflow, &input)?;
    host.shutdown();
    let metrics = host.all_metrics();

    if args.json {
        let extensions: serde_json::Map<String, serde_json::Value> = metrics
            .iter()
            .map(|(name, m)| Ok((name.clone(), serde_json::to_value(m)?)))
            .collect::<serde_json::Result<_>>()?;
        let value = json!({
            "workflow": report.workflow,
            "state": report.state,
            "error": report.error,
            "extensions": extensions,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "{:<20} {:>6} {:>6} {:>7} {:>14} {:>10} {:>9} {:>9} {:>9}",
            "extension", "calls", "errors", "denials", "fuel", "memory", "p50", "p90", "p99"
        );
        for (name, m) in &metrics {
            println!("{}", stats_line(name, m));
        }
        for (name, m) in &metrics {
            if let Some(kinds) = error_kinds(m) {
                println!("{name} errors: {kinds}");
            }
        }
    }
    match report.error {
        Some(error) => anyhow::bail!("{error}"),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn stats_line(name: &str, m: &MetricsSnapshot) -> String {
    format!(
        "{name:<20} {:>6} {:>6} {:>7} {:>14} {:>10} {:>9} {:>9} {:>9}",
        m.calls,
        m.errors.total(),
        m.denials,
        m.fuel_used,
        mebibytes(m.memory_high_water),
        duration(m.latency.p50_us),
        duration(m.latency.p90_us),
        duration(m.latency.p99_us),
    )
}

/// `guest 1, trap 2`: the kinds with failed calls, if any.
fn error_kinds(m: &MetricsSnapshot) -> Option<String> {
    let kinds: Vec<String> = (m.errors.by_kind().into_iter())
        .filter(|&(_, n)| n > 0)
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    (!kinds.is_empty()).then(|| kinds.join(", "))
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

fn duration(micros: u64) -> String {
    match micros {
        0..1_000 => format!("{micros} µs"),
        1_000..1_000_000 => format!("{:.2} ms", micros as f64 / 1e3),
        _ => format!("{:.2} s", micros as f64 / 1e6),
    }
}

/// The node config an extension takes, a line per key: what a workflow
/// node's `config` may hold.
/// The manifest at `path`, or in the directory `path`.
fn read_manifest(path: &std::path::Path) -> anyhow::Result<Manifest> {
    let path = if path.is_dir() {
        path.join(MANIFEST_FILE)
    } else {
        path.to_path_buf()
    };
    Ok(Manifest::from_file(&path)?)
}

/// The node config an extension takes, as JSON: each key's parameter and
/// whether it is secret.
fn config_json(schema: &symphony_host::extension::ConfigSchema) -> serde_json::Value {
    let keys: serde_json::Map<String, serde_json::Value> = schema
        .keys
        .iter()
        .map(|(key, def)| {
            let mut value = serde_json::to_value(&def.parameter).unwrap_or_default();
            value["secret"] = json!(def.secret);
            (key.clone(), value)
        })
        .collect();
    serde_json::Value::Object(keys)
}

fn print_config(schema: &symphony_host::extension::ConfigSchema) {
    if schema.is_empty() {
        println!("It takes no node config.");
        return;
    }
    println!("Node config (a workflow node's \"config\"):");
    for (key, def) in &schema.keys {
        let p = &def.parameter;
        let need = match (&p.default, p.required) {
            (Some(default), _) => format!("default {default}"),
            (None, true) => "required".to_string(),
            (None, false) => "optional".to_string(),
        };
        let secret = if def.secret { ", secret" } else { "" };
        let about = p
            .description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        println!("  - {key} ({}, {need}{secret}){about}", p.kind);
    }
}

pub fn run(host_args: HostArgs, command: ExtCommand) -> anyhow::Result<ExitCode> {
    match command {
        ExtCommand::Stats(args) => stats(host_args, args),
        ExtCommand::New(args) => super::scaffold::run(&host_args.home_dir()?, args),
        ExtCommand::List(args) => list(host_args, args),
        ExtCommand::Watch { ext, json } => watch(host_args, &ext, json),
        ExtCommand::Dev(args) => dev::run(host_args, args),
        ExtCommand::Build(args) => build::run(&host_args.home_dir()?, args),
        ExtCommand::Permissions { manifest, json } => {
            let manifest = read_manifest(&manifest)?;
            let asks = manifest.capabilities.items();
            if json {
                let items: Vec<_> = asks
                    .iter()
                    .map(|c| json!({"capability": c.to_string(), "description": c.describe()}))
                    .collect();
                let value = json!({
                    "name": manifest.name,
                    "version": manifest.version.to_string(),
                    "kind": manifest.kind.as_str(),
                    "capabilities": items,
                    "config": config_json(&manifest.config),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(ExitCode::SUCCESS);
            }
            let who = format!("{} {} ({})", manifest.name, manifest.version, manifest.kind);
            if asks.is_empty() {
                println!("{who} asks for nothing: it computes on its input and its node config.");
            } else {
                println!("{who} asks to:");
                for ask in asks {
                    println!("  - {}", ask.describe());
                }
            }
            print_config(&manifest.config);
            Ok(ExitCode::SUCCESS)
        }
        ExtCommand::Inspect { component, json } => {
            let manifest = if component.is_dir() || component.ends_with(MANIFEST_FILE) {
                Some(read_manifest(&component)?)
            } else {
                None
            };
            let component = manifest.as_ref().map_or(component, |m| m.component.clone());
            let host = build_host(host_args)?;
            let info = host.inspect(&component)?;
            if json {
                let mut value = serde_json::to_value(&info)?;
                value["world"] = json!(info.world());
                value["wasi"] = json!(info.wasi_version().map(|v| v.to_string()));
                if let Some(manifest) = &manifest {
                    value["manifest"] = json!({
                        "name": manifest.name,
                        "version": manifest.version.to_string(),
                        "kind": manifest.kind.as_str(),
                    });
                    value["config"] = config_json(&manifest.config);
                }
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(manifest) = &manifest {
                println!(
                    "extension: {} {} ({})",
                    manifest.name, manifest.version, manifest.kind
                );
            }
            println!("component: {}", component.display());
            match (info.world(), info.kind) {
                (Some(world), Some(kind)) => println!("world:     {world} ({kind})"),
                _ => println!(
                    "world:     none (not a Symphony extension: it exports no extension world)"
                ),
            }
            if let Some(wasi) = info.wasi_version() {
                println!("wasi:      {wasi}");
            }
            if !info.producers.is_empty() {
                let tools: Vec<String> = info
                    .producers
                    .iter()
                    .map(|p| format!("{} {}", p.name, p.version).trim_end().to_string())
                    .collect();
                println!("built by:  {}", tools.join(", "));
            }
            for (title, items) in [("imports", &info.imports), ("exports", &info.exports)] {
                println!("{title}:");
                for item in items {
                    if item.functions.is_empty() {
                        println!("  {} ({})", item.name, item.item);
                    } else {
                        println!("  {}: {}", item.name, item.functions.join(", "));
                    }
                }
            }
            if let Some(manifest) = &manifest {
                print_config(&manifest.config);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
