//! Identifiers the engine hands out: tasks, named locks and counted resources.

use std::fmt;

/// Identifies a task within one [`Engine`](super::Engine): its position in the order tasks were
/// added, so comparing two ids compares their age.
///
/// ```
/// use parade::engine::{Engine, TaskSpec, Outcome};
/// let engine = Engine::inline();
/// let a = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// let b = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// assert!(a < b);
/// assert_eq!(a.index(), 0);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TaskId(pub(crate) u32);

impl TaskId {
    /// The position of this task in the order tasks were added, starting at 0.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id of the task added at position `index`. Only meaningful for ids of the same engine.
    ///
    /// ```
    /// use parade::engine::TaskId;
    /// assert_eq!(TaskId::from_index(7).index(), 7);
    /// ```
    pub fn from_index(index: usize) -> Self {
        Self(u32::try_from(index).expect("at most u32::MAX tasks in one engine"))
    }
}

/// Drops repeated ids from `ids`, keeping the first of each in place: the new length (the
/// caller truncates). A few ids are compared pairwise; more are marked in a bit per task index
/// when that is no bigger than the ids themselves (a glob's million dependencies), else in a
/// hash set as big as the ids (a few dependencies among many tasks). The flow and the engine both
/// use it, so a dependency list is checked by one rule.
#[inline]
pub(crate) fn dedup_keeping_order(ids: &mut [TaskId]) -> usize {
    // Most tasks have fewer than two dependencies: answered here, without a call.
    if ids.len() < 2 {
        return ids.len();
    }
    dedup_two_or_more(ids)
}

/// [`dedup_keeping_order`] for two ids or more.
fn dedup_two_or_more(ids: &mut [TaskId]) -> usize {
    let mut keep = 0;
    if ids.len() <= 8 {
        for i in 0..ids.len() {
            if !ids[..keep].contains(&ids[i]) {
                ids[keep] = ids[i];
                keep += 1;
            }
        }
        return keep;
    }
    let words = ids.iter().map(|id| id.index() / 64 + 1).max().unwrap_or(0);
    if words <= ids.len() {
        let mut seen = vec![0_u64; words];
        for i in 0..ids.len() {
            let (word, bit) = (ids[i].index() / 64, 1_u64 << (ids[i].index() % 64));
            if seen[word] & bit == 0 {
                seen[word] |= bit;
                ids[keep] = ids[i];
                keep += 1;
            }
        }
    } else {
        let mut seen = foldhash::HashSet::with_capacity_and_hasher(
            ids.len(),
            foldhash::fast::RandomState::default(),
        );
        for i in 0..ids.len() {
            if seen.insert(ids[i]) {
                ids[keep] = ids[i];
                keep += 1;
            }
        }
    }
    keep
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task #{}", self.0)
    }
}

/// A named lock: tasks that hold the same lock never run at the same time.
///
/// Get one with [`Engine::lock`](super::Engine::lock); the same name always gives the same id.
///
/// ```
/// use parade::engine::Engine;
/// let engine = Engine::inline();
/// assert_eq!(engine.lock("db"), engine.lock("db"));
/// assert_ne!(engine.lock("db"), engine.lock("cache"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct LockId(pub(crate) u32);

/// A counted resource: a capacity (`gpu = 2`) that the tasks running at one time never use
/// more of than it has. A task says how much it uses with
/// [`TaskSpec::uses`](super::TaskSpec::uses); a [`LockId`] is the capacity-1 case.
///
/// Get one with [`Engine::resource`](super::Engine::resource); the same name always gives the
/// same id. Resource names and lock names are separate.
///
/// ```
/// use parade::engine::Engine;
/// let engine = Engine::inline();
/// assert_eq!(engine.resource("gpu", 2), engine.resource("gpu", 2));
/// assert_ne!(engine.resource("gpu", 2), engine.resource("licence", 1));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ResourceId(pub(crate) u32);

#[cfg(test)]
mod tests {
    use super::{TaskId, dedup_keeping_order};

    fn deduped(ids: &[usize]) -> Vec<usize> {
        let mut ids: Vec<TaskId> = ids.iter().map(|&i| TaskId::from_index(i)).collect();
        let n = dedup_keeping_order(&mut ids);
        ids[..n].iter().map(|id| id.index()).collect()
    }

    #[test]
    fn repeats_go_and_the_first_of_each_stays_in_place_by_every_rule() {
        // Pairwise (few), a bit per index (dense), a hash set (sparse among many tasks).
        assert_eq!(deduped(&[3, 1, 3, 2, 1]), [3, 1, 2]);
        let dense: Vec<usize> = (0..100).chain((0..100).rev()).collect();
        assert_eq!(deduped(&dense), (0..100).collect::<Vec<_>>());
        let sparse = [900_000, 5, 900_000, 7, 5, 1_000_000, 7, 8, 9, 10, 11];
        assert_eq!(deduped(&sparse), [900_000, 5, 7, 1_000_000, 8, 9, 10, 11]);
        assert!(deduped(&[]).is_empty());
    }
}
