//! How the Pit opens its SQLite databases (the run store, the artifact
//! catalog): one place for the settings their durability rests on.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// Opens (creating if needed) the database at `path` in WAL mode with
/// `synchronous=NORMAL`: a commit survives the process being killed
/// (SIGKILL) and only a power loss may undo the last few; readers never
/// block the writer, and a writer waits up to 5 s for another.
pub fn open_wal(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Several processes opening a new database at once race to switch it to
    // WAL, and SQLite reports the loser busy without waiting (seen with three
    // runs started together in a fresh home): wait for the winner instead.
    let started = Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            done => break done?,
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// How long a connection waits for another's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
