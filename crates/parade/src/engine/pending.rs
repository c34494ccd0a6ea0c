//! What a task needs only until it ends: its job (until it starts), and the rarer constraints
//! read when it starts and ends (counted resources and locks, a time limit). They live in a
//! slab indexed from the task's record, so a task that has ended keeps none of it, and a task
//! with no constraint pays no allocation for them.
//!
//! Entries are reused as tasks end; when no task holds one, the slab gives its memory back, so
//! an engine whose run is over keeps nothing here. This module does not know states or edges.

use std::time::Duration;

use super::JobBox;
use super::resources::{Use, Uses};

/// Constraints most tasks do not have: kept out of line, only for tasks that do.
#[derive(Default)]
pub(crate) struct Extra {
    pub(crate) uses: Uses,
    pub(crate) timeout: Option<Duration>,
}

/// One unfinished task's job and constraints.
pub(crate) struct Entry {
    pub(crate) job: Option<JobBox>,
    pub(crate) extra: Option<Box<Extra>>,
}

impl Entry {
    /// A task's entry from its parts (`extra` only when it has a constraint).
    pub(crate) fn new(job: Option<JobBox>, uses: Uses, timeout: Option<Duration>) -> Self {
        let extra =
            (!uses.is_empty() || timeout.is_some()).then(|| Box::new(Extra { uses, timeout }));
        Self { job, extra }
    }

    /// What it uses while it runs.
    pub(crate) fn uses(&self) -> &[Use] {
        self.extra.as_ref().map_or(&[], |e| &e.uses)
    }

    /// Its time limit.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.extra.as_ref().and_then(|e| e.timeout)
    }
}

/// The entries of unfinished tasks, by index.
#[derive(Default)]
pub(crate) struct Pending {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
}

impl Pending {
    /// Room for `more` entries beyond the free ones, without growing on the way.
    pub(crate) fn reserve(&mut self, more: usize) {
        self.entries.reserve(more.saturating_sub(self.free.len()));
    }

    /// Keeps `entry`, returning its index.
    pub(crate) fn insert(&mut self, entry: Entry) -> u32 {
        if let Some(i) = self.free.pop() {
            self.entries[i as usize] = Some(entry);
            return i;
        }
        let i = u32::try_from(self.entries.len()).expect("at most u32::MAX unfinished tasks");
        self.entries.push(Some(entry));
        i
    }

    pub(crate) fn get(&self, i: u32) -> &Entry {
        self.entries[i as usize]
            .as_ref()
            .expect("an unfinished task's entry")
    }

    pub(crate) fn get_mut(&mut self, i: u32) -> &mut Entry {
        self.entries[i as usize]
            .as_mut()
            .expect("an unfinished task's entry")
    }

    /// Drops entry `i`; once none is left, the slab's memory is given back.
    pub(crate) fn remove(&mut self, i: u32) -> Entry {
        let entry = self.entries[i as usize]
            .take()
            .expect("an unfinished task's entry");
        self.free.push(i);
        if self.free.len() == self.entries.len() {
            self.entries = Vec::new();
            self.free = Vec::new();
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_reused_and_the_slab_empties() {
        let mut p = Pending::default();
        let a = p.insert(Entry::new(None, Uses::new(), None));
        let b = p.insert(Entry::new(None, Uses::new(), Some(Duration::from_secs(1))));
        assert!(p.get(a).extra.is_none(), "no constraint, no allocation");
        assert_eq!(p.get(b).timeout(), Some(Duration::from_secs(1)));
        p.remove(a);
        let c = p.insert(Entry::new(None, Uses::new(), None));
        assert_eq!(c, a, "a freed entry is taken again");
        p.remove(b);
        p.remove(c);
        assert_eq!(
            p.entries.capacity(),
            0,
            "nothing kept once every task ended"
        );
    }
}
