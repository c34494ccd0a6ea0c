//! [`TaskSpec`]: what the engine needs to know to add a task.

use smallvec::SmallVec;
use std::time::Duration;

use super::resources::{Uses, add_use};
use super::{Job, JobBox, LockId, Outcome, ResourceId, SharedJob, TaskContext, TaskId};
use std::sync::Arc;

/// A task to add to an [`Engine`](super::Engine): its job, dependencies and constraints.
///
/// ```
/// use parade::engine::{Engine, TaskSpec, Outcome};
/// let engine = Engine::inline();
/// let setup = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// let db = engine.lock("db");
/// let migrate = engine
///     .add(TaskSpec::new(|_| Outcome::Succeeded).dep(setup).lock(db).wave(1))
///     .unwrap();
/// engine.want([migrate]).unwrap();
/// engine.wait_all().unwrap();
/// ```
pub struct TaskSpec {
    pub(crate) job: Option<JobBox>,
    pub(crate) deps: SmallVec<[TaskId; 4]>,
    /// Locks and counted resources held while running.
    pub(crate) uses: Uses,
    pub(crate) wave: u32,
    pub(crate) no_failures: bool,
    pub(crate) timeout: Option<Duration>,
}

impl TaskSpec {
    /// A task that runs the closure `job`.
    pub fn new<F>(job: F) -> Self
    where
        F: FnOnce(&TaskContext) -> Outcome + Send + 'static,
    {
        Self::from_box(Box::new(job))
    }

    /// A task that runs a [`Job`] of your own type.
    pub fn from_job(job: impl Job) -> Self {
        Self::from_box(Box::new(job))
    }

    /// A task that runs an already boxed job.
    pub fn from_box(job: Box<dyn Job>) -> Self {
        Self {
            job: Some(JobBox::Owned(job)),
            ..Self::placeholder()
        }
    }

    /// A task whose job shares its allocation with what a face keeps of the task.
    pub(crate) fn from_shared(job: Arc<dyn SharedJob>) -> Self {
        Self {
            job: Some(JobBox::shared(job)),
            ..Self::placeholder()
        }
    }

    /// A task whose job is not known yet: it can be depended on and wanted, and is given its job
    /// later with [`Engine::define`](super::Engine::define). If the run goes quiet while a wanted
    /// placeholder is still undefined, it ends as [`Reason::Missing`](super::Reason::Missing) and
    /// its dependents as dep-failed.
    pub fn placeholder() -> Self {
        Self {
            job: None,
            deps: SmallVec::new(),
            uses: Uses::new(),
            wave: 0,
            no_failures: false,
            timeout: None,
        }
    }

    /// Runs only after `dep` succeeded or was skipped. Repeated dependencies count once.
    pub fn dep(mut self, dep: TaskId) -> Self {
        self.deps.push(dep);
        self
    }

    /// Runs only after all of `deps` succeeded or were skipped.
    pub fn deps(mut self, deps: impl IntoIterator<Item = TaskId>) -> Self {
        // Most tasks have none: an empty list costs one look, not the vector's reserve.
        let mut deps = deps.into_iter();
        if let Some(first) = deps.next() {
            self.deps.push(first);
            self.deps.extend(deps);
        }
        self
    }

    /// Holds `lock` while running: no two tasks holding the same lock overlap.
    pub fn lock(mut self, lock: LockId) -> Self {
        if !self.uses.iter().any(|u| u.resource == lock.0) {
            add_use(&mut self.uses, lock.0, 1);
        }
        self
    }

    /// Holds all of `locks` while running.
    pub fn locks(self, locks: impl IntoIterator<Item = LockId>) -> Self {
        locks.into_iter().fold(self, Self::lock)
    }

    /// Uses `amount` of the counted resource `resource` while running: the tasks running at one
    /// time never use more of it than its capacity. Uses of one resource add up; a use of 0 is
    /// no use. Adding a task that uses more than the capacity is an error
    /// ([`EngineError::OverCapacity`](super::EngineError::OverCapacity)).
    ///
    /// ```
    /// use parade::engine::{Engine, TaskSpec, Outcome};
    /// let engine = Engine::new();
    /// let gpu = engine.resource("gpu", 2);
    /// let ids: Vec<_> = (0..6)
    ///     .map(|_| engine.add(TaskSpec::new(|_| Outcome::Succeeded).uses(gpu, 1)).unwrap())
    ///     .collect();
    /// engine.want(ids).unwrap();
    /// engine.wait_all().unwrap(); // never more than 2 at once
    /// assert!(engine.add(TaskSpec::new(|_| Outcome::Succeeded).uses(gpu, 3)).is_err());
    /// ```
    pub fn uses(mut self, resource: ResourceId, amount: u32) -> Self {
        if amount > 0 {
            add_use(&mut self.uses, resource.0, amount);
        }
        self
    }

    /// Puts the task in wave `wave` (default 0): it does not start while a task of a lower wave
    /// is running or ready to run. A task may not depend on a task of a higher wave.
    pub fn wave(mut self, wave: u32) -> Self {
        self.wave = wave;
        self
    }

    /// Runs only if no task of the run has failed so far; otherwise ends as dep-failed with
    /// [`Reason::NoFailures`](super::Reason::NoFailures).
    pub fn no_failures(mut self) -> Self {
        self.no_failures = true;
        self
    }

    /// Gives the task a time limit. Out-of-process executors stop the job when it passes; in
    /// this process a job cannot be stopped from outside, so it sees
    /// [`TaskContext::is_cancelled`](super::TaskContext::is_cancelled) turn true, and if it
    /// returns after its deadline it ends as failed with [`Reason::Timeout`](super::Reason::Timeout).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }
}
