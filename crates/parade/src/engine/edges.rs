//! The graph's edge lists, packed: every task's dependencies (or dependents) are a range of one
//! arena of task ids, so a task pays 8 bytes for a list plus 4 per edge, and no allocation of
//! its own.
//!
//! A list lives in a block whose capacity is the smallest size class at or above its length:
//! 1, 2, 3, 4, 6, 8, 12, 16, 24, ... (the powers of two and the halfway points between them;
//! the capacity is never stored: it follows from the length). A list that outgrows its block
//! moves to the next class, at most twice as large; the old block goes on a free list of its
//! size, and the next list needing a block of that size takes it, so growing lists (a task's
//! dependents grow as dependents are added) waste no more than their own rounding up, a third
//! of their length at most (three dependencies take three ids, not four). A free block's first
//! id holds the start of the next free block of its size. The arena itself does not double:
//! it grows to what the tasks it expects (told by [`Arena::expect`]) will need at the rate of
//! edges so far (at most twice its size), or by an eighth when that is reached, so its unused
//! tail stays small.
//!
//! This module knows ids and ranges; it does not know what an edge means (see
//! [`core`](super::core)). Hand-written because the known crates give each list its own
//! allocation (`smallvec`, `tinyvec` spill to the heap per list), which is what this avoids.

use super::TaskId;

/// Marks the end of a free list.
const NONE: u32 = u32::MAX;

/// One list of ids in an [`Arena`]: where its block starts and how many ids it holds.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct List {
    start: u32,
    len: u32,
}

impl List {
    /// How many ids it holds.
    pub(crate) fn len(self) -> usize {
        self.len as usize
    }

    /// Whether it holds no id.
    pub(crate) fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// Many lists of task ids in one vector (see the module doc; the tests below show its use).
pub(crate) struct Arena {
    ids: Vec<TaskId>,
    /// The first free block of each size class (class `k` holds blocks of [`capacity`]`(k)`
    /// ids).
    free: [u32; CLASSES],
    /// Tasks there are, and tasks there is room for ([`Arena::expect`]).
    tasks: (usize, usize),
}

impl Default for Arena {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            free: [NONE; CLASSES],
            tasks: (0, 0),
        }
    }
}

/// How many size classes there are: enough for a list of `u32::MAX` ids.
const CLASSES: usize = 64;

/// How many ids a block of class `class` holds: 1, 2, 3, 4, 6, 8, 12, 16, ... (class `2e - 1`
/// holds `2^e`, class `2e` holds `3 * 2^(e - 1)`).
fn capacity(class: u32) -> u64 {
    match class {
        0 => 1,
        k if k % 2 == 1 => 1 << k.div_ceil(2),
        k => 3 << (k / 2 - 1),
    }
}

/// The size class of the block a list of `len` ids lives in: the smallest whose capacity
/// holds `len` (`None` for no block).
fn class_of(len: u32) -> Option<u32> {
    if len == 0 {
        return None;
    }
    let pow = u64::from(len).next_power_of_two();
    let e = pow.trailing_zeros();
    Some(if e >= 2 && u64::from(len) <= pow / 4 * 3 {
        2 * e - 2
    } else {
        (2 * e).saturating_sub(1)
    })
}

impl Arena {
    /// Says how many tasks there are and how many there is room for: when the arena grows,
    /// it grows to what that many tasks will need at the rate of edges per task so far.
    #[inline]
    pub(crate) fn expect(&mut self, tasks: usize, room: usize) {
        self.tasks = (tasks, room);
    }

    /// The ids of `list`, in the order they were added.
    pub(crate) fn get(&self, list: List) -> &[TaskId] {
        let start = list.start as usize;
        &self.ids[start..start + list.len as usize]
    }

    /// Takes a free block of class `class`, or makes one at the end.
    fn alloc(&mut self, class: u32) -> u32 {
        let head = self.free[class as usize];
        if head != NONE {
            self.free[class as usize] = self.ids[head as usize].0;
            return head;
        }
        let start = self.ids.len();
        let end = start + usize::try_from(capacity(class)).expect("a block fits in memory");
        if end > self.ids.capacity() {
            // Not doubled: the arena is the largest table of a graph with many edges, and its
            // unused tail is memory too. Grown to what the tasks expected will need at the
            // rate so far (twice at most), or by an eighth once that is reached (a rate that
            // rose late), so reallocations stay few.
            let (tasks, room) = self.tasks;
            // A thirty-second more: a task's dependents come after it, so the rate so far
            // lags a little.
            let at_rate = start.saturating_mul(room).checked_div(tasks).unwrap_or(0);
            let expected = at_rate + at_rate / 32;
            let want = if expected >= end && expected >= start + start / 64 {
                expected.min(start * 2).max(end)
            } else {
                (start + start / 8).max(end)
            };
            self.ids.reserve_exact(want - start);
        }
        self.ids.resize(end, TaskId(NONE));
        u32::try_from(start).expect("at most u32::MAX edges in one engine")
    }

    /// Gives a block back for reuse.
    fn release(&mut self, start: u32, class: u32) {
        self.ids[start as usize] = TaskId(self.free[class as usize]);
        self.free[class as usize] = start;
    }

    /// A new list holding `ids`.
    pub(crate) fn list_from(&mut self, ids: &[TaskId]) -> List {
        let len = u32::try_from(ids.len()).expect("at most u32::MAX edges of one task");
        let Some(class) = class_of(len) else {
            return List::default();
        };
        let start = self.alloc(class);
        self.ids[start as usize..start as usize + ids.len()].copy_from_slice(ids);
        List { start, len }
    }

    /// Appends `id` to `list`, moving it to a larger block when its block is full.
    pub(crate) fn push(&mut self, list: &mut List, id: TaskId) {
        let full = class_of(list.len).is_none_or(|class| capacity(class) == u64::from(list.len));
        if full {
            let class = class_of(list.len + 1).expect("a list of at least one id");
            let start = self.alloc(class);
            let (from, len) = (list.start as usize, list.len as usize);
            self.ids.copy_within(from..from + len, start as usize);
            if let Some(old) = class_of(list.len) {
                self.release(list.start, old);
            }
            list.start = start;
        }
        self.ids[(list.start + list.len) as usize] = id;
        list.len += 1;
    }

    /// Ids the arena holds room for (for tests of how much it wastes).
    #[cfg(test)]
    fn room(&self) -> usize {
        self.ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_are_the_powers_of_two_and_the_halfway_points() {
        let caps: Vec<u64> = (0..10).map(capacity).collect();
        assert_eq!(caps, [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]);
        for len in 1..=2000_u32 {
            let class = class_of(len).unwrap();
            assert!(capacity(class) >= u64::from(len), "{len} fits its class");
            assert!(
                class == 0 || capacity(class - 1) < u64::from(len),
                "{len} takes the smallest class that fits"
            );
        }
        let top = class_of(u32::MAX).unwrap();
        assert!((top as usize) < CLASSES && capacity(top) >= u64::from(u32::MAX));
        assert_eq!(class_of(0), None);
    }

    fn ids(range: std::ops::Range<u32>) -> Vec<TaskId> {
        range.map(TaskId).collect()
    }

    #[test]
    fn lists_keep_their_order_while_they_grow_side_by_side() {
        let mut arena = Arena::default();
        let mut a = arena.list_from(&ids(0..3));
        let mut b = List::default();
        for i in 0..100 {
            arena.push(&mut a, TaskId(1000 + i));
            arena.push(&mut b, TaskId(i));
        }
        let mut want_a = ids(0..3);
        want_a.extend(ids(1000..1100));
        assert_eq!(arena.get(a), want_a);
        assert_eq!(arena.get(b), ids(0..100));
        assert_eq!((a.len(), b.len()), (103, 100));
        assert!(List::default().is_empty() && arena.get(List::default()).is_empty());
    }

    #[test]
    fn blocks_a_list_outgrew_are_reused() {
        let mut arena = Arena::default();
        // 1000 lists, each growing to 3 ids one at a time: the blocks of 1 and 2 ids a list
        // outgrows are taken by the next list, so the arena holds the final blocks (3 ids
        // each) and one block of each smaller size.
        let mut lists = vec![List::default(); 1000];
        for (i, list) in lists.iter_mut().enumerate() {
            for k in 0..3 {
                arena.push(list, TaskId(u32::try_from(i).unwrap() * 10 + k));
            }
        }
        for (i, &list) in lists.iter().enumerate() {
            let base = u32::try_from(i).unwrap() * 10;
            assert_eq!(
                arena.get(list),
                [TaskId(base), TaskId(base + 1), TaskId(base + 2)]
            );
        }
        assert!(
            arena.room() == 1000 * 3 + 1 + 2,
            "arena holds {} ids for 3000 edges",
            arena.room()
        );
    }
}
