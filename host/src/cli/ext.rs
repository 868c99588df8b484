//! `symphony ext ...`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use symphony_host::{Capability, MANIFEST_FILE, Manifest};

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
}

pub fn run(host_args: HostArgs, command: ExtCommand) -> anyhow::Result<ExitCode> {
    match command {
        ExtCommand::Permissions { manifest, json } => {
            let path = if manifest.is_dir() {
                manifest.join(MANIFEST_FILE)
            } else {
                manifest
            };
            let manifest = Manifest::from_file(&path)?;
            let asks: Vec<String> = manifest
                .capabilities
                .items()
                .iter()
                .map(Capability::describe)
                .collect();
            if json {
                let items: Vec<_> = manifest
                    .capabilities
                    .items()
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
                    println!("  - {ask}");
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
