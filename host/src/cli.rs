//! Argument parsing, logging and error reporting for the `symphony` binary.

mod bus;
mod ext;
mod run;
mod template;
mod validate;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use symphony_host::{Host, Limits};
use tracing_subscriber::EnvFilter;

/// Symphony: run workflows of WebAssembly component extensions.
#[derive(Debug, Parser)]
#[command(name = "symphony", version, about, long_about = None)]
struct Cli {
    /// Data directory (compile cache, artifacts); default: $SYMPHONY_HOME,
    /// else the platform data directory.
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,

    #[command(flatten)]
    limits: LimitArgs,

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
    /// Run a bus server, or publish, subscribe and request on one.
    #[command(subcommand)]
    Bus(bus::BusCommand),
    /// Work with workflow files.
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand),
    /// Find and instantiate workflow templates.
    #[command(subcommand)]
    Template(template::TemplateCommand),
}

/// Default limits for every extension call; the library's defaults apply
/// where a flag is not given.
#[derive(Debug, clap::Args)]
struct LimitArgs {
    /// Fuel per call (about one unit per WebAssembly instruction).
    #[arg(long, global = true, value_name = "UNITS")]
    fuel: Option<u64>,
    /// Wall-clock deadline per call, in milliseconds.
    #[arg(long = "deadline-ms", global = true, value_name = "MS")]
    deadline_ms: Option<u64>,
    /// Linear memory per instance, in MiB.
    #[arg(long = "memory-mib", global = true, value_name = "MIB")]
    memory_mib: Option<usize>,
}

impl LimitArgs {
    fn apply(&self, mut limits: Limits) -> Limits {
        if let Some(fuel) = self.fuel {
            limits.fuel = fuel;
        }
        if let Some(ms) = self.deadline_ms {
            limits.deadline = std::time::Duration::from_millis(ms);
        }
        if let Some(mib) = self.memory_mib {
            limits.memory = mib.saturating_mul(1 << 20);
        }
        limits
    }
}

/// How to build the host: data directory and default limits.
#[derive(Debug)]
struct HostArgs {
    home: Option<PathBuf>,
    limits: Limits,
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

fn build_host(args: HostArgs) -> anyhow::Result<Host> {
    let mut builder = Host::builder().default_limits(args.limits);
    if let Some(home) = args.home {
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
    let host = HostArgs {
        home: cli.home,
        limits: cli.limits.apply(Limits::default()),
    };
    let result = match cli.command {
        Command::Run(args) => run::run(host, args),
        Command::Validate(args) => validate::run(host, args),
        Command::Ext(command) => ext::run(host, command),
        Command::Bus(command) => bus::run(host, command),
        Command::Workflow(command) => workflow::run(command),
        Command::Template(command) => template::run(host.home, command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
