//! How observers learn what to call a task, and how reasons read with names instead of ids.

use std::collections::HashMap;

use parking_lot::RwLock;

use crate::engine::{Reason, TaskId};

/// How observers learn what to call a task.
///
/// Implemented for closures `Fn(TaskId) -> Option<String>`, for locked maps and for
/// [`NameTable`].
pub trait TaskNames: Send + Sync {
    /// The task's name, or `None` if it has none (observers then show `task #N`).
    fn name(&self, id: crate::engine::TaskId) -> Option<String>;

    /// The log lines the task's definition says its snippet leaves out (none by default; a
    /// flow's names give each proc's `log_ignore` rules).
    fn log_ignore(&self, id: crate::engine::TaskId) -> Option<super::LogIgnore> {
        let _ = id;
        None
    }
}

impl<F> TaskNames for F
where
    F: Fn(TaskId) -> Option<String> + Send + Sync,
{
    fn name(&self, id: TaskId) -> Option<String> {
        self(id)
    }
}

impl<S: std::hash::BuildHasher + Send + Sync> TaskNames for RwLock<HashMap<TaskId, String, S>> {
    fn name(&self, id: TaskId) -> Option<String> {
        self.read().get(&id).cloned()
    }
}

impl<S: std::hash::BuildHasher + Send> TaskNames for std::sync::Mutex<HashMap<TaskId, String, S>> {
    fn name(&self, id: TaskId) -> Option<String> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned()
    }
}

/// A name table that can be filled while a run goes on: the simplest [`TaskNames`].
///
/// ```
/// use parade::display::{NameTable, TaskNames};
/// use parade::engine::TaskId;
/// let names = NameTable::new();
/// names.insert(TaskId::from_index(0), "build::prod");
/// assert_eq!(names.name(TaskId::from_index(0)).as_deref(), Some("build::prod"));
/// assert_eq!(names.name(TaskId::from_index(1)), None);
/// ```
#[derive(Default, Debug)]
pub struct NameTable {
    names: RwLock<HashMap<TaskId, String>>,
}

impl NameTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names a task (replacing an earlier name).
    pub fn insert(&self, id: TaskId, name: impl Into<String>) {
        self.names.write().insert(id, name.into());
    }
}

impl TaskNames for NameTable {
    fn name(&self, id: TaskId) -> Option<String> {
        self.names.read().get(&id).cloned()
    }
}

/// The task's name, or `task #N` when it has none.
///
/// ```
/// use parade::display::{display_name, NameTable};
/// use parade::engine::TaskId;
/// assert_eq!(display_name(&NameTable::new(), TaskId::from_index(4)), "task #4");
/// ```
pub fn display_name(names: &dyn TaskNames, id: TaskId) -> String {
    names.name(id).unwrap_or_else(|| id.to_string())
}

/// A reason as a person should read it: task ids replaced by names.
///
/// ```
/// use parade::display::{describe_reason, NameTable};
/// use parade::engine::{Reason, TaskId};
/// let names = NameTable::new();
/// names.insert(TaskId::from_index(0), "lint");
/// names.insert(TaskId::from_index(1), "build");
/// let r = Reason::DepFailed { dep: TaskId::from_index(1), root: TaskId::from_index(0) };
/// assert_eq!(describe_reason(&r, &names), r#""build" failed (root failure: "lint")"#);
/// ```
pub fn describe_reason(reason: &Reason, names: &dyn TaskNames) -> String {
    match reason {
        Reason::DepFailed { dep, root } if dep == root => {
            format!("\"{}\" failed", display_name(names, *dep))
        }
        Reason::DepFailed { dep, root } => format!(
            "\"{}\" failed (root failure: \"{}\")",
            display_name(names, *dep),
            display_name(names, *root)
        ),
        Reason::NoFailures { first } => {
            format!(
                "run aborted: \"{}\" has failed",
                display_name(names, *first)
            )
        }
        Reason::Skipped(why) => why.clone(),
        Reason::Timeout(limit) => {
            format!("timeout after {}", crate::display::symbols::seconds(*limit))
        }
        Reason::Missing => "never defined".to_owned(),
        other => other.to_string(),
    }
}
