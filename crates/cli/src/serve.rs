//! `symphony serve`: the host as a long-running service.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use signal_hook::consts::{SIGINT, SIGTERM};
use symphony_host::Host;
use symphony_host::artifacts::stale::RetentionPolicy;
use symphony_service::{Daemon, DaemonOptions};

use super::{ExtDirs, HostArgs, LimitArgs};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The socket to serve on; default: $SYMPHONY_BUS, else run/bus.sock
    /// in the data directory. Its directory is made private (0700).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    #[command(flatten)]
    ext: ExtDirs,
    #[command(flatten)]
    limits: LimitArgs,
    /// The most nodes of one run running at once; default: the number of
    /// cores.
    #[arg(long, value_name = "N")]
    concurrency: Option<NonZeroUsize>,
    /// Members of this group (a numeric gid) may use the service too; the
    /// socket's directory becomes 0750 and the socket 0660.
    #[arg(long, value_name = "GID")]
    allow_group: Option<u32>,
    /// On SIGTERM or SIGINT, how long running nodes may take to finish
    /// before the service exits, in milliseconds.
    #[arg(long = "drain-ms", value_name = "MS", default_value_t = 10_000)]
    drain_ms: u64,
    /// Heartbeat interval in milliseconds (default: the library's, 20).
    #[arg(long = "heartbeat-ms")]
    heartbeat_ms: Option<u64>,
    /// A peer silent this long (milliseconds) is declared down
    /// (default: the library's, 75).
    #[arg(long = "peer-timeout-ms")]
    peer_timeout_ms: Option<u64>,
    /// Messages that may wait for one peer before its publishers wait for
    /// room (the oldest is dropped instead once it takes nothing for 250
    /// ms) (default: the library's, 8192).
    #[arg(long = "peer-queue")]
    peer_queue: Option<usize>,
}

pub fn run(host_args: HostArgs, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let host_args = args.limits.onto(host_args);
    // Registered before anything slow, so a signal during start-up drains
    // too instead of killing the process.
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])
        .context("installing the SIGTERM and SIGINT handlers")?;
    let socket = super::remote::socket(&host_args, args.socket.as_ref())?;
    let mut builder = Host::builder().default_limits(host_args.limits);
    if let Some(home) = &host_args.home {
        builder = builder.home(home);
    }
    let home = host_args.home_dir()?;
    let retention = home.join("retention.toml");
    if retention.is_file() {
        builder = builder.retention(RetentionPolicy::from_file(&retention)?);
    }
    let host = builder.build()?;
    args.ext.load_into(&host)?;
    let mut options = DaemonOptions::new(&socket);
    options.allow_group = args.allow_group;
    options.concurrency = args.concurrency;
    if let Some(ms) = args.heartbeat_ms {
        options.server.heartbeat = Duration::from_millis(ms);
    }
    if let Some(ms) = args.peer_timeout_ms {
        options.server.peer_timeout = Duration::from_millis(ms);
    }
    if let Some(n) = args.peer_queue {
        options.server.peer_queue = n;
    }
    let extensions = host.extensions().len();
    let daemon = Daemon::start(host, options)?;
    eprintln!(
        "symphony service listening on {} ({extensions} extensions; pid {})",
        socket.display(),
        std::process::id()
    );
    let signal = signals.forever().next();
    // A second signal while draining means "now": exit at once, leaving
    // runs to resume as after a crash.
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            eprintln!("symphony service: second signal, exiting without draining");
            std::process::exit(130);
        }
    });
    eprintln!(
        "symphony service: {} received, draining (up to {} ms)",
        match signal {
            Some(SIGINT) => "SIGINT",
            _ => "SIGTERM",
        },
        args.drain_ms
    );
    let report = daemon.shutdown(Duration::from_millis(args.drain_ms));
    for run in &report.interrupted {
        eprintln!("symphony service: run {run} paused; `symphony resume {run}` continues it");
    }
    if report.abandoned_nodes > 0 {
        eprintln!(
            "symphony service: {} node(s) still running at the deadline run again on resume",
            report.abandoned_nodes
        );
    }
    eprintln!("symphony service stopped");
    Ok(ExitCode::SUCCESS)
}
