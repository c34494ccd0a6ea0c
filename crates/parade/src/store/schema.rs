//! The store's tables and their version: made in one transaction on first open, checked on
//! every open (a foreign database, a damaged file or a newer schema is refused).

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::{StoreError, classify};

/// `PRAGMA application_id` of a parade store ("prd1").
pub(crate) const APPLICATION_ID: i32 = 0x7072_6431;

/// The schema version this build writes and reads (`PRAGMA user_version`).
pub(crate) const VERSION: i64 = 1;

const TABLES: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started INTEGER NOT NULL,
    ended INTEGER,
    targets TEXT NOT NULL,
    outcome TEXT,
    pid INTEGER NOT NULL,
    up_to_date INTEGER
);
CREATE TABLE executions (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    started INTEGER,
    ended INTEGER,
    exit_status INTEGER,
    result TEXT,
    inputs TEXT,
    outputs TEXT
);
CREATE INDEX executions_by_name ON executions(name, id);
CREATE INDEX executions_by_run ON executions(run);
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    mtime INTEGER NOT NULL,
    ctime INTEGER NOT NULL,
    size INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE running (
    run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pid INTEGER NOT NULL,
    PRIMARY KEY (run, name)
);
";

/// Checks the database at `path` is a parade store of a known version, making the tables if
/// it is new; then turns on WAL.
pub(crate) fn prepare(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |e| classify(path, Some(conn), e);
    // Reading the header is where a file that is not a database says so.
    let (app, version): (i32, i64) = conn
        .query_row(
            "SELECT application_id, user_version FROM pragma_application_id, pragma_user_version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(fail)?;
    if app == 0 && version == 0 {
        create(conn, path)?;
    } else if app != APPLICATION_ID {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
        });
    } else if version > VERSION {
        return Err(StoreError::Newer {
            path: path.to_path_buf(),
            found: version,
            known: VERSION,
        });
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(fail)?;
    // An in-memory database (a dry run's empty store) has no journal file to put in WAL mode.
    let in_memory = path.as_os_str() == ":memory:" && mode.eq_ignore_ascii_case("memory");
    if !mode.eq_ignore_ascii_case("wal") && !in_memory {
        return Err(StoreError::Io {
            path: path.to_path_buf(),
            detail: format!("cannot use WAL mode here (journal mode is {mode})"),
        });
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .map_err(fail)?;
    // Additive to version 1: made when missing, ignored by builds that do not know it.
    conn.execute_batch(super::memo::TABLE).map_err(fail)?;
    latest(conn).map_err(fail)?;
    latest_skip(conn).map_err(fail)?;
    up_to_date(conn).map_err(fail)
}

/// Whether the count `query` selects is above zero (a schema part is there).
fn any(conn: &Connection, query: &str) -> rusqlite::Result<bool> {
    conn.query_row(query, [], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
}

/// `runs.up_to_date` (how many tasks of a run were up to date: they write no row each), added
/// to version 1 when missing; a build that does not know it leaves it empty.
fn up_to_date(conn: &Connection) -> rusqlite::Result<()> {
    if any(
        conn,
        "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'up_to_date'",
    )? {
        return Ok(());
    }
    match conn.execute_batch("ALTER TABLE runs ADD COLUMN up_to_date INTEGER") {
        // Another process added it meanwhile.
        Err(e) if e.to_string().contains("duplicate column") => Ok(()),
        r => r,
    }
}

/// The `latest` table (each task's last successful execution, kept by every insert, so a run
/// reads them all in one query): made when missing, filled from the executions already there.
/// A build that does not know it leaves it behind by at most the executions it wrote (a
/// pointer to an earlier success, whose key still decides correctly).
fn latest(conn: &Connection) -> rusqlite::Result<()> {
    pointer_table(
        conn,
        "latest",
        "state IN ('succeeded', 'up-to-date') AND key IS NOT NULL",
    )
}

/// The `latest_skip` table (each task's last skip under a key, which a flow's next decision
/// stands on as it does on a success: a proc that skipped itself is up to date while nothing it
/// reads changes), kept by every insert so that pruning keeps that execution: made when
/// missing, filled from the executions already there. A success after the skip takes its
/// place (the newest of the two is what a decision reads).
fn latest_skip(conn: &Connection) -> rusqlite::Result<()> {
    pointer_table(
        conn,
        "latest_skip",
        "state = 'skipped' AND key IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.name = s.name AND e.id > s.id \
                         AND e.state IN ('succeeded', 'up-to-date') AND e.key IS NOT NULL)",
    )
}

/// Makes table `table` (a task's name to one of its executions, gone with it) in one
/// transaction, unless it is there, and fills it with each task's newest execution `s` that
/// matches `which` (both constants of this file).
fn pointer_table(conn: &Connection, table: &str, which: &str) -> rusqlite::Result<()> {
    let there: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get(0),
    )?;
    if there {
        return Ok(());
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    tx.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (
            name TEXT PRIMARY KEY,
            execution INTEGER NOT NULL REFERENCES executions(id) ON DELETE CASCADE
        );
        INSERT OR IGNORE INTO {table} (name, execution)
            SELECT name, max(id) FROM executions s WHERE {which} GROUP BY name;"
    ))?;
    tx.commit()
}

/// Makes the tables of an empty database, unless another process just did; refuses a database
/// that has tables of its own.
fn create(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |e| classify(path, Some(conn), e);
    let tx =
        rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(fail)?;
    let (app, tables): (i32, i64) = tx
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id), \
                    (SELECT count(*) FROM sqlite_master)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(fail)?;
    if app == APPLICATION_ID {
        return Ok(()); // made by a process that opened it at the same time
    }
    if tables > 0 {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
        });
    }
    tx.execute_batch(TABLES).map_err(fail)?;
    tx.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {VERSION};"
    ))
    .map_err(fail)?;
    tx.commit().map_err(fail)
}
