//! `symphony run --tenant/--priority/--budget` on a host whose
//! arbitration.toml leaves fewer slots than ready nodes, and `symphony
//! arbitration stats|log` reading back what was decided.

use std::path::Path;

use serde_json::{Value, json};

use super::{hostile_as, resume::symphony, text};

/// A workflow of three parallel 30 ms sleeps on the `sleeper` Operator.
fn three_sleeps(dir: &Path) -> String {
    let sleep = |id: &str| {
        json!({"id": id, "kind": "operator", "extension": "sleeper",
                                  "config": {"mode": "sleep", "ms": 30, "label": id}})
    };
    let workflow = json!({
        "schema_version": 2, "id": "sleeps", "name": "sleeps", "version": "1.0.0",
        "nodes": [sleep("a"), sleep("b"), sleep("c"),
                  {"id": "all", "kind": "control", "control": {"merge": "all"}}],
        "edges": [{"from": "a", "to": "all"}, {"from": "b", "to": "all"}, {"from": "c", "to": "all"}],
    });
    let file = dir.join("sleeps.json");
    std::fs::write(&file, workflow.to_string()).unwrap();
    file.display().to_string()
}

#[test]
fn waits_for_a_slot_are_explained_and_read_back_as_stats_and_log() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("arbitration.toml"),
        "[slots]\ncapacity = 1\nstrategy = \"fifo\"\n",
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    hostile_as(root.path(), "sleeper");
    let workflow = three_sleeps(root.path());
    let ext = root.path().display().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", &workflow, "--ext-dir", &ext, "--concurrency", "3"];
        args.extend(extra);
        symphony(home.path(), &args)
    };
    let out = run(&["--tenant", "team-a", "--priority", "2"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // One node takes the slot; the other two wait, told where they stand.
    for place in ["1st", "2nd"] {
        assert!(
            stderr.contains(&format!("waits for slots: {place} in line")),
            "{stderr}"
        );
    }
    assert!(stderr.contains("(fifo, tenant team-a)"), "{stderr}");

    let stats = symphony(home.path(), &["arbitration", "stats", "--json"]);
    assert!(stats.status.success(), "{}", text(&stats.stderr));
    let stats: Value = serde_json::from_slice(&stats.stdout).unwrap();
    let slots = &stats["resources"][0];
    assert_eq!(
        (slots["name"].as_str(), slots["waited"].as_u64()),
        (Some("slots"), Some(2))
    );
    let tenant = &stats["tenants"][0];
    assert_eq!(tenant["tenant"], "team-a");
    assert_eq!(
        (tenant["waited"].as_u64(), tenant["free_grants"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(tenant["wait_p99_ms"].as_f64().unwrap() >= 20.0, "{tenant}");
    let table = symphony(home.path(), &["arbitration", "stats"]);
    assert!(
        text(&table.stdout).contains("team-a"),
        "{}",
        text(&table.stdout)
    );

    let log = symphony(
        home.path(),
        &["arbitration", "log", "--json", "--verdict", "granted"],
    );
    let granted: Vec<Value> = text(&log.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(granted.len(), 2, "{granted:?}");
    assert!(
        granted
            .iter()
            .all(|d| d["tenant"] == "team-a" && d["resource"] == "slots")
    );
    let log = symphony(home.path(), &["arbitration", "log"]);
    assert!(
        text(&log.stdout).contains("queued"),
        "{}",
        text(&log.stdout)
    );
}

#[test]
fn a_run_budget_ends_the_run_naming_it_and_bad_options_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    hostile_as(root.path(), "sleeper");
    let manifest = root.path().join("sleeper/symphony.toml");
    let with_cost = std::fs::read_to_string(&manifest).unwrap() + "cost = 1.5\n";
    std::fs::write(&manifest, with_cost).unwrap();
    let workflow = three_sleeps(root.path());
    let ext = root.path().display().to_string();
    let out = symphony(
        home.path(),
        &[
            "run",
            &workflow,
            "--ext-dir",
            &ext,
            "--concurrency",
            "1",
            "--budget",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let said = text(&out.stderr) + &text(&out.stdout);
    assert!(
        said.contains("is exhausted: node c costs 1.5 but only 0 of 3 is left"),
        "{said}"
    );

    for bad in [
        vec!["--tenant", "two words"],
        vec!["--budget", "-1"],
        vec!["--priority", "high"],
    ] {
        let mut args = vec!["run", &workflow, "--ext-dir", &ext];
        args.extend(bad.iter().copied());
        let out = symphony(home.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
    // A broken arbitration.toml stops the run before anything starts.
    std::fs::write(
        home.path().join("arbitration.toml"),
        "[slots]\ncapacity = \"many\"\n",
    )
    .unwrap();
    let out = symphony(home.path(), &["run", &workflow, "--ext-dir", &ext]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("arbitration.toml: line 2, column 12"),
        "{}",
        text(&out.stderr)
    );
}
