//! Memoized results: a value stored under a name (`"square@v1"`, the name and version a
//! caller gives) and a key (a hash of the input values), so that a later program run can reuse
//! it instead of computing it again ([`crate::graph`]'s `.cache(...)`). It stores and answers;
//! how keys are made and when a result is reused is the caller's.
//!
//! The table is additive to schema version 1 (`CREATE TABLE IF NOT EXISTS` on open): a build
//! that does not know it ignores it.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::{Store, StoreError, millis};

/// The table, made on open if missing.
pub(crate) const TABLE: &str = "CREATE TABLE IF NOT EXISTS memo (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    result TEXT NOT NULL,
    stored INTEGER NOT NULL,
    PRIMARY KEY (name, key)
);";

impl Store {
    /// The result stored for `name` and `key`, if there is one.
    ///
    /// ```
    /// use parade::store::Store;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path().join("s.db")).unwrap();
    /// assert_eq!(store.memo("square@v1", "k").unwrap(), None);
    /// store.set_memo("square@v1", "k", &serde_json::json!(49)).unwrap();
    /// assert_eq!(store.memo("square@v1", "k").unwrap(), Some(serde_json::json!(49)));
    /// ```
    pub fn memo(&self, name: &str, key: &str) -> Result<Option<Value>, StoreError> {
        let text: Option<String> = self.with(|c| {
            c.prepare_cached("SELECT result FROM memo WHERE name = ?1 AND key = ?2")?
                .query_row(params![name, key], |r| r.get(0))
                .optional()
        })?;
        // A row that is not JSON (written by hand) is as good as none: the value is computed
        // again and replaces it.
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Stores `result` for `name` and `key`, replacing what was there (one transaction).
    pub fn set_memo(&self, name: &str, key: &str, result: &Value) -> Result<(), StoreError> {
        let text = result.to_string();
        let now = millis(std::time::SystemTime::now());
        self.with(|c| {
            c.prepare_cached(
                "INSERT OR REPLACE INTO memo (name, key, result, stored) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![name, key, text, now])?;
            Ok(())
        })
    }

    /// How many results are stored under `name`.
    pub fn memo_count(&self, name: &str) -> Result<usize, StoreError> {
        let n: i64 = self.with(|c| {
            c.prepare_cached("SELECT count(*) FROM memo WHERE name = ?1")?
                .query_row([name], |r| r.get(0))
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}
