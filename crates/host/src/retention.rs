//! The Stale Manager on a host's own Artifact Store: started by
//! [`HostBuilder::retention`](crate::HostBuilder::retention), running the
//! policy on its schedule for as long as the host lives.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use super::{ArtifactFacts, Placement, RetentionPolicy, Shelf, StaleError, StaleManager};
use crate::host::HostInner;

/// The host's artifact store, held weakly so the manager's thread never
/// keeps a dropped host alive.
struct HostShelf(Weak<HostInner>);

impl HostShelf {
    fn host(&self) -> Result<Arc<HostInner>, StaleError> {
        self.0
            .upgrade()
            .ok_or_else(|| StaleError::Shelf("the host has shut down".into()))
    }
}

impl Shelf for HostShelf {
    fn facts(&self) -> Result<Vec<ArtifactFacts>, StaleError> {
        self.host()?.artifacts.facts()
    }

    fn object_path(&self, id: &str) -> PathBuf {
        match self.host() {
            Ok(host) => host.artifacts.object_path(id),
            // Names no object: the cleaner finds nothing there and skips.
            Err(_) => PathBuf::from("/nonexistent/symphony-host-gone"),
        }
    }

    fn set_placement(&self, id: &str, placement: Placement) -> Result<(), StaleError> {
        self.host()?.artifacts.set_placement(id, placement)
    }

    fn trash_if_unchanged(
        &self,
        seen: &ArtifactFacts,
        at_ms: i64,
        move_content: &mut dyn FnMut() -> Result<(), StaleError>,
    ) -> Result<bool, StaleError> {
        self.host()?
            .artifacts
            .trash_if_unchanged(seen, at_ms, move_content)
    }
}

/// Starts `policy`'s schedule on `host`'s artifact store.
pub(crate) fn start(
    host: &Arc<HostInner>,
    policy: RetentionPolicy,
) -> Result<StaleManager, StaleError> {
    let store = &host.artifacts;
    let (tiers, trash) = store
        .retention_parts(&policy)
        .map_err(|e| StaleError::Shelf(e.to_string()))?;
    StaleManager::start(
        Arc::new(HostShelf(Arc::downgrade(host))),
        policy,
        tiers,
        trash,
    )
}
