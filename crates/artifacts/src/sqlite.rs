//! How the Pit opens its SQLite databases (the run store, the artifact
//! catalog): one place for the settings their durability rests on.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// Opens (creating if needed) the database at `path` in WAL mode with
/// `synchronous=NORMAL`: a commit survives the process being killed
/// (SIGKILL) and only a power loss may undo the last few; readers never
/// block the writer, and a writer waits up to 5 s for another.
pub fn open_wal(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}
