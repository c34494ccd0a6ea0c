//! The states a task goes through, and why a task ended where it did.

use std::fmt;
use std::time::Duration;

use super::TaskId;

/// Where a task is in its life.
///
/// ```text
/// Idle ──want──▶ Wanted ──start──▶ Running ──▶ Succeeded | Skipped | Failed
///                  │                   └─────▶ Cancelled (asked to stop while running)
///                  ├──▶ DepFailed (a dependency failed, is missing, or "no failures" broke)
///                  └──▶ Cancelled
/// ```
///
/// [`Succeeded`](TaskState::Succeeded) and [`Skipped`](TaskState::Skipped) satisfy dependents;
/// every other final state makes wanted dependents [`DepFailed`](TaskState::DepFailed).
///
/// ```
/// use parade::engine::TaskState;
/// assert!(TaskState::Skipped.is_success());
/// assert!(TaskState::DepFailed.is_final() && !TaskState::DepFailed.is_success());
/// assert!(!TaskState::Wanted.is_final());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TaskState {
    /// Defined, not wanted by anyone: it does not run.
    Idle,
    /// Wanted: it runs once its dependencies and constraints allow.
    Wanted,
    /// Handed to the executor.
    Running,
    /// Finished well.
    Succeeded,
    /// Finished with an error, a panic, a timeout, or an exit status.
    Failed,
    /// Never ran: a dependency failed, was cancelled or is missing, or a "no failures" condition
    /// was broken.
    DepFailed,
    /// The task said it had nothing to do; counts as success for dependents.
    Skipped,
    /// Stopped by a cancel before or while it ran.
    Cancelled,
    /// Its result from an earlier run still holds (nothing it depends on changed), so it did
    /// not run again; counts as success for dependents.
    UpToDate,
}

impl TaskState {
    /// Whether the task will never change state again.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            TaskState::Idle | TaskState::Wanted | TaskState::Running
        )
    }

    /// Whether dependents may run after this state ([`Succeeded`](TaskState::Succeeded) or
    /// [`Skipped`](TaskState::Skipped)).
    pub fn is_success(self) -> bool {
        matches!(
            self,
            TaskState::Succeeded | TaskState::Skipped | TaskState::UpToDate
        )
    }

    /// Whether this final state stops dependents from running.
    pub fn is_failure(self) -> bool {
        self.is_final() && !self.is_success()
    }

    /// A lower-case word for the state, as shown to people and in JSON.
    ///
    /// ```
    /// assert_eq!(parade::engine::TaskState::DepFailed.as_str(), "dep-failed");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Idle => "idle",
            TaskState::Wanted => "wanted",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::DepFailed => "dep-failed",
            TaskState::Skipped => "skipped",
            TaskState::Cancelled => "cancelled",
            TaskState::UpToDate => "up-to-date",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a task ended in the state it did (every final state but plain success keeps one).
///
/// The engine knows tasks by id only; faces that name tasks translate the ids when they show a
/// reason to a person.
///
/// ```
/// use parade::engine::{Reason, TaskId};
/// let r = Reason::DepFailed { dep: TaskId::from_index(1), root: TaskId::from_index(0) };
/// assert_eq!(r.to_string(), "dependency task #1 failed (root failure: task #0)");
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Reason {
    /// The job returned an error with this message.
    Error(String),
    /// The job panicked with this message.
    Panic(String),
    /// The job ran past its time limit.
    Timeout(Duration),
    /// An external job exited with this status code.
    Exit(i32),
    /// An external job was killed by this signal.
    Signal(i32),
    /// An external job vanished without reporting how it ended.
    Lost(String),
    /// The task skipped itself, saying why.
    Skipped(String),
    /// A dependency did not succeed; `root` is the task whose failure started the cascade.
    DepFailed {
        /// The direct dependency that did not succeed.
        dep: TaskId,
        /// The first task of the chain that failed on its own.
        root: TaskId,
    },
    /// Placeholder tasks that were never defined end with this reason; their dependents get
    /// [`Reason::DepFailed`] naming them.
    Missing,
    /// The task asked for "no failures so far", and `first` had failed.
    NoFailures {
        /// The first task that failed in this run.
        first: TaskId,
    },
    /// The task was cancelled.
    Cancelled,
    /// The task was up to date, saying why (`sources unchanged`).
    UpToDate(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Error(m) => write!(f, "{m}"),
            Reason::Panic(m) => write!(f, "panicked: {m}"),
            Reason::Timeout(d) => write!(f, "timeout after {d:?}"),
            Reason::Exit(code) => write!(f, "exit status {code}"),
            Reason::Signal(sig) => write!(f, "killed by signal {sig}"),
            Reason::Lost(why) => write!(f, "lost: {why}"),
            Reason::Skipped(why) => write!(f, "skipped: {why}"),
            Reason::DepFailed { dep, root } if dep == root => write!(f, "dependency {dep} failed"),
            Reason::DepFailed { dep, root } => {
                write!(f, "dependency {dep} failed (root failure: {root})")
            }
            Reason::Missing => write!(f, "missing: never defined"),
            Reason::NoFailures { first } => write!(f, "run aborted: {first} has failed"),
            Reason::Cancelled => write!(f, "cancelled"),
            Reason::UpToDate(why) => write!(f, "up to date: {why}"),
        }
    }
}

/// How a task ended: its state, why, and how long it ran.
///
/// ```
/// use parade::engine::{Engine, TaskSpec, Outcome, TaskState};
/// let engine = Engine::inline();
/// let t = engine.add(TaskSpec::new(|_| Outcome::failed("disk full"))).unwrap();
/// engine.want([t]).unwrap();
/// let status = engine.wait([t]).unwrap().remove(0);
/// assert_eq!(status.state, TaskState::Failed);
/// assert_eq!(status.reason.unwrap().to_string(), "disk full");
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TaskStatus {
    /// Which task.
    pub id: TaskId,
    /// Its state now.
    pub state: TaskState,
    /// Why it ended there, for every final state but a plain success.
    pub reason: Option<Reason>,
    /// How long it ran (zero if it never ran).
    pub duration: Duration,
}
