//! Counted resources: named capacities (`gpu = 2`), what each task uses of them while it runs,
//! and the tasks parked until enough is free. A named lock is the capacity-1 resource used 1 at
//! a time, so locks and counted resources share this one table and one code path.
//!
//! This module knows capacities, amounts and parked task ids; it does not know task states,
//! waves or the ready set: the [`Core`](super::core) decides what a woken task does next.

use std::collections::{HashMap, VecDeque};

use smallvec::SmallVec;

use super::{LockId, ResourceId, TaskId};

/// One use of a resource by a task: which resource (index into the table) and how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Use {
    pub(crate) resource: u32,
    pub(crate) amount: u32,
}

/// What a task uses while it runs; most tasks use nothing or one lock.
pub(crate) type Uses = SmallVec<[Use; 1]>;

/// Adds `amount` of `resource` to `uses`, summing repeated uses of one resource.
pub(crate) fn add_use(uses: &mut Uses, resource: u32, amount: u32) {
    match uses.iter_mut().find(|u| u.resource == resource) {
        Some(u) => u.amount = u.amount.saturating_add(amount),
        None => uses.push(Use { resource, amount }),
    }
}

/// One resource: its capacity, how much running tasks hold, and who waits for it (oldest
/// first, with what each needs of it).
struct Slot {
    /// A counted resource's name (`None` for a lock).
    name: Option<std::sync::Arc<str>>,
    capacity: u32,
    in_use: u32,
    parked: VecDeque<(TaskId, u32)>,
}

/// Every resource and lock of one engine.
#[derive(Default)]
pub(crate) struct Resources {
    slots: Vec<Slot>,
    locks: HashMap<String, u32>,
    counted: HashMap<String, u32>,
}

impl Resources {
    fn push(&mut self, capacity: u32, name: Option<&str>) -> u32 {
        let index = u32::try_from(self.slots.len()).expect("at most u32::MAX resources");
        self.slots.push(Slot {
            name: name.map(std::sync::Arc::from),
            capacity,
            in_use: 0,
            parked: VecDeque::new(),
        });
        index
    }

    /// The lock named `name` (a resource of capacity 1), made on first use.
    pub(crate) fn lock(&mut self, name: &str) -> LockId {
        if let Some(&i) = self.locks.get(name) {
            return LockId(i);
        }
        let i = self.push(1, None);
        self.locks.insert(name.to_owned(), i);
        LockId(i)
    }

    /// The counted resource named `name`, with its capacity set to `capacity` (made on first
    /// use). Returns whether the capacity grew (parked tasks may fit now).
    pub(crate) fn resource(&mut self, name: &str, capacity: u32) -> (ResourceId, bool) {
        if let Some(&i) = self.counted.get(name) {
            let slot = &mut self.slots[i as usize];
            let grew = capacity > slot.capacity;
            slot.capacity = capacity;
            return (ResourceId(i), grew);
        }
        let i = self.push(capacity, Some(name));
        self.counted.insert(name.to_owned(), i);
        (ResourceId(i), false)
    }

    /// The counted resource named `name`, if it was made.
    pub(crate) fn find(&self, name: &str) -> Option<ResourceId> {
        self.counted.get(name).map(|&i| ResourceId(i))
    }

    /// Whether `index` names a resource of this table.
    pub(crate) fn exists(&self, index: u32) -> bool {
        (index as usize) < self.slots.len()
    }

    /// The capacity of resource `index`.
    pub(crate) fn capacity(&self, index: u32) -> u32 {
        self.slots[index as usize].capacity
    }

    /// The counted resources in `uses`, by name, with their amounts (locks are left out: they
    /// only order tasks of this engine). What an executor that packs tasks into its own
    /// slots (Slurm pilots) matches against what each slot offers.
    pub(crate) fn counted_uses(&self, uses: &[Use]) -> Vec<(String, u32)> {
        uses.iter()
            .filter_map(|u| {
                let name = self.slots[u.resource as usize].name.as_deref()?;
                Some((name.to_owned(), u.amount))
            })
            .collect()
    }

    /// The first use that does not fit in what is free now, if any.
    pub(crate) fn lacking(&self, uses: &[Use]) -> Option<Use> {
        uses.iter().copied().find(|u| {
            let slot = &self.slots[u.resource as usize];
            slot.in_use + u.amount > slot.capacity
        })
    }

    /// Parks `id` until `lack`'s resource has room (after [`Resources::lacking`] said so).
    pub(crate) fn park(&mut self, id: TaskId, lack: Use) {
        self.slots[lack.resource as usize]
            .parked
            .push_back((id, lack.amount));
    }

    /// Takes everything in `uses` (which must fit: see [`Resources::lacking`]).
    pub(crate) fn acquire(&mut self, uses: &[Use]) {
        for u in uses {
            let slot = &mut self.slots[u.resource as usize];
            slot.in_use += u.amount;
            debug_assert!(slot.in_use <= slot.capacity, "a resource over its capacity");
        }
    }

    /// Gives back everything in `uses`, and wakes the parked tasks that fit in what is free
    /// now, oldest first; `still_waiting` says whether a parked id still wants to start (stale
    /// entries are dropped). A woken task is not promised its share: it checks again when it
    /// is popped, and parks again if someone else took the room first.
    pub(crate) fn release(
        &mut self,
        uses: &[Use],
        mut still_waiting: impl FnMut(TaskId) -> bool,
        woken: &mut Vec<TaskId>,
    ) {
        for u in uses {
            let slot = &mut self.slots[u.resource as usize];
            slot.in_use -= u.amount;
            Self::wake(slot, &mut still_waiting, woken);
        }
    }

    /// Wakes the parked tasks of resource `index` that fit now (after its capacity grew).
    pub(crate) fn wake_index(
        &mut self,
        index: u32,
        mut still_waiting: impl FnMut(TaskId) -> bool,
        woken: &mut Vec<TaskId>,
    ) {
        Self::wake(&mut self.slots[index as usize], &mut still_waiting, woken);
    }

    fn wake(
        slot: &mut Slot,
        still_waiting: &mut impl FnMut(TaskId) -> bool,
        woken: &mut Vec<TaskId>,
    ) {
        let mut free = slot.capacity.saturating_sub(slot.in_use);
        while let Some(&(id, amount)) = slot.parked.front() {
            if !still_waiting(id) {
                slot.parked.pop_front();
                continue;
            }
            if amount > free {
                break; // first come, first served: a big use is not overtaken forever
            }
            free -= amount;
            slot.parked.pop_front();
            woken.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_and_counted_resources_have_their_own_names() {
        let mut r = Resources::default();
        let lock = r.lock("gpu");
        let (gpu, _) = r.resource("gpu", 2);
        assert_ne!(lock.0, gpu.0);
        assert_eq!(r.lock("gpu"), lock);
        assert_eq!((r.capacity(lock.0), r.capacity(gpu.0)), (1, 2));
        assert!(r.resource("gpu", 3).1, "the capacity grew");
    }

    #[test]
    fn release_wakes_the_oldest_parked_that_fit() {
        let mut r = Resources::default();
        let (gpu, _) = r.resource("gpu", 2);
        let all = [Use {
            resource: gpu.0,
            amount: 2,
        }];
        let one = |n| Use {
            resource: gpu.0,
            amount: n,
        };
        r.acquire(&all);
        assert_eq!(r.lacking(&[one(1)]), Some(one(1)));
        r.park(TaskId(1), one(1));
        r.park(TaskId(2), one(2));
        r.park(TaskId(3), one(1));
        let mut woken = Vec::new();
        r.release(&all, |_| true, &mut woken);
        // 1 fits; 2 needs both units and waits, and 3 does not overtake it.
        assert_eq!(woken, [TaskId(1)]);
        let mut woken = Vec::new();
        r.wake_index(gpu.0, |id| id != TaskId(2), &mut woken);
        assert_eq!(woken, [TaskId(3)], "a stale entry is dropped");
    }
}
