//! How much history the run store keeps: the last [`KEPT_RUNS`] runs whole, and of older runs
//! only the executions a task's up-to-date decision still stands on: its last success (the
//! `latest` table's row) and, when it skipped itself since, that skip (`latest_skip`'s row: a
//! flow's proc that skipped is up to date while nothing it reads changes). Without it every run, a no-op rerun included, adds a row per task
//! and `state.db` grows without bound.
//!
//! It owns the rule and its query; when it runs is the recorder's (at a run's end, in the
//! run's own transaction, every [`PRUNE_EVERY`] runs so its cost is spread thin).

use rusqlite::Transaction;

/// Runs kept whole: their executions feed `parade state show`, the live display's expected
/// durations and `parade report`.
pub const KEPT_RUNS: i64 = 100;

/// Pruning runs at the end of one run in this many.
pub const PRUNE_EVERY: i64 = 16;

/// At the end of run `run`: when it is the turn, forgets the executions of runs older than the
/// last [`KEPT_RUNS`] that no task's last success or last skip points at, and those runs once
/// empty.
pub(crate) fn prune(tx: &Transaction<'_>, run: i64) -> rusqlite::Result<()> {
    if run % PRUNE_EVERY != 0 {
        return Ok(());
    }
    let before = run - KEPT_RUNS;
    if before <= 0 {
        return Ok(());
    }
    tx.execute(
        "DELETE FROM executions WHERE run < ?1 \
         AND id NOT IN (SELECT execution FROM latest) \
         AND id NOT IN (SELECT execution FROM latest_skip)",
        [before],
    )?;
    tx.execute(
        "DELETE FROM runs WHERE id < ?1 AND ended IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM executions WHERE executions.run = runs.id)",
        [before],
    )?;
    Ok(())
}
