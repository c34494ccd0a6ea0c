//! Why the run store cannot be used: it is corrupt, belongs to something else, is newer than
//! this parade, is held by another run, or the disk said no.

use std::path::PathBuf;

/// An error of the run store. Every message names the file and says what to do.
///
/// ```
/// use parade::store::StoreError;
/// let e = StoreError::Corrupt { path: ".parade/state.db".into(), detail: "file is not a database".into() };
/// assert!(e.to_string().contains("mv .parade/state.db .parade/state.db.bad"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is not a `SQLite` database, or `SQLite` found it damaged.
    #[error(
        "the run store {path} is damaged ({detail}); parade will not start afresh on its own, \
         because that would forget what ran: move it aside to start with an empty store \
         (mv {path} {path}.bad) or remove it (parade state clean --all)",
        path = path.display()
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What `SQLite` said.
        detail: String,
    },
    /// A `SQLite` database that parade did not write.
    #[error(
        "{path} is not a parade run store (it is some other SQLite database); move it aside \
         (mv {path} {path}.other) or name another store",
        path = path.display()
    )]
    Foreign {
        /// The database file.
        path: PathBuf,
    },
    /// Written by a newer parade, with a schema this one does not know.
    #[error(
        "the run store {path} has schema version {found}, this parade knows up to {known}: use \
         the newer parade, or move the store aside (mv {path} {path}.new)",
        path = path.display()
    )]
    Newer {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// Another run kept the store locked for longer than the busy timeout.
    #[error(
        "the run store {path} is busy: {holder} holds it; wait for it to end and run again",
        path = path.display()
    )]
    Busy {
        /// The database file.
        path: PathBuf,
        /// Who holds it: `run 12 (pid 4242, started 2026-12-01 11:02:03 UTC)`, or
        /// `another process` when no unfinished run is recorded.
        holder: String,
    },
    /// The directory or file could not be made or read.
    #[error("cannot open the run store {path}: {detail}", path = path.display())]
    Io {
        /// The database file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// Used after [`super::Store::close`].
    #[error("the run store {path} is closed", path = path.display())]
    Closed {
        /// The database file.
        path: PathBuf,
    },
    /// Any other `SQLite` error.
    #[error("run store {path}: {source}", path = path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What `SQLite` said.
        #[source]
        source: rusqlite::Error,
    },
}
