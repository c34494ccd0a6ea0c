//! Identifiers the engine hands out: tasks, named locks and counted resources.

use std::fmt;

/// Identifies a task within one [`Engine`](super::Engine): its position in the order tasks were
/// added, so comparing two ids compares their age.
///
/// ```
/// use parade::engine::{Engine, TaskSpec, Outcome};
/// let engine = Engine::inline();
/// let a = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// let b = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// assert!(a < b);
/// assert_eq!(a.index(), 0);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TaskId(pub(crate) u32);

impl TaskId {
    /// The position of this task in the order tasks were added, starting at 0.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id of the task added at position `index`. Only meaningful for ids of the same engine.
    ///
    /// ```
    /// use parade::engine::TaskId;
    /// assert_eq!(TaskId::from_index(7).index(), 7);
    /// ```
    pub fn from_index(index: usize) -> Self {
        Self(u32::try_from(index).expect("at most u32::MAX tasks in one engine"))
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task #{}", self.0)
    }
}

/// A named lock: tasks that hold the same lock never run at the same time.
///
/// Get one with [`Engine::lock`](super::Engine::lock); the same name always gives the same id.
///
/// ```
/// use parade::engine::Engine;
/// let engine = Engine::inline();
/// assert_eq!(engine.lock("db"), engine.lock("db"));
/// assert_ne!(engine.lock("db"), engine.lock("cache"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct LockId(pub(crate) u32);

/// A counted resource: a capacity (`gpu = 2`) that the tasks running at one time never use
/// more of than it has. A task says how much it uses with
/// [`TaskSpec::uses`](super::TaskSpec::uses); a [`LockId`] is the capacity-1 case.
///
/// Get one with [`Engine::resource`](super::Engine::resource); the same name always gives the
/// same id. Resource names and lock names are separate.
///
/// ```
/// use parade::engine::Engine;
/// let engine = Engine::inline();
/// assert_eq!(engine.resource("gpu", 2), engine.resource("gpu", 2));
/// assert_ne!(engine.resource("gpu", 2), engine.resource("licence", 1));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ResourceId(pub(crate) u32);
