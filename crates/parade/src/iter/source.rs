//! Sources: where workers pull their batches from.
//!
//! A [`Source`] is shared by all workers behind one lock; a worker holding the lock takes up to
//! `max` items as one batch and lets go. Two kinds exist: any iterator (items are moved into a
//! small vector while the lock is held) and a borrowed slice (the batch is a sub-slice: nothing
//! is copied, which is what makes cheap maps over in-memory data fast).
//!
//! This file knows nothing about threads, windows or stages.

/// Something workers can take batches of items from, one batch at a time, under a lock.
///
/// Implemented for the sources made by [`iter`](super::iter()) and
/// [`iter_slice`](super::iter_slice); you rarely need to name it.
///
/// ```
/// let sum: u64 = parade::iter(1..=10u64).sum();
/// assert_eq!(sum, 55);
/// ```
pub trait Source: Send {
    /// What one item is.
    type Item;
    /// A batch of items, consumed on the worker that took it.
    type Batch: ExactSizeIterator<Item = Self::Item>;
    /// Whether [`remaining`](Self::remaining) is exact and batches come in input order with
    /// exactly that many items in all (a slice): lets
    /// [`collect_vec`](super::Pipeline::collect_vec) write every output straight into place.
    const INDEXED: bool = false;

    /// Takes at most `max` (at least 1) items, or `None` once nothing is left.
    fn next_batch(&mut self, max: usize) -> Option<Self::Batch>;

    /// How many items are left, when that is known exactly.
    fn remaining(&self) -> Option<usize>;
}

/// Any iterator as a source: batches are moved out into a vector.
#[derive(Debug)]
pub(crate) struct IterSource<I> {
    iter: I,
    done: bool,
}

impl<I: Iterator> IterSource<I> {
    pub fn new(iter: I) -> Self {
        Self { iter, done: false }
    }
}

impl<I> Source for IterSource<I>
where
    I: Iterator + Send,
{
    type Item = I::Item;
    type Batch = std::vec::IntoIter<I::Item>;

    fn next_batch(&mut self, max: usize) -> Option<Self::Batch> {
        if self.done {
            return None;
        }
        // Mark first: if the iterator panics, it is never asked again.
        self.done = true;
        let batch: Vec<I::Item> = self.iter.by_ref().take(max).collect();
        // A short batch means the iterator ended; do not ask a possibly unfused iterator again.
        self.done = batch.len() < max;
        if batch.is_empty() {
            None
        } else {
            Some(batch.into_iter())
        }
    }

    fn remaining(&self) -> Option<usize> {
        match self.iter.size_hint() {
            _ if self.done => Some(0),
            (lo, Some(hi)) if lo == hi => Some(lo),
            _ => None,
        }
    }
}

/// A borrowed slice as a source: a batch is a sub-slice, nothing is copied.
#[derive(Debug)]
pub(crate) struct SliceSource<'a, T> {
    rest: &'a [T],
}

impl<'a, T> SliceSource<'a, T> {
    pub fn new(slice: &'a [T]) -> Self {
        Self { rest: slice }
    }
}

impl<'a, T: Sync> Source for SliceSource<'a, T> {
    type Item = &'a T;
    type Batch = std::slice::Iter<'a, T>;
    const INDEXED: bool = true;

    fn next_batch(&mut self, max: usize) -> Option<Self::Batch> {
        if self.rest.is_empty() {
            return None;
        }
        let (head, rest) = self.rest.split_at(max.min(self.rest.len()));
        self.rest = rest;
        Some(head.iter())
    }

    fn remaining(&self) -> Option<usize> {
        Some(self.rest.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iter_source_batches_then_ends_without_asking_again() {
        let mut asked = 0;
        let it = std::iter::from_fn(|| {
            asked += 1;
            (asked <= 5).then_some(asked)
        });
        let mut s = IterSource::new(it);
        assert_eq!(s.next_batch(2).unwrap().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s.next_batch(2).unwrap().collect::<Vec<_>>(), [3, 4]);
        assert_eq!(s.next_batch(2).unwrap().collect::<Vec<_>>(), [5]);
        assert!(s.next_batch(2).is_none());
        assert_eq!(s.remaining(), Some(0));
        assert_eq!(asked, 6);
    }

    #[test]
    fn slice_source_splits_without_copying() {
        let v = [1, 2, 3];
        let mut s = SliceSource::new(&v);
        assert_eq!(s.remaining(), Some(3));
        let b = s.next_batch(2).unwrap();
        assert_eq!((b.as_slice().as_ptr(), b.len()), (v.as_ptr(), 2));
        assert_eq!(s.next_batch(5).unwrap().len(), 1);
        assert!(s.next_batch(1).is_none());
    }
}
