//! [`Slot`]: one task's scheduling record, packed into 28 bytes, since an engine keeps one per
//! task for as long as it lives (a million tasks, 28 MB).
//!
//! The state and four flags take two bytes; the edge lists are ranges of an
//! [`Arena`](super::edges::Arena) (8 bytes each); two words hold, while the task is unfinished,
//! how many dependencies it still waits for and the index of its job and constraints in
//! [`Pending`](super::pending::Pending), and once it is final how long it ran (those are never
//! needed at the same time). What few tasks have lives out of line in [`Core`](super::core):
//! reasons (a map holding only tasks that have one) and waves (a vector that exists only once
//! some task is in a wave above 0).
//!
//! This module knows the layout of a record; what the states mean is the core's.

use std::time::Duration;

use super::TaskState;
use super::edges::List;

const NO_FAILURES: u8 = 1;
const DEFINED: u8 = 2;
const ACTIVE: u8 = 4;
const CANCEL_REQUESTED: u8 = 8;
const WATCHED: u8 = 16;

/// No entry in the pending slab.
pub(super) const NO_ENTRY: u32 = u32::MAX;

/// One task's scheduling record (see the module doc).
pub(super) struct Slot {
    pub(super) state: TaskState,
    flags: u8,
    pub(super) deps: List,
    pub(super) dependents: List,
    /// Unfinished: how many dependencies have not succeeded yet. Final: the duration's low
    /// 32 bits (nanoseconds).
    a: u32,
    /// Unfinished: the entry in the pending slab. Final: the duration's high 32 bits.
    b: u32,
}

impl Slot {
    /// An idle task's record.
    pub(super) fn new(deps: List, entry: u32, defined: bool, no_failures: bool) -> Self {
        let mut slot = Self {
            state: TaskState::Idle,
            flags: 0,
            deps,
            dependents: List::default(),
            a: 0,
            b: entry,
        };
        slot.set(DEFINED, defined);
        slot.set(NO_FAILURES, no_failures);
        slot
    }

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Defined (has or had a job), as opposed to a placeholder.
    pub(super) fn defined(&self) -> bool {
        self.has(DEFINED)
    }

    pub(super) fn set_defined(&mut self, on: bool) {
        self.set(DEFINED, on);
    }

    pub(super) fn no_failures(&self) -> bool {
        self.has(NO_FAILURES)
    }

    pub(super) fn set_no_failures(&mut self, on: bool) {
        self.set(NO_FAILURES, on);
    }

    /// Counted in the ready set's active tasks: wanted with nothing blocking it, or running.
    pub(super) fn active(&self) -> bool {
        self.has(ACTIVE)
    }

    pub(super) fn set_active(&mut self, on: bool) {
        self.set(ACTIVE, on);
    }

    pub(super) fn cancel_requested(&self) -> bool {
        self.has(CANCEL_REQUESTED)
    }

    pub(super) fn request_cancel(&mut self) {
        self.set(CANCEL_REQUESTED, true);
    }

    /// Someone outside the engine waits for this task: its end wakes waiters.
    pub(super) fn watched(&self) -> bool {
        self.has(WATCHED)
    }

    pub(super) fn watch(&mut self) {
        self.set(WATCHED, true);
    }

    /// For a wanted task: how many dependencies have not succeeded yet.
    pub(super) fn blocked(&self) -> u32 {
        debug_assert!(!self.state.is_final());
        self.a
    }

    pub(super) fn set_blocked(&mut self, blocked: u32) {
        debug_assert!(!self.state.is_final());
        self.a = blocked;
    }

    /// The task's entry in the pending slab ([`NO_ENTRY`] once final).
    pub(super) fn entry(&self) -> u32 {
        if self.state.is_final() {
            NO_ENTRY
        } else {
            self.b
        }
    }

    /// Makes the task final: its state, and how long it ran (its entry must have been taken).
    pub(super) fn end(&mut self, state: TaskState, duration: Duration) {
        debug_assert!(state.is_final());
        // u64 arithmetic, saturating as `as_nanos` then a checked narrowing would (without
        // the u128 product).
        let nanos = duration
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(duration.subsec_nanos()));
        self.state = state;
        self.a = (nanos & 0xffff_ffff) as u32;
        self.b = (nanos >> 32) as u32;
    }

    /// How long it ran (zero unless it is final and ran).
    pub(super) fn duration(&self) -> Duration {
        if self.state.is_final() {
            Duration::from_nanos(u64::from(self.a) | (u64::from(self.b) << 32))
        } else {
            Duration::ZERO
        }
    }

    pub(super) fn should_be_active(&self) -> bool {
        (self.state == TaskState::Wanted && self.a == 0 && self.defined())
            || self.state == TaskState::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_small_and_keeps_what_each_phase_needs() {
        assert!(std::mem::size_of::<Slot>() <= 28);
        let mut s = Slot::new(List::default(), 7, true, false);
        assert!(s.defined() && !s.no_failures() && !s.active());
        s.state = TaskState::Wanted;
        s.set_blocked(3);
        assert_eq!((s.blocked(), s.entry()), (3, 7));
        assert_eq!(s.duration(), Duration::ZERO);
        let long = Duration::from_secs(3 * 3600) + Duration::from_nanos(5);
        s.end(TaskState::Succeeded, long);
        assert_eq!((s.duration(), s.entry()), (long, NO_ENTRY));
        assert!(s.defined(), "flags survive the end");
        let mut t = Slot::new(List::default(), 0, true, false);
        t.end(TaskState::Succeeded, Duration::MAX);
        assert_eq!(t.duration(), Duration::from_nanos(u64::MAX), "saturates");
    }
}
