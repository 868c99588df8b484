use serde_json::json;

use super::*;

/// A template file's text: one node whose config takes parameter `n`.
fn text(id: &str, version: &str, name: &str, tags: &[&str], description: &str) -> String {
    json!({
        "template_version": 1,
        "template": {
            "id": id, "version": version, "name": name, "tags": tags,
            "description": description,
            "parameters": {"n": {"type": "integer", "default": 1}}
        },
        "workflow": {
            "schema_version": 2, "id": id, "name": name, "version": "1.0.0",
            "nodes": [{"id": "a", "kind": "instrument", "extension": "mock-llm",
                       "config": {"keywords": "{{n}}"}}]
        }
    })
    .to_string()
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A library of five ids, one with three versions, and a broken file.
fn library() -> (tempfile::TempDir, TemplateLibrary) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "brief/1.0.json",
        &text(
            "brief",
            "1.0.0",
            "Text brief",
            &["summary"],
            "A short brief",
        ),
    );
    write(
        d,
        "brief/1.1.json",
        &text(
            "brief",
            "1.1.0",
            "Text brief",
            &["summary"],
            "A short brief",
        ),
    );
    write(
        d,
        "brief/2.0-rc.json",
        &text(
            "brief",
            "2.0.0-rc.1",
            "Text brief",
            &["summary"],
            "A short brief",
        ),
    );
    write(
        d,
        "triage.json",
        &text(
            "review-triage",
            "1.0.0",
            "Review triage",
            &["reviews", "triage"],
            "Sort reviews",
        ),
    );
    write(
        d,
        "deep/er/summary.json",
        &text(
            "summarise",
            "0.1.0",
            "Summarise",
            &["text"],
            "A summary of reviews",
        ),
    );
    write(
        d,
        "keywords.json",
        &text(
            "keywords",
            "1.0.0",
            "Keywords of a summary",
            &["text"],
            "Top words",
        ),
    );
    write(
        d,
        "tagged.json",
        &text(
            "zeta",
            "1.0.0",
            "Zeta",
            &["summary-extra", "Review"],
            "Nothing",
        ),
    );
    write(d, "broken.json", "{\"template_version\": 1,");
    write(d, "notes.txt", "not a template");
    write(d, ".hidden/x.json", "{}");
    let library = TemplateLibrary::open([d]).unwrap();
    (dir, library)
}

fn refs(templates: Vec<&Template>) -> Vec<String> {
    templates.iter().map(|t| t.reference()).collect()
}

#[test]
fn a_bad_file_is_kept_as_an_error_and_the_rest_load() {
    let (dir, library) = library();
    assert_eq!(library.len(), 7);
    let [(path, error)] = library.errors() else {
        panic!("{:?}", library.errors());
    };
    assert_eq!(path, &dir.path().join("broken.json"));
    assert!(matches!(error, TemplateError::Parse { .. }), "{error}");
}

#[test]
fn a_second_file_with_the_same_id_and_version_is_an_error() {
    let (dir, _) = library();
    write(
        dir.path(),
        "z-copy.json",
        &text("keywords", "1.0.0", "Copy", &[], ""),
    );
    let library = TemplateLibrary::open([dir.path()]).unwrap();
    let (path, error) = &library.errors()[1];
    assert_eq!(path, &dir.path().join("z-copy.json"));
    assert_eq!(
        error.to_string(),
        format!(
            "template 'keywords' version 1.0.0 is already defined by {}",
            dir.path().join("keywords.json").display()
        )
    );
    assert_eq!(
        library.get("keywords").unwrap().name(),
        "Keywords of a summary"
    );
}

#[test]
fn a_directory_given_twice_is_read_once() {
    let (dir, _) = library();
    let library = TemplateLibrary::open([dir.path(), dir.path()]).unwrap();
    assert_eq!((library.len(), library.errors().len()), (7, 1));
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_aliases_of_a_directory_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "t/one.json", &text("one", "1.0.0", "One", &[], ""));
    std::os::unix::fs::symlink(d.join("t"), d.join("t/loop")).unwrap();
    std::os::unix::fs::symlink(d.join("t"), d.join("t/again")).unwrap();
    let library = TemplateLibrary::open([d.join("t"), d.join("t/."), d.join("t/loop")]).unwrap();
    assert_eq!(library.len(), 1);
    assert!(library.errors().is_empty(), "{:?}", library.errors());
}

#[test]
fn a_missing_directory_fails_the_open() {
    let err = TemplateLibrary::open(["/no/such/dir"]).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot read /no/such/dir:"),
        "{err}"
    );
}

#[test]
fn versions_are_found_by_name_exact_version_or_requirement() {
    let (_dir, library) = library();
    let version = |r: &str| library.get(r).map(|t| t.version().to_string());
    // The latest that is not a pre-release.
    assert_eq!(version("brief").unwrap(), "1.1.0");
    assert_eq!(version("brief@1.0.0").unwrap(), "1.0.0");
    assert_eq!(version("brief@2.0.0-rc.1").unwrap(), "2.0.0-rc.1");
    assert_eq!(version("brief@^1").unwrap(), "1.1.0");
    assert_eq!(version("brief@~1.0").unwrap(), "1.0.0");
    assert_eq!(version("brief@>=2.0.0-rc.0").unwrap(), "2.0.0-rc.1");
    assert_eq!(
        refs(library.versions("brief")),
        ["brief@1.0.0", "brief@1.1.0", "brief@2.0.0-rc.1"]
    );
    let err = library.get("brief@^3").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no template 'brief@^3': template 'brief' has versions 1.0.0, 1.1.0, 2.0.0-rc.1"
    );
    let err = library.get("brief@one").unwrap_err();
    assert!(matches!(err, TemplateError::BadReference { .. }), "{err}");
    let err = library.get("summar").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no template 'summar': did you mean 'summarise'? (1 file could not be loaded)"
    );
    assert!(library.get("@1").is_err());
}

#[test]
fn only_pre_releases_means_the_newest_one() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.json",
        &text("a", "0.1.0-alpha", "A", &[], ""),
    );
    write(dir.path(), "b.json", &text("a", "0.1.0-beta", "A", &[], ""));
    let library = TemplateLibrary::open([dir.path()]).unwrap();
    assert_eq!(
        library.get("a").unwrap().version().to_string(),
        "0.1.0-beta"
    );
}

#[test]
fn lists_are_sorted_by_id_with_the_latest_versions() {
    let (_dir, library) = library();
    assert_eq!(
        refs(library.list(false)),
        [
            "brief@1.1.0",
            "keywords@1.0.0",
            "review-triage@1.0.0",
            "summarise@0.1.0",
            "zeta@1.0.0"
        ]
    );
    assert_eq!(library.list(true).len(), 7);
    assert_eq!(library.list(true)[2].reference(), "brief@2.0.0-rc.1");
}

#[test]
fn search_ranks_id_over_name_over_tags_over_description() {
    let (_dir, library) = library();
    // "summar": id of summarise; name of keywords; tag of zeta ("summary-extra")
    // and of brief ("summary").
    assert_eq!(
        refs(library.search("SUMMAR", &[] as &[&str], false)),
        [
            "summarise@0.1.0",
            "keywords@1.0.0",
            "brief@1.1.0",
            "zeta@1.0.0"
        ]
    );
    // "review": id, tag, description.
    assert_eq!(
        refs(library.search("review", &[] as &[&str], false)),
        ["review-triage@1.0.0", "zeta@1.0.0", "summarise@0.1.0"]
    );
}

#[test]
fn every_word_must_match_somewhere() {
    let (_dir, library) = library();
    assert_eq!(
        refs(library.search("short brief", &[] as &[&str], false)),
        ["brief@1.1.0"]
    );
    assert!(
        library
            .search("short triage", &[] as &[&str], false)
            .is_empty()
    );
}

#[test]
fn tags_filter_exactly_and_all_must_be_present() {
    let (_dir, library) = library();
    assert_eq!(
        refs(library.search("", &["Text"], false)),
        ["keywords@1.0.0", "summarise@0.1.0"]
    );
    assert_eq!(refs(library.search("", &["review"], false)), ["zeta@1.0.0"]);
    assert_eq!(
        refs(library.search("", &["reviews", "triage"], false)),
        ["review-triage@1.0.0"]
    );
    assert!(library.search("", &["reviews", "text"], false).is_empty());
    assert_eq!(
        refs(library.search("brief", &["summary"], true)),
        ["brief@1.0.0", "brief@1.1.0", "brief@2.0.0-rc.1"]
    );
}

#[test]
fn many_files_load_in_parallel_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..300 {
        write(
            dir.path(),
            &format!("t{i:03}.json"),
            &text(&format!("t{i:03}"), "1.0.0", "T", &[], ""),
        );
    }
    write(dir.path(), "t150.json", "{}");
    let library = TemplateLibrary::open([dir.path()]).unwrap();
    assert_eq!(library.len(), 299);
    assert_eq!(library.errors()[0].0, dir.path().join("t150.json"));
    assert_eq!(library.list(false)[150].id(), "t151");
}
