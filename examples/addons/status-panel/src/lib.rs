//! `status-panel`: renders a workflow run's status as a vnode tree.
//!
//! `render` takes the run status the host reports:
//!
//! ```json
//! {"workflow": "demo", "state": "completed", "elapsed_ms": 4.2,
//!  "nodes": [{"id": "summarise", "kind": "instrument", "extension": "mock-llm",
//!             "state": "completed", "duration_ms": 1.2, "error": null}]}
//! ```
//!
//! and draws a header, a progress bar, one row per node and a details
//! toggle. Events: `toggle-details` shows or hides every node's details;
//! `select` with payload `{"node": "<id>"}` expands one node.

use serde::Deserialize;
use serde_json::json;
use symphony_sdk::{Addon, ExtError, Lifecycle, UiEvent, VNode, VTree, register_addon};

/// The run status the panel draws. Missing fields take defaults so a
/// partial status (a run still starting) renders too.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RunStatus {
    workflow: String,
    state: String,
    elapsed_ms: Option<f64>,
    nodes: Vec<NodeStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NodeStatus {
    id: String,
    kind: String,
    extension: String,
    state: String,
    duration_ms: Option<f64>,
    error: Option<String>,
}

/// The panel's own UI state.
#[derive(Debug, Default)]
pub struct StatusPanel {
    details: bool,
    selected: Option<String>,
    renders: u64,
}

fn symbol(state: &str) -> &'static str {
    match state {
        "completed" => "✓",
        "failed" => "✗",
        "running" => "▶",
        "skipped" => "↷",
        _ => "·",
    }
}

fn millis(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".to_string(), |ms| format!("{ms:.1} ms"))
}

/// Runs with more nodes than this show a summary and the nodes worth a
/// look (failed, slowest, selected) unless details are on.
const LISTED: usize = 50;

/// Of a big run, the failed nodes and the slowest shown.
const FAILED_SHOWN: usize = 10;
const SLOWEST_SHOWN: usize = 5;

/// Counts by state, e.g. `1500 nodes: 1490 completed, 10 failed (showing
/// 15; Show details lists all)`.
fn summary(run: &RunStatus, shown: usize) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for node in &run.nodes {
        match counts.iter_mut().find(|(state, _)| *state == node.state) {
            Some((_, n)) => *n += 1,
            None => counts.push((&node.state, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    format!(
        "{} nodes: {} (showing {shown}; Show details lists all)",
        run.nodes.len(),
        counts.join(", ")
    )
}

impl StatusPanel {
    /// The nodes to draw a row for: all of a small run or with details on;
    /// of a big one, the failed, the slowest and the selected, in run order.
    fn rows<'r>(&self, run: &'r RunStatus) -> Vec<&'r NodeStatus> {
        if self.details || run.nodes.len() <= LISTED {
            return run.nodes.iter().collect();
        }
        let mut keep: Vec<usize> = run
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.state == "failed")
            .map(|(i, _)| i)
            .take(FAILED_SHOWN)
            .collect();
        let mut by_time: Vec<usize> = (0..run.nodes.len())
            .filter(|&i| run.nodes[i].duration_ms.is_some())
            .collect();
        by_time.sort_by(|&a, &b| {
            let ms = |i: usize| run.nodes[i].duration_ms.unwrap_or(0.0);
            ms(b).total_cmp(&ms(a))
        });
        keep.extend(by_time.into_iter().take(SLOWEST_SHOWN));
        if let Some(selected) = &self.selected {
            keep.extend(run.nodes.iter().position(|n| &n.id == selected));
        }
        keep.sort_unstable();
        keep.dedup();
        keep.into_iter().map(|i| &run.nodes[i]).collect()
    }

    fn draw(&self, run: &RunStatus) -> Vec<VNode> {
        let mut tree = VTree::new();
        let title = format!("Run {}", run.workflow);
        let root = tree.push(
            None,
            "panel",
            &[("title", &title), ("state", &run.state)],
            None,
        );

        let done = run
            .nodes
            .iter()
            .filter(|n| n.state == "completed" || n.state == "skipped")
            .count();
        let total = run.nodes.len();
        let header = format!(
            "{} {}: {} — {done}/{total} nodes in {}",
            symbol(&run.state),
            run.workflow,
            run.state,
            millis(run.elapsed_ms)
        );
        tree.push(Some(root), "header", &[], Some(&header));

        let fraction = if total == 0 {
            0.0
        } else {
            done as f64 / total as f64
        };
        let filled = (fraction * 20.0).round() as usize;
        let bar = format!(
            "[{}{}] {:.0}%",
            "#".repeat(filled),
            "-".repeat(20 - filled),
            fraction * 100.0
        );
        tree.push(
            Some(root),
            "progress",
            &[("value", &format!("{fraction:.3}"))],
            Some(&bar),
        );

        let list = tree.push(Some(root), "list", &[], None);
        let shown = self.rows(run);
        if shown.len() < run.nodes.len() {
            tree.push(Some(list), "summary", &[], Some(&summary(run, shown.len())));
        }
        for node in shown {
            let line = format!(
                "{} {:<16} {:<11} {:<16} {:>10}",
                symbol(&node.state),
                node.id,
                node.kind,
                node.extension,
                millis(node.duration_ms)
            );
            let row = tree.push(
                Some(list),
                "row",
                &[("node", &node.id), ("state", &node.state)],
                Some(line.trim_end()),
            );
            if self.details || self.selected.as_deref() == Some(node.id.as_str()) {
                tree.push(
                    Some(row),
                    "detail",
                    &[("field", "state")],
                    Some(&format!("state: {}", node.state)),
                );
                if let Some(error) = &node.error {
                    tree.push(
                        Some(row),
                        "detail",
                        &[("field", "error")],
                        Some(&format!("error: {error}")),
                    );
                }
            }
        }

        let label = if self.details {
            "Hide details"
        } else {
            "Show details"
        };
        tree.push(
            Some(root),
            "button",
            &[("event", "toggle-details")],
            Some(label),
        );
        tree.into_nodes()
    }
}

impl Addon for StatusPanel {
    fn render(&mut self, state: &str) -> Vec<VNode> {
        self.renders += 1;
        match serde_json::from_str::<RunStatus>(state) {
            Ok(run) => self.draw(&run),
            Err(e) => {
                let mut tree = VTree::new();
                let root = tree.push(
                    None,
                    "panel",
                    &[("title", "Run status"), ("state", "error")],
                    None,
                );
                tree.push(
                    Some(root),
                    "error",
                    &[],
                    Some(&format!("cannot read run status: {e}")),
                );
                tree.into_nodes()
            }
        }
    }

    fn handle_event(&mut self, event: UiEvent) -> Result<String, ExtError> {
        match event.name.as_str() {
            "toggle-details" => self.details = !self.details,
            "select" => {
                let payload: serde_json::Value =
                    serde_json::from_str(&event.payload).map_err(|e| {
                        ExtError::InvalidInput(format!("select payload is not JSON: {e}"))
                    })?;
                let node = payload["node"].as_str().ok_or_else(|| {
                    ExtError::InvalidInput(
                        "select needs a payload like {\"node\": \"<id>\"}".into(),
                    )
                })?;
                self.selected = Some(node.to_string());
            }
            other => {
                return Err(ExtError::InvalidInput(format!(
                    "status-panel handles 'toggle-details' and 'select', not '{other}'"
                )));
            }
        }
        Ok(self.get_state())
    }

    fn get_state(&self) -> String {
        json!({"details": self.details, "selected": self.selected, "renders": self.renders})
            .to_string()
    }
}

/// The UI state survives a hot reload: the new version gets it through
/// `restore`.
impl Lifecycle for StatusPanel {
    fn snapshot(&self) -> Option<Vec<u8>> {
        Some(
            json!({"details": self.details, "selected": self.selected})
                .to_string()
                .into_bytes(),
        )
    }

    fn restore(&mut self, state: Vec<u8>) -> Result<(), ExtError> {
        let state: serde_json::Value = serde_json::from_slice(&state).map_err(|e| {
            ExtError::InvalidInput(format!("status-panel snapshot is not JSON: {e}"))
        })?;
        self.details = state["details"].as_bool().unwrap_or(false);
        self.selected = state["selected"].as_str().map(str::to_string);
        Ok(())
    }
}

register_addon!(StatusPanel, with_lifecycle);

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = r#"{"workflow": "demo", "state": "failed", "elapsed_ms": 3.25,
        "nodes": [{"id": "a", "kind": "instrument", "extension": "mock-llm", "state": "completed", "duration_ms": 1.0},
                  {"id": "b", "kind": "operator", "extension": "json-transform", "state": "failed", "error": "boom"}]}"#;

    fn texts(nodes: &[VNode]) -> Vec<&str> {
        nodes.iter().filter_map(|n| n.text.as_deref()).collect()
    }

    fn event(name: &str, payload: &str) -> UiEvent {
        UiEvent {
            target: 0,
            name: name.into(),
            payload: payload.into(),
        }
    }

    /// A run of `n` nodes, node 7 failed, node 42 the slowest.
    fn big_run(n: usize) -> String {
        let nodes: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                json!({"id": format!("n{i}"), "kind": "operator", "extension": "x",
                       "state": if i == 7 { "failed" } else { "completed" },
                       "duration_ms": if i == 42 { 90.0 } else { 1.0 + i as f64 / 1000.0 },
                       "error": if i == 7 { json!("boom") } else { json!(null) }})
            })
            .collect();
        json!({"workflow": "wide", "state": "failed", "elapsed_ms": 100.0, "nodes": nodes})
            .to_string()
    }

    #[test]
    fn a_big_run_is_summarised_with_its_failed_and_slowest_nodes() {
        let mut panel = StatusPanel::default();
        let nodes = panel.render(&big_run(1500));
        let texts = texts(&nodes);
        assert!(
            texts.contains(
                &"1500 nodes: 1499 completed, 1 failed (showing 6; Show details lists all)"
            ),
            "{texts:?}"
        );
        let rows = nodes.iter().filter(|n| n.tag == "row").count();
        assert_eq!(rows, 6, "the failed node and the 5 slowest");
        assert!(texts.iter().any(|t| t.starts_with("✗ n7")));
        assert!(texts.iter().any(|t| t.starts_with("✓ n42")));
        // Details list every node.
        panel.handle_event(event("toggle-details", "null")).unwrap();
        let all = panel.render(&big_run(1500));
        assert_eq!(all.iter().filter(|n| n.tag == "row").count(), 1500);
        // A small run lists all without asking.
        let small = StatusPanel::default().render(&big_run(50));
        assert_eq!(small.iter().filter(|n| n.tag == "row").count(), 50);
    }

    #[test]
    fn renders_header_progress_and_a_row_per_node() {
        let nodes = StatusPanel::default().render(RUN);
        let texts = texts(&nodes);
        assert_eq!(texts[0], "✗ demo: failed — 1/2 nodes in 3.2 ms");
        assert!(texts[1].ends_with("50%"));
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("✓ a") && t.ends_with("1.0 ms"))
        );
        assert!(
            nodes.iter().all(|n| n.parent.is_none_or(|p| p < n.id)),
            "parents come first"
        );
        assert!(
            !texts.iter().any(|t| t.starts_with("error:")),
            "details hidden by default"
        );
    }

    #[test]
    fn toggle_details_shows_errors_and_flips_the_button() {
        let mut panel = StatusPanel::default();
        let state = panel.handle_event(event("toggle-details", "null")).unwrap();
        assert!(state.contains("\"details\":true"));
        let nodes = panel.render(RUN);
        assert!(texts(&nodes).contains(&"error: boom"));
        assert_eq!(nodes.last().unwrap().text.as_deref(), Some("Hide details"));
    }

    #[test]
    fn select_expands_one_node_and_bad_events_are_rejected() {
        let mut panel = StatusPanel::default();
        panel
            .handle_event(event("select", r#"{"node": "b"}"#))
            .unwrap();
        assert!(texts(&panel.render(RUN)).contains(&"error: boom"));
        assert!(panel.handle_event(event("select", "{}")).is_err());
        assert!(panel.handle_event(event("explode", "null")).is_err());
    }

    #[test]
    fn snapshot_carries_the_ui_state_to_a_new_instance() {
        let mut old = StatusPanel::default();
        old.handle_event(event("toggle-details", "null")).unwrap();
        old.handle_event(event("select", r#"{"node": "a"}"#))
            .unwrap();
        let mut new = StatusPanel::default();
        new.restore(old.snapshot().unwrap()).unwrap();
        assert_eq!((new.details, new.selected.as_deref()), (true, Some("a")));
        assert!(new.restore(b"junk".to_vec()).is_err());
    }

    #[test]
    fn unreadable_status_renders_an_error_panel() {
        let nodes = StatusPanel::default().render("[1,2");
        assert!(texts(&nodes)[0].starts_with("cannot read run status"));
    }
}
