//! Hot reload on file changes: a watcher on the directories of every
//! loaded extension's component and manifest that reloads an extension
//! once its files have stopped changing.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};

use super::{ReloadReport, Source};
use crate::{Error, Host};

/// How long a file must stay unchanged before its extension reloads, so a
/// component still being written (by `cargo build`, an editor) is read
/// once, whole.
pub const SETTLE: Duration = Duration::from_millis(300);

/// The outcome of one reload the watcher made.
#[derive(Debug, Clone)]
pub struct ReloadEvent {
    /// The extension.
    pub name: String,
    /// What the reload did, or why the old version still serves.
    pub result: Result<ReloadReport, String>,
}

/// Watches loaded extensions' files and reloads them when they change;
/// stops when dropped.
pub struct Watcher {
    // Dropped first: closes the event channel, which ends the thread.
    watcher: Option<notify::RecommendedWatcher>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.watcher.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A file as the watcher knows it: its directory, resolved, and its name.
type FileKey = (PathBuf, OsString);

fn key(path: &Path) -> Option<FileKey> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new(".")).canonicalize().ok()?;
    Some((dir, path.file_name()?.to_os_string()))
}

impl Host {
    /// Watches the component and manifest files of every extension loaded
    /// now and reloads an extension ([`Host::reload`]) when one of its
    /// files changes and then stays unchanged for [`SETTLE`]. Each reload's
    /// outcome goes to `on_reload`, on the watcher's thread. A change that
    /// does not load (a half-written component, a broken manifest) leaves
    /// the old version serving; the next change is tried again.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), symphony_host::Error> {
    /// let host = symphony_host::Host::builder().build()?;
    /// host.load_dir("target/components")?;
    /// let _watcher = host.watch(|event| match event.result {
    ///     Ok(report) => println!("{} reloaded: {:?}", event.name, report.to_version),
    ///     Err(why) => eprintln!("{} kept its old version: {why}", event.name),
    /// })?;
    /// // ... serve; dropping the watcher stops it.
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch(
        &self,
        on_reload: impl FnMut(ReloadEvent) + Send + 'static,
    ) -> Result<Watcher, Error> {
        let setup = |e: notify::Error| Error::Setup(format!("cannot watch extension files: {e}"));
        let mut files: HashMap<FileKey, String> = HashMap::new();
        for slot in self.inner.loaded() {
            let mut paths = vec![slot.current().path.clone()];
            if let Source::Manifest { file, .. } =
                &*slot.source.lock().unwrap_or_else(|e| e.into_inner())
            {
                paths.push(file.clone());
            }
            for path in paths {
                if let Some(key) = key(&path) {
                    files.insert(key, slot.name.to_string());
                }
            }
        }
        let (events, received) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(events).map_err(setup)?;
        let dirs: BTreeSet<&PathBuf> = files.keys().map(|(dir, _)| dir).collect();
        for dir in dirs {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(setup)?;
        }
        let host = self.clone();
        let thread = std::thread::Builder::new()
            .name("symphony-watch".into())
            .spawn(move || watch_loop(&host, &files, &received, on_reload))
            .map_err(|e| Error::Setup(format!("cannot start the watcher thread: {e}")))?;
        Ok(Watcher {
            watcher: Some(watcher),
            thread: Some(thread),
        })
    }
}

/// Collects changed extensions until nothing has changed for [`SETTLE`],
/// then reloads them; ends when the watcher is dropped.
fn watch_loop(
    host: &Host,
    files: &HashMap<FileKey, String>,
    received: &mpsc::Receiver<notify::Result<notify::Event>>,
    mut on_reload: impl FnMut(ReloadEvent),
) {
    let mut pending = BTreeSet::new();
    loop {
        let event = if pending.is_empty() {
            received
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            received.recv_timeout(SETTLE)
        };
        match event {
            Ok(Ok(event)) => {
                if event.kind.is_access() {
                    continue;
                }
                for path in &event.paths {
                    if let Some(name) = key(path).and_then(|k| files.get(&k)) {
                        pending.insert(name.clone());
                    }
                }
            }
            Ok(Err(e)) => tracing::warn!("watching extension files: {e}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                for name in std::mem::take(&mut pending) {
                    let result = host.reload(&name).map_err(|e| e.to_string());
                    if result.as_ref().is_ok_and(|r| !r.changed) {
                        continue;
                    }
                    on_reload(ReloadEvent { name, result });
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}
