//! A library of templates on disk: loading a directory tree, finding a
//! template by id and version, searching by text and tags.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::index::SearchIndex;
use super::{Template, TemplateError};

/// Directories nested deeper than this are not scanned (a guard against
/// symlink loops).
const MAX_DEPTH: usize = 16;

/// The templates found in one or more directories (`*.json`, subdirectories
/// included), every version of each id side by side.
///
/// Files that fail to load do not fail the library: they are kept with
/// their error in [`TemplateLibrary::errors`]. So is a second file with an
/// id and version already loaded (the first in path order wins).
///
/// ```no_run
/// use symphony_workflow::TemplateLibrary;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let library = TemplateLibrary::open(["examples/templates"])?;
/// for (path, error) in library.errors() {
///     eprintln!("warning: skipped {}: {error}", path.display());
/// }
/// let latest = library.get("text-brief")?;
/// let exact = library.get("text-brief@1.0.0")?;
/// let newest_1x = library.get("text-brief@^1")?;
/// for template in library.search("review", &["triage"], false) {
///     println!("{} {}", template.reference(), template.name());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TemplateLibrary {
    /// Sorted by id, then version.
    templates: Vec<Template>,
    /// Index into `templates` of each id's latest version, in id order.
    latest: Vec<usize>,
    /// What search reads.
    index: SearchIndex,
    /// Files that could not be loaded, in path order.
    errors: Vec<(PathBuf, TemplateError)>,
}

impl TemplateLibrary {
    /// Loads every `*.json` file under `dirs` (hidden files and
    /// directories skipped). Fails only if one of `dirs` cannot be read.
    pub fn open<P: AsRef<Path>>(
        dirs: impl IntoIterator<Item = P>,
    ) -> Result<TemplateLibrary, TemplateError> {
        let mut files = Vec::new();
        // Directories by their real path: one given twice, inside another
        // given, or reached again through a symlink is read once.
        let mut visited = std::collections::HashSet::new();
        for dir in dirs {
            let dir = dir.as_ref();
            let io = |source| TemplateError::Io {
                path: dir.to_path_buf(),
                source,
            };
            let entries = std::fs::read_dir(dir).map_err(io)?;
            if !visited.insert(std::fs::canonicalize(dir).map_err(io)?) {
                continue;
            }
            let mut found = Vec::new();
            scan(entries, 0, &mut visited, &mut found);
            found.sort();
            files.append(&mut found);
        }
        let loaded = load_all(&files);

        let mut templates = Vec::with_capacity(loaded.len());
        let mut errors = Vec::new();
        let mut seen: HashMap<(String, semver::Version), PathBuf> = HashMap::new();
        for (path, result) in files.into_iter().zip(loaded) {
            let template = match result {
                Ok(template) => template,
                Err(e) => {
                    errors.push((path, e));
                    continue;
                }
            };
            let key = (template.id().to_string(), template.version().clone());
            if let Some(first) = seen.get(&key) {
                let (id, version) = key;
                let first = first.clone();
                errors.push((path, TemplateError::Duplicate { id, version, first }));
                continue;
            }
            seen.insert(key, path);
            templates.push(template);
        }
        templates.sort_by(|a, b| (a.id(), a.version()).cmp(&(b.id(), b.version())));
        let mut latest = Vec::new();
        let mut start = 0;
        while start < templates.len() {
            let id = templates[start].id();
            let end = start + templates[start..].partition_point(|t| t.id() == id);
            latest.push(newest(&templates[start..end]).map_or(end - 1, |i| start + i));
            start = end;
        }
        Ok(TemplateLibrary {
            index: SearchIndex::new(&templates),
            templates,
            latest,
            errors,
        })
    }

    /// Files that could not be loaded, and why, in path order.
    pub fn errors(&self) -> &[(PathBuf, TemplateError)] {
        &self.errors
    }

    /// How many templates (every version counted) were loaded.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether no template was loaded.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// Finds a template: `NAME` is its latest version (the newest that is
    /// not a pre-release, if there is one), `NAME@1.2.0` that exact
    /// version, `NAME@^1` (any semver requirement) the newest matching.
    pub fn get(&self, reference: &str) -> Result<&Template, TemplateError> {
        let (id, version) = match reference.split_once('@') {
            Some((id, version)) => (id, Some(version.trim())),
            None => (reference, None),
        };
        let bad = |message: String| TemplateError::BadReference {
            reference: reference.to_string(),
            message,
        };
        if id.is_empty() {
            return Err(bad("no template id before '@'".into()));
        }
        let versions = self.versions(id);
        if versions.is_empty() {
            return Err(TemplateError::NotFound {
                reference: reference.to_string(),
                hint: self.not_found_hint(id),
            });
        }
        let found = match version {
            None => return Ok(&self.templates[self.latest[self.latest_index(id)]]),
            Some(text) => match semver::Version::parse(text) {
                Ok(exact) => versions.iter().find(|t| *t.version() == exact),
                Err(_) => {
                    let req = semver::VersionReq::parse(text)
                        .map_err(|e| bad(format!("'{text}' is not a version: {e}")))?;
                    versions.iter().rev().find(|t| req.matches(t.version()))
                }
            },
        };
        found.copied().ok_or_else(|| TemplateError::NotFound {
            reference: reference.to_string(),
            hint: format!(
                "template '{id}' has versions {}",
                versions
                    .iter()
                    .map(|t| t.version().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// Every version of template `id`, oldest first; empty if there is none.
    pub fn versions(&self, id: &str) -> Vec<&Template> {
        let start = self.templates.partition_point(|t| t.id() < id);
        self.templates[start..]
            .iter()
            .take_while(|t| t.id() == id)
            .collect()
    }

    /// The templates sorted by id: the latest version of each, or every
    /// version (oldest first) with `all_versions`.
    pub fn list(&self, all_versions: bool) -> Vec<&Template> {
        self.candidates(all_versions)
            .map(|i| &self.templates[i])
            .collect()
    }

    /// The templates matching `query` and carrying every tag in `tags`,
    /// best match first. Matching ignores case; each word of `query` must
    /// appear in the id, the name, a tag or the description, and a
    /// template ranks higher the better the fields its words are found in
    /// (id, then name, tags, description); ties go by id. An empty query
    /// matches every template. Only the latest version of each id is
    /// searched unless `all_versions`.
    pub fn search<S: AsRef<str>>(
        &self,
        query: &str,
        tags: &[S],
        all_versions: bool,
    ) -> Vec<&Template> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let tags: Vec<String> = tags.iter().map(|t| t.as_ref().to_lowercase()).collect();
        let mut hits = self
            .index
            .search(self.candidates(all_versions), &words, &tags);
        // Stable: equal scores keep id (then version) order.
        hits.sort_by_key(|&(score, _)| std::cmp::Reverse(score));
        hits.into_iter().map(|(_, i)| &self.templates[i]).collect()
    }

    /// Indices of the templates to list or search, ascending.
    fn candidates(&self, all_versions: bool) -> Box<dyn Iterator<Item = usize> + '_> {
        if all_versions {
            Box::new(0..self.templates.len())
        } else {
            Box::new(self.latest.iter().copied())
        }
    }

    /// The position in `latest` of `id`, which must be loaded.
    fn latest_index(&self, id: &str) -> usize {
        self.latest
            .partition_point(|&i| self.templates[i].id() < id)
    }

    fn not_found_hint(&self, id: &str) -> String {
        let needle = id.to_lowercase();
        let similar: Vec<&str> = self
            .latest
            .iter()
            .map(|&i| self.templates[i].id())
            .filter(|id| {
                let id = id.to_lowercase();
                id.contains(&needle) || needle.contains(&id)
            })
            .take(3)
            .collect();
        let mut hint = if !similar.is_empty() {
            format!("did you mean {}?", quoted(&similar))
        } else if self.latest.is_empty() {
            "the library has no templates".into()
        } else {
            format!("the library has {} other templates", self.latest.len())
        };
        match self.errors.len() {
            0 => {}
            1 => hint += " (1 file could not be loaded)",
            n => hint += &format!(" ({n} files could not be loaded)"),
        }
        hint
    }
}

/// Among one id's versions (ascending), the index of the newest that is
/// not a pre-release.
fn newest(versions: &[Template]) -> Option<usize> {
    versions.iter().rposition(|t| t.version().pre.is_empty())
}

fn quoted(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Collects the `*.json` files under a directory, skipping hidden entries
/// and what cannot be read (a library is best effort).
fn scan(
    entries: std::fs::ReadDir,
    depth: usize,
    visited: &mut std::collections::HashSet<PathBuf>,
    found: &mut Vec<PathBuf>,
) {
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows symlinks, so a linked file or directory counts.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if depth < MAX_DEPTH
                && std::fs::canonicalize(&path).is_ok_and(|real| visited.insert(real))
                && let Ok(entries) = std::fs::read_dir(&path)
            {
                scan(entries, depth + 1, visited, found);
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
}

/// Loads `files`, spread over the machine's cores when there are many.
fn load_all(files: &[PathBuf]) -> Vec<Result<Template, TemplateError>> {
    const PER_THREAD: usize = 64;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().div_ceil(PER_THREAD))
        .max(1);
    if threads == 1 {
        return files.iter().map(Template::from_file).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(Template::from_file).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests;
