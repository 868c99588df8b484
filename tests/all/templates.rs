//! Example templates instantiated and run on the example extensions.

use std::collections::BTreeMap;

use serde_json::json;
use symphony_host::{runs::ExecutionState, workflow::TemplateLibrary};
use symphony_tests::{assert_completed, examples_dir, host};

const REVIEW: &str = "The editor is fast and great. Search is fast. Plugins are fast, \
                      stable and great. The editor never crashes.";

#[test]
fn a_review_triage_template_runs_with_its_parameters() {
    let library = TemplateLibrary::open([examples_dir().join("templates")]).unwrap();
    assert!(library.errors().is_empty(), "{:?}", library.errors());
    let host = host();
    let template = library.get("review-triage").unwrap();
    for keywords in [1, 2, 4] {
        let params = BTreeMap::from([
            ("product".to_string(), json!("the editor")),
            ("keywords".to_string(), json!(keywords)),
            ("score_digits".to_string(), json!(0)),
        ]);
        let workflow = template.instantiate(&params).unwrap();
        assert_eq!(workflow.name, "review-triage: the editor");
        let report = host.run(&workflow, &json!(REVIEW)).unwrap();
        assert_completed(&report);
        let output = report.output.unwrap();
        assert_eq!(
            output["tags"].as_array().unwrap().len(),
            keywords,
            "{output}"
        );
        assert_eq!(output["sentiment"], "positive", "{output}");
        assert_eq!(output["score"], json!(1.0), "{output}");
    }
}

#[test]
fn every_version_of_the_brief_template_runs_with_its_defaults() {
    let library = TemplateLibrary::open([examples_dir().join("templates")]).unwrap();
    let host = host();
    let versions = library.versions("text-brief");
    assert_eq!(versions.len(), 2);
    for template in versions {
        let workflow = template.instantiate(&BTreeMap::new()).unwrap();
        let report = host.run(&workflow, &json!({"text": REVIEW})).unwrap();
        assert_eq!(
            report.state,
            ExecutionState::Completed,
            "{}: {:?}",
            template.reference(),
            report.error
        );
        let topics = report.output.unwrap()["topics"].clone();
        assert_eq!(topics.as_array().unwrap().len(), 4, "{topics}");
    }
    // 1.1.0 takes the topics' case as a parameter.
    let template = library.get("text-brief@1.1").unwrap();
    let workflow = template
        .instantiate_args(&["topic_case=lowercase", "keywords=2"])
        .unwrap();
    let report = host.run(&workflow, &json!({"text": REVIEW})).unwrap();
    let topics = report.output.unwrap()["topics"].clone();
    assert_eq!(topics, json!(["fast", "editor"]));
}
