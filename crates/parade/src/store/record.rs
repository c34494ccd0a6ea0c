//! Writing to the store: a run begins and ends, executions are recorded (each that ran in its
//! own transaction, so a killed run loses at most what had not ended; up-to-date ones batched,
//! see [`Store::record_later`]), running tasks' pids are
//! noted and cleared; and [`Recorder`], the engine observer that records every task that
//! reaches a final state, with what the task's body noted about it (key, inputs, result).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use rusqlite::params;

use super::{Execution, RunId, Store, StoreError, millis};
use crate::display::TaskNames;
use crate::engine::{Event, Observer, Reason, TaskId, TaskState};

impl Store {
    /// Records the start of a run of `targets` by this process; returns its id.
    pub fn begin_run(&self, targets: &[String]) -> Result<RunId, StoreError> {
        let targets = serde_json::to_string(targets).unwrap_or_else(|_| "[]".to_owned());
        self.with(|c| {
            c.execute(
                "INSERT INTO runs (started, targets, pid) VALUES (?1, ?2, ?3)",
                params![millis(SystemTime::now()), targets, std::process::id()],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Records the end of run `run`: `succeeded`, `failed` or `interrupted`. Also writes the
    /// file fingerprints learnt during the run, and forgets its running tasks.
    pub fn end_run(&self, run: RunId, outcome: &str) -> Result<(), StoreError> {
        self.flush_files()?;
        let deferred = std::mem::take(&mut *self.inner.deferred.lock());
        self.with(|c| {
            let tx = c.transaction()?;
            for (run, e) in &deferred {
                insert(&tx, *run, e)?;
            }
            tx.execute(
                "UPDATE runs SET ended = ?2, outcome = ?3 WHERE id = ?1",
                params![run, millis(SystemTime::now()), outcome],
            )?;
            tx.execute("DELETE FROM running WHERE run = ?1", [run])?;
            super::retention::prune(&tx, run)?;
            tx.commit()
        })
    }

    /// Records one execution in run `run` (with the deferred ones before it, in one
    /// transaction).
    pub fn record(&self, run: RunId, e: &Execution) -> Result<(), StoreError> {
        let deferred = std::mem::take(&mut *self.inner.deferred.lock());
        self.with(|c| {
            let tx = c.transaction()?;
            for (run, e) in &deferred {
                insert(&tx, *run, e)?;
            }
            insert(&tx, run, e)?;
            tx.commit()
        })
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
        let deferred = std::mem::take(&mut *self.inner.deferred.lock());
        if deferred.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.transaction()?;
            for (run, e) in &deferred {
                insert(&tx, *run, e)?;
            }
            tx.commit()
        })
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

/// Inserts one execution (a prepared statement, cached per connection).
fn insert(c: &rusqlite::Connection, run: RunId, e: &Execution) -> rusqlite::Result<()> {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(ToString::to_string);
    let outputs =
        (!e.outputs.is_empty()).then(|| serde_json::to_string(&e.outputs).unwrap_or_default());
    c.prepare_cached(
        "INSERT INTO executions (run, name, key, state, reason, started, ended, \
         exit_status, result, inputs, outputs) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
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
    if e.key.is_some() && matches!(e.state.as_str(), "succeeded" | "up-to-date") {
        c.prepare_cached(
            "INSERT OR REPLACE INTO latest (name, execution) VALUES (?1, last_insert_rowid())",
        )?
        .execute([&e.name])?;
    }
    Ok(())
}

/// An engine observer that records, in run `run`, every task that reaches a final state:
/// its name, state, reason, start and end, exit status, and what its body noted with
/// [`Recorder::note`] (key, inputs, result, outputs). Tasks without a name are not recorded.
///
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
    notes: HashMap<String, Execution>,
    error: Option<StoreError>,
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
        self.state.lock().notes.insert(name.to_owned(), facts);
    }

    /// The first write that failed, if one did.
    pub fn error(&self) -> Option<String> {
        self.state.lock().error.as_ref().map(ToString::to_string)
    }

    fn finished(&self, id: TaskId, state: TaskState, reason: Option<&Reason>) {
        let Some(name) = self.names.name(id) else {
            return;
        };
        let (started, note) = {
            let mut s = self.state.lock();
            (s.started.remove(&id), s.notes.remove(&name))
        };
        let mut e = note.unwrap_or_default();
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
        if !matches!(state, TaskState::Succeeded | TaskState::UpToDate) {
            e.result = None;
        }
        // An up-to-date task loses nothing if a kill takes its record: written in one batch.
        if state == TaskState::UpToDate {
            self.store.record_later(self.run, e);
        } else if let Err(err) = self.store.record(self.run, &e) {
            self.state.lock().error.get_or_insert(err);
        }
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
}
