//! One started call and the group it reports to: the machinery under every non-scoped form.
//!
//! This module owns [`Pending`], the caller's side of a call running on a
//! [`ThreadCache`] thread, and the group that counts finished and failed calls so the caller can
//! wait for "all", "first failure" or "first completion" with an optional deadline. It also owns
//! what happens to a value that arrives after the caller stopped waiting: it is handed to the
//! call's *late* hook on the call's own thread (dropped for plain calls, released for resources).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::error::Failure;
use crate::exec::thread_cache::{ThreadCache, spin_until};

/// When a join stops waiting, short of a timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Until {
    /// Every call has ended.
    #[default]
    AllDone,
    /// A call has failed (or all ended).
    FirstFailure,
    /// A call has ended.
    FirstCompletion,
}

/// What a call's value goes through when nobody is waiting for it any more.
pub(crate) type Late<R> = fn(R);

/// Counts the finished and failed calls of one join, so the caller can wait on them.
#[derive(Default)]
pub(crate) struct Group {
    state: Mutex<GroupState>,
    changed: Condvar,
    /// `state.done`, readable without the lock, for a short spin before parking.
    done: AtomicUsize,
}

#[derive(Default)]
struct GroupState {
    done: usize,
    failed: usize,
    first_done: Option<usize>,
}

impl Group {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// How many calls have ended so far.
    pub(crate) fn done_count(&self) -> usize {
        self.done.load(Ordering::Acquire)
    }

    fn report(&self, index: usize, failed: bool) {
        let mut st = self.state.lock();
        st.done += 1;
        if failed {
            st.failed += 1;
        }
        st.first_done.get_or_insert(index);
        self.done.store(st.done, Ordering::Release);
        drop(st);
        self.changed.notify_all();
    }

    /// Waits until `total` calls are done, or `until` is met, or `deadline` passes. Returns
    /// whether the deadline passed first, and the index of the first call that finished.
    pub(crate) fn wait(
        &self,
        total: usize,
        until: Until,
        deadline: Option<Instant>,
    ) -> (bool, Option<usize>) {
        if until == Until::AllDone && deadline.is_none() {
            spin_until(|| self.done.load(Ordering::Acquire) >= total);
        }
        let mut st = self.state.lock();
        loop {
            let met = st.done >= total
                || match until {
                    Until::AllDone => false,
                    Until::FirstFailure => st.failed > 0,
                    Until::FirstCompletion => st.done > 0,
                };
            if met {
                return (false, st.first_done);
            }
            match deadline {
                None => self.changed.wait(&mut st),
                Some(d) => {
                    if self.changed.wait_until(&mut st, d).timed_out() {
                        let met_late = st.done >= total;
                        return (!met_late, st.first_done);
                    }
                }
            }
        }
    }
}

enum SlotState<R, E> {
    Running,
    Done(Result<R, Failure<E>>),
    /// The caller stopped waiting; the call's thread disposes of its value.
    Abandoned,
}

struct Slot<R, E> {
    state: Mutex<SlotState<R, E>>,
}

/// A call that has started on a thread of its own; the caller's handle to its outcome.
///
/// You meet this type only inside the type of a [`Calls`](super::Calls) builder. Dropping it
/// abandons the call: it keeps running and its value is dropped (or released) when it ends.
pub struct Pending<R, E> {
    slot: Arc<Slot<R, E>>,
    late: Late<R>,
}

impl<R: Send + 'static, E: Send + 'static> Pending<R, E> {
    /// Starts `body` now on `cache` as call `index` of `group`.
    pub(crate) fn start<F>(
        cache: &ThreadCache,
        group: &Arc<Group>,
        index: usize,
        late: Late<R>,
        body: F,
    ) -> Self
    where
        F: FnOnce() -> Result<R, E> + Send + 'static,
    {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::Running),
        });
        let for_call = Arc::clone(&slot);
        let group_for_call = Arc::clone(group);
        cache.execute(move || {
            let outcome = match catch_unwind(AssertUnwindSafe(body)) {
                Ok(outcome) => outcome.map_err(Failure::Error),
                Err(payload) => Err(Failure::Panic(payload.into())),
            };
            let failed = outcome.is_err();
            let mut state = for_call.state.lock();
            if matches!(*state, SlotState::Abandoned) {
                drop(state);
                if let Ok(value) = outcome {
                    late(value);
                }
            } else {
                *state = SlotState::Done(outcome);
                drop(state);
            }
            group_for_call.report(index, failed);
        });
        Self { slot, late }
    }
}

impl<R, E> Pending<R, E> {
    /// Takes the outcome if the call is done, else marks it abandoned and says
    /// [`Failure::Unfinished`]. Either way the caller is done with this call.
    pub(crate) fn finish(&self) -> Result<R, Failure<E>> {
        let mut state = self.slot.state.lock();
        match std::mem::replace(&mut *state, SlotState::Abandoned) {
            SlotState::Done(outcome) => outcome,
            SlotState::Running | SlotState::Abandoned => Err(Failure::Unfinished),
        }
    }

    /// Whether the call has ended.
    pub(crate) fn is_done(&self) -> bool {
        matches!(*self.slot.state.lock(), SlotState::Done(_))
    }
}

impl<R, E> Drop for Pending<R, E> {
    fn drop(&mut self) {
        let mut state = self.slot.state.lock();
        if let SlotState::Done(Ok(value)) = std::mem::replace(&mut *state, SlotState::Abandoned) {
            drop(state);
            (self.late)(value);
        }
    }
}

impl<R, E> std::fmt::Debug for Pending<R, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("done", &self.is_done())
            .finish()
    }
}
