//! [`TaskNames`]: how observers learn what to call a task.

use crate::engine::TaskId;

/// How observers learn what to call a task and where its log goes.
pub trait TaskNames: Send + Sync {
    /// The task's name, if it has one.
    fn name(&self, id: TaskId) -> Option<String>;
}
