//! The scheduling state machine's first half: task records, edges, adding and defining tasks,
//! wanting, readiness and dispatch (with waves, locks and counted resources). How tasks end,
//! cascades and waits are in [`finish`](super::finish); the design note is `README.md` here.
//!
//! Everything here runs under the engine's one lock and never blocks, spawns or calls user
//! code: each operation records what must happen next (jobs to hand to the executor, events
//! for observers, running tasks to stop) in [`Effects`], which the [`Engine`](super::Engine)
//! carries out after releasing the lock. No walk over the graph recurses: long chains are fine.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use smallvec::SmallVec;

use super::ready::ReadySet;
use super::resources::{Resources, Uses};
use super::{
    EngineError, Event, Job, LockId, Reason, ResourceId, TaskId, TaskSpec, TaskState, TaskStatus,
};

/// One task's scheduling record.
#[allow(clippy::struct_excessive_bools)] // independent flags, each read on a hot path
pub(super) struct Slot {
    pub(super) state: TaskState,
    pub(super) wave: u32,
    pub(super) no_failures: bool,
    /// Defined (has or had a job), as opposed to a placeholder.
    pub(super) defined: bool,
    /// Counted in the ready set's active tasks: wanted with nothing blocking it, or running.
    pub(super) active: bool,
    pub(super) cancel_requested: bool,
    /// For a wanted task: how many dependencies have not succeeded yet.
    pub(super) blocked: u32,
    pub(super) deps: SmallVec<[TaskId; 2]>,
    pub(super) dependents: SmallVec<[TaskId; 2]>,
    /// Locks and counted resources held while running.
    pub(super) uses: Uses,
    pub(super) job: Option<Box<dyn Job>>,
    pub(super) timeout: Option<Duration>,
    pub(super) reason: Option<Box<Reason>>,
    pub(super) duration: Duration,
}

impl Slot {
    pub(super) fn should_be_active(&self) -> bool {
        (self.state == TaskState::Wanted && self.blocked == 0 && self.defined)
            || self.state == TaskState::Running
    }
}

/// A job the executor should run now.
pub(crate) struct Dispatch {
    pub(crate) id: TaskId,
    pub(crate) job: Box<dyn Job>,
    pub(crate) timeout: Option<Duration>,
}

/// Something a running job asked to have run when it is cancelled (for example: terminate the
/// process group of its child).
pub(crate) type CancelHook = Box<dyn FnOnce() + Send>;

/// What an operation left for the engine to do once the lock is released.
#[derive(Default)]
pub(crate) struct Effects {
    pub(crate) events: Vec<Event>,
    pub(crate) to_run: Vec<Dispatch>,
    pub(crate) to_cancel: Vec<TaskId>,
    pub(crate) cancel_hooks: Vec<CancelHook>,
    pub(crate) finished_any: bool,
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
}

impl Core {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            slots: Vec::new(),
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
            let wave = self.slot(t).wave;
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
            reason: slot.reason.as_deref().cloned(),
            duration: slot.duration,
        })
    }

    pub(crate) fn deps(&self, id: TaskId) -> Result<Vec<TaskId>, EngineError> {
        self.check(id)?;
        Ok(self.slot(id).deps.to_vec())
    }

    pub(crate) fn dependents(&self, id: TaskId) -> Result<Vec<TaskId>, EngineError> {
        self.check(id)?;
        Ok(self.slot(id).dependents.to_vec())
    }

    pub(crate) fn wave(&self, id: TaskId) -> Result<u32, EngineError> {
        self.check(id)?;
        Ok(self.slot(id).wave)
    }

    pub(super) fn event(&mut self, fx: &mut Effects, event: impl FnOnce() -> Event) {
        if self.record_events {
            fx.events.push(event());
        }
    }

    /// Keeps the active counts and the ready queue in line with a slot's state.
    pub(super) fn refresh(&mut self, id: TaskId) {
        let slot = &mut self.slots[id.index()];
        let active = slot.should_be_active();
        if active == slot.active {
            return;
        }
        slot.active = active;
        let (wave, state) = (slot.wave, slot.state);
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
        let dep_wave = self.slot(dep).wave;
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

    pub(crate) fn add(&mut self, mut spec: TaskSpec) -> Result<TaskId, EngineError> {
        let id = TaskId::from_index(self.slots.len());
        dedup_keeping_order(&mut spec.deps);
        for &dep in &spec.deps {
            self.check(dep)?;
            self.check_wave(id, spec.wave, dep)?;
        }
        self.check_uses(id, &spec.uses)?;
        for &dep in &spec.deps {
            self.slot_mut(dep).dependents.push(id);
        }
        self.slots.push(Slot {
            state: TaskState::Idle,
            wave: spec.wave,
            no_failures: spec.no_failures,
            defined: spec.job.is_some(),
            active: false,
            cancel_requested: false,
            blocked: 0,
            deps: spec.deps,
            dependents: SmallVec::new(),
            uses: spec.uses,
            job: spec.job,
            timeout: spec.timeout,
            reason: None,
            duration: Duration::ZERO,
        });
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
        if slot.defined {
            return Err(EngineError::AlreadyDefined(id));
        }
        if slot.state.is_final() {
            return Err(EngineError::AlreadyStarted(id));
        }
        dedup_keeping_order(&mut spec.deps);
        for &dep in &spec.deps {
            self.check(dep)?;
            self.check_wave(id, spec.wave, dep)?;
            self.check_acyclic(id, dep)?;
        }
        self.check_uses(id, &spec.uses)?;
        // Waves of existing dependents must stay at or above the new wave.
        for &d in &self.slot(id).dependents {
            let dw = self.slot(d).wave;
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
        let slot = self.slot_mut(id);
        slot.job = spec.job;
        slot.defined = slot.job.is_some();
        slot.wave = spec.wave;
        slot.no_failures = spec.no_failures;
        slot.uses = spec.uses;
        slot.timeout = spec.timeout;
        if wanted && slot.defined {
            self.wanted_placeholders -= 1;
        }
        for dep in spec.deps {
            self.add_dep(id, dep, fx)?;
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
            for &next in &self.slot(x).deps {
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
        if self.slot(task).deps.contains(&dep) {
            return Ok(());
        }
        self.check_wave(task, self.slot(task).wave, dep)?;
        self.check_acyclic(task, dep)?;
        self.slot_mut(task).deps.push(dep);
        self.slot_mut(dep).dependents.push(task);
        if state == TaskState::Wanted {
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
                self.slot_mut(task).blocked += 1;
                self.refresh(task);
                if dep_state == TaskState::Idle {
                    self.want(&[dep], fx)?;
                }
            }
        }
        self.dispatch(fx);
        Ok(())
    }

    /// Wants `ids` and, transitively, their idle dependencies.
    pub(crate) fn want(&mut self, ids: &[TaskId], fx: &mut Effects) -> Result<(), EngineError> {
        for &id in ids {
            self.check(id)?;
        }
        let mut stack: Vec<TaskId> = ids.iter().rev().copied().collect();
        while let Some(t) = stack.pop() {
            if self.slot(t).state != TaskState::Idle {
                continue;
            }
            self.slot_mut(t).state = TaskState::Wanted;
            self.unfinished += 1;
            if !self.slot(t).defined {
                self.wanted_placeholders += 1;
            }
            self.event(fx, || Event::Wanted { id: t });
            let failed = self
                .slot(t)
                .deps
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
            for i in 0..self.slot(t).deps.len() {
                let d = self.slot(t).deps[i];
                match self.slot(d).state {
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
            self.slot_mut(t).blocked = blocked;
            self.refresh(t);
        }
        self.dispatch(fx);
        Ok(())
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
            if slot.state != TaskState::Wanted || !slot.active {
                continue; // stale entry
            }
            if let Some(lack) = self.resources.lacking(&slot.uses) {
                self.resources.park(id, lack);
                continue;
            }
            if let (true, Some(first)) = (slot.no_failures, self.first_failure) {
                self.end_unrun(id, TaskState::DepFailed, Reason::NoFailures { first }, fx);
                continue;
            }
            self.resources.acquire(&self.slots[id.index()].uses);
            self.running += 1;
            let slot = self.slot_mut(id);
            slot.state = TaskState::Running;
            let job = slot
                .job
                .take()
                .expect("a defined task has its job until it starts");
            fx.to_run.push(Dispatch {
                id,
                job,
                timeout: slot.timeout,
            });
            self.event(fx, || Event::Started { id });
        }
    }
}

/// Drops repeated ids, keeping the first of each in place.
fn dedup_keeping_order(ids: &mut SmallVec<[TaskId; 2]>) {
    if ids.len() <= 8 {
        let mut i = 0;
        while i < ids.len() {
            if ids[..i].contains(&ids[i]) {
                ids.remove(i);
            } else {
                i += 1;
            }
        }
    } else {
        let mut seen = HashSet::with_capacity(ids.len());
        ids.retain(|id| seen.insert(*id));
    }
}
