//! `symphony workflow`: work with workflow files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use symphony_host::workflow::{Control, Edge, EdgeKind, Format, MergeMode, Node, Port, Workflow};

#[derive(Debug, clap::Subcommand)]
pub enum WorkflowCommand {
    /// Draw a workflow as text: its layers, nodes, and edges.
    Show {
        /// The workflow file (JSON or msgpack, any schema version).
        file: PathBuf,
        /// Print the same as JSON.
        #[arg(long)]
        json: bool,
    },
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
        WorkflowCommand::Show { file, json } => {
            let workflow = Workflow::from_file(&file)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&describe(&workflow))?);
            } else {
                print!("{}", draw(&workflow));
            }
            Ok(ExitCode::SUCCESS)
        }
        WorkflowCommand::Convert { file, to, out } => {
            let workflow = Workflow::from_file(&file)?;
            let format = match to {
                FormatArg::Json => Format::Json,
                FormatArg::Msgpack => Format::Msgpack,
            };
            let out = out.unwrap_or_else(|| file.with_extension(format.extension()));
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

/// Nodes grouped by layer, each layer sorted by id, and the nodes on a
/// cycle (which have no layer).
pub(super) fn by_layer(workflow: &Workflow) -> (Vec<Vec<&Node>>, Vec<&Node>) {
    let layers = workflow.layers();
    let depth = layers.values().max().map_or(0, |d| d + 1);
    let mut grouped: Vec<Vec<&Node>> = vec![Vec::new(); depth];
    let mut cyclic = Vec::new();
    for node in &workflow.nodes {
        match layers.get(node.id.as_str()) {
            Some(&layer) => grouped[layer].push(node),
            None => cyclic.push(node),
        }
    }
    for layer in &mut grouped {
        layer.sort_by(|a, b| a.id.cmp(&b.id));
    }
    (grouped, cyclic)
}

/// Each node's incoming edges, in edge order.
fn incoming(workflow: &Workflow) -> HashMap<&str, Vec<&Edge>> {
    let mut incoming: HashMap<&str, Vec<&Edge>> = HashMap::new();
    for edge in &workflow.edges {
        incoming.entry(edge.to.as_str()).or_default().push(edge);
    }
    incoming
}

fn arrow(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Data => "->",
        EdgeKind::Control => "..>",
        EdgeKind::Conditional => "-?>",
    }
}

/// The text drawing `symphony workflow show` prints.
fn draw(workflow: &Workflow) -> String {
    let mut out = format!(
        "workflow {} {} ({})\n",
        workflow.id, workflow.version, workflow.name
    );
    if let Some(description) = &workflow.description {
        out += &format!("  {description}\n");
    }
    let meta = &workflow.metadata;
    if let Some(author) = &meta.author {
        out += &format!("  author: {author}\n");
    }
    if !meta.tags.is_empty() {
        out += &format!("  tags: {}\n", meta.tags.join(", "));
    }
    let width = workflow.nodes.iter().map(|n| n.id.len()).max().unwrap_or(0);
    let incoming = incoming(workflow);
    let (layers, cyclic) = by_layer(workflow);
    let titled = layers
        .iter()
        .enumerate()
        .map(|(i, nodes)| (format!("layer {i}"), nodes))
        .chain((!cyclic.is_empty()).then(|| ("on a cycle".to_string(), &cyclic)));
    for (title, nodes) in titled {
        out += &format!("\n{title}\n");
        for node in nodes {
            let from: Vec<String> = incoming
                .get(node.id.as_str())
                .into_iter()
                .flatten()
                .map(|e| {
                    let from = end(&e.from, &e.from_port);
                    let into = e
                        .to_port
                        .as_ref()
                        .map(|p| format!(" into {p}"))
                        .unwrap_or_default();
                    match (e.kind, &e.when) {
                        (EdgeKind::Control, _) => format!("{from} (after)"),
                        (EdgeKind::Conditional, Some(when)) => {
                            format!("{from}{into} (when {when})")
                        }
                        _ => format!("{from}{into}"),
                    }
                })
                .collect();
            out += &format!(
                "  {:width$}  {:<10}  {}",
                node.id,
                node.kind.to_string(),
                node.runs()
            );
            if !from.is_empty() {
                out += &format!("  <- {}", from.join(", "));
            }
            out += "\n";
            out += &details(node, &" ".repeat(width + 4));
        }
    }
    if !workflow.edges.is_empty() {
        out += "\nedges\n";
        out += &edges(&workflow.edges, "  ");
    }
    if !workflow.addons.is_empty() {
        let addons: Vec<&str> = workflow
            .addons
            .iter()
            .map(|a| a.extension.as_str())
            .collect();
        out += &format!("\naddons: {}\n", addons.join(", "));
    }
    out
}

/// `node` or `node.port`.
fn end(node: &str, port: &Option<String>) -> String {
    match port {
        Some(port) => format!("{node}.{port}"),
        None => node.to_string(),
    }
}

/// One line per edge, indented by `indent`.
fn edges(edges: &[Edge], indent: &str) -> String {
    let mut out = String::new();
    for edge in edges {
        let (from, to) = (
            end(&edge.from, &edge.from_port),
            end(&edge.to, &edge.to_port),
        );
        out += &format!("{indent}{from} {} {to}", arrow(edge.kind));
        if let Some(when) = &edge.when {
            out += &format!("  when {when}");
        }
        out += "\n";
    }
    out
}

/// A node's ports and control step, one line each, indented by `indent`;
/// a map's body is drawn nested.
fn details(node: &Node, indent: &str) -> String {
    let ports = |ports: &[Port]| {
        ports
            .iter()
            .map(|p| {
                let optional = if p.required { "" } else { "?" };
                format!("{}{optional}: {}", p.name, p.ty)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    if !node.inputs.is_empty() {
        out += &format!("{indent}in   {}\n", ports(&node.inputs));
    }
    if !node.outputs.is_empty() {
        out += &format!("{indent}out  {}\n", ports(&node.outputs));
    }
    match &node.control {
        None => {}
        Some(Control::Branch(branch)) => {
            for case in &branch.cases {
                out += &format!("{indent}case {} when {}\n", case.port, case.when);
            }
            if let Some(otherwise) = &branch.otherwise {
                out += &format!("{indent}else {otherwise}\n");
            }
        }
        Some(Control::Merge(mode)) => {
            let mode = match mode {
                MergeMode::All => "all inputs, keyed",
                MergeMode::First => "the first input to arrive",
            };
            out += &format!("{indent}takes {mode}\n");
        }
        Some(Control::Map(body)) => {
            let over = body.over.as_deref().unwrap_or("its input");
            out += &format!("{indent}for each element of {over}:\n");
            let inner = format!("{indent}  ");
            let width = body.nodes.iter().map(|n| n.id.len()).max().unwrap_or(0);
            for sub in &body.nodes {
                out += &format!(
                    "{inner}{:width$}  {:<10}  {}\n",
                    sub.id,
                    sub.kind.to_string(),
                    sub.runs()
                );
                out += &details(sub, &format!("{inner}{}", " ".repeat(width + 2)));
            }
            out += &edges(&body.edges, &inner);
        }
    }
    out
}

/// What `symphony workflow show --json` prints.
fn describe(workflow: &Workflow) -> serde_json::Value {
    let (layers, cyclic) = by_layer(workflow);
    let layers: Vec<Vec<&str>> = layers
        .into_iter()
        .chain((!cyclic.is_empty()).then_some(cyclic))
        .map(|nodes| nodes.iter().map(|n| n.id.as_str()).collect())
        .collect();
    let incoming = incoming(workflow);
    json!({
        "id": workflow.id,
        "name": workflow.name,
        "version": workflow.version.to_string(),
        "layers": layers,
        "nodes": workflow.nodes.iter().map(|n| {
            let mut node = json!(n);
            node["runs"] = json!(n.runs());
            let mut depends_on: Vec<&str> = Vec::new();
            for edge in incoming.get(n.id.as_str()).into_iter().flatten() {
                if !depends_on.contains(&edge.from.as_str()) {
                    depends_on.push(&edge.from);
                }
            }
            node["depends_on"] = json!(depends_on);
            node
        }).collect::<Vec<_>>(),
        "edges": workflow.edges,
    })
}
