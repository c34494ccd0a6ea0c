//! The run store: one embedded `SQLite` database per project (`.parade/state.db` beside a task
//! file) remembering every run, every task execution in it, and file fingerprints, so a later
//! run can tell what is up to date, resume what was cut short, explain its decisions and
//! estimate how long a task will take.
//!
//! It owns the schema, its versioning and every query; it knows tasks by name only and must not
//! know how a face decides what is up to date (that is [`crate::flow`]'s and the CLI's): it
//! stores keys and inputs, and answers questions about them.
//!
//! The database is in WAL mode with `synchronous = NORMAL`; every write is one transaction, so
//! a run killed at any instant leaves it consistent. A run's task records go to its journal
//! first (one `write(2)` each, see `journal.rs`), before a task's dependents start, and into
//! the database in one transaction at the run's end; a run killed (`kill -9`) leaves its
//! journal, and the next open folds it in, so `--resume` reruns exactly what had not ended.
//! A second process waits up to the busy timeout for a write, then gets
//! [`StoreError::Busy`] naming the run that holds it. A damaged or foreign file is an error
//! saying how to move it aside: the store never starts afresh on its own.
//!
//! ```
//! use parade::store::{Execution, Store};
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path().join("state.db")).unwrap();
//! let run = store.begin_run(&["build".to_owned()]).unwrap();
//! store.record(run, &Execution::new("build", "succeeded").key("k1")).unwrap();
//! store.end_run(run, "succeeded").unwrap();
//! assert_eq!(store.last_success("build").unwrap().unwrap().key.as_deref(), Some("k1"));
//! ```

mod error;
mod fingerprint;
mod history;
mod journal;
mod key;
mod memo;
mod record;
mod retention;
mod schema;
mod stale;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rusqlite::{Connection, ErrorCode};

pub use error::StoreError;
pub use fingerprint::Fingerprint;
pub use fingerprint::hash_file;
pub use history::{Execution, RunRecord, outcome};
pub use key::{KeyHasher, Parts, hash_bytes, key_hex};
pub use record::Recorder;
pub use retention::{KEPT_RUNS, PRUNE_EVERY};
pub use stale::Staleness;
pub use watch::{DEBOUNCE, FileWatch, POLL_INTERVAL};

/// The file name of the store under a project's `.parade` directory.
pub const STATE_DB: &str = "state.db";

/// How long a write waits for another process's write before [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The id of a run in the store (1, 2, 3... in the order runs started).
pub type RunId = i64;

/// A handle on the run store. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// `None` once [`Store::close`]d.
    conn: Mutex<Option<Connection>>,
    files: Mutex<fingerprint::FileCache>,
    /// Executions to write with the next write ([`Store::record_later`]).
    deferred: Mutex<Vec<(RunId, Execution)>>,
    /// The runs this handle records and has not ended: their journals and notes.
    live: Mutex<std::collections::HashMap<RunId, record::Live>>,
    /// The first journal line that could not be written, of a run whose end could not be
    /// written either.
    lost: Mutex<Option<String>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `path`, making it (and its directory) if it does not exist.
    ///
    /// Errors: [`StoreError::Corrupt`], [`StoreError::Foreign`], [`StoreError::Newer`],
    /// [`StoreError::Busy`], [`StoreError::Io`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Self::open_with(path, BUSY_TIMEOUT)
    }

    /// An empty store that lives in memory and is gone when dropped: what a dry run decides
    /// against in a project that remembers nothing yet.
    ///
    /// ```
    /// let store = parade::store::Store::in_memory()?;
    /// # let _ = store;
    /// # Ok::<(), parade::store::StoreError>(())
    /// ```
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::open(":memory:")
    }

    /// [`Store::open`] with another busy timeout.
    pub fn open_with(path: impl AsRef<Path>, busy: Duration) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        }
        let mut conn = Connection::open(&path).map_err(|e| classify(&path, None, e))?;
        conn.busy_timeout(busy)
            .map_err(|e| classify(&path, None, e))?;
        schema::prepare(&conn, &path)?;
        if path.as_os_str() != ":memory:" {
            // What runs that died left in their journals (a busy store: a later open).
            match journal::recover(&mut conn, &path) {
                Err(e)
                    if !matches!(
                        e.sqlite_error_code(),
                        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    ) =>
                {
                    return Err(classify(&path, Some(&conn), e));
                }
                _ => {}
            }
        }
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(Some(conn)),
                files: Mutex::new(fingerprint::FileCache::default()),
                deferred: Mutex::default(),
                live: Mutex::default(),
                lost: Mutex::default(),
            }),
        })
    }

    /// The store of the project whose task file is in `dir`: `dir/.parade/state.db`.
    pub fn for_project(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        Self::open(dir.as_ref().join(".parade").join(STATE_DB))
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the connection; `SQLite` errors become [`StoreError`]s naming the file (and,
    /// when the store is busy, the run holding it).
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.inner.conn.lock();
        let Some(conn) = conn.as_mut() else {
            return Err(StoreError::Closed {
                path: self.inner.path.clone(),
            });
        };
        f(conn).map_err(|e| classify(&self.inner.path, Some(conn), e))
    }

    /// Closes the database for every clone of this handle (what uses it later gets
    /// [`StoreError::Closed`]); a run calls it once it has ended, whoever still holds a clone
    /// (a signal handler, a display thread). A WAL grown past [`CHECKPOINT_AT`] is checkpointed
    /// into the database and removed as the connection closes; a smaller one is left for a
    /// later close or `SQLite`'s own checkpoint, as a checkpoint syncs the disk twice (a
    /// no-op rerun writes a few pages and should not wait for that).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = parade::store::Store::open(dir.path().join("s.db")).unwrap();
    /// let run = store.begin_run(&[]).unwrap();
    /// store.end_run(run, "succeeded").unwrap();
    /// store.clone().close();
    /// assert!(store.runs(1).is_err());
    /// ```
    pub fn close(&self) {
        let Some(conn) = self.inner.conn.lock().take() else {
            return;
        };
        let mut wal = self.inner.path.clone().into_os_string();
        wal.push("-wal");
        let small = std::fs::metadata(&wal).map_or(true, |m| m.len() <= CHECKPOINT_AT);
        if small {
            let _ = conn.set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            );
        }
        drop(conn);
    }
}

/// How large the WAL may be left at [`Store::close`]: `SQLite`'s own checkpoint threshold
/// (1000 pages of 4 KiB).
pub const CHECKPOINT_AT: u64 = 1000 * 4096;

/// Milliseconds since the Unix epoch, as stored.
pub(crate) fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The time a stored millisecond count stands for.
pub(crate) fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Turns a `SQLite` error into the store's: damage, busy (naming the holder), or other.
fn classify(path: &Path, conn: Option<&Connection>, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            path: path.to_path_buf(),
            holder: conn
                .and_then(history::holder)
                .unwrap_or_else(|| "another process".to_owned()),
        },
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            StoreError::Io {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }
        }
        _ => StoreError::Sqlite {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

#[cfg(test)]
mod tests;
