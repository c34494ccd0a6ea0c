//! The graph's edge lists, packed: every task's dependencies (or dependents) are a range of one
//! arena of task ids, so a task pays 8 bytes for a list plus 4 per edge, and no allocation of
//! its own.
//!
//! A list lives in a block whose capacity is the power of two at or above its length (the
//! capacity is never stored: it follows from the length). A list that outgrows its block moves
//! to a block twice as large; the old block goes on a free list of its size, and the next list
//! needing a block of that size takes it, so growing lists (a task's dependents grow as
//! dependents are added) waste no more than their own rounding up. A free block's first id
//! holds the start of the next free block of its size.
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
    /// The first free block of each size class (class `k` holds blocks of `2^k` ids).
    free: [u32; 33],
}

impl Default for Arena {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            free: [NONE; 33],
        }
    }
}

/// The size class of the block a list of `len` ids lives in (`None` for no block).
fn class_of(len: u32) -> Option<u32> {
    (len > 0).then(|| len.next_power_of_two().trailing_zeros())
}

impl Arena {
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
        self.ids.resize(start + (1 << class), TaskId(NONE));
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
        let full = list.len == 0 || list.len.is_power_of_two();
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
        // outgrows are taken by the next list, so the arena holds the final blocks (4 ids
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
            arena.room() == 1000 * 4 + 1 + 2,
            "arena holds {} ids for 3000 edges",
            arena.room()
        );
    }
}
