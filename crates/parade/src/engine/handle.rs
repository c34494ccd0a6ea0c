//! [`Engine`]: the shared handle through which faces add, want, cancel and wait for tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::core::{Cancels, Core, Dispatch, Effects, Progress};
use super::delivery::Delivery;
use super::executor::Executor;
use super::runnable::current_task;
use super::{
    EngineError, Event, LockId, Observer, Outcome, ResourceId, Runnable, Signal, Stream, TaskId,
    TaskSpec, TaskState, TaskStatus,
};

struct Inner {
    core: Mutex<Core>,
    executor: Arc<dyn Executor>,
    signal: Signal,
    has_observers: AtomicBool,
    /// The core's "a running task was asked to stop" flag, read without the lock.
    any_cancel: Arc<AtomicBool>,
    /// The observers, and the thread that hands them events one at a time and in order.
    delivery: Arc<Delivery>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.delivery.close();
    }
}

/// The scheduling engine: a task graph that grows while it runs, its state machine, and the
/// executor that runs ready jobs. Cheap to clone; clones share the same graph.
///
/// Only wanted tasks run. Wanting a task wants its dependencies. A task starts when, in this
/// order: no task of a lower wave is ready or running; none of its locks is held and there is
/// room for what it uses of each counted resource; its
/// dependencies succeeded or were skipped; its "no failures" condition holds; and fewer than
/// the parallel limit are running. Among tasks that may start, the oldest goes first.
///
/// ```
/// use parade::engine::{Engine, TaskSpec, Outcome, TaskState};
/// let engine = Engine::new(); // a thread pool, one thread per core
/// let a = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// let b = engine.add(TaskSpec::new(|_| Outcome::failed("no")).dep(a)).unwrap();
/// let c = engine.add(TaskSpec::new(|_| Outcome::Succeeded).dep(b)).unwrap();
/// engine.want([c]).unwrap();
/// let states: Vec<_> = engine.wait([a, b, c]).unwrap().into_iter().map(|s| s.state).collect();
/// assert_eq!(states, [TaskState::Succeeded, TaskState::Failed, TaskState::DepFailed]);
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("executor", &self.inner.executor.name())
            .field("tasks", &self.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine on the given executor. Its parallel limit starts at the executor's capacity.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use parade::{engine::Engine, exec::ThreadPool};
    /// let engine = Engine::with_executor(Arc::new(ThreadPool::new(4)));
    /// assert_eq!(engine.limit(), 4);
    /// ```
    pub fn with_executor(executor: Arc<dyn Executor>) -> Self {
        let limit = executor.capacity();
        let core = Core::new(limit);
        let any_cancel = core.any_cancel.clone();
        Self {
            inner: Arc::new(Inner {
                core: Mutex::new(core),
                any_cancel,
                executor,
                signal: Signal::default(),
                has_observers: AtomicBool::new(false),
                delivery: Delivery::new(),
            }),
        }
    }

    /// The executor this engine hands jobs to.
    pub fn executor(&self) -> &Arc<dyn Executor> {
        &self.inner.executor
    }

    /// A number that identifies this engine among live engines.
    pub(crate) fn key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Runs `op` on the core under its lock, then carries out its effects outside the lock.
    fn with_core<R>(&self, op: impl FnOnce(&mut Core, &mut Effects) -> R) -> R {
        let mut fx = Effects::default();
        let result = {
            let mut core = self.inner.core.lock();
            let result = op(&mut core, &mut fx);
            core.settle(&mut fx);
            result
        };
        self.apply(&mut fx);
        result
    }

    /// Carries out `fx` (taken by reference, not moved: it is large, and most of it is empty).
    fn apply(&self, fx: &mut Effects) {
        if fx.wake {
            self.inner.signal.notify();
        }
        if let Some(cancels) = fx.cancels.take() {
            let Cancels { tasks, hooks } = *cancels;
            for id in tasks {
                self.inner.executor.cancel(self, id);
            }
            for hook in hooks {
                hook();
            }
        }
        if self.inner.has_observers.load(Ordering::Acquire) {
            self.deliver();
        }
        let runnable = |d: Dispatch| Runnable {
            engine: self.clone(),
            id: d.id,
            job: d.job,
            timeout: d.timeout,
            uses: d.uses,
        };
        if let Some(first) = fx.first.take() {
            if fx.more.is_empty() {
                self.inner.executor.spawn_one(runnable(first));
            } else {
                let jobs = std::iter::once(first)
                    .chain(fx.more.drain(..))
                    .map(runnable)
                    .collect();
                self.inner.executor.spawn(jobs);
            }
        }
    }

    /// Hands the events recorded so far to the observers' thread, in order; waits while too
    /// many are waiting for slow observers.
    fn deliver(&self) {
        {
            let mut core = self.inner.core.lock();
            if core.outbox.is_empty() {
                return;
            }
            // Under the core lock: events reach the queue in the order they happened.
            self.inner.delivery.push(std::mem::take(&mut core.outbox));
        }
        self.inner.delivery.throttle();
    }

    /// Waits until the observers have received every event so far.
    fn flush_events(&self) {
        if self.inner.has_observers.load(Ordering::Acquire) {
            self.deliver();
            self.inner.delivery.flush();
        }
    }

    /// Adds an observer; it receives every event from now on.
    pub fn subscribe(&self, observer: impl Observer + 'static) {
        self.inner.delivery.subscribe(Arc::new(observer));
        self.inner.has_observers.store(true, Ordering::Release);
        self.inner.core.lock().record_events = true;
    }

    /// Adds a task. Its dependencies must exist already; adding a task cannot make a cycle.
    ///
    /// Errors: an unknown dependency, or a dependency in a higher wave.
    pub fn add(&self, spec: TaskSpec) -> Result<TaskId, EngineError> {
        self.inner.core.lock().add(spec)
    }

    /// Makes room for `tasks` more tasks at once, where a face knows how many it will add:
    /// the engine's per-task tables then grow once instead of doubling their way there
    /// (each doubling copies the table and leaves the old one to the allocator).
    ///
    /// ```
    /// use parade::engine::{Engine, TaskSpec, Outcome};
    /// let engine = Engine::inline();
    /// engine.reserve(1_000);
    /// for _ in 0..1_000 {
    ///     engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
    /// }
    /// ```
    pub fn reserve(&self, tasks: usize) {
        self.inner.core.lock().reserve(tasks);
    }

    /// Gives a placeholder (see [`TaskSpec::placeholder`]) its job, constraints and
    /// dependencies. If it is wanted, it runs as soon as they allow.
    ///
    /// ```
    /// use parade::engine::{Engine, TaskSpec, Outcome, TaskState};
    /// let engine = Engine::inline();
    /// let later = engine.add(TaskSpec::placeholder()).unwrap();
    /// let user = engine.add(TaskSpec::new(|_| Outcome::Succeeded).dep(later)).unwrap();
    /// engine.want([user]).unwrap();
    /// engine.define(later, TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
    /// assert_eq!(engine.wait([user]).unwrap()[0].state, TaskState::Succeeded);
    /// ```
    pub fn define(&self, id: TaskId, spec: TaskSpec) -> Result<(), EngineError> {
        self.with_core(|core, fx| core.define(id, spec, fx))
    }

    /// Makes `task` depend on `dep` as well. `task` must not have started.
    ///
    /// Errors: a cycle (the error lists it), a dependency in a higher wave, or a task that
    /// already started.
    ///
    /// ```
    /// use parade::engine::{Engine, EngineError, TaskSpec, Outcome};
    /// let engine = Engine::inline();
    /// let a = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
    /// let b = engine.add(TaskSpec::new(|_| Outcome::Succeeded).dep(a)).unwrap();
    /// let err = engine.add_dep(a, b).unwrap_err();
    /// assert_eq!(err.to_string(), "dependency cycle: task #0 -> task #1 -> task #0");
    /// ```
    pub fn add_dep(&self, task: TaskId, dep: TaskId) -> Result<(), EngineError> {
        self.with_core(|core, fx| core.add_dep(task, dep, fx))
    }

    /// Adds a task, hands its id to `added`, and wants it, all under the engine's lock: a face
    /// records what it knows of the task before anyone can see the task run, and pays one lock
    /// instead of two. `added` must not call the engine, and may take only locks that are
    /// never held while calling the engine (the graph's table of tasks).
    pub(crate) fn add_wanted(
        &self,
        spec: TaskSpec,
        added: impl FnOnce(TaskId),
    ) -> Result<TaskId, EngineError> {
        self.with_core(|core, fx| {
            let id = core.add(spec)?;
            added(id);
            core.want(&[id], fx)?;
            Ok(id)
        })
    }

    /// Wants tasks and, transitively, their dependencies: they run when they can.
    ///
    /// A `Vec` of ids is wanted in place (its memory is reused, not copied).
    pub fn want(&self, ids: impl IntoIterator<Item = TaskId>) -> Result<(), EngineError> {
        // Every id is checked before any is wanted, so they are collected first: a few on the
        // stack, more in a vector, which takes a `Vec`'s own buffer (std collects a vector's
        // iterator in place) instead of copying a hundred thousand ids.
        let ids = ids.into_iter();
        if ids.size_hint().1.is_some_and(|most| most <= 4) {
            let ids: smallvec::SmallVec<[TaskId; 4]> = ids.collect();
            self.with_core(|core, fx| core.want(&ids, fx))
        } else {
            let ids: Vec<TaskId> = ids.collect();
            self.with_core(|core, fx| core.want(&ids, fx))
        }
    }

    /// Cancels a task: if it has not started it ends as cancelled (its wanted dependents as
    /// dep-failed); if it runs, it is asked to stop.
    pub fn cancel(&self, id: TaskId) -> Result<(), EngineError> {
        self.with_core(|core, fx| core.cancel(id, fx))
    }

    /// Stops the run: nothing new starts, every wanted task is cancelled, and running tasks are
    /// asked to stop (out-of-process executors terminate them).
    pub fn stop(&self) {
        self.with_core(Core::stop);
    }

    /// Whether [`Engine::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.core.lock().is_stopped()
    }

    /// The id of the named lock, made on first use.
    pub fn lock(&self, name: &str) -> LockId {
        self.inner.core.lock().lock_id(name)
    }

    /// The id of the counted resource `name`, with its capacity set to `capacity` (made on
    /// first use; a later call changes the capacity, and a larger one lets parked tasks start).
    /// Lock names and resource names are separate.
    pub fn resource(&self, name: &str, capacity: u32) -> ResourceId {
        self.with_core(|core, fx| core.resource_id(name, capacity, fx))
    }

    /// The id of the counted resource `name`, if it was made.
    pub fn find_resource(&self, name: &str) -> Option<ResourceId> {
        self.inner.core.lock().find_resource(name)
    }

    /// The capacity of a counted resource of this engine.
    pub fn capacity(&self, resource: ResourceId) -> u32 {
        self.inner.core.lock().capacity(resource)
    }

    /// The most tasks that run at once.
    pub fn limit(&self) -> usize {
        self.inner.core.lock().limit()
    }

    /// Sets the most tasks that run at once (at least 1). A limit above the executor's capacity
    /// lets tasks queue inside the executor.
    pub fn set_limit(&self, limit: usize) {
        self.with_core(|core, fx| core.set_limit(limit, fx));
    }

    /// How many tasks were added.
    pub fn len(&self) -> usize {
        self.inner.core.lock().len()
    }

    /// Whether no task was added yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A task's state, reason and duration now.
    pub fn status(&self, id: TaskId) -> Result<TaskStatus, EngineError> {
        self.inner.core.lock().status(id)
    }

    /// A task's state now.
    pub fn state(&self, id: TaskId) -> Result<TaskState, EngineError> {
        Ok(self.status(id)?.state)
    }

    /// The task's dependencies, in the order they were added.
    pub fn deps(&self, id: TaskId) -> Result<Vec<TaskId>, EngineError> {
        self.inner.core.lock().deps(id)
    }

    /// The tasks that depend on this one, in the order they were added.
    pub fn dependents(&self, id: TaskId) -> Result<Vec<TaskId>, EngineError> {
        self.inner.core.lock().dependents(id)
    }

    /// The task's wave.
    pub fn wave(&self, id: TaskId) -> Result<u32, EngineError> {
        self.inner.core.lock().wave(id)
    }

    /// Waits until every one of `ids` is final and returns their statuses, in the same order.
    ///
    /// On the inline executor the waiting thread runs the jobs. Inside a running task, the
    /// task's place under the parallel limit is lent to others while it waits, and a pool
    /// thread helps run them, so a task can wait for tasks it added without deadlock.
    ///
    /// Errors: an unknown id; a task nothing wants (it would never run), reported as a
    /// deadlock; and a real deadlock (every running task waits and nothing else can start).
    pub fn wait(
        &self,
        ids: impl IntoIterator<Item = TaskId>,
    ) -> Result<Vec<TaskStatus>, EngineError> {
        let ids: Vec<TaskId> = ids.into_iter().collect();
        self.watch_wanted(&ids)?;
        self.block(Some(&ids))?;
        let core = self.inner.core.lock();
        ids.iter().map(|&id| core.status(id)).collect()
    }

    /// Waits until at least one of `ids` is final and returns the position in `ids` of the
    /// first (in `ids` order) that is; `None` for no ids. Like [`Engine::wait`] otherwise.
    ///
    /// ```
    /// use parade::engine::{Engine, TaskSpec, Outcome};
    /// let engine = Engine::inline();
    /// let a = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
    /// let b = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
    /// engine.want([b, a]).unwrap();
    /// assert!(engine.wait_any(&[a, b]).unwrap().is_some());
    /// assert_eq!(engine.wait_any(&[]).unwrap(), None);
    /// ```
    pub fn wait_any(&self, ids: &[TaskId]) -> Result<Option<usize>, EngineError> {
        if ids.is_empty() {
            return Ok(None);
        }
        self.watch_wanted(ids)?;
        let first_final = |core: &Core| {
            ids.iter()
                .position(|&id| core.status(id).is_ok_and(|s| s.state.is_final()))
        };
        self.block_while(Some(ids), |core, fx| {
            if first_final(core).is_some() {
                Progress::Done
            } else {
                core.progress(Some(ids), fx)
            }
        })?;
        Ok(first_final(&self.inner.core.lock()))
    }

    /// Waits until every wanted task is final.
    pub fn wait_all(&self) -> Result<(), EngineError> {
        self.block(None)
    }

    /// The status of every task that was ever wanted, in the order tasks were added: after
    /// [`Engine::wait_all`], the outcome of the whole run.
    ///
    /// ```
    /// use parade::engine::{Engine, TaskSpec, Outcome, TaskState};
    /// let engine = Engine::inline();
    /// let a = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
    /// let _idle = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
    /// engine.want([a]).unwrap();
    /// engine.wait_all().unwrap();
    /// let all = engine.outcomes();
    /// assert_eq!(all.len(), 1);
    /// assert_eq!((all[0].id, all[0].state), (a, TaskState::Succeeded));
    /// ```
    pub fn outcomes(&self) -> Vec<TaskStatus> {
        let core = self.inner.core.lock();
        (0..core.len())
            .filter_map(|i| core.status(TaskId::from_index(i)).ok())
            .filter(|s| s.state != TaskState::Idle)
            .collect()
    }

    /// The status of every task that ended [`Failed`](TaskState::Failed) on its own, in the
    /// order tasks were added. Costs what the tasks with a reason cost, not a pass over every
    /// task: a failed task always has a reason.
    pub(crate) fn failures(&self) -> Vec<TaskStatus> {
        let core = self.inner.core.lock();
        let mut ids = core.failed_ids();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| core.status(id).ok())
            .collect()
    }

    /// Marks `ids` as waited for by id, refusing a task nothing wants (it would never end).
    fn watch_wanted(&self, ids: &[TaskId]) -> Result<(), EngineError> {
        let mut core = self.inner.core.lock();
        for &id in ids {
            if core.status(id)?.state == TaskState::Idle {
                return Err(EngineError::NotWanted(id));
            }
        }
        core.watch(ids)
    }

    fn block(&self, targets: Option<&[TaskId]>) -> Result<(), EngineError> {
        self.block_while(targets, |core, fx| core.progress(targets, fx))
    }

    /// Blocks until `check` (run under the lock) says the wait is over; inside a task, the
    /// task lends its place under the limit while it waits for `targets`.
    fn block_while(
        &self,
        targets: Option<&[TaskId]>,
        mut check: impl FnMut(&mut Core, &mut Effects) -> Progress,
    ) -> Result<(), EngineError> {
        let ticket =
            current_task(self).map(|_| self.with_core(|core, fx| core.begin_wait(targets, fx)));
        let mut check = || self.with_core(&mut check);
        let progress = self
            .inner
            .executor
            .block_until(&mut check, &self.inner.signal);
        if let Some(ticket) = ticket {
            self.inner.core.lock().end_wait(ticket);
        }
        self.flush_events();
        match progress {
            Progress::Stalled(stuck) => Err(EngineError::Deadlock(stuck)),
            _ => Ok(()),
        }
    }

    pub(crate) fn finish(&self, id: TaskId, outcome: Outcome, duration: Duration) {
        self.with_core(|core, fx| core.finish(id, outcome, duration, fx));
    }

    pub(crate) fn emit_output(&self, id: TaskId, stream: Stream, line: String) {
        if self.inner.has_observers.load(Ordering::Acquire) {
            self.inner
                .core
                .lock()
                .outbox
                .push(Event::Output { id, stream, line });
            self.deliver();
        }
    }

    /// [`emit_output`](Self::emit_output) for many lines at once: one lock and one delivery
    /// for all (a task printing fast prints many lines per read).
    pub(crate) fn emit_output_lines(&self, id: TaskId, stream: Stream, lines: Vec<String>) {
        if self.inner.has_observers.load(Ordering::Acquire) && !lines.is_empty() {
            self.inner
                .core
                .lock()
                .outbox
                .extend(
                    lines
                        .into_iter()
                        .map(|line| Event::Output { id, stream, line }),
                );
            self.deliver();
        }
    }

    pub(crate) fn signal(&self) -> &Signal {
        &self.inner.signal
    }

    pub(crate) fn on_cancel(&self, id: TaskId, hook: Box<dyn FnOnce() + Send>) {
        let refused = self.inner.core.lock().on_cancel(id, hook);
        if let Some(hook) = refused.filter(|_| self.cancel_requested(id)) {
            hook();
        }
    }

    pub(crate) fn cancel_requested(&self, id: TaskId) -> bool {
        self.inner.any_cancel.load(Ordering::SeqCst) && self.inner.core.lock().cancel_requested(id)
    }
}
