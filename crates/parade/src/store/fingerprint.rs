//! File fingerprints: the blake3 hash of a file's content, with a fast path that trusts a
//! remembered hash while the file's mtime, ctime, size and inode are unchanged, so an
//! unchanged file is not read again. Touching a file changes its times, so it is read again,
//! and its hash (unchanged) keeps everything up to date.
//!
//! A file changed within [`RACY`] of being hashed could change again within the timestamp
//! granularity without its stat changing, so such a hash is not remembered (git's "racy
//! clean" rule).
//!
//! Remembered hashes live in memory during a run and are written to the store's `files` table
//! when the run ends ([`Store::flush_files`]); a killed run only loses the shortcut.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rusqlite::params;

use super::{Store, StoreError};

/// How recent a change must be for its hash not to be trusted later.
pub const RACY: Duration = Duration::from_secs(2);

/// What the fast path compares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Stat {
    mtime: i64,
    ctime: i64,
    size: i64,
    inode: i64,
}

impl Stat {
    fn of(meta: &std::fs::Metadata) -> Stat {
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Stat {
            mtime: ns(meta.mtime(), meta.mtime_nsec()),
            ctime: ns(meta.ctime(), meta.ctime_nsec()),
            size: i64::try_from(meta.size()).unwrap_or(i64::MAX),
            inode: i64::try_from(meta.ino()).unwrap_or(i64::MAX),
        }
    }
}

/// The fingerprint of one file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Fingerprint {
    /// A file with this content hash (hex).
    File(String),
    /// Nothing is there.
    Missing,
}

impl Fingerprint {
    /// The hash, or `missing`.
    pub fn as_str(&self) -> &str {
        match self {
            Fingerprint::File(h) => h,
            Fingerprint::Missing => "missing",
        }
    }
}

/// Remembered hashes by absolute path: loaded from the store on first use, new ones kept
/// aside to be written.
#[derive(Default)]
pub(crate) struct FileCache {
    loaded: bool,
    known: HashMap<String, (Stat, String)>,
    fresh: HashMap<String, (Stat, String)>,
}

impl FileCache {
    pub(crate) fn clear(&mut self) {
        *self = FileCache::default();
    }
}

impl Store {
    /// The fingerprint of the file at `path` (made absolute): its remembered hash if its stat is
    /// unchanged, else the hash of its content. A directory is an error.
    ///
    /// ```
    /// # use parade::store::{Fingerprint, Store};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path().join("s.db")).unwrap();
    /// let f = dir.path().join("a.c");
    /// std::fs::write(&f, "int main;").unwrap();
    /// let one = store.fingerprint(&f).unwrap();
    /// assert!(matches!(one, Fingerprint::File(_)));
    /// assert_eq!(store.fingerprint(dir.path().join("nope")).unwrap(), Fingerprint::Missing);
    /// ```
    pub fn fingerprint(&self, path: impl AsRef<Path>) -> std::io::Result<Fingerprint> {
        let path = path.as_ref();
        // Sources come absolute already (no copy, no `getcwd`).
        let owned;
        let path = if path.is_absolute() {
            path
        } else {
            owned = std::path::absolute(path)?;
            &owned
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Fingerprint::Missing),
            Err(e) => return Err(e),
        };
        if meta.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is a directory, not a file",
                path.display()
            )));
        }
        let key = path.to_string_lossy();
        let stat = Stat::of(&meta);
        if let Some(hash) = self.remembered(&key, stat) {
            return Ok(Fingerprint::File(hash));
        }
        let key = key.into_owned();
        let hash = hash_file(path)?;
        let changed = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let settled = SystemTime::now()
            .duration_since(changed)
            .is_ok_and(|age| age >= RACY);
        if settled {
            self.inner
                .files
                .lock()
                .fresh
                .insert(key, (stat, hash.clone()));
        }
        Ok(Fingerprint::File(hash))
    }

    /// Reads the remembered hashes now (else the first fingerprint does). A run calls it on
    /// a thread of its own as soon as the store is open, so the read overlaps reading the task
    /// file and planning.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = parade::store::Store::open(dir.path().join("s.db")).unwrap();
    /// let s = store.clone();
    /// std::thread::spawn(move || s.preload_files()).join().unwrap();
    /// ```
    pub fn preload_files(&self) {
        let mut cache = self.inner.files.lock();
        if cache.loaded {
            return;
        }
        // A connection of its own (WAL lets it read beside the run's writes), so that the
        // run's first writes do not wait for this read.
        let own = rusqlite::Connection::open_with_flags(
            self.path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        );
        if let Ok(rows) = own.and_then(|c| read_files(&c)) {
            cache.known = rows;
            cache.loaded = true;
        }
        drop(self.load_files(cache));
    }

    fn remembered(&self, key: &str, stat: Stat) -> Option<String> {
        let cache = self.inner.files.lock();
        let cache = self.load_files(cache);
        let fresh = if cache.fresh.is_empty() {
            None
        } else {
            cache.fresh.get(key)
        };
        fresh
            .or_else(|| cache.known.get(key))
            .filter(|(s, _)| *s == stat)
            .map(|(_, h)| h.clone())
    }

    fn load_files<'a>(
        &self,
        mut cache: parking_lot::MutexGuard<'a, FileCache>,
    ) -> parking_lot::MutexGuard<'a, FileCache> {
        if !cache.loaded {
            cache.loaded = true;
            if let Ok(rows) = self.with(|c| read_files(c)) {
                cache.known = rows;
            }
        }
        cache
    }

    /// Writes the hashes learnt since the last flush to the store (one transaction).
    pub fn flush_files(&self) -> Result<(), StoreError> {
        let fresh = self.take_fresh_files();
        if fresh.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.transaction()?;
            write_files(&tx, &fresh)?;
            tx.commit()
        })
    }

    /// The hashes learnt since the last flush, kept as known from now on.
    pub(crate) fn take_fresh_files(&self) -> Vec<(String, (Stat, String))> {
        let mut cache = self.inner.files.lock();
        if cache.fresh.is_empty() {
            return Vec::new();
        }
        let fresh: Vec<_> = cache.fresh.drain().collect();
        cache.known.extend(fresh.iter().cloned());
        fresh
    }
}

/// Writes learnt hashes into the `files` table, in the caller's transaction.
pub(crate) fn write_files(
    c: &rusqlite::Connection,
    fresh: &[(String, (Stat, String))],
) -> rusqlite::Result<()> {
    if fresh.is_empty() {
        return Ok(());
    }
    let mut stmt = c.prepare_cached(
        "INSERT OR REPLACE INTO files (path, mtime, ctime, size, inode, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (path, (s, hash)) in fresh {
        stmt.execute(params![path, s.mtime, s.ctime, s.size, s.inode, hash])?;
    }
    Ok(())
}

/// Every remembered hash in the `files` table.
fn read_files(c: &rusqlite::Connection) -> rusqlite::Result<HashMap<String, (Stat, String)>> {
    let mut stmt = c.prepare("SELECT path, mtime, ctime, size, inode, hash FROM files")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (
                Stat {
                    mtime: r.get(1)?,
                    ctime: r.get(2)?,
                    size: r.get(3)?,
                    inode: r.get(4)?,
                },
                r.get::<_, String>(5)?,
            ),
        ))
    })?;
    rows.collect()
}

/// The blake3 hash of a file's content, as hex.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}
