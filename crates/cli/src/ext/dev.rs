//! `symphony ext dev [DIR]`: rebuild an extension whenever its sources
//! change and reload it into a running host — the service when one
//! answers, else a host in this process — printing what changed, in the
//! style of `spin watch`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use notify::{RecursiveMode, Watcher as _};
use serde_json::{Value, json};
use symphony_host::Host;
use symphony_host::extension::{ExtensionSetup, Language, MANIFEST_FILE, Manifest};
use symphony_host::workflow::Workflow;
use symphony_service::ServiceClient;
use symphony_service::api::{ExtList, ExtLoad, ExtReload, ExtUnload, RunReportRequest, RunStart};

use crate::remote::{ConnectArgs, Followed, is_end, next_event};
use crate::run::read_input;
use crate::{HostArgs, build_host, parse_grant};

/// How long the sources must stay unchanged before a rebuild, so an
/// editor's save (often several writes) builds once.
const SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// The extension's directory, holding its symphony.toml; default: the
    /// current directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The build command, run with `sh -c` in DIR; default: what `symphony
    /// ext build` does for the language the manifest's [build] names (for
    /// a Cargo crate `cargo build --release --target wasm32-wasip2`, its
    /// component put where the manifest's `component` says, also when
    /// CARGO_TARGET_DIR builds it elsewhere).
    #[arg(long, value_name = "COMMAND")]
    build: Option<String>,
    /// A workflow to run after every load and reload, its output printed.
    #[arg(long, value_name = "FILE")]
    workflow: Option<PathBuf>,
    /// The workflow's input: JSON text, or @FILE.
    #[arg(long, value_name = "JSON|@FILE", requires = "workflow")]
    input: Option<String>,
    /// Grant the extension a capability it asks for, e.g.
    /// `--grant NAME:clock`; repeatable.
    #[arg(long = "grant", value_name = "EXT:CAPABILITY")]
    grants: Vec<String>,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print each step as one line of JSON.
    #[arg(long)]
    json: bool,
}

/// Where the extension is loaded.
enum Target {
    Service(ServiceClient),
    Embedded(Host),
}

/// Prints each step as a line of text or of JSON.
struct Say {
    json: bool,
}

impl Say {
    fn step(&self, event: &str, fields: Value, text: impl FnOnce() -> String) {
        if self.json {
            let mut line = json!({"event": event});
            if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
                line.extend(fields);
            }
            println!("{line}");
        } else {
            println!("{}", text());
        }
    }
}

/// The extension being developed, as its manifest says.
struct Project {
    dir: PathBuf,
    manifest: PathBuf,
}

impl Project {
    fn open(dir: &Path) -> anyhow::Result<Project> {
        let dir = dir
            .canonicalize()
            .with_context(|| format!("extension directory {}", dir.display()))?;
        let manifest = dir.join(MANIFEST_FILE);
        if !manifest.is_file() {
            bail!(
                "{} has no {MANIFEST_FILE}; `symphony ext new --kind KIND NAME` makes an \
                 extension to develop",
                dir.display()
            );
        }
        Ok(Project { dir, manifest })
    }

    fn read(&self) -> anyhow::Result<Manifest> {
        Ok(Manifest::from_file(&self.manifest)?)
    }

    /// Whether a change to `path` should rebuild: not build output, not
    /// version control, not an editor's scratch file.
    fn is_source(&self, path: &Path, component: &Path, target_dir: Option<&Path>) -> bool {
        let Ok(relative) = path.strip_prefix(&self.dir) else {
            return false;
        };
        // Cargo rewrites Cargo.lock as it builds; a dependency change
        // shows in Cargo.toml.
        let scratch = |name: &str| {
            name.starts_with('.')
                || name.ends_with('~')
                || name.ends_with(".swp")
                || name == "4913"
                || name == "Cargo.lock"
        };
        // A project may itself live inside CARGO_TARGET_DIR (as the tests'
        // scaffolds do); cargo's output is then beside it, not in it.
        let in_output = (super::build::NOT_SOURCES.iter()).any(|dir| relative.starts_with(dir))
            || target_dir.is_some_and(|t| path.starts_with(t) && !self.dir.starts_with(t))
            || path == component;
        !in_output
            && !relative
                .components()
                .any(|c| scratch(&c.as_os_str().to_string_lossy()))
    }
}

pub fn run(host_args: HostArgs, args: DevArgs) -> anyhow::Result<ExitCode> {
    let project = Project::open(&args.dir)?;
    let manifest = project.read()?;
    let name = manifest.name.clone();
    let home = host_args.home_dir()?;
    if args.build.is_none()
        && manifest.build.language == Language::Rust
        && !project.dir.join("Cargo.toml").is_file()
    {
        bail!(
            "{} has no Cargo.toml; set `language` in [build] of {MANIFEST_FILE} (python, js \
             or c) or pass --build COMMAND to say how its component is built",
            project.dir.display()
        );
    }
    let workflow = match &args.workflow {
        Some(path) => Some((
            Workflow::from_file(path)?,
            read_input(args.input.as_deref())?,
        )),
        None => None,
    };
    for grant in &args.grants {
        parse_grant(grant)?;
    }
    let say = Say { json: args.json };
    let target = match args.connect.service(&host_args)? {
        Some(client) => Target::Service(client),
        None => Target::Embedded(build_host(host_args)?),
    };

    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })
    .context("starting the file watcher")?;
    watcher
        .watch(&project.dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", project.dir.display()))?;
    eprintln!(
        "developing {name} in {} (Ctrl-C to stop)",
        project.dir.display()
    );

    let mut loaded = false;
    // What each source held when last seen, so a file rewritten with the
    // same bytes (a build regenerating its outputs) is not a change.
    let mut seen = Fingerprints::of_tree(&project);
    // The first pass builds at once; each later one follows a change.
    loop {
        let built = build(&home, &project, args.build.as_deref(), &say);
        if built.is_ok() {
            match load(&target, &project, &name, &args.grants, loaded, &say) {
                Ok(()) => {
                    loaded = true;
                    if let Some((workflow, input)) = &workflow {
                        run_workflow(&target, workflow, input, &say);
                    }
                }
                Err(error) => {
                    // A service that restarted no longer has it: load it
                    // afresh next time rather than reloading.
                    loaded = false;
                    say.step(
                        "reload-failed",
                        json!({"name": name, "error": format!("{error:#}")}),
                        || format!("{name} did not load: {error:#}"),
                    )
                }
            }
        }
        let component = project.read().map(|m| m.component).unwrap_or_default();
        // Cargo reads a relative CARGO_TARGET_DIR from where it runs.
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(|dir| project.dir.join(dir))
            .map(|dir| dir.canonicalize().unwrap_or(dir));
        let changed = wait_for_change(&rx, &project, &component, target_dir.as_deref(), &mut seen)?;
        let files: Vec<&String> = changed.iter().collect();
        say.step("changed", json!({"files": files}), || {
            format!(
                "changed: {}",
                changed.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        });
    }
}

/// Blocks until a source file changes, then until the sources have been
/// quiet for [`SETTLE`]; returns the changed files, relative to the
/// project. A file created and gone again within the wait (an editor's or
/// `sed -i`'s temporary file) is not a change.
fn wait_for_change(
    rx: &mpsc::Receiver<notify::Result<notify::Event>>,
    project: &Project,
    component: &Path,
    target_dir: Option<&Path>,
    fingerprints: &mut Fingerprints,
) -> anyhow::Result<BTreeSet<String>> {
    // Each changed path, and whether it was created during this wait.
    let mut seen: BTreeMap<PathBuf, bool> = BTreeMap::new();
    let mut quiet_from: Option<Instant> = None;
    loop {
        let wait = match quiet_from {
            Some(at) => SETTLE.saturating_sub(at.elapsed()),
            None => Duration::from_secs(3600),
        };
        match rx.recv_timeout(wait) {
            Ok(Ok(event)) => {
                if matches!(event.kind, notify::EventKind::Access(_)) {
                    continue;
                }
                let created = matches!(event.kind, notify::EventKind::Create(_));
                for path in event.paths {
                    // Files are the sources; a directory event (a build
                    // making its output directory) is not a change.
                    if !path.is_dir() && project.is_source(&path, component, target_dir) {
                        *seen.entry(path).or_insert(false) |= created;
                        quiet_from = Some(Instant::now());
                    }
                }
            }
            Ok(Err(error)) => eprintln!("warning: file watcher: {error}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let changed: BTreeSet<String> = std::mem::take(&mut seen)
                    .into_iter()
                    .filter(|(path, created)| !created || path.exists())
                    .filter(|(path, _)| fingerprints.changed(path))
                    .map(|(path, _)| {
                        let relative = path.strip_prefix(&project.dir).unwrap_or(&path);
                        relative.display().to_string()
                    })
                    .collect();
                quiet_from = None;
                if !changed.is_empty() {
                    return Ok(changed);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the file watcher stopped"),
        }
    }
}

/// What each source file held when last seen: its length and a hash.
struct Fingerprints(HashMap<PathBuf, (u64, u64)>);

impl Fingerprints {
    /// Files bigger than this are fingerprinted by their modification
    /// time rather than read.
    const MAX_READ: u64 = 16 << 20;

    /// Every source file under the project, as it is now.
    fn of_tree(project: &Project) -> Fingerprints {
        let mut prints = Fingerprints(HashMap::new());
        let mut dirs = vec![project.dir.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                if !project.is_source(&path, Path::new(""), None) {
                    continue;
                }
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    prints.changed(&path);
                }
            }
        }
        prints
    }

    /// Whether `path` differs from when it was last seen (a file not seen
    /// before, or gone since, has changed); remembers it as it is now.
    fn changed(&mut self, path: &Path) -> bool {
        let now = Self::print(path);
        match now {
            Some(print) => self.0.insert(path.to_path_buf(), print) != Some(print),
            None => {
                self.0.remove(path);
                true
            }
        }
    }

    fn print(path: &Path) -> Option<(u64, u64)> {
        use std::hash::{Hash as _, Hasher as _};
        let meta = std::fs::metadata(path).ok()?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        if meta.len() > Self::MAX_READ {
            meta.modified().ok()?.hash(&mut hasher);
        } else {
            std::fs::read(path).ok()?.hash(&mut hasher);
        }
        Some((meta.len(), hasher.finish()))
    }
}

/// Builds the component; on success it is where the manifest says.
fn build(home: &Path, project: &Project, custom: Option<&str>, say: &Say) -> anyhow::Result<()> {
    let started = Instant::now();
    // The manifest is read once per build: the language, and where the
    // component must be.
    let result = project.read().and_then(|manifest| {
        let component = manifest.component.clone();
        let note = match custom {
            Some(command) => build_with_shell(project, command, &component)?,
            None => super::build::build(home, &manifest, &component, true)?.note,
        };
        Ok((component, note))
    });
    let seconds = started.elapsed().as_secs_f64();
    match &result {
        Ok((component, note)) => {
            say.step(
                "built",
                json!({"seconds": seconds, "component": component, "note": note}),
                || {
                    let note = note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default();
                    format!("built in {seconds:.1} s: {}{note}", component.display())
                },
            );
        }
        Err(error) => say.step(
            "build-failed",
            json!({"seconds": seconds, "error": format!("{error:#}")}),
            || format!("build failed, the old version keeps serving: {error:#}"),
        ),
    }
    result.map(|_| ())
}

fn build_with_shell(
    project: &Project,
    command: &str,
    component: &Path,
) -> anyhow::Result<Option<String>> {
    super::build::run_step(
        Command::new("sh")
            .args(["-c", command])
            .current_dir(&project.dir),
        &format!("`{command}`"),
    )?;
    if !component.is_file() {
        bail!(
            "`{command}` succeeded but {} does not exist: point `component` in {MANIFEST_FILE} \
             at what the build writes",
            component.display()
        );
    }
    Ok(None)
}

/// Loads the extension the first time, reloads it after.
fn load(
    target: &Target,
    project: &Project,
    name: &str,
    grants: &[String],
    loaded_before: bool,
    say: &Say,
) -> anyhow::Result<()> {
    let report = match target {
        Target::Service(client) => {
            let mut present = loaded_before;
            if !loaded_before
                && let Some(other) = client
                    .call(&ExtList {})?
                    .extensions
                    .into_iter()
                    .find(|e| e["name"] == name)
            {
                let theirs = PathBuf::from(other["path"].as_str().unwrap_or_default());
                present = super::build::cargo::same_file(&theirs, &project.read()?.component);
                if !present {
                    // The service serves another build of this extension:
                    // developing it means serving this one instead.
                    say.step("replacing", json!({"name": name, "path": theirs}), || {
                        format!(
                            "the service has {name} from {}; replacing it",
                            theirs.display()
                        )
                    });
                    client.call(&ExtUnload { name: name.into() })?;
                }
            }
            if present {
                let done = client.call(&ExtReload { name: name.into() })?;
                serde_json::from_str::<Value>(&done.message).unwrap_or(Value::Null)
            } else {
                let reply = client.call(&ExtLoad {
                    dir: project.dir.display().to_string(),
                    grants: grants.to_vec(),
                })?;
                for warning in &reply.warnings {
                    eprintln!("warning: {warning}");
                }
                if !reply.loaded.iter().any(|n| n == name) {
                    bail!(
                        "the service did not load {name}: {}",
                        reply.warnings.join("; ")
                    );
                }
                return announce_load(name, "the service", say);
            }
        }
        Target::Embedded(host) => {
            let grants = grants
                .iter()
                .map(|g| parse_grant(g))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let setup = ExtensionSetup {
                grants,
                prompt: None,
            };
            if loaded_before {
                serde_json::to_value(host.reload_with(name, &setup)?)?
            } else {
                let report = host.load_extensions(std::slice::from_ref(&project.dir), &setup)?;
                if let Some(failure) = report.not_loaded.iter().find(|f| f.name == name) {
                    bail!("{}", failure.reason);
                }
                for loaded in &report.loaded {
                    for denial in &loaded.denied {
                        eprintln!("warning: {} {denial}", loaded.name);
                    }
                }
                if !report.loaded.iter().any(|l| l.name == name) {
                    bail!("{name} was not loaded from {}", project.dir.display());
                }
                return announce_load(name, "this process", say);
            }
        }
    };
    let short = |key: &str| {
        let hash = report[key].as_str().unwrap_or("");
        hash.get(..12).unwrap_or(hash).to_string()
    };
    let changed = report["changed"].as_bool().unwrap_or(false);
    let (from, to) = (short("from_sha256"), short("to_sha256"));
    say.step("reloaded", report.clone(), || {
        let version = |key: &str| report[key].as_str().unwrap_or("?").to_string();
        if changed {
            format!(
                "reloaded {name}: {} ({from}) -> {} ({to})",
                version("from_version"),
                version("to_version")
            )
        } else {
            format!("{name} is unchanged ({to}): nothing to reload")
        }
    });
    Ok(())
}

fn announce_load(name: &str, into: &str, say: &Say) -> anyhow::Result<()> {
    say.step("loaded", json!({"name": name, "into": into}), || {
        format!("loaded {name} into {into}")
    });
    Ok(())
}

/// Runs the workflow on the target and prints its output (or why it
/// failed); a failure does not stop development.
fn run_workflow(target: &Target, workflow: &Workflow, input: &Value, say: &Say) {
    let result = match target {
        Target::Embedded(host) => host
            .run(workflow, input)
            .map_err(anyhow::Error::from)
            .and_then(|report| Ok(serde_json::to_value(&report)?)),
        Target::Service(client) => run_on_service(client, workflow, input),
    };
    match result {
        Ok(report) => {
            let output = report["output"].clone();
            say.step(
                "ran",
                json!({"workflow": workflow.id, "state": report["state"], "output": output,
                       "error": report["error"]}),
                || match report["error"].as_str() {
                    Some(error) => format!("ran {}: failed: {error}", workflow.id),
                    None => format!("ran {}: {output}", workflow.id),
                },
            );
        }
        Err(error) => say.step(
            "run-failed",
            json!({"workflow": workflow.id, "error": format!("{error:#}")}),
            || format!("ran {}: {error:#}", workflow.id),
        ),
    }
}

fn run_on_service(
    client: &ServiceClient,
    workflow: &Workflow,
    input: &Value,
) -> anyhow::Result<Value> {
    let run = symphony_host::runs::new_run_id();
    // Subscribed before the run starts, so its end is not missed.
    let events = client.subscribe(&format!("exec.{run}.>"))?;
    client.call(&RunStart {
        workflow: Some(serde_json::from_str(&workflow.to_json())?),
        input: input.clone(),
        run_id: Some(run.clone()),
        ..RunStart::default()
    })?;
    loop {
        match next_event(client, &events) {
            Followed::Event(event) if is_end(&event) => break,
            Followed::Event(_) => {}
            Followed::Lost(reason) => bail!("{reason} while run {run} ran"),
        }
    }
    let reply = client.call(&RunReportRequest { run })?;
    Ok(serde_json::to_value(&reply.report)?)
}

#[cfg(test)]
mod tests;
