//! `symphony pause`, `resume`, `cancel` and `events`: steering and
//! watching the runs of a running service.

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use symphony_service::api::{RunCancel, RunPause, RunResume, RunStateReply, RunStatusRequest};

use super::remote::{ConnectArgs, Followed, is_end, next_event};
use super::run::RunArgs;
use super::{ExtDirs, HostArgs, LimitArgs};
use symphony_service::ServiceClient;

#[derive(Debug, clap::Args)]
pub struct RunArg {
    /// The run's id, as `symphony run` and `symphony runs` print it.
    run_id: String,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// The run's id.
    run_id: String,
    /// One JSON object per event.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

fn print_state(reply: &RunStateReply, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!(
            "{}",
            serde_json::json!({"run": reply.run, "from": reply.from, "state": reply.state})
        );
    } else {
        println!("run {}: {} → {}", reply.run, reply.from, reply.state);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn pause(host: HostArgs, args: RunArg) -> anyhow::Result<ExitCode> {
    let client = args.connect.require(&host, "pause")?;
    let reply = client.call(&RunPause { run: args.run_id })?;
    print_state(&reply, args.json)
}

pub fn cancel(host: HostArgs, args: RunArg) -> anyhow::Result<ExitCode> {
    let client = args.connect.require(&host, "cancel")?;
    let reply = client.call(&RunCancel { run: args.run_id })?;
    print_state(&reply, args.json)
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The run's id.
    run_id: String,
    /// Print the answer (or, resuming here, the report) as JSON.
    #[arg(long)]
    json: bool,
    /// Without a service, the extensions to resume it with.
    #[command(flatten)]
    ext: ExtDirs,
    /// Without a service, the limits of its extensions' calls.
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
}

impl ResumeArgs {
    /// The same resume as `symphony run --resume RUN`, in this process.
    pub fn into_run_args(self) -> RunArgs {
        RunArgs::resuming(self.run_id, self.ext, self.limits, self.json)
    }
}

/// Resumes a paused run on the service, or continues an interrupted or
/// failed one there.
pub fn resume(client: &ServiceClient, args: &ResumeArgs) -> anyhow::Result<ExitCode> {
    let reply = client.call(&RunResume {
        run: args.run_id.clone(),
    })?;
    print_state(&reply, args.json)
}

/// One line for an event: its name and what it says.
fn event_line(event: &serde_json::Value) -> String {
    let name = event["event"].as_str().unwrap_or("?").replace('_', ".");
    let mut fields = Vec::new();
    if let Some(object) = event.as_object() {
        for (key, value) in object {
            if key == "event" || key == "run" {
                continue;
            }
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            fields.push(format!("{key}={text}"));
        }
    }
    format!("{name:<16} {}", fields.join(" "))
}

pub fn events(host: HostArgs, args: EventsArgs) -> anyhow::Result<ExitCode> {
    let client = args.connect.require(&host, "events")?;
    let events = client.subscribe(&format!("exec.{}.>", args.run_id))?;
    // Subscribed first, so an end that comes now is seen either way.
    let status = client.call(&RunStatusRequest {
        run: args.run_id.clone(),
    })?;
    let mut out = std::io::stdout().lock();
    if status.live.is_none() {
        let run = &status.status.summary;
        let state = if run.interrupted {
            "interrupted".to_string()
        } else {
            run.state.to_string()
        };
        let end = serde_json::json!({"event": "state", "run": run.id, "state": state});
        if args.json {
            writeln!(out, "{end}")?;
        } else {
            writeln!(out, "run {} is not running: {state}", run.id)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        match next_event(&client, &events) {
            Followed::Event(event) => {
                let line = if args.json {
                    event.to_string()
                } else {
                    event_line(&event)
                };
                // A closed pipe (`| head`) ends the command quietly.
                if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                    return Ok(ExitCode::SUCCESS);
                }
                if is_end(&event) {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Followed::Lost(reason) => bail!("following run {}: {reason}", args.run_id),
        }
    }
}
