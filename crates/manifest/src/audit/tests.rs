use super::*;

fn record(ext: &str, cap: &str, decision: Decision) -> AuditRecord {
    AuditRecord::now(
        ext,
        Some("1.0.0".into()),
        cap,
        decision,
        DecidedBy::Policy,
        "",
    )
}

#[test]
fn labels_are_the_words_the_log_writes() {
    for decision in [Decision::Granted, Decision::Denied] {
        assert_eq!(serde_json::to_value(decision).unwrap(), decision.as_str());
    }
    for by in [
        DecidedBy::Policy,
        DecidedBy::Prompt,
        DecidedBy::NoPrompt,
        DecidedBy::Explicit,
        DecidedBy::EarlierGrant,
        DecidedBy::Runtime,
    ] {
        assert_eq!(serde_json::to_value(by).unwrap(), by.as_str());
    }
}

#[test]
fn records_come_back_filtered_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("audit.log"));
    assert!(log.query(&AuditQuery::default()).unwrap().is_empty());
    log.record(&record("a", "net:x.org:443", Decision::Granted))
        .unwrap();
    log.record(&record("b", "fs:read:/srv", Decision::Denied))
        .unwrap();
    log.record(&record("a", "clock", Decision::Denied)).unwrap();
    let all = log.query(&AuditQuery::default()).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].capability, "net:x.org:443");
    let denied_a = log
        .query(&AuditQuery {
            extension: Some("a".into()),
            decision: Some(Decision::Denied),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(denied_a.len(), 1);
    assert_eq!(denied_a[0].capability, "clock");
    let net = AuditQuery {
        capability: Some("net".into()),
        ..AuditQuery::default()
    };
    assert_eq!(log.query(&net).unwrap().len(), 1);
    let last = AuditQuery {
        limit: Some(1),
        ..AuditQuery::default()
    };
    assert_eq!(log.query(&last).unwrap()[0].capability, "clock");
}

#[test]
fn a_torn_line_is_passed_over_and_later_records_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::new(&path);
    log.record(&record("a", "clock", Decision::Granted))
        .unwrap();
    // A crash mid-write leaves half a line; the next process appends.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"{\"time_ms\": 1, \"exten")
        .unwrap();
    let later = AuditLog::new(&path);
    later
        .record(&record("b", "random", Decision::Denied))
        .unwrap();
    let all = later.query(&AuditQuery::default()).unwrap();
    let names: Vec<&str> = all.iter().map(|r| r.extension.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}
