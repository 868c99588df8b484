//! A template document: reading and checking it, and instantiating it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{TEMPLATE_VERSION, TemplateError, placeholder};
use crate::{Problem, Workflow, WorkflowError, without_position};
use symphony_manifest::ParameterSpec;
use symphony_manifest::param::{self, Parameter, show};

/// A workflow template: a workflow with typed parameters, which
/// `symphony template instantiate` fills in.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Symphony workflow template")]
struct File {
    /// The JSON Schema the file follows, for editors; not used by the host.
    #[serde(rename = "$schema", default)]
    #[allow(dead_code, reason = "read so that deny_unknown_fields accepts it")]
    schema: Option<String>,
    /// The version of the template file format: 1.
    #[schemars(with = "u64", range(min = 1, max = 1))]
    template_version: Option<u64>,
    /// Who the template is and what it takes.
    template: Header,
    /// The workflow (see the workflow format), in which `{{name}}` stands
    /// for the parameter `name`: a whole string `"{{n}}"` becomes the
    /// parameter's value of any type, and inside a longer string its text.
    /// Kept as text: placeholders may stand where the workflow model
    /// expects numbers or lists, and it is only parsed on instantiation.
    #[schemars(with = "Map<String, Value>")]
    workflow: Box<RawValue>,
}

/// Only the format version, read when a file does not parse, to tell a
/// newer format from a broken file.
#[derive(Deserialize)]
struct Probe {
    template_version: Option<u64>,
}

/// The `template` object.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Header {
    /// A stable identifier, e.g. `summarise-text`; with `version`, it names
    /// the template in a library.
    id: String,
    /// The template's semver version, e.g. `"1.2.0"`.
    version: semver::Version,
    /// A short name, shown in listings.
    name: String,
    /// What the workflows it makes do.
    #[serde(default)]
    description: Option<String>,
    /// Tags for finding it, e.g. `["summary", "text"]`.
    #[serde(default)]
    tags: Vec<String>,
    /// The parameters, by name (`[A-Za-z_][A-Za-z0-9_-]*`), each typed.
    /// Definitions are checked one by one so every problem is reported.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, ParameterSpec>")]
    parameters: Map<String, Value>,
}

/// The template file format's JSON Schema.
pub(super) fn schema() -> Value {
    symphony_manifest::file_schema::<File>()
}

/// A workflow with typed parameters, filled in by [`Template::instantiate`].
///
/// # Template files
///
/// One template per JSON file:
///
/// ```json
/// {
///   "template_version": 1,
///   "template": {
///     "id": "summarise-text", "version": "1.2.0", "name": "Summarise a text",
///     "description": "An extractive summary of a text.", "tags": ["summary", "text"],
///     "parameters": {
///       "sentences": {"type": "integer", "default": 1, "min": 1, "max": 10,
///                     "description": "Sentences in the summary"},
///       "tone": {"type": "string", "enum": ["formal", "casual"], "required": true},
///       "slug": {"type": "string", "pattern": "^[a-z-]+$", "default": "summary"}
///     }
///   },
///   "workflow": {"schema_version": 2, "id": "{{slug}}", "...": "..."}
/// }
/// ```
///
/// `template_version` is the version of this file format (1). The template's
/// `id` and `version` (semver) identify it in a
/// [`TemplateLibrary`](crate::TemplateLibrary), where
/// several versions of one id live side by side.
///
/// # Parameters
///
/// - `type`: `string`, `number`, `integer`, `bool`, `list`, `object` or
///   `any`. An integer given as `3.0` is taken as `3`.
/// - `default`: the value used when none is given. A parameter without a
///   default is required; `required` may say so (`true`) but must agree:
///   `required: true` with a default, or `required: false` without one, is
///   a definition error.
/// - `min` / `max` (inclusive): the value of a `number` or `integer`, the
///   length in characters of a `string`, the number of items of a `list`.
/// - `enum`: the allowed values, each of the parameter's type.
/// - `pattern`: a regular expression a `string` must match somewhere (an
///   unanchored search, as in JSON Schema: anchor it with `^...$`).
/// - `description`: what the parameter is for.
///
/// Definitions are checked when a template is loaded (types, `min <= max`,
/// the pattern compiles, `enum` values and the default fit the parameter),
/// and every problem is reported at once.
///
/// # Placeholders
///
/// Anywhere in the `workflow` value (ids, names, metadata, node configs), a
/// string that is exactly `"{{name}}"` (spaces inside the braces allowed) is
/// replaced by the parameter's value as is: a number stays a number, a list
/// a list. A placeholder inside a longer string is replaced by text: a
/// string as it is, any other value as compact JSON. Object keys are never
/// substituted. A parameter name is a letter or `_` followed by letters,
/// digits, `_` or `-`; text between braces that is not such a name is left
/// alone. Loading reports placeholders naming no declared parameter (with
/// the path where they occur, e.g. `workflow.nodes[1].config.keywords`) and
/// declared parameters no placeholder uses.
#[derive(Debug, Clone)]
pub struct Template {
    /// A stable identifier, e.g. `summarise-text`.
    id: String,
    /// The template's own version.
    version: semver::Version,
    /// A short name, e.g. `Summarise a text`.
    name: String,
    /// What the template makes.
    description: Option<String>,
    /// Tags for finding it.
    tags: Vec<String>,
    /// The parameters by name.
    parameters: BTreeMap<String, Parameter>,
    /// The workflow document as JSON text, placeholders and all.
    workflow: Box<str>,
    /// The file it came from, or what the caller named it.
    origin: String,
}

impl Template {
    /// Parses and checks a template from JSON text; `origin` names it in
    /// errors. Every problem with its definitions is reported at once.
    pub fn from_json(text: &str, origin: &str) -> Result<Template, TemplateError> {
        let file = parse(text, origin)?;
        let header = file.template;
        let mut problems = Vec::new();
        let mut problem = |at: &str, message: String| {
            problems.push(Problem {
                at: at.to_string(),
                message,
            })
        };
        if header.id.is_empty()
            || !header
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            problem(
                "template",
                format!(
                    "id {} may hold only letters, digits, '-', '_' and '.'",
                    show(&Value::from(header.id.as_str()))
                ),
            );
        }
        if header.name.trim().is_empty() {
            problem("template", "has an empty name".into());
        }
        if header.tags.iter().any(|t| t.trim().is_empty()) {
            problem("template", "has an empty tag".into());
        }
        let mut parameters = BTreeMap::new();
        for (name, definition) in &header.parameters {
            let at = param_at(name);
            let mut messages = Vec::new();
            if !param::is_name(name) {
                messages.push(
                    "the name may hold only letters, digits, '_' and '-', and starts with a \
                     letter or '_'"
                        .into(),
                );
            }
            if let Some(parameter) = Parameter::define(definition, &mut messages) {
                parameters.insert(name.clone(), parameter);
            }
            for message in messages {
                problem(&at, message);
            }
        }
        let workflow = file.workflow.get();
        if !workflow.starts_with('{') {
            problem(
                "workflow",
                "must be a workflow document: {\"schema_version\": 2, ...}".into(),
            );
        }
        let names = placeholder::names(workflow);
        let used: BTreeSet<&str> = names
            .iter()
            .filter(|(name, key)| !key && header.parameters.contains_key(name))
            .map(|(name, _)| name.as_str())
            .collect();
        let wrong = |(name, key): &(String, bool)| *key || !header.parameters.contains_key(name);
        if names.iter().any(wrong) {
            // Parse the document only now, to say where the problems are.
            let value: Value = serde_json::from_str(workflow).unwrap_or_default();
            let found = placeholder::find(&value, "workflow");
            for (name, at) in &found.uses {
                if !header.parameters.contains_key(name) {
                    problem(
                        at,
                        format!(
                            "placeholder {{{{{name}}}}} names no parameter ({})",
                            declared(header.parameters.keys())
                        ),
                    );
                }
            }
            for at in &found.in_keys {
                problem(
                    at,
                    "object keys are not substituted: put the placeholder in a value".into(),
                );
            }
        }
        for name in header.parameters.keys() {
            if !used.contains(name.as_str()) {
                problem(
                    &param_at(name),
                    format!(
                        "no placeholder uses it: put {{{{{name}}}}} in the workflow or remove the parameter"
                    ),
                );
            }
        }
        if !problems.is_empty() {
            return Err(TemplateError::Invalid {
                origin: origin.to_string(),
                problems,
            });
        }
        Ok(Template {
            id: header.id,
            version: header.version,
            name: header.name,
            description: header.description,
            tags: header.tags,
            parameters,
            workflow: workflow.into(),
            origin: origin.to_string(),
        })
    }

    /// Reads and checks a template file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Template, TemplateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Template::from_json(&text, &path.display().to_string())
    }

    /// The template's id, e.g. `summarise-text`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The template's version.
    pub fn version(&self) -> &semver::Version {
        &self.version
    }

    /// `id@version`, e.g. `summarise-text@1.2.0`.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// A short name, e.g. `Summarise a text`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the template makes, if it says.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Tags for finding it.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The parameters, by name.
    pub fn parameters(&self) -> &BTreeMap<String, Parameter> {
        &self.parameters
    }

    /// The workflow document with its placeholders, as JSON text.
    pub fn workflow_json(&self) -> &str {
        &self.workflow
    }

    /// The file it was read from, or the origin given to
    /// [`Template::from_json`].
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Checks `params` against the parameters (unknown names, missing
    /// required ones, wrong types, out of range, not in `enum`, not
    /// matching `pattern`), fills in defaults, substitutes the
    /// placeholders and checks the workflow's structure. Every problem is
    /// reported at once, each naming its parameter or where in the
    /// workflow it is.
    pub fn instantiate(&self, params: &BTreeMap<String, Value>) -> Result<Workflow, TemplateError> {
        let mut problems = Vec::new();
        let values = self.resolve(params, &BTreeSet::new(), &mut problems);
        self.build(&values, problems)
    }

    /// The workflow made from `values`, unless there are `problems`.
    pub(super) fn build(
        &self,
        values: &BTreeMap<String, Value>,
        problems: Vec<Problem>,
    ) -> Result<Workflow, TemplateError> {
        if !problems.is_empty() {
            return Err(self.failed(problems));
        }
        let document = placeholder::substitute(&self.workflow, values);
        let origin = format!("template {}", self.reference());
        let workflow = Workflow::from_json(&document, &origin).map_err(|e| {
            let message = match e {
                // The line and column are in generated text: no use here.
                WorkflowError::Parse { message, .. } => {
                    format!("the filled-in workflow does not parse: {message}")
                }
                other => other.to_string(),
            };
            self.failed(vec![Problem {
                at: "workflow".into(),
                message,
            }])
        })?;
        match workflow.validate_structure() {
            Ok(_) => Ok(workflow),
            Err(WorkflowError::Invalid { problems, .. }) => Err(self.failed(
                problems
                    .into_iter()
                    .map(|p| Problem {
                        at: if p.at == "workflow" {
                            p.at
                        } else {
                            format!("workflow {}", p.at)
                        },
                        message: p.message,
                    })
                    .collect(),
            )),
            Err(other) => Err(self.failed(vec![Problem {
                at: "workflow".into(),
                message: other.to_string(),
            }])),
        }
    }

    pub(super) fn failed(&self, mut problems: Vec<Problem>) -> TemplateError {
        // Arguments' and parameters' problems grouped by what they name,
        // each one's in order; the workflow's after them, in the
        // validator's order.
        problems.sort_by_key(|p| match p.at.starts_with("workflow") {
            false => (0, p.at.clone()),
            true => (1, String::new()),
        });
        TemplateError::Instantiate {
            template: self.reference(),
            problems,
        }
    }
}

/// Reads the file and its header, telling an unsupported format version
/// from a broken file.
fn parse(text: &str, origin: &str) -> Result<File, TemplateError> {
    let unsupported = |found| TemplateError::UnsupportedVersion {
        origin: origin.to_string(),
        found,
    };
    match serde_json::from_str::<File>(text) {
        Ok(file) if file.template_version == Some(TEMPLATE_VERSION) => Ok(file),
        Ok(file) => Err(unsupported(file.template_version)),
        Err(e) => match serde_json::from_str::<Probe>(text) {
            Ok(probe) if probe.template_version != Some(TEMPLATE_VERSION) => {
                Err(unsupported(probe.template_version))
            }
            _ => Err(TemplateError::Parse {
                origin: origin.to_string(),
                line: e.line(),
                column: e.column(),
                message: without_position(&e),
            }),
        },
    }
}

pub(super) fn param_at(name: &str) -> String {
    format!("parameter '{name}'")
}

/// `this template has: a, b`, for messages.
pub(super) fn declared<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "this template has no parameters".into()
    } else {
        format!("this template has: {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests;
