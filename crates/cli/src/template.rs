//! `symphony template`: find and instantiate workflow templates.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::workflow::FormatArg;
use anyhow::Context;
use serde_json::{Value, json};
use symphony_host::workflow::{Format, Parameter, Template, TemplateLibrary};

#[derive(Debug, clap::Subcommand)]
pub enum TemplateCommand {
    /// List the templates, sorted by id: the latest version of each.
    List {
        #[command(flatten)]
        dirs: TemplateDirs,
        /// List every version, not just the latest.
        #[arg(long)]
        all_versions: bool,
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a template: its versions, description, tags and parameters.
    Show {
        /// NAME (the latest version), NAME@VERSION or NAME@REQ (e.g. `brief@^1`).
        template: String,
        #[command(flatten)]
        dirs: TemplateDirs,
        /// Print the template as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search the templates' ids, names, tags and descriptions, best match
    /// first.
    Search {
        /// Words that must all appear (any case); none matches every template.
        query: Vec<String>,
        /// Only templates with this tag; repeatable (all must be present).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Search every version, not just the latest.
        #[arg(long)]
        all_versions: bool,
        #[command(flatten)]
        dirs: TemplateDirs,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fill in a template's parameters and print the workflow (or write it
    /// to a file).
    Instantiate {
        /// NAME (the latest version), NAME@VERSION or NAME@REQ (e.g. `brief@^1`).
        template: String,
        /// A parameter value; repeatable. Strings are taken as written,
        /// other types as JSON: `-p sentences=3`, `-p tags='["a","b"]'`.
        #[arg(short, long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Write the workflow here instead of to stdout.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The workflow's format; default: msgpack when FILE ends in
        /// `.msgpack`, else JSON.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        #[command(flatten)]
        dirs: TemplateDirs,
    },
}

/// Where to find templates: `--dir` (repeatable), else `<home>/templates`.
#[derive(Debug, clap::Args)]
pub struct TemplateDirs {
    /// A directory of templates (*.json, subdirectories included);
    /// repeatable. Default: `templates` in the --home directory.
    #[arg(long = "dir", value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

impl TemplateDirs {
    /// Opens the library, printing the files it skipped as warnings.
    fn open(&self, home: Option<&Path>) -> anyhow::Result<TemplateLibrary> {
        let dirs = if self.dirs.is_empty() {
            let home = match home {
                Some(home) => home.to_path_buf(),
                None => symphony_host::default_home()?,
            };
            Vec::from_iter(Some(home.join("templates")).filter(|d| d.is_dir()))
        } else {
            self.dirs.clone()
        };
        let library = TemplateLibrary::open(&dirs).context("opening the template library")?;
        for (path, error) in library.errors() {
            let error = error.to_string();
            if error.contains(&path.display().to_string()) {
                eprintln!("warning: skipped {error}");
            } else {
                eprintln!("warning: skipped {}: {error}", path.display());
            }
        }
        if library.is_empty() && dirs.is_empty() {
            eprintln!("no template directory: pass --dir DIR or put templates in <home>/templates");
        }
        Ok(library)
    }
}

pub fn run(home: Option<PathBuf>, command: TemplateCommand) -> anyhow::Result<ExitCode> {
    let home = home.as_deref();
    match command {
        TemplateCommand::List {
            dirs,
            all_versions,
            json,
        } => {
            let library = dirs.open(home)?;
            print_list(&library, &library.list(all_versions), all_versions, json)?;
        }
        TemplateCommand::Search {
            query,
            tags,
            all_versions,
            dirs,
            json,
        } => {
            let library = dirs.open(home)?;
            let found = library.search(&query.join(" "), &tags, all_versions);
            if found.is_empty() && !json {
                eprintln!("no template matches");
            }
            print_list(&library, &found, all_versions, json)?;
        }
        TemplateCommand::Show {
            template,
            dirs,
            json,
        } => {
            let library = dirs.open(home)?;
            let template = library.get(&template)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&describe(&library, template))?
                );
            } else {
                print!("{}", show(&library, template));
            }
        }
        TemplateCommand::Instantiate {
            template,
            params,
            out,
            format,
            dirs,
        } => {
            let library = dirs.open(home)?;
            let template = library.get(&template)?;
            let workflow = template.instantiate_args(&params)?;
            let by_name = out
                .as_ref()
                .is_some_and(|out| out.extension().is_some_and(|e| e == "msgpack"));
            let format = match format {
                Some(FormatArg::Json) => Format::Json,
                Some(FormatArg::Msgpack) => Format::Msgpack,
                None if by_name => Format::Msgpack,
                None => Format::Json,
            };
            let mut bytes = workflow.to_bytes(format);
            match out {
                Some(out) => {
                    std::fs::write(&out, &bytes)
                        .with_context(|| format!("writing {}", out.display()))?;
                    eprintln!(
                        "wrote {} ({} bytes) from template {}",
                        out.display(),
                        bytes.len(),
                        template.reference()
                    );
                }
                None => {
                    if matches!(format, Format::Json) {
                        bytes.push(b'\n');
                    }
                    std::io::stdout()
                        .write_all(&bytes)
                        .context("writing the workflow to stdout")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The templates as a table (or JSON); with one version of each, the
/// version column counts the others.
fn print_list(
    library: &TemplateLibrary,
    templates: &[&Template],
    all_versions: bool,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let list: Vec<Value> = templates.iter().map(|t| summary(library, t)).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let rows: Vec<[String; 4]> = templates
        .iter()
        .map(|t| {
            let others = library.versions(t.id()).len().saturating_sub(1);
            let version = match others {
                n if n > 0 && !all_versions => format!("{} (+{n})", t.version()),
                _ => t.version().to_string(),
            };
            [
                t.id().to_string(),
                version,
                t.name().to_string(),
                t.tags().join(", "),
            ]
        })
        .collect();
    if !rows.is_empty() {
        print!("{}", table(["ID", "VERSION", "NAME", "TAGS"], &rows));
    }
    Ok(())
}

/// Rows under a header, columns padded to their widest cell.
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                line += cell;
            } else {
                line += &format!("{cell:<width$}  ", width = widths[i]);
            }
        }
        line.trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    for row in rows {
        out += &line(row.each_ref().map(String::as_str));
    }
    out
}

/// What `show` prints.
fn show(library: &TemplateLibrary, template: &Template) -> String {
    let mut out = format!(
        "template {} {} ({})\n",
        template.id(),
        template.version(),
        template.name()
    );
    if let Some(description) = template.description() {
        out += &format!("  {description}\n");
    }
    out += &format!("  versions: {}\n", versions(library, template).join(", "));
    if !template.tags().is_empty() {
        out += &format!("  tags: {}\n", template.tags().join(", "));
    }
    out += &format!("  file: {}\n", template.origin());
    if template.parameters().is_empty() {
        out += "\nno parameters\n";
        return out;
    }
    let rows: Vec<[String; 5]> = template
        .parameters()
        .iter()
        .map(|(name, p)| {
            [
                name.clone(),
                p.kind.to_string(),
                requirement(p),
                p.constraints(),
                p.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out += "\nparameters\n";
    for line in table(
        [
            "NAME",
            "TYPE",
            "REQUIRED/DEFAULT",
            "CONSTRAINTS",
            "DESCRIPTION",
        ],
        &rows,
    )
    .lines()
    {
        out += &format!("  {line}\n");
    }
    out
}

fn requirement(param: &Parameter) -> String {
    match &param.default {
        Some(default) => format!("default {default}"),
        None => "required".into(),
    }
}

fn versions(library: &TemplateLibrary, template: &Template) -> Vec<String> {
    library
        .versions(template.id())
        .iter()
        .map(|t| t.version().to_string())
        .collect()
}

/// One template in `list --json` and `search --json`.
fn summary(library: &TemplateLibrary, template: &Template) -> Value {
    json!({
        "id": template.id(),
        "version": template.version().to_string(),
        "name": template.name(),
        "description": template.description(),
        "tags": template.tags(),
        "versions": versions(library, template),
        "file": template.origin(),
    })
}

/// What `show --json` prints: the summary and the parameters.
fn describe(library: &TemplateLibrary, template: &Template) -> Value {
    let mut value = summary(library, template);
    value["parameters"] = template
        .parameters()
        .iter()
        .map(|(name, p)| {
            let mut param = serde_json::to_value(p).unwrap_or_default();
            param["constraints"] = json!(p.constraints());
            (name.clone(), param)
        })
        .collect();
    value
}
