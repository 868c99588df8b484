//! `symphony validate`.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use symphony_host::{
    Error,
    workflow::{Workflow, WorkflowError},
};

use super::{ExtDirs, HostArgs, build_host};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The workflow file (JSON).
    workflow: PathBuf,
    #[command(flatten)]
    ext: ExtDirs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Layers shown in full before the rest are counted.
const SHOWN_LAYERS: usize = 20;
/// Nodes named per layer before the rest are counted.
const SHOWN_PER_LAYER: usize = 8;

/// The order it runs in, a line per layer (nodes of a layer may run at
/// once), bounded so a big graph stays readable.
fn print_layers(workflow: &Workflow) {
    let (layers, _) = super::workflow::by_layer(workflow);
    for (i, layer) in layers.iter().enumerate().take(SHOWN_LAYERS) {
        let names: Vec<&str> = layer
            .iter()
            .take(SHOWN_PER_LAYER)
            .map(|n| n.id.as_str())
            .collect();
        let more = layer.len() - names.len();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        println!("  layer {:>3}: {}{more}", i + 1, names.join(", "));
    }
    if layers.len() > SHOWN_LAYERS {
        let rest: usize = layers[SHOWN_LAYERS..].iter().map(Vec::len).sum();
        println!(
            "  ... {} more layers, {rest} nodes (`symphony workflow show` draws them all)",
            layers.len() - SHOWN_LAYERS
        );
    }
}

pub fn run(host_args: HostArgs, args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let host = build_host(host_args)?;
    args.ext.load_into(&host)?;
    let workflow = Workflow::from_file(&args.workflow)?;
    match host.validate(&workflow) {
        Ok(plan) => {
            let order: Vec<&str> = plan
                .ordered(&workflow)
                .iter()
                .map(|n| n.id.as_str())
                .collect();
            if args.json {
                println!(
                    "{}",
                    json!({"valid": true, "workflow": workflow.name, "order": order})
                );
            } else {
                println!(
                    "workflow '{}' is valid: {} nodes, {} edges",
                    workflow.name,
                    workflow.nodes.len(),
                    workflow.edges.len(),
                );
                print_layers(&workflow);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Workflow(WorkflowError::Invalid { name, problems })) if args.json => {
            let problems: Vec<_> = problems
                .iter()
                .map(|p| json!({"at": p.at, "message": p.message}))
                .collect();
            println!(
                "{}",
                json!({"valid": false, "workflow": name, "problems": problems})
            );
            Ok(super::exit::Exit::InvalidInput.code())
        }
        Err(e) => Err(e.into()),
    }
}
