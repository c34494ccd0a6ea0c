//! The errors engine calls return: graph edits that would break it, and waits that cannot end.

use super::TaskId;

/// Why an engine call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The id does not belong to this engine.
    #[error("{0} does not exist in this engine")]
    UnknownTask(TaskId),
    /// The edge would close a cycle; the path starts and ends with the same task.
    #[error("dependency cycle: {}", format_cycle(.0))]
    Cycle(Vec<TaskId>),
    /// A task may not depend on a task of a higher wave (it would wait forever).
    #[error(
        "{task} (wave {task_wave}) cannot depend on {dep} (wave {dep_wave}): dependencies must be in the same or a lower wave"
    )]
    WaveOrder {
        /// The dependent task (or the next id, for a task being added).
        task: TaskId,
        /// Its wave.
        task_wave: u32,
        /// The dependency.
        dep: TaskId,
        /// The dependency's wave.
        dep_wave: u32,
    },
    /// Dependencies can only be added to tasks that have not started.
    #[error("{0} has already started; its dependencies can no longer change")]
    AlreadyStarted(TaskId),
    /// Waiting for a task nothing wants would never end.
    #[error(
        "{0} is not wanted, so it will never run: want it (or a task that depends on it) before waiting for it"
    )]
    NotWanted(TaskId),
    /// A task uses more of a resource than it has: it could never start.
    #[error(
        "{task} uses {amount} of a resource whose capacity is {capacity}: it could never start"
    )]
    OverCapacity {
        /// The task (or the next id, for a task being added).
        task: TaskId,
        /// How much it uses.
        amount: u32,
        /// The resource's capacity.
        capacity: u32,
    },
    /// The resource id does not belong to this engine.
    #[error("resource #{0} does not exist in this engine")]
    UnknownResource(u32),
    /// A placeholder can be defined once; this task already has its job.
    #[error("{0} is already defined")]
    AlreadyDefined(TaskId),
    /// The waited-for tasks cannot finish: every running task is itself waiting and nothing
    /// else can start (for example a task waits for a task that needs a lock it holds).
    #[error("deadlock: {} cannot finish, every running task is waiting and nothing else can start", format_ids(.0))]
    Deadlock(Vec<TaskId>),
}

fn format_cycle(ids: &[TaskId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}

fn format_ids(ids: &[TaskId]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(ToString::to_string).collect();
    let more = ids.len().saturating_sub(5);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
