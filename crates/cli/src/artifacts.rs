//! `symphony artifacts`: store, fetch, list, search, version, diff, verify
//! and clean up artifacts in `<home>/artifacts`.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use symphony_host::artifacts::{ArtifactMeta, ArtifactStore, StoreOptions};

mod gc;
mod remote;
mod show;

use gc::{GcArgs, UndoArgs};

use super::HostArgs;
use super::remote::ConnectArgs;

#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// Store a file (or stdin with `-`) and print its id.
    Put(PutArgs),
    /// Write an artifact's content to stdout or a file: by id, or `NAME`,
    /// `NAME@VERSION`.
    Get(GetArgs),
    /// Show what the catalog knows about an artifact.
    Info(InfoArgs),
    /// List artifacts, newest first.
    Ls(LsArgs),
    /// Full-text search over content, names, tags and fields, with
    /// highlights.
    Search(SearchArgs),
    /// Show the versions of a named artifact.
    History(HistoryArgs),
    /// Show a line diff between two versions of a named text artifact.
    Diff(DiffArgs),
    /// Check artifacts against their ids: one, or every stored one.
    Verify(VerifyArgs),
    /// Deduplication statistics.
    Stats(JsonArg),
    /// Apply a retention policy: archive idle artifacts, trash worthless
    /// ones, purge the trash past its undo window.
    Gc(GcArgs),
    /// Bring a trashed artifact back within the undo window.
    Undo(UndoArgs),
    /// Pin an artifact against retention (or unpin it with --off).
    Pin(PinArgs),
    /// Add or remove tags.
    Tag(TagArgs),
}

#[derive(Debug, clap::Args)]
pub struct PinArgs {
    /// An id, `NAME` or `NAME@VERSION`.
    artifact: String,
    /// Unpin instead.
    #[arg(long)]
    off: bool,
}

#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// An id, `NAME` or `NAME@VERSION`.
    artifact: String,
    /// A tag to add; repeatable.
    #[arg(long = "add", value_name = "TAG")]
    add: Vec<String>,
    /// A tag to remove; repeatable.
    #[arg(long = "remove", value_name = "TAG")]
    remove: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct JsonArg {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PutArgs {
    /// The file to store; `-` reads stdin.
    file: PathBuf,
    /// Its MIME type, e.g. `text/markdown`.
    #[arg(long = "type", value_name = "MIME")]
    content_type: Option<String>,
    /// A tag; repeatable.
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// A custom field as KEY=VALUE; repeatable.
    #[arg(long = "field", value_name = "KEY=VALUE")]
    fields: Vec<String>,
    /// Record it as the next version of NAME.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The version of NAME it is based on (default: the latest).
    #[arg(long, value_name = "VERSION", requires = "name")]
    parent_version: Option<u32>,
    /// The id of an artifact it was derived from; repeatable.
    #[arg(long = "derived-from", value_name = "ID")]
    derived_from: Vec<String>,
    /// Who made it (default: the user).
    #[arg(long, value_name = "WHO")]
    creator: Option<String>,
    /// Protect it from retention.
    #[arg(long)]
    pin: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// An id, `NAME` (latest version) or `NAME@VERSION`.
    artifact: String,
    /// Write here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// An id, `NAME` or `NAME@VERSION`.
    artifact: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Which artifacts `ls` and `search` show: by tags, type and creation time.
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Only artifacts with this tag; repeatable (all must match).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Only this MIME type.
    #[arg(long = "type", value_name = "MIME")]
    content_type: Option<String>,
    /// Only artifacts created on or after this date (YYYY-MM-DD, UTC) or
    /// Unix time in milliseconds.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only artifacts created before this date (YYYY-MM-DD, UTC) or Unix
    /// time in milliseconds.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// How many to list.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// How many to skip.
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Include trashed artifacts.
    #[arg(long)]
    all: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words to find (all must match); empty lists everything.
    #[arg(default_value = "")]
    query: String,
    #[command(flatten)]
    filter: FilterArgs,
    /// Hits per page.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// The page to show, from 1.
    #[arg(long, default_value_t = 1)]
    page: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The artifact's name.
    name: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The artifact's name.
    name: String,
    /// The older version.
    from: u32,
    /// The newer version (default: the latest).
    to: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Verify only this artifact.
    id: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The store under the home directory, keyed from SYMPHONY_ARTIFACT_KEY.
pub(crate) fn open(host: &HostArgs) -> anyhow::Result<ArtifactStore> {
    let home = host.home_dir()?;
    let options = StoreOptions::from_env()?;
    let root = home.join("artifacts");
    ArtifactStore::open(&root, options)
        .with_context(|| format!("opening the artifact store at {}", root.display()))
}

pub fn run(host: HostArgs, command: ArtifactsCommand) -> anyhow::Result<ExitCode> {
    // A running service holds the search index: what writes or searches
    // it goes through the service.
    match &command {
        ArtifactsCommand::Put(args) => {
            if let Some(client) = args.connect.service(&host)? {
                return remote::put(&client, args);
            }
        }
        ArtifactsCommand::Search(args) => {
            if let Some(client) = args.connect.service(&host)? {
                return remote::search(&client, args);
            }
        }
        _ => {}
    }
    let store = open(&host)?;
    match command {
        ArtifactsCommand::Put(args) => put(&store, args),
        ArtifactsCommand::Get(args) => get(&store, args),
        ArtifactsCommand::Info(args) => show::info(&store, args),
        ArtifactsCommand::Ls(args) => show::ls(&store, args),
        ArtifactsCommand::Search(args) => show::search(&store, args),
        ArtifactsCommand::History(args) => show::history(&store, args),
        ArtifactsCommand::Diff(args) => show::diff(&store, args),
        ArtifactsCommand::Verify(args) => verify(&store, args),
        ArtifactsCommand::Stats(args) => show::stats(&store, args),
        ArtifactsCommand::Gc(args) => gc::gc(&store, &host, args),
        ArtifactsCommand::Undo(args) => gc::undo(&store, &host, args),
        ArtifactsCommand::Pin(args) => {
            let id = resolve(&store, &args.artifact)?;
            store.pin(&id, !args.off)?;
            println!("{id}: {}", if args.off { "unpinned" } else { "pinned" });
            Ok(ExitCode::SUCCESS)
        }
        ArtifactsCommand::Tag(args) => {
            let id = resolve(&store, &args.artifact)?;
            store.retag(&id, &args.add, &args.remove)?;
            println!("{id}: {}", store.info(&id)?.tags.join(", "));
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl PutArgs {
    /// The `--field KEY=VALUE` pairs.
    fn fields(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.fields
            .iter()
            .map(|field| {
                let (key, value) = field
                    .split_once('=')
                    .with_context(|| format!("--field {field}: expected KEY=VALUE"))?;
                Ok((key.to_string(), value.to_string()))
            })
            .collect()
    }

    /// `--creator`, else the user.
    fn creator(&self) -> Option<String> {
        self.creator
            .clone()
            .or_else(|| std::env::var("USER").ok().map(|u| format!("user:{u}")))
    }
}

/// Prints what a put did, as JSON or one line.
fn print_put(outcome: &serde_json::Value, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcome)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut line = outcome["id"].as_str().unwrap_or_default().to_string();
    if let (Some(name), Some(version)) = (
        outcome["version"]["name"].as_str(),
        outcome["version"]["version"].as_u64(),
    ) {
        line.push_str(&format!("  {name}@{version}"));
    }
    if outcome["deduplicated"] == true {
        line.push_str("  (already stored)");
    }
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

fn put(store: &ArtifactStore, args: PutArgs) -> anyhow::Result<ExitCode> {
    let mut meta = ArtifactMeta::default().pinned(args.pin);
    meta.fields = args.fields()?;
    meta.creator = args.creator();
    meta.content_type = args.content_type;
    meta.tags = args.tags;
    meta.name = args.name;
    meta.parent_version = args.parent_version;
    meta.derived_from = args.derived_from;
    let outcome = if args.file.as_os_str() == "-" {
        store.put_with(io::stdin().lock(), &meta)?
    } else {
        let file =
            File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
        store.put_with(file, &meta)?
    };
    print_put(&serde_json::to_value(&outcome)?, args.json)
}

/// An id, or the id of `NAME` / `NAME@VERSION`.
pub(super) fn resolve(store: &ArtifactStore, artifact: &str) -> anyhow::Result<String> {
    let is_id = artifact.len() == 64 && artifact.bytes().all(|b| b.is_ascii_hexdigit());
    if is_id {
        return Ok(artifact.to_ascii_lowercase());
    }
    let (name, version) = match artifact.rsplit_once('@') {
        Some((name, version)) => {
            let version = version
                .parse()
                .with_context(|| format!("'{artifact}': the version after @ must be a number"))?;
            (name, Some(version))
        }
        None => (artifact, None),
    };
    Ok(store.version(name, version)?.id)
}

fn get(store: &ArtifactStore, args: GetArgs) -> anyhow::Result<ExitCode> {
    let id = resolve(store, &args.artifact)?;
    match &args.output {
        Some(path) => {
            // Written beside the destination and renamed over it once
            // verified, so a damaged artifact leaves no half-written file.
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            let mut temp = tempfile::NamedTempFile::new_in(dir.unwrap_or(".".as_ref()))
                .with_context(|| format!("creating a file beside {}", path.display()))?;
            store.get_to(&id, BufWriter::new(temp.as_file_mut()))?;
            temp.persist(path)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = io::stdout().lock();
            store.get_to(&id, BufWriter::new(stdout))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(store: &ArtifactStore, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if let Some(artifact) = &args.id {
        let id = resolve(store, artifact)?;
        let size = store.verify(&id)?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"id": id, "size": size, "ok": true})
            );
        } else {
            println!("{id}: ok ({size} bytes)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = store.verify_all()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (id, reason) in &report.damaged {
            println!("DAMAGED {id}: {reason}");
        }
        for id in &report.missing {
            println!("MISSING {id}");
        }
        println!(
            "{} verified, {} damaged, {} missing",
            report.verified,
            report.damaged.len(),
            report.missing.len()
        );
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
