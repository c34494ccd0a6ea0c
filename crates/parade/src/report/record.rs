//! [`RunRecord`]: what a picture of a run needs, as plain data that survives the run
//! (`run.json` in the run's log directory).

use std::io;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::TaskState;

/// The version of the `run.json` format this build writes and reads.
pub const FORMAT: u32 = 1;

/// One run: when it started, how long it took, and every task it touched.
///
/// Times of tasks are seconds since the run started (the recorder's creation).
///
/// ```
/// use parade::report::{RunRecord, TaskRecord};
/// let mut run = RunRecord::default();
/// run.tasks.push(TaskRecord::new("build", "succeeded"));
/// let text = serde_json::to_string(&run).unwrap();
/// let back: RunRecord = serde_json::from_str(&text).unwrap();
/// assert_eq!(back.tasks[0].name, "build");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The format version ([`FORMAT`]).
    #[serde(default)]
    pub format: u32,
    /// The run's id (its log directory's name), when it has one.
    #[serde(default)]
    pub run_id: Option<String>,
    /// When the run started, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub started_unix_ms: u64,
    /// When the last task ended, in seconds since the start.
    #[serde(default)]
    pub elapsed: f64,
    /// How many worker slots the run used (its peak parallelism).
    #[serde(default)]
    pub slots: u32,
    /// The tasks, in the order the run first heard of them.
    #[serde(default)]
    pub tasks: Vec<TaskRecord>,
}

/// One task of a [`RunRecord`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Its name.
    pub name: String,
    /// The names of the tasks it waited for: shared with the tasks' own names (a layered
    /// graph's 90,000 dependencies are 90,000 reference counts, not 90,000 strings to copy
    /// and free at the end of the run).
    #[serde(default)]
    pub deps: Vec<Arc<str>>,
    /// Its final state, as [`TaskState::as_str`] spells it (`succeeded`, `failed`,
    /// `dep-failed`, ...), or `running`/`wanted` when the run ended before it did.
    pub state: String,
    /// Why it ended there, in words, for every final state but a plain success.
    #[serde(default)]
    pub reason: Option<String>,
    /// When it was wanted.
    #[serde(default)]
    pub wanted: Option<f64>,
    /// When it started running (never, for a task that did not run).
    #[serde(default)]
    pub start: Option<f64>,
    /// When it reached its final state.
    #[serde(default)]
    pub end: Option<f64>,
    /// How long it ran, as the engine measured it, in seconds.
    #[serde(default)]
    pub duration: f64,
    /// The command it ran, as a person reads it, when the face that ran it knows one.
    #[serde(default)]
    pub command: Option<String>,
    /// The worker slot it ran in: the lowest slot free when it started, so a slot never holds
    /// two tasks at once and the number of slots is the run's peak parallelism.
    #[serde(default)]
    pub slot: Option<u32>,
    /// The useful part of its output (see [`snippet`](mod@crate::display::snippet)), else its
    /// last lines.
    #[serde(default)]
    pub log: Vec<String>,
    /// How many lines it printed in all.
    #[serde(default)]
    pub log_lines: u64,
}

impl TaskRecord {
    /// A task called `name` in `state`, nothing else known.
    pub fn new(name: impl Into<String>, state: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            state: state.into(),
            ..Self::default()
        }
    }

    /// Its state as the engine's [`TaskState`], if the word is one.
    ///
    /// ```
    /// use parade::engine::TaskState;
    /// use parade::report::TaskRecord;
    /// assert_eq!(TaskRecord::new("a", "dep-failed").task_state(), Some(TaskState::DepFailed));
    /// assert_eq!(TaskRecord::new("a", "odd").task_state(), None);
    /// ```
    pub fn task_state(&self) -> Option<TaskState> {
        ALL_STATES
            .into_iter()
            .find(|s| s.as_str() == self.state.as_str())
    }

    /// Whether it ended badly (failed, dep-failed, cancelled, or never ended).
    pub fn is_failure(&self) -> bool {
        !self.task_state().is_some_and(TaskState::is_success)
    }

    /// Whether it failed by itself (not because of a dependency): a root cause.
    pub fn is_root_failure(&self) -> bool {
        self.task_state() == Some(TaskState::Failed)
    }

    /// How long it ran on the run's clock (`end - start`), if it ran.
    pub fn span(&self) -> Option<f64> {
        Some((self.end? - self.start?).max(0.0))
    }
}

const ALL_STATES: [TaskState; 8] = [
    TaskState::Idle,
    TaskState::Wanted,
    TaskState::Running,
    TaskState::Succeeded,
    TaskState::Failed,
    TaskState::DepFailed,
    TaskState::Skipped,
    TaskState::Cancelled,
];

/// The file name a run's record has in its log directory.
pub const RUN_FILE: &str = "run.json";

impl RunRecord {
    /// Writes the record as `dir/run.json`, atomically (a reader never sees half a file).
    pub fn save_in(&self, dir: &Path) -> io::Result<()> {
        let tmp = dir.join(format!(".{RUN_FILE}.{}", std::process::id()));
        let text = serde_json::to_vec(self).map_err(io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, dir.join(RUN_FILE))
    }

    /// Reads `dir/run.json`.
    ///
    /// ```
    /// use parade::report::RunRecord;
    /// let dir = tempfile::tempdir().unwrap();
    /// let run = RunRecord { slots: 3, ..RunRecord::default() };
    /// run.save_in(dir.path()).unwrap();
    /// assert_eq!(RunRecord::load_from(dir.path()).unwrap().slots, 3);
    /// ```
    pub fn load_from(dir: &Path) -> io::Result<Self> {
        let path = dir.join(RUN_FILE);
        let text = std::fs::read(&path)?;
        serde_json::from_slice(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a parade run record: {e}", path.display()),
            )
        })
    }

    /// The task called `name`.
    pub fn task(&self, name: &str) -> Option<&TaskRecord> {
        self.tasks.iter().find(|t| t.name == name)
    }
}
