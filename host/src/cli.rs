//! Argument parsing, logging and error reporting for the `symphony` binary.

mod ext;
mod run;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use symphony_host::Host;
use tracing_subscriber::EnvFilter;

/// Symphony: run workflows of WebAssembly component extensions.
#[derive(Debug, Parser)]
#[command(name = "symphony", version, about, long_about = None)]
struct Cli {
    /// Data directory (compile cache, artifacts); default: $SYMPHONY_HOME,
    /// else the platform data directory.
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,

    /// More log output (-v: debug, -vv: trace). SYMPHONY_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a workflow and print its output, node timings and addon views.
    Run(run::RunArgs),
    /// Check a workflow against the extensions it uses.
    Validate(validate::ValidateArgs),
    /// Work with extension components.
    #[command(subcommand)]
    Ext(ext::ExtCommand),
}

/// Where to find extensions: `--ext-dir` (repeatable), else `<home>/extensions`.
#[derive(Debug, clap::Args)]
struct ExtDirs {
    /// A directory of extension components (*.wasm); repeatable.
    #[arg(long = "ext-dir", value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

impl ExtDirs {
    fn load_into(&self, host: &Host) -> anyhow::Result<()> {
        let default = host.home().join("extensions");
        let dirs = if self.dirs.is_empty() {
            Vec::from_iter(Some(default).filter(|d| d.is_dir()))
        } else {
            self.dirs.clone()
        };
        for dir in dirs {
            host.load_dir(&dir)
                .with_context(|| format!("loading extensions from {}", dir.display()))?;
        }
        Ok(())
    }
}

fn build_host(home: Option<PathBuf>) -> anyhow::Result<Host> {
    let mut builder = Host::builder();
    if let Some(home) = home {
        builder = builder.home(home);
    }
    Ok(builder.build()?)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,symphony::guest=info",
        1 => "debug,cranelift_codegen=info,wasmtime=info",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_env("SYMPHONY_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

pub fn main() -> ExitCode {
    // A bug should still end in one readable line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in symphony: {info}");
    }));
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => run::run(cli.home, args),
        Command::Validate(args) => validate::run(cli.home, args),
        Command::Ext(command) => ext::run(cli.home, command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
