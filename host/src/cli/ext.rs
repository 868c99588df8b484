//! `symphony ext ...`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

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
}

pub fn run(host_args: HostArgs, command: ExtCommand) -> anyhow::Result<ExitCode> {
    match command {
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
