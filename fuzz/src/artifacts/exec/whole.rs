//! The operations about the store as a whole: links, statistics with a
//! listing and a full verification, cleaning, and diffs between versions.

use std::collections::BTreeSet;

use symphony_artifacts::stale::RetentionPolicy;
use symphony_artifacts::{ListQuery, Location};

use super::Session;
use crate::artifacts::model::{self, Model, rank};
use crate::artifacts::ops::CleanKind;

impl Session {
    pub(super) fn links(&mut self, op: &'static str, id: &str) {
        let parents: Vec<String> = self
            .model
            .links
            .iter()
            .filter(|(c, _)| c == id)
            .map(|(_, p)| p.clone())
            .collect();
        let children: Vec<String> = self
            .model
            .links
            .iter()
            .filter(|(_, p)| p == id)
            .map(|(c, _)| c.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let names: Vec<String> = self
            .model
            .versions
            .iter()
            .filter(|(_, vs)| vs.iter().any(|v| v.id == id))
            .map(|(n, _)| n.clone())
            .collect();
        let store = self.store();
        let got = (|| {
            Ok((
                store.derived_from(id)?,
                store.derivatives(id)?,
                store.names_of(id)?,
            ))
        })();
        if let Some(found) = self.expect(op, got, Ok(())) {
            assert_eq!(found, (parents, children, names), "links of {id}");
        }
    }

    /// Statistics, a listing and a full verification agree with the model.
    pub(in crate::artifacts) fn audit(
        &mut self,
        op: &'static str,
        tag: Option<&str>,
        include_trashed: bool,
    ) {
        let query = ListQuery {
            tags: tag.map(|t| vec![t.to_string()]).unwrap_or_default(),
            include_trashed,
            ..ListQuery::default()
        };
        let store = self.store();
        let got = (|| Ok((store.stats()?, store.list(&query)?, store.verify_all()?)))();
        let Some((stats, listed, verified)) = self.expect(op, got, Ok(())) else {
            return;
        };
        let live: Vec<(&String, &model::Art)> = self.model.live().collect();
        assert_eq!(stats.puts, self.model.puts, "puts");
        assert_eq!(stats.unique_objects, live.len() as u64, "unique objects");
        let stored: u64 = live.iter().map(|(_, a)| a.content.len() as u64).sum();
        assert_eq!(stats.bytes_stored, stored, "bytes stored");
        assert_eq!(stats.bytes_saved, self.model.bytes_saved, "bytes saved");

        let want: BTreeSet<&String> = self
            .model
            .arts
            .iter()
            .filter(|(_, a)| include_trashed || a.location != Location::Trashed)
            .filter(|(_, a)| tag.is_none_or(|t| a.tags.contains(t)))
            .map(|(id, _)| id)
            .collect();
        let got: BTreeSet<&String> = listed.iter().map(|info| &info.id).collect();
        assert_eq!(got, want, "list(tag {tag:?}, trashed {include_trashed})");
        assert_eq!(got.len(), listed.len(), "list names an artifact twice");
        for pair in listed.windows(2) {
            let key = |i: &symphony_artifacts::ArtifactInfo| {
                (std::cmp::Reverse(i.created_ms), i.id.clone())
            };
            assert!(key(&pair[0]) < key(&pair[1]), "list is not newest first");
        }

        let hot = self
            .model
            .arts
            .values()
            .filter(|a| a.location == Location::Hot)
            .count();
        assert!(verified.is_clean(), "verify_all: {verified:?}");
        assert_eq!(
            verified.verified, hot as u64,
            "verify_all checks every hot artifact"
        );
    }

    pub(super) fn clean(&mut self, op: &'static str, kind: CleanKind, dry_run: bool) {
        let mut policy = RetentionPolicy::default();
        let target = match kind {
            CleanKind::Warm => {
                policy.archive_after_days = Some(0);
                Some(Location::Warm)
            }
            CleanKind::Cold => {
                policy.archive_after_days = Some(0);
                policy.cold_after_days = Some(0);
                Some(Location::Cold)
            }
            CleanKind::Budget => {
                policy.max_total_bytes = Some(0);
                None
            }
        };
        let mut archived: Vec<(String, String)> = Vec::new();
        let mut deleted: Vec<String> = Vec::new();
        for (id, art) in self.model.live() {
            match target {
                Some(to) if !art.pinned && rank(art.location) < rank(to) => {
                    archived.push((id.clone(), format!("{to:?}").to_lowercase()));
                }
                None if !art.protected() && !art.content.is_empty() => deleted.push(id.clone()),
                _ => {}
            }
        }
        let live = self.model.live().count();
        let got = self.store().clean(&policy, dry_run);
        let Some(report) = self.expect(op, got, Ok(())) else {
            return;
        };
        assert_eq!(report.dry_run, dry_run);
        assert!(
            report.errors.is_empty(),
            "clean failed on some: {:?}",
            report.errors
        );
        assert!(
            report.skipped.is_empty(),
            "clean skipped some: {:?}",
            report.skipped
        );
        assert!(
            report.purged.is_empty(),
            "clean purged within the undo window"
        );
        assert_eq!(
            report.decisions.len(),
            live,
            "one decision per artifact not in the trash"
        );
        let mut got_archived: Vec<(String, String)> = report
            .archived
            .iter()
            .map(|(id, tier)| (id.clone(), tier.to_string()))
            .collect();
        got_archived.sort();
        let mut got_deleted = report.deleted.clone();
        got_deleted.sort();
        assert_eq!(got_archived, archived, "archived by clean");
        assert_eq!(got_deleted, deleted, "deleted by clean");
        if dry_run {
            return;
        }
        for (id, _) in archived {
            let art = self.model.arts.get_mut(&id).expect("listed");
            art.location = target.expect("archiving");
        }
        for id in deleted {
            let art = self.model.arts.get_mut(&id).expect("listed");
            art.location = Location::Trashed;
            art.in_trash = true;
        }
        self.outcome.feature(&["clean", op, &format!("{live}")]);
    }

    pub(super) fn diff(&mut self, op: &'static str, name: &str, from: u32, to: u32) {
        let text = |model: &mut Model, version: u32| -> Result<String, &'static str> {
            let id = model.version(name, Some(version))?.1.id.clone();
            String::from_utf8(model.read(&id, true)?).map_err(|_| "NotText")
        };
        // Both versions are looked up before either is read.
        let want = self
            .model
            .version(name, Some(from))
            .and(self.model.version(name, Some(to)))
            .map(drop)
            .and_then(|()| Ok((text(&mut self.model, from)?, text(&mut self.model, to)?)));
        let got = self.store().diff(name, from, to);
        let expected = want.as_ref().map(drop).map_err(|e| *e);
        if let (Some(diff), Ok((old, new))) = (self.expect(op, got, expected), &want) {
            let changes = diff.added + diff.removed;
            assert_eq!(
                changes == 0,
                old == new,
                "diff {name} {from}..{to}: {diff:?}"
            );
            assert_eq!(diff.unified.is_empty(), changes == 0, "{diff:?}");
        }
    }
}
