//! `symphony ext ...`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use symphony_host::{MANIFEST_FILE, Manifest, MetricsSnapshot};

use super::run::RunSetup;
use super::{HostArgs, build_host};

#[derive(Debug, Subcommand)]
pub enum ExtCommand {
    /// Show a component's world, imports and exports.
    Inspect {
        /// The component file (*.wasm).
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

pub fn run(host_args: HostArgs, command: ExtCommand) -> anyhow::Result<ExitCode> {
    match command {
        ExtCommand::Stats(args) => stats(host_args, args),
        ExtCommand::Permissions { manifest, json } => {
            let path = if manifest.is_dir() {
                manifest.join(MANIFEST_FILE)
            } else {
                manifest
            };
            let manifest = Manifest::from_file(&path)?;
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
            Ok(ExitCode::SUCCESS)
        }
        ExtCommand::Inspect { component, json } => {
            let host = build_host(host_args)?;
            let info = host.inspect(&component)?;
            if json {
                let mut value = serde_json::to_value(&info)?;
                value["world"] = json!(info.world());
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("component: {}", component.display());
            match (info.world(), info.kind) {
                (Some(world), Some(kind)) => println!("world:     {world} ({kind})"),
                _ => println!(
                    "world:     none (not a Symphony extension: it exports no extension world)"
                ),
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
            Ok(ExitCode::SUCCESS)
        }
    }
}
