//! `symphony bus`: run a bus server, and talk to one as the `nats` CLI
//! talks to NATS.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use symphony_host::bus::ServerStats;
use symphony_host::protocol::Envelope;
use symphony_host::protocol::client::{
    Client, ClientOptions, ClientSubscription, RecvError, Transport,
};

use super::HostArgs;

#[derive(Debug, clap::Subcommand)]
pub enum BusCommand {
    /// Publish DATA (text, or @FILE) on SUBJECT.
    Pub {
        /// The subject.
        subject: String,
        /// The payload: text, or @FILE for a file's bytes. Default: empty.
        data: Option<String>,
        /// Publish the message this many times.
        #[arg(long, default_value_t = 1)]
        count: u64,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Print messages on SUBJECT (wildcards allowed) until interrupted.
    Sub {
        /// The subject pattern (`*` one token, `>` the rest).
        subject: String,
        /// Join this queue group: each message goes to one member.
        #[arg(long)]
        queue: Option<String>,
        /// Exit after this many messages.
        #[arg(long)]
        count: Option<u64>,
        /// One JSON object per message.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Send a request on SUBJECT and print the reply.
    Request {
        /// The subject.
        subject: String,
        /// The payload: text, or @FILE. Default: empty.
        data: Option<String>,
        /// How long to wait for the reply, in milliseconds.
        #[arg(long = "timeout-ms", default_value_t = 2000)]
        timeout_ms: u64,
        /// Print the whole reply envelope as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Answer requests on SUBJECT with DATA, or with the request's own
    /// payload (--echo).
    Reply {
        /// The subject pattern.
        subject: String,
        /// The answer: text, or @FILE.
        data: Option<String>,
        /// Answer with the request's payload.
        #[arg(long)]
        echo: bool,
        /// Join this queue group.
        #[arg(long)]
        queue: Option<String>,
        /// Exit after this many requests.
        #[arg(long)]
        count: Option<u64>,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Show the server's peers, subjects and latency.
    Stats {
        /// Print the statistics as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        conn: ConnArgs,
    },
}

/// Where the bus server listens.
#[derive(Debug, clap::Args)]
pub struct SocketArg {
    /// The service's socket; default: $SYMPHONY_BUS, else run/bus.sock in
    /// the data directory.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

/// How to reach the bus server.
#[derive(Debug, clap::Args)]
pub struct ConnArgs {
    #[command(flatten)]
    socket: SocketArg,
    /// Carry the traffic over shared memory instead of the socket (Linux).
    #[arg(long)]
    shm: bool,
    /// This client's endpoint name on the bus.
    #[arg(long)]
    name: Option<String>,
}

const WAIT: Duration = Duration::from_secs(5);

impl SocketArg {
    fn path(&self, host: &HostArgs) -> anyhow::Result<PathBuf> {
        if let Some(path) = &self.socket {
            return Ok(path.clone());
        }
        super::remote::socket(host, None)
    }
}

impl ConnArgs {
    fn connect(&self, host: &HostArgs) -> anyhow::Result<Client> {
        let path = self.socket.path(host)?;
        let options = ClientOptions {
            name: self.name.clone(),
            transport: if self.shm {
                Transport::SharedMemory
            } else {
                Transport::Socket
            },
            ..Default::default()
        };
        Ok(Client::connect_with(&path, options)?)
    }
}

fn payload(data: Option<&str>) -> anyhow::Result<Bytes> {
    match data {
        None => Ok(Bytes::new()),
        Some(file) if file.starts_with('@') => {
            let path = &file[1..];
            Ok(std::fs::read(path)
                .with_context(|| format!("reading the payload from {path}"))?
                .into())
        }
        Some(text) => Ok(Bytes::copy_from_slice(text.as_bytes())),
    }
}

/// The payload as text when it is UTF-8, else a byte count.
fn show(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(text) => text.to_string(),
        Err(_) => format!("<{} bytes>", payload.len()),
    }
}

fn print_message(envelope: &Envelope, as_json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", envelope.to_json())?;
    } else {
        writeln!(
            out,
            "[{}] {} (from {})",
            envelope.subject,
            show(&envelope.payload),
            envelope.sender
        )?;
    }
    Ok(())
}

/// Subscribes (in `group`, if given) and waits until the server has the
/// subscription, so whatever is published next arrives.
fn listen(
    client: &Client,
    subject: &str,
    group: Option<&str>,
) -> anyhow::Result<ClientSubscription> {
    let sub = match group {
        Some(group) => client.queue_subscribe(subject, group)?,
        None => client.subscribe(subject)?,
    };
    client.flush(WAIT)?;
    Ok(sub)
}

/// Hands each message on `sub` to `f`, `count` of them or until the
/// client closes.
fn each_message(
    sub: &ClientSubscription,
    count: Option<u64>,
    mut f: impl FnMut(Envelope) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut seen = 0;
    while count.is_none_or(|n| seen < n) {
        match sub.recv(Duration::from_secs(3600)) {
            Ok(envelope) => {
                f(envelope)?;
                seen += 1;
            }
            Err(RecvError::Timeout) => {}
            Err(e) => anyhow::bail!("{e}"),
        }
    }
    Ok(())
}

pub fn run(host: HostArgs, command: BusCommand) -> anyhow::Result<ExitCode> {
    match command {
        BusCommand::Pub {
            subject,
            data,
            count,
            conn,
        } => {
            let client = conn.connect(&host)?;
            let payload = payload(data.as_deref())?;
            for _ in 0..count {
                client.publish(&subject, payload.clone())?;
            }
            client.flush(WAIT)?;
            Ok(ExitCode::SUCCESS)
        }
        BusCommand::Sub {
            subject,
            queue,
            count,
            json,
            conn,
        } => {
            let client = conn.connect(&host)?;
            let sub = listen(&client, &subject, queue.as_deref())?;
            eprintln!("subscribed to '{subject}' as {}", client.name());
            each_message(&sub, count, |envelope| print_message(&envelope, json))?;
            Ok(ExitCode::SUCCESS)
        }
        BusCommand::Request {
            subject,
            data,
            timeout_ms,
            json,
            conn,
        } => {
            let client = conn.connect(&host)?;
            let reply = client.request(
                &subject,
                payload(data.as_deref())?,
                Duration::from_millis(timeout_ms),
            )?;
            if json {
                println!("{}", reply.to_json_pretty());
            } else {
                println!("{}", show(&reply.payload));
            }
            Ok(ExitCode::SUCCESS)
        }
        BusCommand::Reply {
            subject,
            data,
            echo,
            queue,
            count,
            conn,
        } => {
            if echo == data.is_some() {
                anyhow::bail!("give either DATA or --echo");
            }
            let answer = payload(data.as_deref())?;
            let client = conn.connect(&host)?;
            let sub = listen(&client, &subject, queue.as_deref())?;
            eprintln!("answering '{subject}' as {}", client.name());
            each_message(&sub, count, |request| {
                let body = if echo {
                    request.payload.clone()
                } else {
                    answer.clone()
                };
                Ok(client.reply(&request, body)?)
            })?;
            client.flush(WAIT)?;
            Ok(ExitCode::SUCCESS)
        }
        BusCommand::Stats { json, conn } => {
            let client = conn.connect(&host)?;
            let stats = client.server_stats(WAIT)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                let stats =
                    serde_json::from_value(stats).context("reading the server's statistics")?;
                print_stats(&stats, client.name());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A table of peers and subjects for people.
fn print_stats(stats: &ServerStats, me: &str) {
    println!(
        "bus server '{}' on {}",
        stats.server,
        stats.socket.display()
    );
    let peers: Vec<_> = stats.peers.iter().filter(|p| p.name != me).collect();
    println!("\npeers ({}):", peers.len());
    println!(
        "  {:<24} {:<14} {:>5} {:>10} {:>10} {:>8} {:>12}",
        "name", "transport", "subs", "frames in", "frames out", "dropped", "peer dropped"
    );
    for p in peers {
        println!(
            "  {:<24} {:<14} {:>5} {:>10} {:>10} {:>8} {:>12}",
            p.name,
            p.transport,
            p.subscriptions,
            p.frames_in,
            p.frames_out,
            p.dropped,
            p.dropped_by_peer
        );
    }
    let subjects = &stats.bus.subjects;
    println!("\nsubjects ({}):", subjects.len());
    println!(
        "  {:<32} {:>10} {:>12} {:>10} {:>8}",
        "subject", "messages", "bytes", "delivered", "dropped"
    );
    for s in subjects {
        println!(
            "  {:<32} {:>10} {:>12} {:>10} {:>8}",
            s.subject, s.messages, s.bytes, s.delivered, s.dropped
        );
    }
    let latency = &stats.bus.latency;
    println!(
        "\ndelivery latency: {} messages, p50 <= {} us, p99 <= {} us",
        latency.count, latency.p50_us, latency.p99_us
    );
}
