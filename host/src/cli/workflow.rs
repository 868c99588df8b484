//! `symphony workflow`: work with workflow files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use symphony_host::{Format, Workflow};

#[derive(Debug, clap::Subcommand)]
pub enum WorkflowCommand {
    /// Rewrite a workflow file (any schema version, JSON or msgpack) in the
    /// current schema version and the format asked for.
    Convert {
        /// The workflow file.
        file: PathBuf,
        /// The format to write.
        #[arg(long, value_enum)]
        to: FormatArg,
        /// Where to write; default: FILE with the format's extension.
        #[arg(short, long, value_name = "OUT")]
        out: Option<PathBuf>,
    },
}

/// A workflow file format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Indented JSON (`.json`).
    Json,
    /// msgpack with field names (`.msgpack`).
    Msgpack,
}

pub fn run(command: WorkflowCommand) -> anyhow::Result<ExitCode> {
    match command {
        WorkflowCommand::Convert { file, to, out } => {
            let workflow = Workflow::from_file(&file)?;
            let (format, extension) = match to {
                FormatArg::Json => (Format::Json, "json"),
                FormatArg::Msgpack => (Format::Msgpack, "msgpack"),
            };
            let out = out.unwrap_or_else(|| file.with_extension(extension));
            if out == file {
                anyhow::bail!("{} would overwrite the input; pass --out", out.display());
            }
            let bytes = workflow.to_bytes(format);
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote {} ({} bytes, schema version {})",
                out.display(),
                bytes.len(),
                workflow.schema_version
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
