//! The ready set: wanted tasks whose dependencies are done, ordered by wave and then by age,
//! and the per-wave count of active tasks that decides which wave may start.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::TaskId;

/// Ready tasks by wave, oldest first within a wave, and how many tasks of each wave are active
/// (ready, parked on a lock, or running).
///
/// Entries may be stale (a task that gained a dependency after it became ready); whoever pops
/// checks the task is still ready.
#[derive(Default)]
pub(crate) struct ReadySet {
    queues: BTreeMap<u32, BinaryHeap<Reverse<TaskId>>>,
    active: BTreeMap<u32, usize>,
}

impl ReadySet {
    /// Adds `id` to the queue of its wave.
    pub(crate) fn push(&mut self, wave: u32, id: TaskId) {
        self.queues.entry(wave).or_default().push(Reverse(id));
    }

    /// Counts one more active task in `wave`.
    pub(crate) fn activate(&mut self, wave: u32) {
        *self.active.entry(wave).or_default() += 1;
    }

    /// Counts one fewer active task in `wave`.
    pub(crate) fn deactivate(&mut self, wave: u32) {
        let count = self
            .active
            .get_mut(&wave)
            .expect("deactivating a wave with no active task");
        *count -= 1;
        if *count == 0 {
            self.active.remove(&wave);
        }
    }

    /// The lowest wave with an active task: only its tasks may start.
    pub(crate) fn lowest_active_wave(&self) -> Option<u32> {
        self.active.keys().next().copied()
    }

    /// Takes the oldest queued task of `wave`.
    pub(crate) fn pop(&mut self, wave: u32) -> Option<TaskId> {
        let queue = self.queues.get_mut(&wave)?;
        let Reverse(id) = queue.pop()?;
        if queue.is_empty() {
            self.queues.remove(&wave);
        }
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_oldest_first_and_tracks_lowest_active_wave() {
        let mut r = ReadySet::default();
        for (wave, i) in [(1, 5), (0, 3), (0, 1)] {
            r.activate(wave);
            r.push(wave, TaskId(i));
        }
        assert_eq!(r.lowest_active_wave(), Some(0));
        assert_eq!(r.pop(0), Some(TaskId(1)));
        assert_eq!(r.pop(0), Some(TaskId(3)));
        assert_eq!(r.pop(0), None);
        r.deactivate(0);
        assert_eq!(r.lowest_active_wave(), Some(0));
        r.deactivate(0);
        assert_eq!(r.lowest_active_wave(), Some(1));
        assert_eq!(r.pop(1), Some(TaskId(5)));
    }
}
