//! Finishing and waits: how a task ends (ran, failed, dep-failed, cancelled, missing), the
//! cascade of a failure to its wanted dependents, stopping the run, and the bookkeeping of
//! tasks that wait inside a task (they lend their place under the limit) that decides whether
//! a waiter is done, must go on waiting, or is stalled.
//!
//! Like [`core`](super::core), everything here runs under the engine's one lock, records what
//! must happen next in [`Effects`], and never recurses over the graph.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::core::{CancelHook, Core, Effects, Progress};
use super::{EngineError, Event, Outcome, Reason, TaskId, TaskState};

impl Core {
    /// Keeps `hook` to run if the running task `id` is cancelled; returns it back if the
    /// task was cancelled already (the caller runs it at once) or is not running.
    pub(crate) fn on_cancel(&mut self, id: TaskId, hook: CancelHook) -> Option<CancelHook> {
        match self.slots.get(id.index()) {
            Some(s) if s.state == TaskState::Running && !s.cancel_requested() => {
                self.hooks.entry(id).or_default().push(hook);
                None
            }
            _ => Some(hook),
        }
    }

    pub(super) fn request_cancel(&mut self, id: TaskId, fx: &mut Effects) {
        self.any_cancel.store(true, Ordering::SeqCst);
        self.slot_mut(id).request_cancel();
        let cancels = fx.cancels.get_or_insert_default();
        cancels.tasks.push(id);
        if let Some(hooks) = self.hooks.remove(&id) {
            cancels.hooks.extend(hooks);
        }
    }

    pub(crate) fn cancel_requested(&self, id: TaskId) -> bool {
        self.slots
            .get(id.index())
            .is_some_and(super::slot::Slot::cancel_requested)
    }

    pub(super) fn root_of(&self, failed: TaskId) -> TaskId {
        match self.reason_of(failed) {
            Some(Reason::DepFailed { root, .. }) => *root,
            _ => failed,
        }
    }

    /// Ends a task that never ran (dep-failed, cancelled, missing) and cascades to dependents.
    pub(super) fn end_unrun(
        &mut self,
        id: TaskId,
        state: TaskState,
        reason: Reason,
        fx: &mut Effects,
    ) {
        let was = self.slot(id).state;
        debug_assert!(matches!(was, TaskState::Idle | TaskState::Wanted));
        if was == TaskState::Wanted {
            self.unfinished -= 1;
            if !self.slot(id).defined() {
                self.wanted_placeholders -= 1;
            }
        }
        self.end_slot(id, state, Some(reason.clone()), Duration::ZERO, fx);
        self.refresh(id);
        if state != TaskState::Cancelled && self.first_failure.is_none() {
            self.first_failure = Some(self.root_of(id));
        }
        self.event(|| Event::Finished {
            id,
            state,
            duration: Duration::ZERO,
            reason: Some(reason),
        });
        self.cascade(id, fx);
    }

    /// Makes every wanted transitive dependent of `failed` dep-failed, naming the root failure.
    pub(super) fn cascade(&mut self, failed: TaskId, fx: &mut Effects) {
        let root = self.root_of(failed);
        let mut stack = vec![failed];
        while let Some(x) = stack.pop() {
            let dependents = self.slot(x).dependents;
            for i in 0..dependents.len() {
                let d = self.edges.get(dependents)[i];
                if self.slot(d).state != TaskState::Wanted {
                    continue;
                }
                self.unfinished -= 1;
                if !self.slot(d).defined() {
                    self.wanted_placeholders -= 1;
                }
                let reason = Reason::DepFailed { dep: x, root };
                self.end_slot(
                    d,
                    TaskState::DepFailed,
                    Some(reason.clone()),
                    Duration::ZERO,
                    fx,
                );
                self.refresh(d);
                self.event(|| Event::Finished {
                    id: d,
                    state: TaskState::DepFailed,
                    duration: Duration::ZERO,
                    reason: Some(reason),
                });
                stack.push(d);
            }
        }
    }

    /// Records how a running task ended, releases what it held, and starts what that allows.
    pub(crate) fn finish(
        &mut self,
        id: TaskId,
        outcome: Outcome,
        duration: Duration,
        fx: &mut Effects,
    ) {
        debug_assert_eq!(self.slot(id).state, TaskState::Running);
        let entry = self.slot(id).entry();
        let timeout = self.pending.timeout(entry);
        let outcome = match (outcome, timeout) {
            (Outcome::Failed(r), _) => Outcome::Failed(r),
            (_, Some(limit)) if duration > limit => Outcome::Failed(Reason::Timeout(limit)),
            (_, _) if self.slot(id).cancel_requested() => Outcome::Failed(Reason::Cancelled),
            (o, _) => o,
        };
        let (state, reason) = match outcome {
            Outcome::Succeeded => (TaskState::Succeeded, None),
            Outcome::Skipped(why) => (TaskState::Skipped, Some(Reason::Skipped(why))),
            Outcome::UpToDate(why) => (TaskState::UpToDate, Some(Reason::UpToDate(why))),
            Outcome::Failed(Reason::Cancelled) => (TaskState::Cancelled, Some(Reason::Cancelled)),
            Outcome::Failed(r) => (TaskState::Failed, Some(r)),
        };
        self.running -= 1;
        self.unfinished -= 1;
        if !self.hooks.is_empty() {
            self.hooks.remove(&id);
        }
        if let Some(extra) = self.pending.extra(entry)
            && !extra.uses().is_empty()
        {
            let mut woken = Vec::new();
            let slots = &self.slots;
            self.resources.release(
                extra.uses(),
                |t| slots[t.index()].state == TaskState::Wanted,
                &mut woken,
            );
            self.requeue(&woken);
        }
        self.end_slot(id, state, reason.clone(), duration, fx);
        self.refresh(id);
        self.event(|| Event::Finished {
            id,
            state,
            duration,
            reason,
        });
        if state.is_success() {
            let dependents = self.slot(id).dependents;
            for i in 0..dependents.len() {
                let d = self.edges.get(dependents)[i];
                let slot = self.slot_mut(d);
                if slot.state == TaskState::Wanted {
                    slot.set_blocked(slot.blocked() - 1);
                    self.refresh(d);
                }
            }
        } else {
            if state == TaskState::Failed && self.first_failure.is_none() {
                self.first_failure = Some(id);
            }
            self.cascade(id, fx);
        }
        self.dispatch(fx);
    }

    /// Cancels one task: an idle or wanted one ends now, a running one is asked to stop.
    pub(crate) fn cancel(&mut self, id: TaskId, fx: &mut Effects) -> Result<(), EngineError> {
        self.check(id)?;
        match self.slot(id).state {
            TaskState::Idle | TaskState::Wanted => {
                self.end_unrun(id, TaskState::Cancelled, Reason::Cancelled, fx);
            }
            TaskState::Running => self.request_cancel(id, fx),
            _ => {}
        }
        self.dispatch(fx);
        Ok(())
    }

    /// Stops the run: nothing new starts, wanted tasks are cancelled, running ones asked to stop.
    pub(crate) fn stop(&mut self, fx: &mut Effects) {
        self.stopped = true;
        for i in 0..self.slots.len() {
            let id = TaskId::from_index(i);
            match self.slot(id).state {
                TaskState::Wanted => {
                    self.end_unrun(id, TaskState::Cancelled, Reason::Cancelled, fx);
                }
                TaskState::Running if !self.slot(id).cancel_requested() => {
                    self.request_cancel(id, fx);
                }
                _ => {}
            }
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// A running task starts waiting for `targets` (every wanted task for `None`): its place
    /// under the limit is lent to others until [`Core::end_wait`] with the returned ticket.
    pub(crate) fn begin_wait(&mut self, targets: Option<&[TaskId]>, fx: &mut Effects) -> u64 {
        self.waiting += 1;
        self.next_wait += 1;
        self.waits
            .push((self.next_wait, targets.map(<[TaskId]>::to_vec)));
        self.dispatch(fx);
        self.next_wait
    }

    pub(crate) fn end_wait(&mut self, ticket: u64) {
        self.waiting -= 1;
        self.waits.retain(|(t, _)| *t != ticket);
    }

    /// Whether a waiting task has what it waits for and is about to go on running.
    pub(super) fn a_waiter_can_go_on(&self) -> bool {
        self.waits.iter().any(|(_, targets)| {
            targets
                .as_ref()
                .is_some_and(|ids| ids.iter().all(|&t| self.slot(t).state.is_final()))
        })
    }

    /// Whether `targets` (or every wanted task, for `None`) are final; if nothing can move,
    /// undefined placeholders end as missing, and a true standstill is reported as stalled.
    pub(crate) fn progress(&mut self, targets: Option<&[TaskId]>, fx: &mut Effects) -> Progress {
        loop {
            let pending: Vec<TaskId> = match targets {
                None if self.unfinished == 0 => return Progress::Done,
                None => Vec::new(),
                Some(ids) => {
                    let p: Vec<TaskId> = ids
                        .iter()
                        .copied()
                        .filter(|&t| !self.slot(t).state.is_final())
                        .collect();
                    if p.is_empty() {
                        return Progress::Done;
                    }
                    p
                }
            };
            if self.running > self.waiting || self.a_waiter_can_go_on() {
                return Progress::Pending;
            }
            self.dispatch(fx);
            if fx.starts_any() {
                return Progress::Pending;
            }
            if self.wanted_placeholders == 0 {
                let stuck = if targets.is_some() {
                    pending
                } else {
                    self.unfinished_ids()
                };
                return Progress::Stalled(stuck);
            }
            for i in 0..self.slots.len() {
                let id = TaskId::from_index(i);
                let slot = self.slot(id);
                if slot.state == TaskState::Wanted && !slot.defined() {
                    self.end_unrun(id, TaskState::Failed, Reason::Missing, fx);
                }
            }
        }
    }

    pub(super) fn unfinished_ids(&self) -> Vec<TaskId> {
        (0..self.slots.len())
            .map(TaskId::from_index)
            .filter(|&t| matches!(self.slot(t).state, TaskState::Wanted | TaskState::Running))
            .collect()
    }
}
