use super::*;

fn field_error(text: &str) -> String {
    RetentionPolicy::from_toml_str(text)
        .unwrap_err()
        .to_string()
}

#[test]
fn default_policy_is_valid_and_deletes_nothing_by_rule() {
    let policy = RetentionPolicy::from_toml_str("").unwrap();
    assert_eq!(policy, RetentionPolicy::default());
    assert_eq!(policy.max_age_days, None);
    assert_eq!(policy.max_total_bytes, None);
    assert_eq!(policy.archive_after_days, None);
}

#[test]
fn full_policy_parses() {
    let policy = RetentionPolicy::from_toml_str(
        r#"
        max_age_days = 90
        min_access_count = 2
        min_quality = 0.3
        keep_tags = ["keep", "golden"]
        preserve_training = true
        training_tags = ["training"]
        max_total_bytes = 1000
        archive_after_days = 14
        cold_after_days = 60
        trash_days = 3
        [weights]
        recency = 0.5
        [throttle]
        max_bytes_per_sec = 1048576
        max_ops_per_sec = 10
        [schedule]
        interval = "6h"
        off_peak = "23:00-05:00"
        [cold]
        kind = "local"
        path = "/tmp/cold"
        "#,
    )
    .unwrap();
    assert_eq!(policy.max_age_days, Some(90));
    assert_eq!(policy.weights.recency, 0.5);
    assert_eq!(policy.weights.quality, 0.2);
    assert_eq!(
        policy.cold,
        Some(ColdConfig::Local {
            path: "/tmp/cold".into()
        })
    );
    assert_eq!(policy.throttle.max_ops_per_sec, Some(10.0));
}

#[test]
fn policy_errors_name_the_field_and_value() {
    let e = field_error("min_quality = 1.5");
    assert!(e.contains("min_quality") && e.contains("1.5"), "{e}");
    let e = field_error("archive_after_days = 30\ncold_after_days = 10");
    assert!(e.contains("cold_after_days") && e.contains("10"), "{e}");
    let e = field_error("[weights]\nrecency = -1");
    assert!(e.contains("weights.recency") && e.contains("-1"), "{e}");
    let e = field_error("[schedule]\ninterval = \"soon\"");
    assert!(e.contains("schedule.interval") && e.contains("soon"), "{e}");
    let e = field_error("[schedule]\noff_peak = \"25:00-05:00\"");
    assert!(
        e.contains("schedule.off_peak") && e.contains("25:00"),
        "{e}"
    );
    let e = field_error("[throttle]\nmax_ops_per_sec = 0");
    assert!(e.contains("throttle.max_ops_per_sec"), "{e}");
}

#[test]
fn unknown_and_mistyped_fields_are_named() {
    let e = field_error("max_age = 30");
    assert!(e.contains("max_age") && e.contains("(inline)"), "{e}");
    let e = field_error("max_age_days = \"thirty\"");
    assert!(e.contains("max_age_days"), "{e}");
    let e = field_error("[cold]\nkind = \"ftp\"");
    assert!(e.contains("ftp"), "{e}");
    let e = field_error("[cold]\nkind = \"local\"\npath = \"/x\"\nbucket = \"b\"");
    assert!(e.contains("bucket"), "{e}");
}

#[test]
fn from_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("retention.toml");
    std::fs::write(&path, "trash_days = -1").unwrap();
    let e = RetentionPolicy::from_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("retention.toml") && e.contains("trash_days"),
        "{e}"
    );
    let e = RetentionPolicy::from_file(dir.path().join("missing.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.toml"), "{e}");
}
