//! `symphony schema`: the JSON Schemas of the files people write.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use symphony_host::schema::FileFormat;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Point an editor at a schema to complete and check files: in JSON, \
                        \"$schema\": \"PATH-OR-URL\" as the first key; in TOML, a first line \
                        #:schema PATH-OR-URL (taplo, Even Better TOML)."
)]
pub struct SchemaArgs {
    /// The format whose schema to print; without one, list them.
    #[arg(value_enum)]
    name: Option<SchemaName>,
    /// Write every schema into DIR as NAME.schema.json instead.
    #[arg(long, value_name = "DIR", conflicts_with = "name")]
    out: Option<PathBuf>,
    /// List the formats as JSON.
    #[arg(long)]
    json: bool,
}

/// The formats, as the command line names them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SchemaName {
    /// A workflow file (JSON).
    Workflow,
    /// A workflow template (JSON).
    Template,
    /// An extension's symphony.toml.
    Manifest,
    /// A retention policy, <home>/retention.toml.
    Retention,
    /// The Arbitration Engine's settings, <home>/arbitration.toml.
    Arbitration,
}

impl From<SchemaName> for FileFormat {
    fn from(name: SchemaName) -> FileFormat {
        match name {
            SchemaName::Workflow => FileFormat::Workflow,
            SchemaName::Template => FileFormat::Template,
            SchemaName::Manifest => FileFormat::Manifest,
            SchemaName::Retention => FileFormat::Retention,
            SchemaName::Arbitration => FileFormat::Arbitration,
        }
    }
}

pub fn run(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = args.name {
        let schema = FileFormat::from(name).schema();
        println!("{}", serde_json::to_string_pretty(&schema)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(dir) = args.out {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for format in FileFormat::ALL {
            let path = dir.join(format.file_name());
            let text = serde_json::to_string_pretty(&format.schema())? + "\n";
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let list: Vec<_> = FileFormat::ALL
            .into_iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name(),
                    "description": f.describe(),
                    "file": f.file_name(),
                    "toml": f.is_toml(),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
    } else {
        for format in FileFormat::ALL {
            writeln!(out, "{:<10} {}", format.name(), format.describe())?;
        }
        writeln!(
            out,
            "\n`symphony schema NAME` prints one; `--out DIR` writes them all."
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
