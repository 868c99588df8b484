//! `symphony workflow`: work with workflow files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use symphony_host::{EdgeKind, Format, Node, Workflow};

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
            let (format, extension) = match to {
                FormatArg::Json => (Format::Json, "json"),
                FormatArg::Msgpack => (Format::Msgpack, "msgpack"),
            };
            let out = out.unwrap_or_else(|| file.with_extension(extension));
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

/// Nodes grouped by layer, each layer sorted by id; nodes on a cycle last.
fn by_layer(workflow: &Workflow) -> Vec<Vec<&Node>> {
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
    if !cyclic.is_empty() {
        grouped.push(cyclic);
    }
    grouped
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
    let layers = workflow.layers();
    for (i, nodes) in by_layer(workflow).iter().enumerate() {
        let on_cycle = nodes
            .first()
            .is_some_and(|n| !layers.contains_key(n.id.as_str()));
        out += &if on_cycle {
            "\non a cycle\n".to_string()
        } else {
            format!("\nlayer {i}\n")
        };
        for node in nodes {
            let from: Vec<String> = workflow
                .edges
                .iter()
                .filter(|e| e.to == node.id)
                .map(|e| match (e.kind, &e.when) {
                    (EdgeKind::Control, _) => format!("{} (after)", e.from),
                    (EdgeKind::Conditional, Some(when)) => format!("{} (when {when})", e.from),
                    _ => e.from.clone(),
                })
                .collect();
            out += &format!(
                "  {:width$}  {:<10}  {}",
                node.id,
                node.kind.to_string(),
                node.extension
            );
            if !from.is_empty() {
                out += &format!("  <- {}", from.join(", "));
            }
            out += "\n";
        }
    }
    if !workflow.edges.is_empty() {
        out += "\nedges\n";
        for edge in &workflow.edges {
            out += &format!("  {} {} {}", edge.from, arrow(edge.kind), edge.to);
            if let Some(when) = &edge.when {
                out += &format!("  when {when}");
            }
            out += "\n";
        }
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

/// What `symphony workflow show --json` prints.
fn describe(workflow: &Workflow) -> serde_json::Value {
    let layers: Vec<Vec<&str>> = by_layer(workflow)
        .iter()
        .map(|nodes| nodes.iter().map(|n| n.id.as_str()).collect())
        .collect();
    json!({
        "id": workflow.id,
        "name": workflow.name,
        "version": workflow.version.to_string(),
        "layers": layers,
        "nodes": workflow.nodes.iter().map(|n| json!({
            "id": n.id,
            "kind": n.kind.to_string(),
            "extension": n.extension,
            "depends_on": workflow
                .dependencies(&n.id)
                .unwrap_or_default()
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "edges": workflow.edges,
    })
}
