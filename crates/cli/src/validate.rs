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
                    "workflow '{}' is valid: {} nodes, {} edges; runs {}",
                    workflow.name,
                    workflow.nodes.len(),
                    workflow.edges.len(),
                    order.join(" -> ")
                );
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
