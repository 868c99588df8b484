//! Hot reload on file changes: a watcher on the directories of every
//! loaded extension's component and manifest that reloads an extension
//! once its files have stopped changing.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher as _};

use symphony_runtime::extension::Source;

use super::reload::ReloadReport;
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
    stop: mpsc::Sender<Message>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.stop.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the watcher thread receives.
enum Message {
    Changed(notify::Result<notify::Event>),
    Stop,
}

/// A file as the watcher knows it: its directory, resolved, and its name.
type FileKey = (PathBuf, OsString);

fn key(path: &Path) -> Option<FileKey> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new(".")).canonicalize().ok()?;
    Some((dir, path.file_name()?.to_os_string()))
}

/// The files of every loaded extension (component and manifest), by the
/// extension they belong to.
fn files_of(host: &Host) -> HashMap<FileKey, String> {
    let mut files = HashMap::new();
    for slot in host.inner.loaded() {
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
    files
}

/// Watches the directories of `files` not watched yet.
fn watch_dirs(
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut BTreeSet<PathBuf>,
    files: &HashMap<FileKey, String>,
) -> notify::Result<()> {
    for (dir, _) in files.keys() {
        if !watched.contains(dir) {
            watcher.watch(dir, RecursiveMode::NonRecursive)?;
            watched.insert(dir.clone());
        }
    }
    Ok(())
}

impl Host {
    /// Watches the component and manifest files of every loaded extension
    /// and reloads an extension ([`Host::reload`]) when one of its files
    /// changes and then stays unchanged for [`SETTLE`]. Each reload's
    /// outcome goes to `on_reload`, on the watcher's thread. A change that
    /// does not load (a half-written component, a broken manifest) leaves
    /// the old version serving; the next change is tried again. After each
    /// round of reloads the watcher picks up files that have moved and
    /// extensions loaded since it started.
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
        let (sender, received) = mpsc::channel();
        let events = sender.clone();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = events.send(Message::Changed(event));
        })
        .map_err(setup)?;
        let files = files_of(self);
        let mut watched = BTreeSet::new();
        watch_dirs(&mut watcher, &mut watched, &files).map_err(setup)?;
        let host = self.clone();
        let mut state = WatchState {
            watcher,
            watched,
            files,
        };
        let thread = std::thread::Builder::new()
            .name("symphony-watch".into())
            .spawn(move || state.run(&host, &received, on_reload))
            .map_err(|e| Error::Setup(format!("cannot start the watcher thread: {e}")))?;
        Ok(Watcher {
            stop: sender,
            thread: Some(thread),
        })
    }
}

/// The watcher thread's state.
struct WatchState {
    watcher: notify::RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
    files: HashMap<FileKey, String>,
}

impl WatchState {
    /// Collects changed extensions until none of their files has changed
    /// for [`SETTLE`], then reloads them; ends when the [`Watcher`] is
    /// dropped.
    fn run(
        &mut self,
        host: &Host,
        received: &mpsc::Receiver<Message>,
        mut on_reload: impl FnMut(ReloadEvent),
    ) {
        let mut pending = BTreeSet::new();
        // The settle timer restarts only on changes to extensions' files,
        // so other files written in the same directories cannot hold a
        // reload back.
        let mut quiet_since = Instant::now();
        loop {
            let message = if pending.is_empty() {
                received.recv().ok()
            } else {
                let left = SETTLE.saturating_sub(quiet_since.elapsed());
                match received.recv_timeout(left) {
                    Ok(message) => Some(message),
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.reload(host, std::mem::take(&mut pending), &mut on_reload);
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => None,
                }
            };
            match message {
                None | Some(Message::Stop) => return,
                Some(Message::Changed(Ok(event))) => {
                    if event.kind.is_access() {
                        continue;
                    }
                    let mut ours = event.need_rescan();
                    if ours {
                        pending.extend(self.files.values().cloned());
                    }
                    for path in &event.paths {
                        if let Some(name) = key(path).and_then(|k| self.files.get(&k)) {
                            pending.insert(name.clone());
                            ours = true;
                        }
                    }
                    if ours {
                        quiet_since = Instant::now();
                    }
                }
                Some(Message::Changed(Err(e))) => tracing::warn!("watching extension files: {e}"),
            }
        }
    }

    fn reload(
        &mut self,
        host: &Host,
        names: BTreeSet<String>,
        on_reload: &mut impl FnMut(ReloadEvent),
    ) {
        for name in names {
            let result = host.reload(&name).map_err(|e| e.to_string());
            if result.as_ref().is_ok_and(|r| !r.changed) {
                continue;
            }
            on_reload(ReloadEvent { name, result });
        }
        self.files = files_of(host);
        if let Err(e) = watch_dirs(&mut self.watcher, &mut self.watched, &self.files) {
            tracing::warn!("watching extension files: {e}");
        }
    }
}
