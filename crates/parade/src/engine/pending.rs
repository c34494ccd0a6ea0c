//! What a task needs only until it ends: its job (until it starts), and the rarer constraints
//! read when it starts and ends (counted resources and locks, a time limit). Jobs live in a
//! slab indexed from the task's record, so a task that has ended keeps none of it; constraints
//! live in a side map beside the slab, holding only the tasks that have one, so a task without
//! any pays one job's 24 bytes here and no allocation.
//!
//! Cells are reused as tasks end: a free cell holds the index of the next free one (the free
//! list costs nothing beside the cells). When no task holds one, the slab gives its memory
//! back, so an engine whose run is over keeps nothing here. This module does not know states
//! or edges.

use std::collections::HashMap;
use std::time::Duration;

use super::JobBox;
use super::resources::{Use, Uses};

/// Marks the end of the free list.
const NONE: u32 = u32::MAX;

/// Constraints most tasks do not have: kept in the side map, only for tasks that do.
#[derive(Default)]
pub(crate) struct Extra {
    pub(crate) uses: Uses,
    pub(crate) timeout: Option<Duration>,
}

impl Extra {
    /// The constraints, if there is any.
    fn of(uses: Uses, timeout: Option<Duration>) -> Option<Self> {
        (!uses.is_empty() || timeout.is_some()).then_some(Self { uses, timeout })
    }

    /// What it uses while it runs.
    pub(crate) fn uses(&self) -> &[Use] {
        &self.uses
    }
}

/// One cell of the slab: an unfinished task's job (none for a placeholder or once started),
/// or a free cell and the next free one.
enum Cell {
    Held(Option<JobBox>),
    Free(u32),
}

/// The jobs and constraints of unfinished tasks, by index.
#[derive(Default)]
pub(crate) struct Pending {
    cells: Vec<Cell>,
    /// The first free cell, or [`NONE`] (`Default` gives 0: read only while `held` says
    /// some cell is free, and set whenever one is freed).
    free: u32,
    /// How many cells hold a task.
    held: usize,
    /// The constraints of the tasks that have some, by cell.
    extras: HashMap<u32, Extra>,
}

impl Pending {
    /// Room for `more` entries beyond the free ones, without growing on the way.
    pub(crate) fn reserve(&mut self, more: usize) {
        let free = self.cells.len() - self.held;
        self.cells.reserve(more.saturating_sub(free));
    }

    /// Keeps a task's job and constraints, returning its cell.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        job: Option<JobBox>,
        uses: Uses,
        timeout: Option<Duration>,
    ) -> u32 {
        let i = if self.held < self.cells.len() {
            let i = self.free;
            match self.cells[i as usize] {
                Cell::Free(next) => self.free = next,
                Cell::Held(_) => unreachable!("the free list holds free cells"),
            }
            self.cells[i as usize] = Cell::Held(job);
            i
        } else {
            let i = u32::try_from(self.cells.len()).expect("at most u32::MAX unfinished tasks");
            self.cells.push(Cell::Held(job));
            i
        };
        self.held += 1;
        if let Some(extra) = Extra::of(uses, timeout) {
            self.extras.insert(i, extra);
        }
        i
    }

    /// Gives cell `i` a new job and constraints (a placeholder being defined).
    pub(crate) fn replace(
        &mut self,
        i: u32,
        job: Option<JobBox>,
        uses: Uses,
        timeout: Option<Duration>,
    ) {
        *self.job_mut(i) = job;
        match Extra::of(uses, timeout) {
            Some(extra) => {
                self.extras.insert(i, extra);
            }
            None if !self.extras.is_empty() => {
                self.extras.remove(&i);
            }
            None => {}
        }
    }

    /// The job of cell `i` (taken once the task starts).
    #[inline]
    pub(crate) fn job_mut(&mut self, i: u32) -> &mut Option<JobBox> {
        match &mut self.cells[i as usize] {
            Cell::Held(job) => job,
            Cell::Free(_) => panic!("an unfinished task's entry"),
        }
    }

    /// The constraints of cell `i`, if it has any.
    #[inline]
    pub(crate) fn extra(&self, i: u32) -> Option<&Extra> {
        if self.extras.is_empty() {
            return None;
        }
        self.extras.get(&i)
    }

    /// The time limit of the task of cell `i`.
    #[inline]
    pub(crate) fn timeout(&self, i: u32) -> Option<Duration> {
        self.extra(i).and_then(|e| e.timeout)
    }

    /// Frees cell `i`, dropping its job and returning its constraints; once no cell is held,
    /// the slab's memory is given back.
    #[inline]
    pub(crate) fn remove(&mut self, i: u32) -> Option<Extra> {
        let cell = std::mem::replace(&mut self.cells[i as usize], Cell::Free(self.free));
        assert!(matches!(cell, Cell::Held(_)), "an unfinished task's entry");
        self.free = i;
        self.held -= 1;
        let extra = if self.extras.is_empty() {
            None
        } else {
            self.extras.remove(&i)
        };
        if self.held == 0 {
            self.cells = Vec::new();
            self.free = NONE;
            if self.extras.capacity() > 0 {
                self.extras = HashMap::new();
            }
        }
        drop(cell);
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_one_job() {
        assert!(std::mem::size_of::<Cell>() <= 24);
    }

    #[test]
    fn entries_are_reused_and_the_slab_empties() {
        let mut slab = Pending::default();
        let plain = slab.insert(None, Uses::new(), None);
        let limited = slab.insert(None, Uses::new(), Some(Duration::from_secs(1)));
        assert!(
            slab.extra(plain).is_none(),
            "no constraint, nothing in the side map"
        );
        assert_eq!(slab.timeout(limited), Some(Duration::from_secs(1)));
        assert!(slab.remove(plain).is_none());
        let again = slab.insert(None, Uses::new(), None);
        assert_eq!(again, plain, "a freed entry is taken again");
        let extra = slab.remove(limited);
        assert_eq!(extra.and_then(|e| e.timeout), Some(Duration::from_secs(1)));
        slab.remove(again);
        assert_eq!(
            slab.cells.capacity(),
            0,
            "nothing kept once every task ended"
        );
        let first = slab.insert(None, Uses::new(), None);
        let second = slab.insert(None, Uses::new(), None);
        slab.remove(first);
        slab.remove(second);
        assert_eq!(slab.cells.capacity(), 0);
    }

    #[test]
    fn freed_cells_are_taken_last_freed_first() {
        let mut p = Pending::default();
        let ids: Vec<u32> = (0..4).map(|_| p.insert(None, Uses::new(), None)).collect();
        p.remove(ids[1]);
        p.remove(ids[3]);
        assert_eq!(p.insert(None, Uses::new(), None), ids[3]);
        assert_eq!(p.insert(None, Uses::new(), None), ids[1]);
        assert_eq!(p.insert(None, Uses::new(), None), 4);
    }
}
