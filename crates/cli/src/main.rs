//! The `symphony` command: argument parsing, logging, progress and error
//! reporting over the `symphony_host` library. clap, indicatif and
//! tracing-subscriber are dependencies of this crate only.

mod arbitration;
mod artifacts;
mod audit;
mod bus;
mod control;
mod exit;
mod ext;
mod remote;
mod run;
mod runs;
mod scaffold;
mod schema;
mod sdk;
mod serve;
mod template;
mod validate;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use symphony_host::{
    Host,
    extension::{Capability, ExtensionSetup, Limits, PermissionRequest, Prompt},
};
use tracing_subscriber::EnvFilter;

/// Symphony: run workflows of WebAssembly component extensions.
#[derive(Debug, Parser)]
#[command(
    name = "symphony",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success, 1 failed, 2 usage, 3 a run failed or was cancelled, \
                  65 invalid input, 66 not found, 69 service unavailable, 70 internal error, \
                  74 I/O error, 77 denied. With --json, an error is also printed on stdout as \
                  {\"error\": {\"code\", \"kind\", \"message\"}}."
)]
struct Cli {
    /// Data directory (compile cache, artifacts, runs, the service's
    /// socket); default: $SYMPHONY_HOME, else ~/.local/share/symphony on
    /// Linux (~/Library/Application Support/symphony on macOS).
    #[arg(long, value_name = "DIR")]
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
    /// List recent workflow runs, newest first.
    Runs(runs::RunsArgs),
    /// Show one run: its state, finished nodes and output.
    Status(runs::StatusArgs),
    /// Serve this host on a local socket: runs, events, extensions and
    /// artifacts for other processes (the CLI uses it when it answers).
    Serve(serve::ServeArgs),
    /// Pause a run of the service: running nodes finish, no new one starts.
    Pause(control::RunArg),
    /// Resume a paused run, or continue an interrupted or failed one from
    /// its checkpoint.
    Resume(control::ResumeArgs),
    /// Cancel a run of the service.
    Cancel(control::RunArg),
    /// Follow a run's events live, until it ends.
    Events(control::EventsArgs),
    /// Check a workflow against the extensions it uses.
    Validate(validate::ValidateArgs),
    /// Work with extension components.
    #[command(subcommand)]
    Ext(ext::ExtCommand),
    /// Store, fetch, list, version, diff and verify artifacts.
    #[command(subcommand)]
    Artifacts(artifacts::ArtifactsCommand),
    /// Show the audit log of permission decisions and refused imports.
    Audit(audit::AuditArgs),
    /// What the Arbitration Engine decided: stats (waits, shares,
    /// fairness) and its decision log.
    #[command(subcommand)]
    Arbitration(arbitration::ArbitrationCommand),
    /// Publish, subscribe and request on the service's bus.
    #[command(subcommand)]
    Bus(bus::BusCommand),
    /// Work with workflow files.
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand),
    /// Find and instantiate workflow templates.
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// Print the JSON Schema of a file format (workflow, template, manifest,
    /// retention), for editors and checks.
    Schema(schema::SchemaArgs),
    /// Print a completion script for a shell, e.g.
    /// `symphony completions bash > ~/.local/share/bash-completion/completions/symphony`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Default limits for every extension call; the library's defaults apply
/// where a flag is not given. Only the commands that call extensions take
/// them.
#[derive(Debug, Default, clap::Args)]
struct LimitArgs {
    /// Fuel per call (about one unit per WebAssembly instruction).
    #[arg(long, value_name = "UNITS")]
    fuel: Option<u64>,
    /// Wall-clock deadline per call, in milliseconds.
    #[arg(long = "deadline-ms", value_name = "MS")]
    deadline_ms: Option<u64>,
    /// Linear memory per instance, in MiB.
    #[arg(long = "memory-mib", value_name = "MIB")]
    memory_mib: Option<usize>,
}

impl HostArgs {
    /// The data directory: `--home`, else `$SYMPHONY_HOME`, else the
    /// platform's.
    fn home_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.home {
            Some(home) => Ok(home.clone()),
            None => Ok(symphony_host::default_home()?),
        }
    }
}

impl LimitArgs {
    /// `host` with these limits over its own.
    fn onto(&self, host: HostArgs) -> HostArgs {
        HostArgs {
            limits: self.apply(host.limits),
            ..host
        }
    }

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
    /// `-v` given: also list everything in full (every node of a big run).
    verbose: bool,
}

/// Where to find extensions: `--ext-dir` (repeatable), else `<home>/extensions`.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ExtDirs {
    /// A directory of extensions: each in a subdirectory with its
    /// symphony.toml (or the directory's own), plus bare *.wasm components,
    /// which get no grants; repeatable.
    #[arg(long = "ext-dir", value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Grant an extension a capability it asks for, e.g.
    /// `--grant scraper:net:api.example.com:443`; repeatable.
    #[arg(long = "grant", value_name = "EXT:CAPABILITY")]
    grants: Vec<String>,
}

/// `ext:capability` from `--grant`.
fn parse_grant(text: &str) -> anyhow::Result<(String, Capability)> {
    let (name, capability) = text.split_once(':').with_context(|| {
        format!("--grant {text}: expected EXT:CAPABILITY, e.g. scraper:net:api.example.com:443")
    })?;
    let capability: Capability = capability
        .parse()
        .with_context(|| format!("--grant {text}"))?;
    Ok((name.to_string(), capability))
}

/// Asks on the terminal; with no terminal the question is refused (and
/// the warning says how to grant it).
struct TerminalPrompt;

impl TerminalPrompt {
    fn available() -> bool {
        use std::io::IsTerminal;
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }
}

impl Prompt for TerminalPrompt {
    fn ask(&self, request: &PermissionRequest) -> bool {
        use std::io::{BufRead, Write};
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "{}. Allow? [y/N] ", request.question());
        let _ = stderr.flush();
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return false;
        }
        matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
    }
}

impl ExtDirs {
    /// Whether no directory and no grant was given.
    pub(crate) fn is_empty(&self) -> bool {
        self.dirs.is_empty() && self.grants.is_empty()
    }

    pub(crate) fn load_into(&self, host: &Host) -> anyhow::Result<()> {
        let default = host.home().join("extensions");
        let dirs = if self.dirs.is_empty() {
            Vec::from_iter(Some(default).filter(|d| d.is_dir()))
        } else {
            self.dirs.clone()
        };
        let grants = self
            .grants
            .iter()
            .map(|text| parse_grant(text))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let prompt = TerminalPrompt;
        let setup = ExtensionSetup {
            grants,
            prompt: TerminalPrompt::available().then_some(&prompt as &dyn Prompt),
        };
        let report = host.load_extensions(&dirs, &setup).with_context(|| {
            let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            format!("loading extensions from {}", dirs.join(", "))
        })?;
        for loaded in &report.loaded {
            for denial in &loaded.denied {
                eprintln!("warning: {} {denial}", loaded.name);
            }
        }
        for note in &report.notes {
            eprintln!("note: {note}");
        }
        for (name, reason) in &report.failed {
            eprintln!("warning: {name} failed to activate and takes no calls: {reason}");
        }
        // Extensions that could not be loaded were warned about as the
        // host logs (and are listed by `ext list`).
        Ok(())
    }
}

/// `symphony resume RUN`: on the service when one answers, else here.
fn resume(host: HostArgs, args: control::ResumeArgs) -> anyhow::Result<ExitCode> {
    match args.connect.service(&host)? {
        Some(client) => control::resume(&client, &args),
        None => run::embedded(host, args.into_run_args()),
    }
}

/// The commands that never touch the data directory: they take no
/// `--home`.
const WITHOUT_HOME: [&str; 3] = ["workflow", "schema", "completions"];

/// The command line: the derived one, with `--home` offered by every
/// subcommand that uses the data directory (and by their own subcommands),
/// and by no other.
fn command() -> clap::Command {
    let command = Cli::command();
    let home = command
        .get_arguments()
        .find(|arg| arg.get_id() == "home")
        .cloned()
        .expect("Cli defines --home")
        .global(true);
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|name| !WITHOUT_HOME.contains(&name.as_str()))
        .collect();
    names.iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| sub.arg(home.clone()))
    })
}

/// `--home` wherever it was given, the innermost winning.
fn home_from(matches: &clap::ArgMatches) -> Option<PathBuf> {
    let mut home = matches.get_one::<PathBuf>("home").cloned();
    let mut current = matches;
    while let Some((_, sub)) = current.subcommand() {
        if let Ok(Some(found)) = sub.try_get_one::<PathBuf>("home") {
            home = Some(found.clone());
        }
        current = sub;
    }
    home
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
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour(std::io::stderr().is_terminal()))
        .with_target(false)
        .init();
}

/// Whether logs carry colour codes: where a person reads them (a
/// terminal), not in a log file or pipe, unless `CLICOLOR_FORCE` asks for
/// them; `NO_COLOR` turns them off whatever else is set
/// (<https://no-color.org>, <https://bixense.com/clicolors/>).
fn colour(terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    terminal || set("CLICOLOR_FORCE")
}

/// The error and its causes on one line, each cause once: many errors
/// already include their cause in their own message (`cannot read X: No
/// such file`), and printing the chain would say it twice.
fn describe(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`symphony runs
    // | head -1`) fails every write and `println!` panics. A command-line
    // tool should end quietly there, as `cat` and `grep` do: restore the
    // default action.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists;
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A bug should still end in one readable line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in symphony: {info}");
        std::process::exit(exit::Exit::Internal as i32);
    }));
    let matches = command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    cli.home = home_from(&matches);
    init_logging(cli.verbose);
    let host = HostArgs {
        home: cli.home,
        limits: Limits::default(),
        verbose: cli.verbose > 0,
    };
    let result = match cli.command {
        Command::Run(args) => run::run(host, args),
        Command::Runs(args) => runs::list(host, args),
        Command::Status(args) => runs::status(host, args),
        Command::Serve(args) => serve::run(host, args),
        Command::Pause(args) => control::pause(host, args),
        Command::Cancel(args) => control::cancel(host, args),
        Command::Resume(args) => resume(host, args),
        Command::Events(args) => control::events(host, args),
        Command::Validate(args) => validate::run(host, args),
        Command::Ext(command) => ext::run(host, command),
        Command::Artifacts(command) => artifacts::run(host, command),
        Command::Audit(args) => audit::run(host, args),
        Command::Arbitration(command) => arbitration::run(host, command),
        Command::Bus(command) => bus::run(host, command),
        Command::Workflow(command) => workflow::run(command),
        Command::Template(command) => template::run(host.home, command),
        Command::Schema(args) => schema::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "symphony", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            let exit = exit::Exit::of(&error);
            let message = describe(&error);
            eprintln!("error: {message}");
            // A failed run's report is already the JSON document on stdout.
            if exit::json_requested() && exit != exit::Exit::RunFailed {
                println!("{}", exit::to_json(exit, &message));
            }
            exit.code()
        }
    }
}
