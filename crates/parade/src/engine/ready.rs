//! The ready set: wanted tasks whose dependencies are done, ordered by wave and then by age,
//! and the per-wave count of active tasks that decides which wave may start.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::TaskId;

/// One wave's ready tasks, oldest first. Tasks mostly become ready in the order they were
/// added (independent tasks, a layer after the one before), so ids that come in rising order
/// go to a plain queue, O(1) each, and only ids older than the newest queued one go to a
/// heap; popping takes the older of the two fronts. The plain queue holds runs of consecutive
/// ids, one entry per run: a hundred thousand independent tasks made ready at once are one
/// entry, not 400 KB of ids.
#[derive(Default)]
struct Queue {
    rising: VecDeque<Run>,
    older: BinaryHeap<Reverse<TaskId>>,
}

/// The ids `first`, `first + 1`, ..., `last`.
#[derive(Clone, Copy)]
struct Run {
    first: u32,
    last: u32,
}

impl Queue {
    #[inline]
    fn push(&mut self, id: TaskId) {
        match self.rising.back_mut() {
            Some(run) if run.last.checked_add(1) == Some(id.0) => run.last = id.0,
            Some(run) if run.last >= id.0 => self.older.push(Reverse(id)),
            _ => self.rising.push_back(Run {
                first: id.0,
                last: id.0,
            }),
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<TaskId> {
        match (self.rising.front_mut(), self.older.peek()) {
            (Some(run), Some(&Reverse(b))) if b.0 < run.first => self.older.pop().map(|r| r.0),
            (Some(run), _) => {
                let id = TaskId(run.first);
                if run.first == run.last {
                    self.rising.pop_front();
                } else {
                    run.first += 1;
                }
                Some(id)
            }
            (None, _) => self.older.pop().map(|r| r.0),
        }
    }

    fn is_empty(&self) -> bool {
        self.rising.is_empty() && self.older.is_empty()
    }
}

/// A wave with ready or active tasks.
struct Wave {
    number: u32,
    active: usize,
    queue: Queue,
}

/// Ready tasks by wave, oldest first within a wave, and how many tasks of each wave are active
/// (ready, parked on a lock, or running).
///
/// Entries may be stale (a task that gained a dependency after it became ready); whoever pops
/// checks the task is still ready. Waves are few (most runs have one), so they are a vector
/// sorted by wave, not a map.
#[derive(Default)]
pub(crate) struct ReadySet {
    waves: Vec<Wave>,
    /// The queue of the last wave that emptied, kept with its memory for the next wave made:
    /// a chain empties its wave after every task, and would otherwise free and allocate a
    /// queue per task.
    spare: Queue,
}

impl ReadySet {
    /// The entry of `wave`, made if missing.
    #[inline]
    fn entry(&mut self, wave: u32) -> &mut Wave {
        let at = match self.waves.binary_search_by_key(&wave, |w| w.number) {
            Ok(at) => at,
            Err(at) => {
                self.waves.insert(
                    at,
                    Wave {
                        number: wave,
                        active: 0,
                        queue: std::mem::take(&mut self.spare),
                    },
                );
                at
            }
        };
        &mut self.waves[at]
    }

    /// Drops the entry at `at` once it holds nothing.
    #[inline]
    fn tidy(&mut self, at: usize) {
        let w = &self.waves[at];
        if w.active == 0 && w.queue.is_empty() {
            self.spare = self.waves.remove(at).queue;
        }
    }

    /// Adds `id` to the queue of its wave.
    #[inline]
    pub(crate) fn push(&mut self, wave: u32, id: TaskId) {
        self.entry(wave).queue.push(id);
    }

    /// Counts one more active task in `wave`.
    #[inline]
    pub(crate) fn activate(&mut self, wave: u32) {
        self.entry(wave).active += 1;
    }

    /// Counts one fewer active task in `wave`.
    #[inline]
    pub(crate) fn deactivate(&mut self, wave: u32) {
        let at = self
            .waves
            .binary_search_by_key(&wave, |w| w.number)
            .expect("deactivating a wave with no active task");
        let w = &mut self.waves[at];
        assert!(w.active > 0, "deactivating a wave with no active task");
        w.active -= 1;
        self.tidy(at);
    }

    /// The lowest wave with an active task: only its tasks may start.
    pub(crate) fn lowest_active_wave(&self) -> Option<u32> {
        self.waves.iter().find(|w| w.active > 0).map(|w| w.number)
    }

    /// Takes the oldest queued task of `wave`.
    #[inline]
    pub(crate) fn pop(&mut self, wave: u32) -> Option<TaskId> {
        let at = self.waves.binary_search_by_key(&wave, |w| w.number).ok()?;
        let id = self.waves[at].queue.pop();
        self.tidy(at);
        id
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

    #[test]
    fn ids_out_of_order_still_pop_oldest_first() {
        let mut r = ReadySet::default();
        r.activate(0);
        for i in [4, 7, 2, 9, 3, 8, 1] {
            r.push(0, TaskId(i));
        }
        let popped: Vec<u32> = std::iter::from_fn(|| r.pop(0)).map(|t| t.0).collect();
        assert_eq!(popped, [1, 2, 3, 4, 7, 8, 9]);
    }

    #[test]
    fn consecutive_ids_are_one_entry_and_pop_in_order_with_older_ones() {
        let mut q = Queue::default();
        for i in 10..1000 {
            q.push(TaskId(i));
        }
        assert_eq!(q.rising.len(), 1, "one run");
        q.push(TaskId(5));
        q.push(TaskId(2000));
        q.push(TaskId(2001));
        assert_eq!(q.rising.len(), 2);
        let popped: Vec<u32> = std::iter::from_fn(|| q.pop()).map(|t| t.0).collect();
        let expected: Vec<u32> = std::iter::once(5)
            .chain(10..1000)
            .chain([2000, 2001])
            .collect();
        assert_eq!(popped, expected);
        assert!(q.is_empty());
    }
}
