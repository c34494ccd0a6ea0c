//! [`GraphError`]: why a handle has no value, naming tasks by their descriptions, and
//! [`TaskRef`], the way an error names a task.

use std::fmt;
use std::sync::Arc;

use crate::engine::{EngineError, TaskId};

/// A task as an error names it: its engine id and, if it was given one, its description.
///
/// ```
/// use parade::graph::Graph;
/// let g = Graph::inline();
/// let h = g.task("fetch").submit(|| 1);
/// assert_eq!(h.task().to_string(), "\"fetch\" (task #0)");
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TaskRef {
    /// The task's id in the graph's engine.
    pub id: TaskId,
    /// The description given with [`Graph::task`](super::Graph::task), if any.
    pub description: Option<Arc<str>>,
}

impl fmt::Display for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "\"{d}\" ({})", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// Why a graph call gave no value.
///
/// A failure keeps its root: waiting on a task whose input failed (directly or further up)
/// returns [`GraphError::DepFailed`] naming the task that failed on its own and its message.
///
/// ```
/// use parade::graph::{Graph, GraphError};
/// let g = Graph::inline();
/// let a = g.task("parse").try_submit(|| "x".parse::<i32>());
/// let b = g.task("double").submit_after(&a, |x| x * 2);
/// match b.value().unwrap_err() {
///     GraphError::DepFailed { root, message, .. } => {
///         assert_eq!(root.description.as_deref(), Some("parse"));
///         assert_eq!(message, "invalid digit found in string");
///     }
///     other => panic!("unexpected {other}"),
/// }
/// ```
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum GraphError {
    /// The task ran and failed: it returned an error, panicked, or timed out.
    #[error("{task} failed: {message}")]
    Failed {
        /// The task that failed.
        task: TaskRef,
        /// What went wrong (a panic reads `panicked: ...`).
        message: String,
    },
    /// The task never ran because an input failed; `root` is where the failure started.
    #[error("{task} did not run because {root} failed: {message}")]
    DepFailed {
        /// The task that did not run.
        task: TaskRef,
        /// The task whose own failure started the cascade.
        root: TaskRef,
        /// The root's failure message.
        message: String,
    },
    /// The task was cancelled before or while it ran.
    #[error("{task} was cancelled")]
    Cancelled {
        /// The cancelled task.
        task: TaskRef,
    },
    /// The task never ran because a task it needed was cancelled.
    #[error("{task} did not run because {root} was cancelled")]
    DepCancelled {
        /// The task that did not run.
        task: TaskRef,
        /// The cancelled task it needed.
        root: TaskRef,
    },
    /// During a dry run, the workflow needed the value of a task that has no mock.
    #[error(
        "{task} has no mock value, but the workflow reads it during the dry run; give it one with .mock(...)"
    )]
    NoMock {
        /// The task without a mock.
        task: TaskRef,
    },
    /// A task's value did not have the shape its split promised (a `Vec` too short).
    #[error(
        "{task} returned {len} items, but was split into {expected}; split it with its real length"
    )]
    Shape {
        /// The task whose value was split.
        task: TaskRef,
        /// How many items the split promised.
        expected: usize,
        /// How many the value has.
        len: usize,
    },
    /// The task asks for more cores than the executor has: it could never run there.
    #[error(
        "{task} asks for {needs} cores, but the {executor} executor has {has}; lower the hint or use a bigger executor"
    )]
    Resources {
        /// The task.
        task: TaskRef,
        /// Cores it asks for.
        needs: usize,
        /// Cores the executor has.
        has: usize,
        /// The executor's name.
        executor: &'static str,
    },
    /// The executor cannot take the task: a closure without a name on an executor that runs
    /// tasks in other processes, or a name no registered function has (with these types).
    #[error("the {executor} executor cannot take {task}: {message}")]
    Executor {
        /// The task.
        task: TaskRef,
        /// The executor's name.
        executor: &'static str,
        /// Why not, and what to do.
        message: String,
    },
    /// An ordering dependency would close a cycle; the path starts and ends with the same task.
    #[error("dependency cycle: {}; drop one of these orderings", join(.0))]
    Cycle(Vec<TaskRef>),
    /// Several tasks failed; their errors, root failures in submission order.
    #[error("{} tasks failed; the first: {}", .0.len(), .0[0])]
    Many(Vec<GraphError>),
    /// The engine refused a call (for example a deadlock while waiting).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn join(tasks: &[TaskRef]) -> String {
    tasks
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}

impl GraphError {
    /// The task the error is about, if it is about one task.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::inline();
    /// let h = g.task("boom").submit(|| -> i32 { panic!("bad input") });
    /// let err = h.value().unwrap_err();
    /// assert_eq!(err.task().unwrap().id, h.id());
    /// assert_eq!(err.to_string(), "\"boom\" (task #0) failed: panicked: bad input");
    /// ```
    pub fn task(&self) -> Option<&TaskRef> {
        match self {
            GraphError::Failed { task, .. }
            | GraphError::DepFailed { task, .. }
            | GraphError::Cancelled { task }
            | GraphError::DepCancelled { task, .. }
            | GraphError::NoMock { task }
            | GraphError::Shape { task, .. }
            | GraphError::Resources { task, .. }
            | GraphError::Executor { task, .. } => Some(task),
            GraphError::Cycle(_) | GraphError::Many(_) | GraphError::Engine(_) => None,
        }
    }
}
