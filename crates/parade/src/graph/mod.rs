//! The `graph` face: typed futures workflows on the engine (parman in Rust).
//!
//! A [`Graph`] takes closures and gives back [`Handle`]s at once; a closure whose inputs are
//! handles runs after them and receives their values. Dependencies come from the arguments,
//! so wiring a handle of the wrong type does not compile. Values stay typed and in memory.
//!
//! ```
//! use parade::graph::Graph;
//! let g = Graph::new(); // the thread pool; Graph::inline() runs serially
//! let data = g.task("load").submit(|| vec![3, 1, 2]);
//! let (lo, hi) = g
//!     .task("bounds")
//!     .submit_after(&data, |v: Vec<i32>| (*v.iter().min().unwrap(), *v.iter().max().unwrap()))
//!     .split(); // handles to the parts, before the value exists
//! let span = g.task("span").submit_after((&lo, &hi), |(lo, hi)| hi - lo);
//! assert_eq!(span.value().unwrap(), 2);
//! ```
//!
//! What this module owns: handles and their value slots ([`handle`](Handle)), inputs and
//! submission ([`Inputs`], [`TaskBuilder`]), structured results (splits and projections),
//! `after` handles, settling waits and `as_completed` ([`Graph::wait_settled`],
//! [`Graph::as_completed`]), shutdown and scopes ([`Graph::shutdown`], [`Graph::scope`]),
//! failures named by their root, the first failed input in list order ([`GraphError`]),
//! the dry run ([`Plan`]), memoization across runs ([`TaskBuilder::cache`]),
//! pictures of the graph (DOT, Mermaid, text), wrapped functions ([`Wrapped`]) and a log of task
//! starts and ends. Scheduling, states and cascades belong to the [`engine`](crate::engine);
//! where jobs run belongs to the [`exec`](crate::exec) executors.
//!
//! # The dry run
//!
//! [`Graph::dry_run`] gives a graph on which the same workflow code builds every task and runs
//! none. A task may carry a mock ([`TaskBuilder::mock`]); reading a handle's value during a dry
//! run returns the mock, or [`GraphError::NoMock`] where the workflow needs a value it could not
//! have. [`Graph::plan`] then lists tasks, dependencies, descriptions, resource hints and the
//! problems found.

mod after;
mod builder;
mod cache;
mod cell;
mod dry_run;
mod error;
mod functions;
mod handle;
mod hints;
mod info;
mod inputs;
mod log;
mod mock;
mod named;
mod render;
mod scope;
mod serde_submit;
mod settle;
mod split;
mod submit;
mod template;
mod uses;
mod wire;
mod wrap;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::engine::{Engine, EngineError, Reason, TaskId, TaskSpec, TaskState, TaskStatus};
use crate::exec::{Executor, Inline, ThreadPool};

pub use builder::TaskBuilder;
pub use cache::{CacheUse, Cached};
pub use dry_run::{Plan, PlannedTask};
pub use error::{GraphError, TaskRef};
pub use functions::Functions;
pub use handle::Handle;
pub use hints::Resources;
pub use inputs::{Inputs, Reader};
pub use mock::{Mock, MockFor, MockWith, NoMock};
pub use named::Named;
pub use settle::AsCompleted;
pub use wrap::Wrapped;

use handle::Unavailable;
use info::{TaskInfo, release_unread};

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) dry: bool,
    pub(crate) executor: &'static str,
    pub(crate) capacity: usize,
    /// Whether the executor runs jobs in this process (else only named tasks can run).
    pub(crate) in_process: bool,
    pub(crate) tasks: Mutex<Vec<Option<TaskInfo>>>,
    /// How many records of `tasks` [`release_unread`] has passed (changed only under the
    /// lock of `tasks`).
    swept: AtomicUsize,
    pub(crate) problems: Mutex<Vec<GraphError>>,
    /// Set by [`Graph::shutdown`]: later submissions fail.
    pub(crate) shut: std::sync::atomic::AtomicBool,
    /// Cached tasks' store and what each did ([`TaskBuilder::cache`]).
    pub(crate) cache: cache::Caches,
}

/// Records `info` at `i` when the graph's tasks are not the engine's newest (the engine has
/// tasks the graph did not add): kept out of [`Graph::register`]'s usual path.
#[cold]
fn register_at(tasks: &mut Vec<Option<TaskInfo>>, i: usize, info: TaskInfo) {
    if tasks.len() <= i {
        tasks.resize_with(i + 1, || None);
    }
    tasks[i] = Some(info);
}

/// How many tasks a graph adds between two sweeps of its records ([`Graph::sweep_behind`]),
/// and how far behind the newest the sweep stops.
const SWEEP: usize = 1024;

/// A futures workflow: submit closures, get typed [`Handle`]s, wire them into later closures.
///
/// Every submitted task runs (on the chosen executor) as soon as its inputs have values;
/// submitting never blocks and never waits for inputs. Cheap to clone; clones are the same
/// graph. See the [module documentation](self) for a tour.
///
/// ```
/// use parade::graph::Graph;
/// let g = Graph::inline();
/// let parts: Vec<_> = (1..=4).map(|i| g.submit(move || i * i)).collect();
/// let total = g.submit_after(parts, |v: Vec<i32>| v.iter().sum::<i32>());
/// assert_eq!(total.value().unwrap(), 30);
/// ```
#[derive(Clone)]
pub struct Graph {
    pub(crate) inner: Arc<Inner>,
}

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("executor", &self.inner.executor)
            .field("dry_run", &self.inner.dry)
            .field("tasks", &self.len())
            .finish_non_exhaustive()
    }
}

impl Graph {
    /// A graph whose tasks run on the process-wide thread pool (one thread per core).
    pub fn new() -> Self {
        Self::with_executor(ThreadPool::global())
    }

    /// A graph whose tasks run one at a time on the thread that waits, in submission order
    /// among those ready: serial and deterministic.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::inline();
    /// assert_eq!(g.executor(), "inline");
    /// ```
    pub fn inline() -> Self {
        Self::with_executor(Arc::new(Inline::new()))
    }

    /// A graph whose tasks run on `executor`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use parade::{exec::ThreadPool, graph::Graph};
    /// let g = Graph::with_executor(Arc::new(ThreadPool::new(3)));
    /// assert_eq!(g.submit(|| 7).value().unwrap(), 7);
    /// ```
    pub fn with_executor(executor: Arc<dyn Executor>) -> Self {
        Self::build(Engine::with_executor(executor), false)
    }

    /// A dry run for the default executor (the thread pool): the workflow builds its whole
    /// graph, nothing runs, mocks stand in for values. See [`Graph::plan`].
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::dry_run();
    /// let a = g.task("count").mock(3_usize).submit(|| unreachable!("never runs"));
    /// let b = g.task("double").submit_after(&a, |n| n * 2);
    /// assert_eq!(a.value().unwrap(), 3); // the mock
    /// assert!(b.value().is_err()); // no mock: the workflow could not read it
    /// let plan = g.plan();
    /// assert_eq!(plan.tasks.len(), 2);
    /// assert_eq!(plan.tasks[1].deps, [a.id()]);
    /// ```
    pub fn dry_run() -> Self {
        Self::dry_run_for(ThreadPool::global())
    }

    /// A dry run for `executor`: resource hints are checked against its capacity.
    pub fn dry_run_for(executor: Arc<dyn Executor>) -> Self {
        Self::build(Engine::with_executor(executor), true)
    }

    fn build(engine: Engine, dry: bool) -> Self {
        let executor = engine.executor().name();
        let capacity = engine.executor().capacity();
        let in_process = engine.executor().in_process();
        Self {
            inner: Arc::new(Inner {
                engine,
                dry,
                executor,
                capacity,
                in_process,
                tasks: Mutex::new(Vec::new()),
                swept: AtomicUsize::new(0),
                problems: Mutex::new(Vec::new()),
                shut: std::sync::atomic::AtomicBool::new(false),
                cache: cache::Caches::default(),
            }),
        }
    }

    /// Whether this graph is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.inner.dry
    }

    /// The executor's name (`threads`, `inline`, ...).
    pub fn executor(&self) -> &'static str {
        self.inner.executor
    }

    /// The engine under the graph (to subscribe observers, set a parallel limit, ...).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// How many tasks were submitted.
    pub fn len(&self) -> usize {
        self.inner.tasks.lock().iter().flatten().count()
    }

    /// Whether no task was submitted yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Blocks until every submitted task has ended. Errors with every task that failed on its
    /// own, in submission order ([`GraphError::Many`] if more than one); tasks that did not run
    /// because of them, and cancelled tasks, are not repeated. In a dry run, returns at once.
    ///
    /// ```
    /// use parade::graph::{Graph, GraphError};
    /// let g = Graph::new();
    /// let _a = g.task("a").try_submit(|| Err::<(), _>("no disk"));
    /// let _b = g.task("b").try_submit(|| Err::<(), _>("no network"));
    /// let _c = g.submit(|| ());
    /// match g.wait_all().unwrap_err() {
    ///     GraphError::Many(errors) => assert_eq!(errors.len(), 2),
    ///     other => panic!("{other}"),
    /// }
    /// ```
    pub fn wait_all(&self) -> Result<(), GraphError> {
        if self.inner.dry {
            return Ok(());
        }
        self.inner.engine.wait_all()?;
        self.release_unread(usize::MAX, false);
        // All final now: only the failed tasks are looked at (not a status per task).
        let failed = self.inner.engine.failures();
        let mut failures: Vec<GraphError> = {
            let tasks = self.inner.tasks.lock();
            failed
                .into_iter()
                .filter(|s| matches!(tasks.get(s.id.index()), Some(Some(_))))
                .collect::<Vec<_>>()
        }
        .iter()
        .map(|s| self.error_for(s))
        .collect();
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(GraphError::Many(failures)),
        }
    }

    pub(crate) fn same(&self, other: &Graph) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    #[inline]
    pub(crate) fn register(&self, id: TaskId, info: TaskInfo) {
        let i = id.index();
        let mut tasks = self.inner.tasks.lock();
        if tasks.len() == i {
            // The usual case: the graph's tasks are the engine's newest.
            tasks.push(Some(info));
        } else {
            register_at(&mut tasks, i, info);
        }
    }

    /// Every [`SWEEP`] tasks, called with the newest (outside the engine's lock): lets go of
    /// the slots nobody reads any more up to a sweep behind it, where most tasks have ended and
    /// lost their readers.
    pub(crate) fn sweep_behind(&self, newest: TaskId) {
        let i = newest.index();
        if i.is_multiple_of(SWEEP) && i >= SWEEP {
            self.release_unread(i - SWEEP, true);
        }
    }

    /// Lets go of the slots nobody reads any more among the records not passed yet, up to
    /// `until`. With `stop_at_read` (while tasks are still being added) it stops at the first
    /// slot still read, to look at it again next time; without (once every task has ended) it
    /// passes every record, so a slot still read then is kept until the graph goes.
    fn release_unread(&self, until: usize, stop_at_read: bool) {
        let mut tasks = self.inner.tasks.lock();
        let from = self.inner.swept.load(Ordering::Relaxed);
        let until = until.min(tasks.len());
        if from < until {
            let passed = release_unread(&mut tasks[from..until], stop_at_read);
            self.inner.swept.store(from + passed, Ordering::Relaxed);
        }
    }

    pub(crate) fn description(&self, id: TaskId) -> Option<Arc<str>> {
        self.inner
            .tasks
            .lock()
            .get(id.index())
            .and_then(|t| t.as_ref()?.description().cloned())
    }

    pub(crate) fn task_ref(&self, id: TaskId) -> TaskRef {
        TaskRef {
            id,
            description: self.description(id),
        }
    }

    pub(crate) fn problem(&self, error: GraphError) {
        self.inner.problems.lock().push(error);
    }

    pub(crate) fn wait_ids(&self, ids: &[TaskId]) -> Result<Vec<TaskStatus>, GraphError> {
        Ok(self.inner.engine.wait(ids.iter().copied())?)
    }

    /// The error for a task that ended without a value. For a dep-failed task this waits
    /// until its inputs have all ended, to name the first failed one in list order.
    pub(crate) fn error_for(&self, status: &TaskStatus) -> GraphError {
        self.error_with(status, true)
    }

    /// Like [`Graph::error_for`] without blocking (for observers): a dep-failed task names
    /// the first failed input in list order if the inputs before it have ended, else the
    /// engine's root.
    pub(crate) fn error_now(&self, status: &TaskStatus) -> GraphError {
        self.error_with(status, false)
    }

    fn error_with(&self, status: &TaskStatus, settle: bool) -> GraphError {
        let task = self.task_ref(status.id);
        let message =
            |reason: Option<&Reason>| reason.map_or_else(String::new, ToString::to_string);
        match (status.state, status.reason.as_ref()) {
            (TaskState::Cancelled, _) => GraphError::Cancelled { task },
            (TaskState::DepFailed, Some(Reason::DepFailed { root, .. })) => {
                // The first failed input in list order (parman), not the first in time.
                let root = self.first_failed_root(status.id, settle).unwrap_or(*root);
                let root_status = self.inner.engine.status(root);
                let root = self.task_ref(root);
                match root_status {
                    Ok(s) if s.state == TaskState::Cancelled => {
                        GraphError::DepCancelled { task, root }
                    }
                    Ok(s) => GraphError::DepFailed {
                        task,
                        root,
                        message: message(s.reason.as_ref()),
                    },
                    Err(e) => GraphError::Engine(e),
                }
            }
            (_, reason) => GraphError::Failed {
                task,
                message: message(reason),
            },
        }
    }

    /// The error for a handle whose source has no value although the task may have ended.
    pub(crate) fn unavailable(&self, id: TaskId, why: Unavailable) -> GraphError {
        let task = self.task_ref(id);
        let error = match why {
            Unavailable::Shape { expected, len } => GraphError::Shape {
                task,
                expected,
                len,
            },
            Unavailable::NotReady if self.inner.dry => GraphError::NoMock { task },
            Unavailable::NotReady => GraphError::Failed {
                task,
                message: "ended without a value".to_owned(),
            },
        };
        if self.inner.dry {
            self.problem(error.clone());
        }
        error
    }

    pub(crate) fn add_order(&self, task: TaskId, dep: TaskId) -> Result<(), GraphError> {
        match self.inner.engine.add_dep(task, dep) {
            Ok(()) => Ok(()),
            Err(EngineError::Cycle(path)) => {
                let error =
                    GraphError::Cycle(path.into_iter().map(|id| self.task_ref(id)).collect());
                if self.inner.dry {
                    self.problem(error.clone());
                }
                Err(error)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a not-yet-final task's value can still be read by anyone but its own job.
    fn observed(&self, id: TaskId) -> bool {
        self.inner
            .tasks
            .lock()
            .get(id.index())
            .and_then(Option::as_ref)
            .is_none_or(TaskInfo::observed)
    }

    pub(crate) fn cancel_task(&self, id: TaskId) {
        let engine = &self.inner.engine;
        let _ = engine.cancel(id);
        let mut stack = engine.deps(id).unwrap_or_default();
        while let Some(d) = stack.pop() {
            if engine.state(d).is_ok_and(TaskState::is_final) || self.observed(d) {
                continue;
            }
            let waited = engine
                .dependents(d)
                .unwrap_or_default()
                .into_iter()
                .any(|x| engine.state(x).is_ok_and(|s| !s.is_final()));
            if !waited {
                let _ = engine.cancel(d);
                stack.extend(engine.deps(d).unwrap_or_default());
            }
        }
    }

    /// A placeholder spec for a dry-run task: it is never wanted and holds no job.
    pub(crate) fn dry_spec(deps: &[TaskId]) -> TaskSpec {
        TaskSpec::placeholder().deps(deps.iter().copied())
    }
}
