//! `symphony ext new`: scaffolds an extension that builds as generated and
//! loads as it is, in Rust (the default), Python, JavaScript or C: its
//! manifest (`symphony.toml`, whose `component` names where the build
//! writes it, and for other languages than Rust a `[build]` table), its
//! sources (Rust: `Cargo.toml`, a workspace of its own on the SDK by path,
//! and `src/lib.rs`; Python: `app.py` and `test_app.py`; JavaScript:
//! `app.js`; C: `extension.c`) with a small working extension of the chosen
//! kind, a one-node `workflow.json` for Operators and Instruments, a README
//! and a `.gitignore`.
//!
//! The templates live in `scaffold/` (`lang.rs` says which each language
//! uses); each `__NAME__`-style placeholder is replaced when the files are
//! written.

mod lang;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;
use symphony_host::extension::{MANIFEST_FILE, Manifest, ManifestKind};

pub use lang::NewLang;

/// The target the components build for.
const WASM_TARGET: &str = "wasm32-wasip2";

/// `symphony ext new`'s arguments.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The extension's name, also its crate's and directory's: lowercase
    /// letters, digits and '-', starting with a letter, e.g. `word-count`.
    name: String,
    /// The kind of extension to make.
    #[arg(long, value_enum)]
    kind: NewKind,
    /// The language to write it in; `symphony ext build` builds each.
    #[arg(long, value_enum, default_value = "rust")]
    lang: NewLang,
    /// The directory to create NAME in (default: the current directory).
    #[arg(long, value_name = "PARENT")]
    dir: Option<PathBuf>,
    /// The Symphony SDK to depend on: the `sdk` directory of a Symphony
    /// source tree (default: the SDK this binary carries, written to
    /// `sdk/<version>` in the data directory).
    #[arg(long, value_name = "PATH")]
    sdk: Option<PathBuf>,
    /// Print what was created as JSON.
    #[arg(long)]
    json: bool,
}

/// The kinds `ext new` makes (native extensions are not crates of this
/// shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NewKind {
    /// A workflow data transform.
    Operator,
    /// An AI model adapter.
    Instrument,
    /// A UI contribution.
    Addon,
}

impl NewKind {
    fn manifest_kind(self) -> ManifestKind {
        match self {
            NewKind::Operator => ManifestKind::Operator,
            NewKind::Instrument => ManifestKind::Instrument,
            NewKind::Addon => ManifestKind::Addon,
        }
    }

    /// The templates of `src/lib.rs`, `symphony.toml` and (for kinds a
    /// workflow node can call) `workflow.json`.
    fn templates(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self {
            NewKind::Operator => (
                include_str!("scaffold/operator/lib.rs.tmpl"),
                include_str!("scaffold/operator/symphony.toml.tmpl"),
                Some(include_str!("scaffold/operator/workflow.json.tmpl")),
            ),
            NewKind::Instrument => (
                include_str!("scaffold/instrument/lib.rs.tmpl"),
                include_str!("scaffold/instrument/symphony.toml.tmpl"),
                Some(include_str!("scaffold/instrument/workflow.json.tmpl")),
            ),
            NewKind::Addon => (
                include_str!("scaffold/addon/lib.rs.tmpl"),
                include_str!("scaffold/addon/symphony.toml.tmpl"),
                None,
            ),
        }
    }

    fn description(self) -> &'static str {
        match self {
            NewKind::Operator => "Upper-cases one text field of its input",
            NewKind::Instrument => {
                "A deterministic stand-in model that replies with the first words of its input"
            }
            NewKind::Addon => "Draws a workflow run's status as a panel",
        }
    }

    /// `[dependencies]` lines besides the SDK.
    fn dependencies(self) -> &'static str {
        match self {
            NewKind::Operator => "serde_json = \"1\"\n",
            NewKind::Instrument | NewKind::Addon => {
                "serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n"
            }
        }
    }

    /// The `--input` of the example run.
    fn example_input(self) -> Option<&'static str> {
        match self {
            NewKind::Operator => Some(r#"'{"text": "hello"}'"#),
            NewKind::Instrument => Some(r#"'"hello from a component"'"#),
            NewKind::Addon => None,
        }
    }
}

/// Names a crate may not take: Rust keywords, the built-in crates, and the
/// generated crate's own dependencies.
const RESERVED_CRATES: &str = "abstract alloc as async await become box break const continue core \
    crate do dyn else enum extern false final fn for gen if impl in let \
    loop macro match mod move mut override priv proc_macro pub ref return \
    self serde serde_core serde_derive serde_json static std struct super \
    symphony_sdk test trait true try type typeof unsafe unsized use virtual \
    where while wit_bindgen yield";

/// Names the templates use in scope; an extension type named the same
/// gets `Extension` appended (`operator` is `OperatorExtension`).
const TAKEN_TYPES: &str = "Addon Box Clone Debug Default Deserialize Err ExtError Health \
    HealthStatus Instrument Lifecycle NodeStatus None Ok Operator Option \
    PartialEq Result RunStatus Settings Some String UiEvent VNode VTree \
    Value Vec";

/// One extension to scaffold, its names worked out.
#[derive(Debug)]
struct Plan {
    /// The extension's (and package's) name, e.g. `word-count`.
    name: String,
    /// The library crate's name, e.g. `word_count`.
    crate_name: String,
    /// The extension type's name, e.g. `WordCount`.
    type_name: String,
    kind: NewKind,
    lang: NewLang,
    /// The SDK directory, absolute.
    sdk: PathBuf,
}

impl Plan {
    /// Checks `name` (the manifest's name rule, then a crate name's) and
    /// works out the other names.
    fn new(name: &str, kind: NewKind, lang: NewLang, sdk: PathBuf) -> anyhow::Result<Plan> {
        check_extension_name(name)?;
        let crate_name = name.replace('-', "_");
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            bail!(
                "invalid name \"{name}\": a crate name cannot start with a digit (start with a letter)"
            );
        }
        if RESERVED_CRATES.split_whitespace().any(|w| w == crate_name) {
            bail!(
                "invalid name \"{name}\": \"{crate_name}\" is a Rust keyword, a built-in crate or a \
                 dependency of the generated crate (pick another name)"
            );
        }
        let mut type_name: String = name
            .split('-')
            .flat_map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase())
                    .into_iter()
                    .chain(chars)
            })
            .collect();
        if TAKEN_TYPES.split_whitespace().any(|w| w == type_name) {
            type_name.push_str("Extension");
        }
        Ok(Plan {
            name: name.to_string(),
            crate_name,
            type_name,
            kind,
            lang,
            sdk,
        })
    }

    /// The component file cargo writes, e.g. `word_count.wasm`.
    fn wasm_file(&self) -> String {
        format!("{}.wasm", self.crate_name)
    }

    /// Where the manifest says the component is, relative to it.
    fn component(&self) -> String {
        match self.lang {
            NewLang::Rust => format!("target/{WASM_TARGET}/release/{}", self.wasm_file()),
            _ => format!("build/{}", self.wasm_file()),
        }
    }

    /// The command that builds the component.
    fn build_command(&self) -> String {
        match self.lang {
            NewLang::Rust => format!("cargo build --release --target {WASM_TARGET}"),
            _ => "symphony ext build".into(),
        }
    }

    fn fill(&self, template: &str) -> anyhow::Result<String> {
        let sdk = self.sdk.to_str().with_context(|| {
            format!(
                "the SDK path {} is not UTF-8, which Cargo.toml cannot hold",
                self.sdk.display()
            )
        })?;
        Ok(template
            .replace("__NAME__", &self.name)
            .replace("__CRATE__", &self.crate_name)
            .replace("__TYPE__", &self.type_name)
            .replace("__KIND__", self.kind.manifest_kind().as_str())
            .replace("__DESCRIPTION__", self.kind.description())
            .replace("__DEPENDENCIES__", self.kind.dependencies())
            .replace("__SDK__", &toml_string(sdk))
            .replace(
                "__COMPONENT_BLOCK__",
                &self.lang.component_block(&self.crate_name),
            )
            .replace("__BUILD_TABLE__", &self.lang.build_table()))
    }

    /// Every file, by path relative to the extension's directory, in the
    /// order they are written.
    fn files(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let (lib, manifest, workflow) = self.kind.templates();
        let mut files = vec![(MANIFEST_FILE, self.fill(manifest)?)];
        if self.lang == NewLang::Rust {
            files.push((
                "Cargo.toml",
                self.fill(include_str!("scaffold/Cargo.toml.tmpl"))?,
            ));
            files.push(("src/lib.rs", self.fill(lib)?));
        }
        for (path, template) in self.lang.sources(self.kind) {
            files.push((path, self.fill(template)?));
        }
        if let Some(workflow) = workflow {
            files.push(("workflow.json", self.fill(workflow)?));
        }
        let workflow_line = if workflow.is_some() {
            "- `workflow.json`: a workflow of one node that runs it.\n"
        } else {
            ""
        };
        let readme = self
            .fill(include_str!("scaffold/README.md.tmpl"))?
            .replace("__WORKFLOW_LINE__", workflow_line)
            .replace("__SOURCE_LINES__", self.lang.source_lines())
            .replace("__NEXT_STEPS__", &self.next_steps(None));
        files.push(("README.md", readme));
        files.push((".gitignore", self.lang.gitignore().into()));
        Ok(files)
    }

    /// How to test, build and run it: from inside its directory for the
    /// README, with a `cd DIR` first for the terminal.
    fn next_steps(&self, cd: Option<&Path>) -> String {
        // A terminal gets them indented like the file list; the README an
        // indented code block.
        let indent = if cd.is_some() { "  " } else { "    " };
        let mut commands: Vec<(String, &str)> = Vec::new();
        if let Some(dir) = cd {
            commands.push((format!("cd {}", dir.display()), ""));
        }
        match self.lang {
            NewLang::Rust => {
                commands.push(("cargo test".into(), "the unit tests, natively"));
                commands.push((format!("rustup target add {WASM_TARGET}"), "once"));
            }
            NewLang::Python => commands.push((
                format!(
                    "PYTHONPATH={} python3 -m unittest",
                    self.sdk.join("python").display()
                ),
                "the unit tests, natively",
            )),
            NewLang::Js | NewLang::C => {}
        }
        commands.push((self.build_command(), ""));
        match self.kind.example_input() {
            Some(input) => commands.push((
                format!("symphony run workflow.json --ext-dir . --input {input}"),
                "",
            )),
            None => commands.push(("symphony ext permissions .".into(), "what it asks for")),
        }
        let width = (commands.iter())
            .filter(|(_, comment)| !comment.is_empty())
            .map(|(command, _)| command.len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (command, comment) in &commands {
            if comment.is_empty() {
                out.push_str(&format!("{indent}{command}\n"));
            } else {
                out.push_str(&format!("{indent}{command:<width$}  # {comment}\n"));
            }
        }
        if self.lang == NewLang::Rust {
            out.push_str(&format!(
                "\nThe build writes {component},\n\
                 where `component` in {MANIFEST_FILE} points, so `--ext-dir` loads this\n\
                 directory as it is (or its parent, with every extension in it). Built\n\
                 with CARGO_TARGET_DIR set, or to ship it? Copy {wasm} beside\n\
                 {MANIFEST_FILE} and write component = \"{wasm}\".\n",
                component = self.component(),
                wasm = self.wasm_file(),
            ));
        } else {
            out.push_str(&format!(
                "\n`symphony ext build` writes {component}, where `component` in\n\
                 {MANIFEST_FILE} points, so `--ext-dir` loads this directory as it is; it\n\
                 says how to install {language}'s toolchain if it is missing. `symphony\n\
                 ext dev` rebuilds and reloads it on every save.\n",
                component = self.component(),
                language = self.lang.language(),
            ));
        }
        if self.kind == NewKind::Addon {
            out.push_str(&format!(
                "\nTo see it render a run, list it in a workflow as\n\
                 \"addons\": [{{\"extension\": \"{}\"}}] and run that workflow with\n\
                 --ext-dir for this directory and for the extensions its nodes use.\n",
                self.name
            ));
        }
        out
    }
}

/// Checks `name` against the manifest's rule for extension names.
fn check_extension_name(name: &str) -> anyhow::Result<()> {
    Manifest::check_name(name)
        .map_err(|why| anyhow::anyhow!("invalid extension.name \"{name}\": {why}"))
}

/// `text` as a TOML basic string, quotes included.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The SDK directory, absolute: `--sdk` (which must hold the
/// `symphony-sdk` package), else the copy this binary carries, in `home`.
fn find_sdk(given: Option<&Path>, home: &Path) -> anyhow::Result<PathBuf> {
    let Some(dir) = given else {
        return Ok(crate::sdk::install(home)?.rust);
    };
    let hint = "pass --sdk with the `sdk` directory of a Symphony source tree, or leave it out";
    let manifest = dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).with_context(|| {
        format!(
            "cannot find the Symphony SDK: --sdk, {}, has no readable Cargo.toml ({hint})",
            dir.display()
        )
    })?;
    let table: toml::Table = toml::from_str(&text)
        .with_context(|| format!("reading {} ({hint})", manifest.display()))?;
    let name = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str());
    if name != Some("symphony-sdk") {
        bail!(
            "--sdk, {}, is not the Symphony SDK: its Cargo.toml is not the symphony-sdk \
             package ({hint})",
            dir.display()
        );
    }
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// The files written so far, removed again if a later one fails.
#[derive(Debug, Default)]
struct Written {
    files: Vec<PathBuf>,
    /// Directories this run created, deepest last.
    dirs: Vec<PathBuf>,
}

impl Written {
    fn create_dir(&mut self, dir: &Path) -> anyhow::Result<()> {
        let mut missing = Vec::new();
        for ancestor in dir.ancestors() {
            if ancestor.as_os_str().is_empty() || ancestor.exists() {
                break;
            }
            missing.push(ancestor.to_path_buf());
        }
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        self.dirs.extend(missing.into_iter().rev());
        Ok(())
    }

    /// Writes a new file; an existing one is an error, never replaced.
    fn write(&mut self, path: &Path, content: &str) -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            self.create_dir(parent)?;
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        self.files.push(path.to_path_buf());
        file.write_all(content.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Removes what was written (directories only when left empty).
    fn undo(self) {
        for file in self.files.iter().rev() {
            let _ = fs::remove_file(file);
        }
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Refuses a target that exists, unless it is an empty directory.
fn check_target(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        bail!("{} already exists and is not a directory", dir.display());
    }
    let mut entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    if entries.next().is_some() {
        bail!(
            "{} already exists and is not empty: pick another name or --dir (nothing was written)",
            dir.display()
        );
    }
    Ok(())
}

/// `symphony ext new`.
pub fn run(home: &Path, args: NewArgs) -> anyhow::Result<ExitCode> {
    let sdk = find_sdk(args.sdk.as_deref(), home)?;
    let plan = Plan::new(&args.name, args.kind, args.lang, sdk)
        .with_context(|| format!("cannot create extension \"{}\"", args.name))?;
    let parent = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let dir = std::path::absolute(parent.join(&plan.name))
        .with_context(|| format!("resolving {}", parent.display()))?;
    let files = plan.files()?;
    // Only a bug makes the manifest not parse, but then say so before
    // anything is written.
    let manifest = &files
        .iter()
        .find(|(path, _)| *path == MANIFEST_FILE)
        .expect("a manifest")
        .1;
    Manifest::parse(manifest, dir.join(MANIFEST_FILE))
        .context("the generated manifest does not parse (a bug in symphony ext new)")?;

    check_target(&dir)?;
    let mut written = Written::default();
    let mut created = Vec::new();
    for (relative, content) in &files {
        let path = dir.join(relative);
        if let Err(error) = written.write(&path, content) {
            written.undo();
            return Err(error);
        }
        created.push((relative, path));
    }

    if args.json {
        let value = json!({
            "name": plan.name,
            "kind": plan.kind.manifest_kind().as_str(),
            "language": plan.lang.language().as_str(),
            "dir": dir,
            "files": created.iter().map(|(_, path)| path).collect::<Vec<_>>(),
            "sdk": plan.sdk,
            "component": dir.join(plan.component()),
            "build": plan.build_command(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Created {} `{}` in {}:",
        plan.kind.manifest_kind(),
        plan.name,
        dir.display()
    );
    for (relative, _) in &created {
        println!("  {relative}");
    }
    print!("\nNext:\n{}", plan.next_steps(Some(&dir)));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
