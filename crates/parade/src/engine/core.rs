//! The scheduling state machine's first half: task records, edges, adding and defining tasks,
//! wanting, readiness and dispatch (with waves, locks and counted resources). How tasks end,
//! cascades and waits are in [`finish`](super::finish); the design note is `README.md` here.
//!
//! Everything here runs under the engine's one lock and never blocks, spawns or calls user
//! code: each operation records what must happen next (jobs to hand to the executor, events
//! for observers, running tasks to stop) in [`Effects`], which the [`Engine`](super::Engine)
//! carries out after releasing the lock. No walk over the graph recurses: long chains are fine.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::edges::Arena;
use super::pending::Pending;
use super::ready::ReadySet;
use super::resources::{Resources, Uses};
use super::slot::{NO_ENTRY, Slot};
use super::{
    EngineError, Event, JobBox, LockId, Reason, ResourceId, TaskId, TaskSpec, TaskState, TaskStatus,
};

/// A job the executor should run now.
pub(crate) struct Dispatch {
    pub(crate) id: TaskId,
    pub(crate) job: JobBox,
    pub(crate) timeout: Option<Duration>,
    /// The counted resources it uses, by name (empty for most tasks).
    pub(crate) uses: Vec<(String, u32)>,
}

/// Something a running job asked to have run when it is cancelled (for example: terminate the
/// process group of its child).
pub(crate) type CancelHook = Box<dyn FnOnce() + Send>;

/// Running tasks an operation asked to stop, and the hooks they left for that: rare, so an
/// [`Effects`] holds them in a box made only by a cancel.
#[derive(Default)]
pub(crate) struct Cancels {
    /// Tasks whose executor is asked to stop them, in the order they were cancelled.
    pub(crate) tasks: Vec<TaskId>,
    /// Their hooks, run after every task of `tasks` was handed to the executor.
    pub(crate) hooks: Vec<CancelHook>,
}

/// What an operation left for the engine to do once the lock is released. Made and dropped
/// once per operation, so it holds only what most operations leave: the one job they start
/// sits in `first`, no vector to drop; events go straight to [`Core::outbox`] (recorded under
/// the same lock, in the same order); cancels, rare, in a box most operations never make.
#[derive(Default)]
pub(crate) struct Effects {
    /// The first job to start.
    pub(crate) first: Option<Dispatch>,
    /// Jobs to start after `first` (an operation that makes several tasks ready).
    pub(crate) more: Vec<Dispatch>,
    /// Running tasks to stop, made by the first cancel of the operation.
    pub(crate) cancels: Option<Box<Cancels>>,
    /// A task ended: waiters may have what they wait for.
    pub(crate) ended_any: bool,
    /// A task someone waits for by id ended.
    pub(crate) ended_watched: bool,
    /// Wake the waiters (decided by [`Core::settle`] from the two above).
    pub(crate) wake: bool,
}

impl Effects {
    /// Records a job to start.
    fn start(&mut self, job: Dispatch) {
        if self.first.is_none() {
            self.first = Some(job);
        } else {
            self.more.push(job);
        }
    }

    /// Whether the operation started a job.
    pub(crate) fn starts_any(&self) -> bool {
        self.first.is_some()
    }
}

/// Whether what a waiter waits for is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Every awaited task is final.
    Done,
    /// Work is still going on.
    Pending,
    /// Nothing can move: every running task is waiting, nothing else can start. Holds the
    /// awaited tasks that are not final.
    Stalled(Vec<TaskId>),
}

/// The whole scheduling state of one engine.
pub(crate) struct Core {
    pub(super) slots: Vec<Slot>,
    /// Every task's dependencies and dependents.
    pub(super) edges: Arena,
    /// Jobs and constraints of unfinished tasks.
    pub(super) pending: Pending,
    /// Why tasks ended where they did, for those that have a reason.
    pub(super) reasons: HashMap<TaskId, Reason>,
    /// Each task's wave, by index; empty while every task is in wave 0, and shorter than
    /// `slots` when the last tasks are in wave 0.
    pub(super) waves: Vec<u32>,
    pub(super) ready: ReadySet,
    pub(super) resources: Resources,
    pub(super) running: usize,
    /// Running tasks blocked in a wait: they lend their place under the limit.
    pub(super) waiting: usize,
    /// What each of those waits for, by ticket.
    pub(super) waits: Vec<(u64, Option<Vec<TaskId>>)>,
    pub(super) next_wait: u64,
    pub(super) limit: usize,
    /// Wanted or running tasks.
    pub(super) unfinished: usize,
    pub(super) wanted_placeholders: usize,
    pub(super) first_failure: Option<TaskId>,
    pub(super) stopped: bool,
    pub(crate) record_events: bool,
    /// Events waiting for delivery, in the order they happened.
    pub(crate) outbox: Vec<Event>,
    /// What running tasks asked to have run if they are cancelled.
    pub(super) hooks: HashMap<TaskId, Vec<CancelHook>>,
    /// Set (under the lock) before the first cancel of a running task, so that asking whether
    /// a task was cancelled needs no lock in a run that cancelled nothing.
    pub(crate) any_cancel: Arc<AtomicBool>,
    /// The stack [`Core::want`] walks dependencies with, kept between calls: the graph face
    /// wants each task as it is submitted, and a new stack per call was an allocation per task.
    want_stack: Vec<TaskId>,
}

impl Core {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            slots: Vec::new(),
            edges: Arena::default(),
            pending: Pending::default(),
            reasons: HashMap::new(),
            waves: Vec::new(),
            ready: ReadySet::default(),
            resources: Resources::default(),
            running: 0,
            waiting: 0,
            waits: Vec::new(),
            next_wait: 0,
            limit: limit.max(1),
            unfinished: 0,
            wanted_placeholders: 0,
            first_failure: None,
            stopped: false,
            record_events: false,
            outbox: Vec::new(),
            hooks: HashMap::new(),
            any_cancel: Arc::new(AtomicBool::new(false)),
            want_stack: Vec::new(),
        }
    }

    pub(crate) fn set_limit(&mut self, limit: usize, fx: &mut Effects) {
        self.limit = limit.max(1);
        self.dispatch(fx);
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn check(&self, id: TaskId) -> Result<(), EngineError> {
        if id.index() < self.slots.len() {
            Ok(())
        } else {
            Err(EngineError::UnknownTask(id))
        }
    }

    pub(super) fn slot(&self, id: TaskId) -> &Slot {
        &self.slots[id.index()]
    }

    pub(super) fn slot_mut(&mut self, id: TaskId) -> &mut Slot {
        &mut self.slots[id.index()]
    }

    /// The task's wave (0 unless it was given one).
    pub(super) fn wave_of(&self, id: TaskId) -> u32 {
        self.waves.get(id.index()).copied().unwrap_or(0)
    }

    fn set_wave(&mut self, id: TaskId, wave: u32) {
        if wave == 0 && id.index() >= self.waves.len() {
            return;
        }
        if id.index() >= self.waves.len() {
            self.waves.resize(id.index() + 1, 0);
        }
        self.waves[id.index()] = wave;
    }

    /// The dependencies of `id`, in the order they were added.
    pub(super) fn deps_of(&self, id: TaskId) -> &[TaskId] {
        self.edges.get(self.slot(id).deps)
    }

    /// The tasks that depend on `id`, in the order they were added.
    pub(super) fn dependents_of(&self, id: TaskId) -> &[TaskId] {
        self.edges.get(self.slot(id).dependents)
    }

    /// Makes `id` final in `state` with `reason`, dropping its job and constraints.
    #[inline]
    pub(super) fn end_slot(
        &mut self,
        id: TaskId,
        state: TaskState,
        reason: Option<Reason>,
        duration: Duration,
        fx: &mut Effects,
    ) {
        let entry = self.slot(id).entry();
        // The entry goes (its job dropped) whether or not it had constraints.
        if entry != NO_ENTRY
            && let Some(extra) = self.pending.remove(entry)
            && self.slot(id).state == TaskState::Wanted
            && !extra.uses().is_empty()
        {
            // It may have been woken from a resource it now never takes: pass the
            // wake-up on to the tasks parked behind it.
            let mut woken = Vec::new();
            let slots = &self.slots;
            for u in extra.uses() {
                self.resources.wake_index(
                    u.resource,
                    |t| t != id && slots[t.index()].state == TaskState::Wanted,
                    &mut woken,
                );
            }
            self.requeue(&woken);
        }
        let slot = self.slot_mut(id);
        slot.end(state, duration);
        fx.ended_any = true;
        fx.ended_watched |= slot.watched();
        if let Some(reason) = reason {
            self.reasons.insert(id, reason);
        }
    }

    /// Marks tasks that a waiter waits for by id: their end wakes it.
    pub(crate) fn watch(&mut self, ids: &[TaskId]) -> Result<(), EngineError> {
        for &id in ids {
            self.check(id)?;
            self.slot_mut(id).watch();
        }
        Ok(())
    }

    /// Decides, once an operation is over, whether waiters must wake: a task they wait for
    /// ended, the run is over, nothing but waiters runs (they check for a standstill), or a
    /// task waits inside a task (it checks on every end).
    pub(crate) fn settle(&self, fx: &mut Effects) {
        fx.wake = fx.ended_any
            && (fx.ended_watched
                || self.unfinished == 0
                || self.running <= self.waiting
                || !self.waits.is_empty());
    }

    pub(crate) fn lock_id(&mut self, name: &str) -> LockId {
        self.resources.lock(name)
    }

    pub(crate) fn resource_id(
        &mut self,
        name: &str,
        capacity: u32,
        fx: &mut Effects,
    ) -> ResourceId {
        let (id, grew) = self.resources.resource(name, capacity);
        if grew {
            let mut woken = Vec::new();
            let slots = &self.slots;
            self.resources.wake_index(
                id.0,
                |t| slots[t.index()].state == TaskState::Wanted,
                &mut woken,
            );
            self.requeue(&woken);
            self.dispatch(fx);
        }
        id
    }

    pub(crate) fn find_resource(&self, name: &str) -> Option<ResourceId> {
        self.resources.find(name)
    }

    pub(crate) fn capacity(&self, id: ResourceId) -> u32 {
        self.resources.capacity(id.0)
    }

    /// Puts woken tasks back in the ready set (they check their resources again when popped).
    pub(super) fn requeue(&mut self, woken: &[TaskId]) {
        for &t in woken {
            let wave = self.wave_of(t);
            self.ready.push(wave, t);
        }
    }

    /// Every resource `uses` names exists and has room for its use at all.
    pub(super) fn check_uses(&self, task: TaskId, uses: &Uses) -> Result<(), EngineError> {
        for u in uses {
            if !self.resources.exists(u.resource) {
                return Err(EngineError::UnknownResource(u.resource));
            }
            let capacity = self.resources.capacity(u.resource);
            if u.amount > capacity {
                return Err(EngineError::OverCapacity {
                    task,
                    amount: u.amount,
                    capacity,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn status(&self, id: TaskId) -> Result<TaskStatus, EngineError> {
        self.check(id)?;
        let slot = self.slot(id);
        Ok(TaskStatus {
            id,
            state: slot.state,
            reason: self.reason_of(id).cloned(),
            duration: slot.duration(),
        })
    }

    /// The tasks that ended `Failed` (each has a reason), in no particular order.
    pub(super) fn failed_ids(&self) -> Vec<TaskId> {
        self.reasons
            .keys()
            .copied()
            .filter(|id| self.slot(*id).state == TaskState::Failed)
            .collect()
    }

    /// Why a final task ended where it did, if it has a reason.
    pub(super) fn reason_of(&self, id: TaskId) -> Option<&Reason> {
        if self.reasons.is_empty() {
            return None;
        }
        self.reasons.get(&id)
    }

    pub(crate) fn deps(&self, id: TaskId) -> Result<Vec<TaskId>, EngineError> {
        self.check(id)?;
        Ok(self.deps_of(id).to_vec())
    }

    pub(crate) fn dependents(&self, id: TaskId) -> Result<Vec<TaskId>, EngineError> {
        self.check(id)?;
        Ok(self.dependents_of(id).to_vec())
    }

    pub(crate) fn wave(&self, id: TaskId) -> Result<u32, EngineError> {
        self.check(id)?;
        Ok(self.wave_of(id))
    }

    pub(super) fn event(&mut self, event: impl FnOnce() -> Event) {
        if self.record_events {
            self.outbox.push(event());
        }
    }

    /// Keeps the active counts and the ready queue in line with a slot's state.
    #[inline]
    pub(super) fn refresh(&mut self, id: TaskId) {
        let slot = &mut self.slots[id.index()];
        let active = slot.should_be_active();
        if active == slot.active() {
            return;
        }
        slot.set_active(active);
        let state = slot.state;
        let wave = self.wave_of(id);
        if active {
            self.ready.activate(wave);
            if state == TaskState::Wanted {
                self.ready.push(wave, id);
            }
        } else {
            self.ready.deactivate(wave);
        }
    }

    pub(super) fn check_wave(
        &self,
        task: TaskId,
        task_wave: u32,
        dep: TaskId,
    ) -> Result<(), EngineError> {
        let dep_wave = self.wave_of(dep);
        if dep_wave > task_wave {
            return Err(EngineError::WaveOrder {
                task,
                task_wave,
                dep,
                dep_wave,
            });
        }
        Ok(())
    }

    /// Room for `tasks` more tasks in the per-task tables ([`Engine::reserve`]).
    ///
    /// [`Engine::reserve`]: super::Engine::reserve
    pub(crate) fn reserve(&mut self, tasks: usize) {
        self.slots.reserve(tasks);
        self.pending.reserve(tasks);
    }

    pub(crate) fn add(&mut self, mut spec: TaskSpec) -> Result<TaskId, EngineError> {
        let id = TaskId::from_index(self.slots.len());
        let unique = super::id::dedup_keeping_order(&mut spec.deps);
        spec.deps.truncate(unique);
        for &dep in &spec.deps {
            self.check(dep)?;
            self.check_wave(id, spec.wave, dep)?;
        }
        self.check_uses(id, &spec.uses)?;
        self.edges.expect(self.slots.len(), self.slots.capacity());
        for &dep in &spec.deps {
            let mut list = self.slot(dep).dependents;
            self.edges.push(&mut list, id);
            self.slot_mut(dep).dependents = list;
        }
        let deps = self.edges.list_from(&spec.deps);
        let defined = spec.job.is_some();
        let entry = self.pending.insert(spec.job, spec.uses, spec.timeout);
        self.slots
            .push(Slot::new(deps, entry, defined, spec.no_failures));
        self.set_wave(id, spec.wave);
        Ok(id)
    }

    /// Gives a placeholder its job, constraints and dependencies.
    pub(crate) fn define(
        &mut self,
        id: TaskId,
        mut spec: TaskSpec,
        fx: &mut Effects,
    ) -> Result<(), EngineError> {
        self.check(id)?;
        let slot = self.slot(id);
        if slot.defined() {
            return Err(EngineError::AlreadyDefined(id));
        }
        if slot.state.is_final() {
            return Err(EngineError::AlreadyStarted(id));
        }
        let unique = super::id::dedup_keeping_order(&mut spec.deps);
        spec.deps.truncate(unique);
        for &dep in &spec.deps {
            self.check(dep)?;
            self.check_wave(id, spec.wave, dep)?;
        }
        // A cycle needs the task itself among its dependencies, or a path from one back to
        // it: none exists while nothing depends on it (a placeholder defined before anything
        // names it).
        let walk = !self.slot(id).dependents.is_empty();
        for &dep in &spec.deps {
            if walk || dep == id {
                self.check_acyclic(id, dep)?;
            }
        }
        self.check_uses(id, &spec.uses)?;
        // Waves of existing dependents must stay at or above the new wave.
        for &d in self.dependents_of(id) {
            let dw = self.wave_of(d);
            if spec.wave > dw {
                return Err(EngineError::WaveOrder {
                    task: d,
                    task_wave: dw,
                    dep: id,
                    dep_wave: spec.wave,
                });
            }
        }
        let wanted = self.slot(id).state == TaskState::Wanted;
        let defined = spec.job.is_some();
        let entry = self.slot(id).entry();
        self.pending
            .replace(entry, spec.job, spec.uses, spec.timeout);
        let slot = self.slot_mut(id);
        slot.set_defined(defined);
        slot.set_no_failures(spec.no_failures);
        self.set_wave(id, spec.wave);
        if wanted && defined {
            self.wanted_placeholders -= 1;
        }
        // Checked above, all at once: a path that an earlier of these edges opened would
        // start at this task, so it cannot close a cycle through a later one.
        let had = self.slot(id).deps;
        if had.is_empty() {
            // The usual case: the list is made at its size, not grown edge by edge.
            self.slot_mut(id).deps = self.edges.list_from(&spec.deps);
        }
        for dep in spec.deps {
            if !had.is_empty() {
                if self.deps_of(id).contains(&dep) {
                    continue;
                }
                let mut deps = self.slot(id).deps;
                self.edges.push(&mut deps, dep);
                self.slot_mut(id).deps = deps;
            }
            self.linked(id, dep, fx)?;
        }
        self.refresh(id);
        self.dispatch(fx);
        Ok(())
    }

    /// Fails with the cycle if `task` is reachable from `dep` along dependencies.
    pub(super) fn check_acyclic(&self, task: TaskId, dep: TaskId) -> Result<(), EngineError> {
        if task == dep {
            return Err(EngineError::Cycle(vec![task, task]));
        }
        let mut parent: HashMap<TaskId, TaskId> = HashMap::new();
        let mut seen: HashSet<TaskId> = HashSet::from([dep]);
        let mut stack = vec![dep];
        while let Some(x) = stack.pop() {
            for &next in self.deps_of(x) {
                if next == task {
                    // task -> dep -> ... -> x -> task
                    let mut path = vec![x];
                    let mut at = x;
                    while let Some(&p) = parent.get(&at) {
                        path.push(p);
                        at = p;
                    }
                    path.push(task);
                    path.reverse();
                    path.push(task);
                    return Err(EngineError::Cycle(path));
                }
                if seen.insert(next) {
                    parent.insert(next, x);
                    stack.push(next);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn add_dep(
        &mut self,
        task: TaskId,
        dep: TaskId,
        fx: &mut Effects,
    ) -> Result<(), EngineError> {
        self.check(task)?;
        self.check(dep)?;
        let state = self.slot(task).state;
        if !matches!(state, TaskState::Idle | TaskState::Wanted) {
            return Err(EngineError::AlreadyStarted(task));
        }
        if self.deps_of(task).contains(&dep) {
            return Ok(());
        }
        self.check_wave(task, self.wave_of(task), dep)?;
        self.check_acyclic(task, dep)?;
        let mut deps = self.slot(task).deps;
        self.edges.push(&mut deps, dep);
        self.slot_mut(task).deps = deps;
        self.linked(task, dep, fx)?;
        self.dispatch(fx);
        Ok(())
    }

    /// `dep` was just added to the dependencies of `task` (checked already): records `task`
    /// among its dependents, and brings a wanted task's count of what it waits for in line.
    fn linked(&mut self, task: TaskId, dep: TaskId, fx: &mut Effects) -> Result<(), EngineError> {
        let mut dependents = self.slot(dep).dependents;
        self.edges.push(&mut dependents, task);
        self.slot_mut(dep).dependents = dependents;
        if self.slot(task).state == TaskState::Wanted {
            let dep_state = self.slot(dep).state;
            if dep_state.is_failure() {
                let root = self.root_of(dep);
                self.end_unrun(
                    task,
                    TaskState::DepFailed,
                    Reason::DepFailed { dep, root },
                    fx,
                );
            } else if !dep_state.is_success() {
                let blocked = self.slot(task).blocked() + 1;
                self.slot_mut(task).set_blocked(blocked);
                self.refresh(task);
                if dep_state == TaskState::Idle {
                    self.want(&[dep], fx)?;
                }
            }
        }
        Ok(())
    }

    /// Wants `ids` and, transitively, their idle dependencies.
    pub(crate) fn want(&mut self, ids: &[TaskId], fx: &mut Effects) -> Result<(), EngineError> {
        for &id in ids {
            self.check(id)?;
        }
        // One id at a time with its idle dependencies (depth first, as declared): the stack
        // holds what one id brings in, not every id asked for.
        let mut stack = std::mem::take(&mut self.want_stack);
        for &id in ids {
            if self.slot(id).state == TaskState::Idle {
                stack.push(id);
                self.want_from(&mut stack, fx);
            }
        }
        self.want_stack = stack;
        self.dispatch(fx);
        Ok(())
    }

    /// Wants every idle task on `stack` and, transitively, their idle dependencies, until the
    /// stack is empty.
    fn want_from(&mut self, stack: &mut Vec<TaskId>, fx: &mut Effects) {
        while let Some(t) = stack.pop() {
            if self.slot(t).state != TaskState::Idle {
                continue;
            }
            self.slot_mut(t).state = TaskState::Wanted;
            self.unfinished += 1;
            if !self.slot(t).defined() {
                self.wanted_placeholders += 1;
            }
            self.event(|| Event::Wanted { id: t });
            let deps = self.slot(t).deps;
            if deps.is_empty() {
                self.slot_mut(t).set_blocked(0);
                self.refresh(t);
                continue;
            }
            let failed = self
                .edges
                .get(deps)
                .iter()
                .copied()
                .find(|&d| self.slot(d).state.is_failure());
            if let Some(dep) = failed {
                let root = self.root_of(dep);
                self.end_unrun(t, TaskState::DepFailed, Reason::DepFailed { dep, root }, fx);
                continue;
            }
            let mut blocked = 0;
            let first_new = stack.len();
            for &d in self.edges.get(deps) {
                match self.slots[d.index()].state {
                    TaskState::Idle => {
                        blocked += 1;
                        stack.push(d);
                    }
                    TaskState::Wanted | TaskState::Running => blocked += 1,
                    _ => {}
                }
            }
            // Want dependencies in the order they were declared.
            stack[first_new..].reverse();
            self.slot_mut(t).set_blocked(blocked);
            self.refresh(t);
        }
    }

    /// Starts what may start now, in readiness order: the lowest active wave, then locks, then
    /// the "no failures" condition, then the parallel limit (locks and
    /// counted resources: a task that does not fit parks on the first resource it lacks); oldest task first.
    pub(crate) fn dispatch(&mut self, fx: &mut Effects) {
        while !self.stopped && self.running - self.waiting < self.limit {
            let Some(wave) = self.ready.lowest_active_wave() else {
                break;
            };
            let Some(id) = self.ready.pop(wave) else {
                break;
            };
            let slot = self.slot(id);
            if slot.state != TaskState::Wanted || !slot.active() {
                continue; // stale entry
            }
            let no_failures = slot.no_failures();
            let entry = slot.entry();
            let extra = self.pending.extra(entry);
            if let Some(lack) = extra.and_then(|e| self.resources.lacking(e.uses())) {
                self.resources.park(id, lack);
                continue;
            }
            if let (true, Some(first)) = (no_failures, self.first_failure) {
                self.end_unrun(id, TaskState::DepFailed, Reason::NoFailures { first }, fx);
                continue;
            }
            let mut timeout = None;
            let mut uses = Vec::new();
            if let Some(extra) = extra {
                timeout = extra.timeout;
                self.resources.acquire(extra.uses());
                uses = self.resources.counted_uses(extra.uses());
            }
            self.running += 1;
            self.slot_mut(id).state = TaskState::Running;
            let job = self
                .pending
                .job_mut(entry)
                .take()
                .expect("a defined task has its job until it starts");
            fx.start(Dispatch {
                id,
                job,
                timeout,
                uses,
            });
            self.event(|| Event::Started { id });
        }
    }
}
