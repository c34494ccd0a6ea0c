//! What the store remembers, read back: runs, the executions of a run or of a task, the last
//! successful execution of a task, and a task's expected duration (parproc's weighted mean of
//! its recent successful runs). Also forgetting (`parade state clean`).

use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::{RunId, Store, StoreError, from_millis};

/// One run as remembered.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// Its id.
    pub id: RunId,
    /// When it started.
    pub started: SystemTime,
    /// When it ended (`None`: still running, or killed).
    pub ended: Option<SystemTime>,
    /// What it was asked to run.
    pub targets: Vec<String>,
    /// How it ended: `succeeded`, `failed`, `interrupted`... (`None` while it runs).
    pub outcome: Option<String>,
    /// The process that ran it.
    pub pid: u32,
    /// How many of its tasks were up to date (they have no execution of their own in it).
    pub up_to_date: u64,
}

/// One execution of a task in a run, as remembered.
///
/// ```
/// use parade::store::Execution;
/// let e = Execution::new("build", "succeeded").key("abc").exit_status(0);
/// assert_eq!((e.name.as_str(), e.key.as_deref(), e.exit_status), ("build", Some("abc"), Some(0)));
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Execution {
    /// The run it belongs to (0 until stored).
    pub run: RunId,
    /// The task's concrete name.
    pub name: String,
    /// The key it ran under (a hash of everything its result depends on), if it has one.
    pub key: Option<String>,
    /// Its final state, as [`crate::engine::TaskState::as_str`] spells it.
    pub state: String,
    /// Why it ended there, or why it ran / was up to date.
    pub reason: Option<String>,
    /// When it started running.
    pub started: Option<SystemTime>,
    /// When it ended.
    pub ended: Option<SystemTime>,
    /// The exit status of its command, if it had one.
    pub exit_status: Option<i32>,
    /// Its result.
    pub result: Option<Value>,
    /// What its key was made of, for explanations (`{"command": .., "sources": {..}}`).
    pub inputs: Option<Value>,
    /// Fingerprints of its outputs after it ran, path to hash.
    pub outputs: Vec<(String, String)>,
}

impl Execution {
    /// An execution of `name` that ended in `state`.
    pub fn new(name: impl Into<String>, state: impl Into<String>) -> Self {
        Execution {
            name: name.into(),
            state: state.into(),
            ..Execution::default()
        }
    }

    /// With this key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// With this exit status.
    pub fn exit_status(mut self, code: i32) -> Self {
        self.exit_status = Some(code);
        self
    }

    /// How long it ran, if it ran.
    pub fn duration(&self) -> Option<Duration> {
        Some(
            self.ended?
                .duration_since(self.started?)
                .unwrap_or_default(),
        )
    }

    /// Whether it counts as a success (succeeded, up to date or skipped).
    pub fn is_success(&self) -> bool {
        matches!(self.state.as_str(), "succeeded" | "up-to-date" | "skipped")
    }

    fn from_row(r: &Row<'_>) -> rusqlite::Result<Execution> {
        let json = |i: usize| -> rusqlite::Result<Option<Value>> {
            Ok(r.get::<_, Option<String>>(i)?
                .and_then(|t| serde_json::from_str(&t).ok()))
        };
        let outputs = json(10)?
            .and_then(|v| serde_json::from_value::<Vec<(String, String)>>(v).ok())
            .unwrap_or_default();
        Ok(Execution {
            run: r.get(0)?,
            name: r.get(1)?,
            key: r.get(2)?,
            state: r.get(3)?,
            reason: r.get(4)?,
            started: r.get::<_, Option<i64>>(5)?.map(from_millis),
            ended: r.get::<_, Option<i64>>(6)?.map(from_millis),
            exit_status: r.get(7)?,
            result: json(8)?,
            inputs: json(9)?,
            outputs,
        })
    }
}

const EXECUTION: &str = "SELECT run, name, key, state, reason, started, ended, exit_status, \
                         result, inputs, outputs FROM executions";

/// A run's targets as the `runs` table keeps them (a JSON list; [`run_from_row`] reads it).
pub(crate) fn targets_column(targets: &[String]) -> String {
    serde_json::to_string(targets).unwrap_or_else(|_| "[]".to_owned())
}

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let targets: String = r.get(3)?;
    Ok(RunRecord {
        id: r.get(0)?,
        started: from_millis(r.get(1)?),
        ended: r.get::<_, Option<i64>>(2)?.map(from_millis),
        targets: serde_json::from_str(&targets).unwrap_or_default(),
        outcome: r.get(4)?,
        pid: r.get(5)?,
        up_to_date: r
            .get::<_, Option<i64>>(6)?
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
    })
}

const RUN: &str = "SELECT id, started, ended, targets, outcome, pid, up_to_date FROM runs";

/// How a run ended, in the words the store keeps ([`RunRecord::outcome`]): one rule for the
/// CLI's runs and a flow's. `interrupted` when it was stopped (a signal, [`Flow::stop`], a
/// flow dropped before its end): it could have gone on. Otherwise `error` when it could not go
/// on to its end for a reason no task's failure explains (a deadlock: wanted tasks left that
/// can never start); `failed` when a task did not succeed; `succeeded` when all did. A
/// deadlock is not `interrupted` (nobody stopped the run, and running it again the same way
/// stops at the same place) nor `failed` (no task may have failed).
///
/// [`Flow::stop`]: crate::flow::Flow::stop
///
/// ```
/// use parade::store::outcome;
/// assert_eq!(outcome(true, true, false), "interrupted");
/// assert_eq!(outcome(false, true, false), "error");
/// assert_eq!(outcome(false, false, false), "failed");
/// assert_eq!(outcome(false, false, true), "succeeded");
/// ```
pub fn outcome(stopped: bool, could_not_go_on: bool, all_succeeded: bool) -> &'static str {
    if stopped {
        "interrupted"
    } else if could_not_go_on {
        "error"
    } else if all_succeeded {
        "succeeded"
    } else {
        "failed"
    }
}

impl Store {
    /// Replaces what run `run` was asked to run ([`RunRecord::targets`]): for a run asked for
    /// more after it began (a flow's run begins with its first record, and may be asked for
    /// more procs while it goes on).
    ///
    /// ```
    /// let store = parade::store::Store::in_memory()?;
    /// let run = store.begin_run(&["a".to_owned()])?;
    /// store.set_targets(run, &["a".to_owned(), "b".to_owned()])?;
    /// assert_eq!(store.run(run)?.unwrap().targets, ["a", "b"]);
    /// # Ok::<(), parade::store::StoreError>(())
    /// ```
    pub fn set_targets(&self, run: RunId, targets: &[String]) -> Result<(), StoreError> {
        let targets = targets_column(targets);
        self.with(|c| {
            c.execute(
                "UPDATE runs SET targets = ?2 WHERE id = ?1",
                params![run, targets],
            )?;
            Ok(())
        })
    }

    /// The last `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!("{RUN} ORDER BY id DESC LIMIT ?1"))?
                .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], run_from_row)?
                .collect()
        })
    }

    /// One run, if the store has it.
    pub fn run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError> {
        self.with(|c| {
            c.query_row(&format!("{RUN} WHERE id = ?1"), [id], run_from_row)
                .optional()
        })
    }

    /// The executions of run `id`, in the order they ended.
    pub fn executions(&self, id: RunId) -> Result<Vec<Execution>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!("{EXECUTION} WHERE run = ?1 ORDER BY id"))?
                .query_map([id], Execution::from_row)?
                .collect()
        })
    }

    /// The last `limit` executions of task `name`, newest first.
    pub fn history(&self, name: &str, limit: usize) -> Result<Vec<Execution>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "{EXECUTION} WHERE name = ?1 ORDER BY id DESC LIMIT ?2"
            ))?
            .query_map(
                params![name, i64::try_from(limit).unwrap_or(i64::MAX)],
                Execution::from_row,
            )?
            .collect()
        })
    }

    /// The last execution of `name` that ran and succeeded, or was found up to date (it carries
    /// the key, result and output fingerprints a later run compares with, and the inputs when
    /// it ran: for an up-to-date one, [`Store::inputs_of`] finds them).
    pub fn last_success(&self, name: &str) -> Result<Option<Execution>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "{EXECUTION} WHERE name = ?1 AND state IN ('succeeded', 'up-to-date') \
                 AND key IS NOT NULL ORDER BY id DESC LIMIT 1"
            ))?
            .query_row([name], Execution::from_row)
            .optional()
        })
    }

    /// The last success of every task ([`Store::last_success`] of each), in one query, by
    /// name, without their inputs ([`Store::inputs_of`] reads those when they are needed).
    ///
    /// ```
    /// use parade::store::{Execution, Store};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path().join("s.db")).unwrap();
    /// let run = store.begin_run(&[]).unwrap();
    /// store.record(run, &Execution::new("a", "succeeded").key("k1")).unwrap();
    /// store.record(run, &Execution::new("a", "failed").key("k2")).unwrap();
    /// let last = store.last_successes().unwrap();
    /// assert_eq!(last["a"].key.as_deref(), Some("k1"));
    /// ```
    pub fn last_successes(
        &self,
    ) -> Result<std::collections::HashMap<String, Execution>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT e.run, e.name, e.key, e.state, e.reason, e.started, e.ended, \
                 e.exit_status, e.result, NULL, e.outputs \
                 FROM latest JOIN executions e ON e.id = latest.execution",
            )?
            .query_map([], Execution::from_row)?
            .map(|e| e.map(|e| (e.name.clone(), e)))
            .collect()
        })
    }

    /// What the key `key` of task `name` was made of: the inputs of its newest execution under
    /// that key that stored them (an up-to-date execution does not store them again: they are
    /// its last run's).
    pub fn inputs_of(&self, name: &str, key: &str) -> Result<Option<Value>, StoreError> {
        let text: Option<String> = self.with(|c| {
            c.prepare_cached(
                "SELECT inputs FROM executions WHERE name = ?1 AND key = ?2 \
                 AND inputs IS NOT NULL ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![name, key], |r| r.get(0))
            .optional()
        })?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// How long task `name` is expected to run: the weighted mean of its last
    /// `ETA_WINDOW` executions that ran (up-to-date ones did not), counting only the successful
    /// ones, the most recent weighing most (weight `0.8^i`, parproc's `get_expected_duration`).
    /// `None` without history.
    ///
    /// ```
    /// # use parade::store::{Execution, Store};
    /// # use std::time::{Duration, UNIX_EPOCH};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path().join("s.db")).unwrap();
    /// let run = store.begin_run(&[]).unwrap();
    /// for secs in [10, 20] {
    ///     let mut e = Execution::new("t", "succeeded");
    ///     e.started = Some(UNIX_EPOCH);
    ///     e.ended = Some(UNIX_EPOCH + Duration::from_secs(secs));
    ///     store.record(run, &e).unwrap();
    /// }
    /// // 20 s (newest, weight 1) and 10 s (weight 0.8): (20 + 8) / 1.8
    /// let d = store.expected_duration("t").unwrap().unwrap();
    /// assert_eq!(d.as_millis(), 15_555);
    /// ```
    pub fn expected_duration(&self, name: &str) -> Result<Option<Duration>, StoreError> {
        let ran: Vec<Execution> = self
            .history(name, ETA_WINDOW * 4)?
            .into_iter()
            .filter(|e| e.state != "up-to-date" && e.started.is_some() && e.ended.is_some())
            .take(ETA_WINDOW)
            .collect();
        let (mut sum, mut weights, mut weight) = (0.0, 0.0, 1.0);
        for e in ran.iter().filter(|e| e.state == "succeeded") {
            sum += weight * e.duration().unwrap_or_default().as_secs_f64();
            weights += weight;
            weight *= ETA_DECAY;
        }
        Ok((weights > 0.0).then(|| Duration::from_secs_f64(sum / weights)))
    }

    /// Forgets task `name` (every execution of it), or everything when `name` is `None`.
    /// Returns how many executions were forgotten.
    pub fn forget(&self, name: Option<&str>) -> Result<usize, StoreError> {
        let n = self.with(|c| {
            let tx = c.transaction()?;
            let n = if let Some(n) = name {
                tx.execute("DELETE FROM executions WHERE name = ?1", [n])?
            } else {
                let n = tx.execute("DELETE FROM executions", [])?;
                tx.execute("DELETE FROM running", [])?;
                tx.execute("DELETE FROM runs WHERE ended IS NOT NULL", [])?;
                tx.execute("DELETE FROM files", [])?;
                tx.execute("DELETE FROM memo", [])?;
                n
            };
            tx.commit()?;
            Ok(n)
        })?;
        if name.is_none() {
            self.inner.files.lock().clear();
        }
        Ok(n)
    }

    /// Names of the tasks the store remembers, sorted.
    pub fn task_names(&self) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            c.prepare_cached("SELECT DISTINCT name FROM executions ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
    }

    /// Runs that started and never ended, newest first (running now, or killed).
    pub fn unfinished_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!("{RUN} WHERE ended IS NULL ORDER BY id DESC"))?
                .query_map([], run_from_row)?
                .collect()
        })
    }

    /// When the store was last written by a run: the start of the newest run.
    pub fn last_run_started(&self) -> Result<Option<SystemTime>, StoreError> {
        self.with(|c| {
            c.query_row("SELECT max(started) FROM runs", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
        })
        .map(|t| t.map(from_millis))
    }
}

/// How many recent executions [`Store::expected_duration`] looks at.
pub const ETA_WINDOW: usize = 10;
/// How much less each older execution weighs.
pub const ETA_DECAY: f64 = 0.8;

/// Who holds the store, for a busy error: the newest unfinished run whose process is alive.
pub(crate) fn holder(conn: &Connection) -> Option<String> {
    let me = std::process::id();
    let mut stmt = conn
        .prepare(&format!(
            "{RUN} WHERE ended IS NULL ORDER BY id DESC LIMIT 20"
        ))
        .ok()?;
    let runs: Vec<RunRecord> = stmt
        .query_map([], run_from_row)
        .ok()?
        .filter_map(Result::ok)
        .collect();
    runs.into_iter()
        .find(|r| r.pid != me && alive(r.pid))
        .map(|r| {
            let ago = SystemTime::now()
                .duration_since(r.started)
                .unwrap_or_default()
                .as_secs();
            format!(
                "run {} (pid {}, targets {}, started {ago}s ago)",
                r.id,
                r.pid,
                r.targets.join(" ")
            )
        })
}

/// Whether process `pid` exists (`kill(pid, 0)`, read by [`exists`]). Not a pid of 0, which
/// `kill` reads as this process's group.
pub(crate) fn alive(pid: u32) -> bool {
    i32::try_from(pid)
        .is_ok_and(|p| p > 0 && exists(nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None)))
}

/// What `kill(pid, 0)` answered, read as whether the process exists: it does when it may be
/// signalled, and when it may not be (`EPERM`: it is another user's); it does not when there is
/// none (`ESRCH`).
fn exists(answer: nix::Result<()>) -> bool {
    matches!(answer, Ok(()) | Err(nix::errno::Errno::EPERM))
}

#[cfg(test)]
mod alive_tests {
    use nix::errno::Errno;

    use super::{alive, exists};

    #[test]
    fn a_process_of_another_user_is_alive() {
        // kill(pid, 0) of a process this user may not signal fails with EPERM: it exists.
        assert!(exists(Err(Errno::EPERM)));
        assert!(exists(Ok(())));
        assert!(!exists(Err(Errno::ESRCH)));
        // Init is always there (root's: EPERM for any other user).
        assert!(alive(1));
        assert!(alive(std::process::id()));
    }

    #[test]
    fn a_pid_that_names_no_process_is_dead() {
        assert!(!alive(0), "kill(0) is this process's group, not a process");
        assert!(!alive(u32::MAX), "not a pid");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid), "a reaped child");
    }
}
