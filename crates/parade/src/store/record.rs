//! Writing to the store: a run begins and ends, executions are recorded, running tasks' pids
//! are noted and cleared; and [`Recorder`], the engine observer that records every task that
//! reaches a final state, with what the task's body noted about it (key, inputs, result).
//!
//! A run's records cost no `SQLite` transaction each: a task that ended is one line in the
//! run's journal (`journal.rs`), written by [`Store::finished`] where the task ends (before its
//! dependents can start) or by the recorder when the engine reports the end, and kept in memory
//! to be written in the one transaction of [`Store::end_run`]. An up-to-date task writes no row
//! at all: its decision stands on its last success, which is kept; the run counts it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use rusqlite::params;

use super::journal::Journal;
use super::{Execution, RunId, Store, StoreError, millis};
use crate::display::TaskNames;
use crate::engine::{Event, Events, Observer, Reason, TaskId, TaskState};

/// What a handle keeps of a run it records, until the run ends.
#[derive(Debug, Default)]
pub(crate) struct Live {
    /// Made with the first line (a run of up-to-date tasks makes none).
    journal: Option<Journal>,
    /// What task bodies noted ([`Recorder::note`]), by task; and whether [`Store::finished`]
    /// journaled it in the state it holds.
    notes: HashMap<String, (Execution, bool)>,
    /// Tasks found up to date (no row each).
    up_to_date: i64,
    /// The first line that could not be written to the journal (a kill before the run's end
    /// would lose it; once the end is written, nothing is lost).
    lost: Option<String>,
}

impl Store {
    /// Records the start of a run of `targets` by this process; returns its id.
    pub fn begin_run(&self, targets: &[String]) -> Result<RunId, StoreError> {
        let targets = super::history::targets_column(targets);
        self.with(|c| {
            c.execute(
                "INSERT INTO runs (started, targets, pid) VALUES (?1, ?2, ?3)",
                params![millis(SystemTime::now()), targets, std::process::id()],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Records the end of run `run` (`succeeded`, `failed`, `interrupted` or `error`: see
    /// [`outcome`](super::outcome)), in one
    /// transaction with the executions recorded during the run, how many tasks were up to date,
    /// and the file fingerprints learnt; forgets its running tasks, and removes its journal.
    /// When it fails the journal stays, and the next open of the store folds it in.
    pub fn end_run(&self, run: RunId, outcome: &str) -> Result<(), StoreError> {
        let fresh = self.take_fresh_files();
        let live = self.inner.live.lock().remove(&run).unwrap_or_default();
        let written = self.write_deferred_with(|tx| {
            super::fingerprint::write_files(tx, &fresh)?;
            tx.execute(
                "UPDATE runs SET ended = ?2, outcome = ?3, up_to_date = ?4 WHERE id = ?1",
                params![run, millis(SystemTime::now()), outcome, live.up_to_date],
            )?;
            tx.execute("DELETE FROM running WHERE run = ?1", [run])?;
            super::retention::prune(tx, run)
        });
        if written.is_ok() {
            if let Some(j) = live.journal {
                j.remove();
            }
        } else {
            // Neither in the database nor (for these) in the journal.
            if let Some(lost) = live.lost {
                self.inner.lost.lock().get_or_insert(lost);
            }
        }
        written
    }

    /// Where run `run`'s journal is while the run goes on, or after an end that could not be
    /// written (then the next open of the store folds it); `None` for a store in memory.
    pub fn journal_path(&self, run: RunId) -> Option<std::path::PathBuf> {
        (self.path().as_os_str() != ":memory:").then(|| super::journal::path_of(self.path(), run))
    }

    /// Keeps `facts`, what task `name`'s body knows about its execution in run `run`, for its
    /// record ([`Recorder::note`]).
    pub(crate) fn note(&self, run: RunId, name: &str, facts: Execution) {
        self.inner
            .live
            .lock()
            .entry(run)
            .or_default()
            .notes
            .insert(name.to_owned(), (facts, false));
    }

    /// Takes what was noted for task `name` of run `run`.
    fn take_note(&self, run: RunId, name: &str) -> Option<(Execution, bool)> {
        self.inner.live.lock().get_mut(&run)?.notes.remove(name)
    }

    /// Records now that task `name` of run `run` ended in `state` (`succeeded`...), with what
    /// its body noted ([`Recorder::note`]): one line in the run's journal, kept by the kernel
    /// against a kill of parade (`kill -9`) from the moment this returns, and no `SQLite`
    /// transaction. Call it where the task ends, before its dependents can start: a run killed
    /// after a dependent started never runs the task again with `--resume`. The [`Recorder`]
    /// completes the record when the engine reports the end.
    ///
    /// A line that cannot be written (a full disk) does not stop the run: it is kept for
    /// [`Recorder::error`] (the record is still written at the run's end).
    ///
    /// ```
    /// use parade::store::{Execution, Store};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path().join("s.db")).unwrap();
    /// let run = store.begin_run(&[]).unwrap();
    /// store.finished(run, "fetch", "succeeded");
    /// // Killed here, the next open finds fetch's success in the journal.
    /// assert!(store.journal_path(run).unwrap().exists());
    /// ```
    pub fn finished(&self, run: RunId, name: &str, state: &str) {
        let mut live = self.inner.live.lock();
        let Live {
            journal,
            notes,
            lost,
            ..
        } = live.entry(run).or_default();
        // Written from the note where it lies: its inputs are not copied to write a line.
        let (e, journaled) = match notes.get_mut(name) {
            Some(note) => note,
            None => notes.entry(name.to_owned()).or_default(),
        };
        *journaled = true;
        if e.name != name {
            name.clone_into(&mut e.name);
        }
        state.clone_into(&mut e.state);
        e.ended = Some(SystemTime::now());
        if state == "succeeded" && e.exit_status.is_none() {
            e.exit_status = Some(0);
        }
        self.journal_into(journal, lost, run, e);
    }

    /// Appends `e` to run `run`'s journal (made with its first line), or keeps why it could not.
    fn journal(&self, live: &mut Live, run: RunId, e: &Execution) {
        self.journal_into(&mut live.journal, &mut live.lost, run, e);
    }

    /// [`Store::journal`] on the parts of a run's [`Live`] it writes.
    fn journal_into(
        &self,
        journal: &mut Option<Journal>,
        lost: &mut Option<String>,
        run: RunId,
        e: &Execution,
    ) {
        let Some(path) = self.journal_path(run) else {
            return;
        };
        let written = match journal {
            Some(j) => j.append(e),
            None => Journal::create(self.path(), run).and_then(|j| {
                let r = j.append(e);
                *journal = Some(j);
                r
            }),
        };
        if let Err(err) = written {
            lost.get_or_insert_with(|| format!("cannot write {}: {err}", path.display()));
        }
    }

    /// Counts a task of run `run` found up to date.
    fn up_to_date(&self, run: RunId) {
        self.inner.live.lock().entry(run).or_default().up_to_date += 1;
    }

    /// Records one execution in run `run` now, in its own transaction (with the deferred ones
    /// before it): for a face that records a task where it ends. A run's [`Recorder`] does not
    /// (see [`Store::finished`]).
    pub fn record(&self, run: RunId, e: &Execution) -> Result<(), StoreError> {
        self.write_deferred_with(|tx| insert_all(tx, [(run, e)]))
    }

    /// Records one execution in run `run` later: with the next [`Store::record`], or at
    /// [`Store::end_run`] or [`Store::flush`], in one transaction with the others. For
    /// executions a killed run can lose without harm: an up-to-date task's last success is
    /// already stored, so the next run finds it up to date again. A no-op rerun of a thousand
    /// tasks writes once, not a thousand times.
    pub fn record_later(&self, run: RunId, e: Execution) {
        self.inner.deferred.lock().push((run, e));
    }

    /// Writes the deferred executions and the file fingerprints learnt so far.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.flush_files()?;
        self.write_deferred()
    }

    /// Writes the deferred executions in one transaction.
    fn write_deferred(&self) -> Result<(), StoreError> {
        if self.inner.deferred.lock().is_empty() {
            return Ok(());
        }
        self.write_deferred_with(|_| Ok(()))
    }

    /// Writes the deferred executions, in the order they were deferred, then what `also`
    /// writes, in one transaction. They are taken under the connection's lock, so two writers
    /// never swap two batches; when the transaction fails they stay deferred, ahead of any
    /// deferred since.
    fn write_deferred_with(
        &self,
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let deferred = std::mem::take(&mut *self.inner.deferred.lock());
            let written = c.transaction().and_then(|tx| {
                insert_all(&tx, deferred.iter().map(|(run, e)| (*run, e)))?;
                also(&tx)?;
                tx.commit()
            });
            if written.is_err() {
                let mut kept = self.inner.deferred.lock();
                let later = std::mem::replace(&mut *kept, deferred);
                kept.extend(later);
            }
            written
        })
    }

    /// Defers `e`; once [`WRITE_EVERY`] wait, writes them (see [`Recorder`]).
    fn record_soon(&self, run: RunId, e: Execution) {
        let waiting = {
            let mut deferred = self.inner.deferred.lock();
            deferred.push((run, e));
            deferred.len()
        };
        // Tried again only once another batch waits after a failure (a busy database would
        // otherwise hold the events thread for its busy timeout at every task); what could not
        // be written is kept for the next write or the run's end, which reports it.
        if waiting % WRITE_EVERY == 0 {
            let _ = self.write_deferred();
        }
    }

    /// Notes that task `name` of run `run` is running as process `pid` (for cleaning up after a
    /// `kill -9` of parade: a later run can find and end what was left behind).
    pub fn set_running(&self, run: RunId, name: &str, pid: u32) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO running (run, name, pid) VALUES (?1, ?2, ?3)",
                params![run, name, pid],
            )?;
            Ok(())
        })
    }

    /// Forgets that task `name` of run `run` is running.
    pub fn clear_running(&self, run: RunId, name: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM running WHERE run = ?1 AND name = ?2",
                params![run, name],
            )?;
            Ok(())
        })
    }

    /// Tasks noted as running by runs that never ended and whose parade process is gone:
    /// `(run, task name, pid)`. Their processes may still be alive.
    pub fn left_running(&self) -> Result<Vec<(RunId, String, u32)>, StoreError> {
        let rows: Vec<(RunId, String, u32, u32)> = self.with(|c| {
            c.prepare_cached(
                "SELECT running.run, running.name, running.pid, runs.pid FROM running \
                 JOIN runs ON runs.id = running.run WHERE runs.ended IS NULL",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter(|(_, _, _, owner)| !super::history::alive(*owner))
            .map(|(run, name, pid, _)| (run, name, pid))
            .collect())
    }
}

/// How many records of ended tasks wait before the recorder writes them, in one transaction
/// on the thread that delivers events: the rows of a thousand tasks are written while they
/// run (off the path from one task to the next), not after the last one, in the run's end.
/// Each is in the run's journal already, so a kill loses none; a run that died is folded
/// from its journal, which replaces what was written of it.
pub(crate) const WRITE_EVERY: usize = 64;

/// Inserts executions, each of its run.
pub(crate) fn insert_all<'a>(
    c: &rusqlite::Connection,
    all: impl IntoIterator<Item = (RunId, &'a Execution)>,
) -> rusqlite::Result<()> {
    let mut inserts = Inserts {
        c,
        statements: Default::default(),
    };
    for (run, e) in all {
        inserts.insert(run, e)?;
    }
    Ok(())
}

/// [`INSERTS`]' statement that adds the execution's row.
const INSERT_EXECUTION: usize = 0;
/// [`INSERTS`]' statement that makes the row the task's latest run.
const LATEST: usize = 1;
/// [`INSERTS`]' statement that forgets the task's latest skip.
const FORGET_SKIP: usize = 2;
/// [`INSERTS`]' statement that makes the row the task's latest skip.
const LATEST_SKIP: usize = 3;

/// What inserting an execution runs, each statement taken from the connection's cache once a
/// batch (not once a row: the cache looks a statement up by its text).
const INSERTS: [&str; 4] = [
    "INSERT INTO executions (run, name, key, state, reason, started, ended, \
     exit_status, result, inputs, outputs) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    // What a task's next decision stands on, kept from pruning (`retention.rs`).
    "INSERT OR REPLACE INTO latest (name, execution) VALUES (?1, last_insert_rowid())",
    "DELETE FROM latest_skip WHERE name = ?1",
    "INSERT OR REPLACE INTO latest_skip (name, execution) VALUES (?1, last_insert_rowid())",
];

/// The statements of [`INSERTS`] a batch has prepared so far.
struct Inserts<'c> {
    c: &'c rusqlite::Connection,
    statements: [Option<rusqlite::CachedStatement<'c>>; 4],
}

impl<'c> Inserts<'c> {
    /// Statement `i` of [`INSERTS`], prepared the first time it is asked for.
    fn statement(&mut self, i: usize) -> rusqlite::Result<&mut rusqlite::CachedStatement<'c>> {
        let slot = &mut self.statements[i];
        if slot.is_none() {
            *slot = Some(self.c.prepare_cached(INSERTS[i])?);
        }
        Ok(slot.as_mut().expect("prepared just now"))
    }

    /// Inserts one execution.
    fn insert(&mut self, run: RunId, e: &Execution) -> rusqlite::Result<()> {
        // Straight to a `String`: `Value`'s `Display` goes through a formatter, byte by byte.
        let json =
            |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| serde_json::to_string(v).ok());
        let outputs =
            (!e.outputs.is_empty()).then(|| serde_json::to_string(&e.outputs).unwrap_or_default());
        self.statement(INSERT_EXECUTION)?.execute(params![
            run,
            e.name,
            e.key,
            e.state,
            e.reason,
            e.started.map(millis),
            e.ended.map(millis),
            e.exit_status,
            json(&e.result),
            json(&e.inputs),
            outputs,
        ])?;
        if e.key.is_none() {
            return Ok(());
        }
        match e.state.as_str() {
            "succeeded" | "up-to-date" => {
                self.statement(LATEST)?.execute([&e.name])?;
                self.statement(FORGET_SKIP)?.execute([&e.name])?;
            }
            "skipped" => {
                self.statement(LATEST_SKIP)?.execute([&e.name])?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// An engine observer that records, in run `run`, every task that reaches a final state:
/// its name, state, reason, start and end, exit status, and what its body noted with
/// [`Recorder::note`] (key, inputs, result, outputs). Tasks without a name are not recorded.
///
/// Each record is a line in the run's journal when the task ends, and a row at
/// [`Store::end_run`]; an up-to-date task is counted, not written (its last success stands).
/// A write that fails (a full disk) does not stop the run: the first such error is kept for
/// [`Recorder::error`].
///
/// ```
/// use std::sync::Arc;
/// use parade::engine::{Engine, Outcome, TaskSpec};
/// use parade::store::{Recorder, Store};
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path().join("s.db")).unwrap();
/// let run = store.begin_run(&[]).unwrap();
/// let engine = Engine::inline();
/// let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// let recorder = Recorder::new(store.clone(), run, Arc::new(move |_| Some("t".to_owned())));
/// engine.subscribe(recorder.clone());
/// engine.want([t]).unwrap();
/// engine.wait_all().unwrap();
/// store.end_run(run, "succeeded").unwrap();
/// assert_eq!(store.executions(run).unwrap()[0].state, "succeeded");
/// ```
#[derive(Clone)]
pub struct Recorder {
    store: Store,
    run: RunId,
    names: Arc<dyn TaskNames>,
    state: Arc<Mutex<RecorderState>>,
}

#[derive(Default)]
struct RecorderState {
    started: HashMap<TaskId, SystemTime>,
}

impl Recorder {
    /// Records into run `run` of `store`, naming tasks with `names`.
    pub fn new(store: Store, run: RunId, names: Arc<dyn TaskNames>) -> Self {
        Recorder {
            store,
            run,
            names,
            state: Arc::default(),
        }
    }

    /// The run it records into.
    pub fn run(&self) -> RunId {
        self.run
    }

    /// The store it writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What task `name`'s body knows about its execution: key, inputs, result, outputs,
    /// reason (why it ran or was up to date). Merged into the record when the task ends; a
    /// second note replaces the first.
    pub fn note(&self, name: &str, facts: Execution) {
        self.store.note(self.run, name, facts);
    }

    /// Why a record could not be written to the run's journal, if one could not: while the
    /// run goes on (a kill of parade would lose it), and after an end that could not be
    /// written either (the record is lost). `None` once the end is written: nothing is lost.
    pub fn error(&self) -> Option<String> {
        if let Some(l) = self.store.inner.live.lock().get(&self.run) {
            return l.lost.clone();
        }
        self.store.inner.lost.lock().clone()
    }

    fn finished(&self, id: TaskId, state: TaskState, reason: Option<&Reason>) {
        let Some(name) = self.names.name(id) else {
            return;
        };
        let started = self.state.lock().started.remove(&id);
        let note = self.store.take_note(self.run, &name);
        // Up to date: its last success stands; a row each would only grow the store.
        if state == TaskState::UpToDate {
            self.store.up_to_date(self.run);
            return;
        }
        let (mut e, journaled) = note.unwrap_or_default();
        // Journaled where it ended ([`Store::finished`]) in the state it ended in.
        let journaled = journaled && e.state == state.as_str();
        e.name = name;
        state.as_str().clone_into(&mut e.state);
        e.started = started.or(e.started);
        e.ended = Some(crate::engine::event_system_time());
        if let Some(Reason::Exit(code)) = reason {
            e.exit_status = Some(*code);
        }
        if let Some(r) = reason {
            e.reason = Some(r.to_string());
        }
        if state == TaskState::Succeeded && e.exit_status.is_none() {
            e.exit_status = Some(0);
        }
        if state != TaskState::Succeeded {
            e.result = None;
        }
        if !journaled {
            let mut live = self.store.inner.live.lock();
            let live = live.entry(self.run).or_default();
            self.store.journal(live, self.run, &e);
        }
        self.store.record_soon(self.run, e);
    }
}

impl Observer for Recorder {
    fn on_event(&self, event: &Event) {
        match event {
            Event::Started { id } => {
                self.state
                    .lock()
                    .started
                    .insert(*id, crate::engine::event_system_time());
            }
            Event::Finished {
                id, state, reason, ..
            } => self.finished(*id, *state, reason.as_ref()),
            Event::Wanted { .. } | Event::Output { .. } => {}
        }
    }

    /// Lines and wants take nothing; the starts of a batch take the lock once between ends.
    fn on_events(&self, events: Events<'_>) {
        let mut held = None;
        for event in events {
            match event {
                Event::Started { id } => {
                    held.get_or_insert_with(|| self.state.lock())
                        .started
                        .insert(*id, crate::engine::event_system_time());
                }
                Event::Finished {
                    id, state, reason, ..
                } => {
                    // `finished` takes the lock itself.
                    held = None;
                    self.finished(*id, *state, reason.as_ref());
                }
                Event::Wanted { .. } | Event::Output { .. } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WRITE_EVERY;
    use crate::store::Store;

    #[test]
    fn a_runs_records_are_written_while_it_runs_and_a_dead_runs_fold_replaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        let run = store.begin_run(&[]).unwrap();
        let recorder = super::super::tests::recorder_of(&store, run);
        let tasks = 2 * WRITE_EVERY + 5;
        super::super::tests::record_tasks(&recorder, 0, tasks);
        // Before the run's end, every full batch is in the database already (all of them
        // used to be written by the end's one transaction, after the last task).
        let written = store.executions(run).unwrap().len();
        assert_eq!(written, 2 * WRITE_EVERY, "rows before the run's end");
        // Killed here: the next open folds the journal, replacing what was written.
        drop(recorder);
        drop(store);
        let names_after_open = || -> Vec<String> {
            let again = Store::open(&path).unwrap();
            again
                .executions(run)
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect()
        };
        let mut names =
            super::super::tests::once_folded(names_after_open, |n: &Vec<String>| n.len() >= tasks);
        assert_eq!(names.len(), tasks, "each task once");
        names.sort();
        names.dedup();
        assert_eq!(names.len(), tasks);
    }
}
