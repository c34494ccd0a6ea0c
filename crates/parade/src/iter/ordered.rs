//! The adapters of ordered streams, after rayon's `IndexedParallelIterator`: `enumerate`, `zip`,
//! `skip`, `chain`, `chunks`, and rayon's per-worker `fold`.
//!
//! They work at the source, which workers read under a lock in input order: the source is
//! numbered, zipped, skipped into, chained or cut into chunks there, and what they add to an
//! item (its index, its partner) travels beside it through the stage chain. That is exact only
//! when the chain makes one output per item in order (`map`, `map_init`, `map_with`,
//! `inspect`, `try_map`): like rayon, which offers them on indexed iterators only, these
//! adapters refuse to build after `filter`, `filter_map` or `flat_map` (collect first, or put
//! them before the filter). A [`take`](super::Pipeline::take) given before one of them is moved
//! to the source, so `take(5).skip(2)` is std's. Memory stays bounded by the window, which
//! counts source items (for `chunks`: chunks).
//!
//! This file owns these sources and stages; it knows nothing about threads or the window.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::marker::PhantomData;

use super::pipeline::Pipeline;
use super::source::Source;
use super::stage::{Adapted, Adapter, Map, Stage};

/// A source whose first `skip` items are dropped when the first batch is taken, cut off after
/// `left` items more: a `take` moved to the source, and `skip`.
pub(crate) struct Cut<Src> {
    src: Src,
    skip: usize,
    left: usize,
}

impl<Src: Source> Source for Cut<Src> {
    type Item = Src::Item;
    type Batch = Src::Batch;
    const INDEXED: bool = Src::INDEXED;

    fn next_batch(&mut self, max: usize) -> Option<Src::Batch> {
        if self.left == 0 {
            return None;
        }
        while self.skip > 0 {
            let dropped = self.src.next_batch(self.skip.min(4096))?;
            self.skip -= dropped.len();
        }
        let batch = self.src.next_batch(max.min(self.left))?;
        self.left -= batch.len();
        Some(batch)
    }

    fn remaining(&self) -> Option<usize> {
        if self.left == 0 {
            return Some(0);
        }
        self.src
            .remaining()
            .map(|r| r.saturating_sub(self.skip).min(self.left))
    }
}

/// A source of `(index, item)`.
pub(crate) struct Enumerated<Src> {
    src: Src,
    next: usize,
}

impl<Src: Source> Source for Enumerated<Src> {
    type Item = (usize, Src::Item);
    type Batch = std::iter::Zip<std::ops::Range<usize>, Src::Batch>;
    const INDEXED: bool = Src::INDEXED;

    fn next_batch(&mut self, max: usize) -> Option<Self::Batch> {
        let batch = self.src.next_batch(max)?;
        let start = self.next;
        self.next += batch.len();
        Some((start..self.next).zip(batch))
    }

    fn remaining(&self) -> Option<usize> {
        self.src.remaining()
    }
}

/// A source of `(partner, item)`, ending with the shorter of the two.
pub(crate) struct Zipped<Src, O> {
    src: Src,
    other: O,
    done: bool,
}

impl<Src: Source, O> Source for Zipped<Src, O>
where
    O: Iterator + Send,
{
    type Item = (O::Item, Src::Item);
    /// Only the partner's items are taken under the source's lock; the batch's own items are
    /// paired with them on the worker.
    type Batch = std::iter::Zip<std::vec::IntoIter<O::Item>, Src::Batch>;
    /// A zip of a slice is still collected in place: a partner that ends early (or whose
    /// exact `size_hint` lies) only makes the source end early, which the in-place collect
    /// takes.
    const INDEXED: bool = Src::INDEXED;

    fn next_batch(&mut self, max: usize) -> Option<Self::Batch> {
        if self.done {
            return None;
        }
        let batch = self.src.next_batch(max)?;
        let n = batch.len();
        let partners: Vec<O::Item> = self.other.by_ref().take(n).collect();
        // The partner ran out: nothing after this batch.
        self.done = partners.len() < n;
        (!partners.is_empty()).then(|| partners.into_iter().zip(batch))
    }

    fn remaining(&self) -> Option<usize> {
        if self.done {
            return Some(0);
        }
        match (self.src.remaining(), self.other.size_hint()) {
            (Some(a), (lo, Some(hi))) if lo == hi => Some(a.min(lo)),
            _ => None,
        }
    }
}

/// A source of consecutive chunks of `n` items (the last may be shorter).
pub(crate) struct Chunked<Src> {
    src: Src,
    n: usize,
    done: bool,
}

impl<Src: Source> Source for Chunked<Src> {
    type Item = Vec<Src::Item>;
    type Batch = std::vec::IntoIter<Vec<Src::Item>>;

    fn next_batch(&mut self, max: usize) -> Option<Self::Batch> {
        let mut chunks = Vec::with_capacity(max.min(64));
        while chunks.len() < max && !self.done {
            let mut chunk = Vec::with_capacity(self.n);
            while chunk.len() < self.n {
                if let Some(b) = self.src.next_batch(self.n - chunk.len()) {
                    chunk.extend(b);
                } else {
                    self.done = true;
                    break;
                }
            }
            if !chunk.is_empty() {
                chunks.push(chunk);
            }
        }
        (!chunks.is_empty()).then(|| chunks.into_iter())
    }

    fn remaining(&self) -> Option<usize> {
        if self.done {
            return Some(0);
        }
        self.src.remaining().map(|r| r.div_ceil(self.n))
    }
}

/// An item of the source of a [`chain`](Pipeline::chain)ed pipeline: from the pipeline's own
/// source (still to go through its stages) or from the chained iterator (an output already).
/// You rarely need to name it.
#[derive(Debug)]
pub enum Side<A, B> {
    /// An item of the pipeline's source.
    Left(A),
    /// An item of the chained iterator.
    Right(B),
}

/// A batch of a chained source: all from one side.
pub(crate) enum SideBatch<A, B> {
    Left(A),
    Right(B),
}

impl<A: Iterator, B: Iterator> Iterator for SideBatch<A, B> {
    type Item = Side<A::Item, B::Item>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            SideBatch::Left(a) => a.next().map(Side::Left),
            SideBatch::Right(b) => b.next().map(Side::Right),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            SideBatch::Left(a) => a.size_hint(),
            SideBatch::Right(b) => b.size_hint(),
        }
    }
}

impl<A: ExactSizeIterator, B: ExactSizeIterator> ExactSizeIterator for SideBatch<A, B> {}

/// The pipeline's source, then the items of another iterator.
pub(crate) struct Chained<Src, B> {
    src: Src,
    src_done: bool,
    other: B,
    done: bool,
}

impl<Src: Source, B> Source for Chained<Src, B>
where
    B: Iterator + Send,
{
    type Item = Side<Src::Item, B::Item>;
    type Batch = SideBatch<Src::Batch, std::vec::IntoIter<B::Item>>;

    fn next_batch(&mut self, max: usize) -> Option<Self::Batch> {
        if !self.src_done {
            if let Some(b) = self.src.next_batch(max) {
                return Some(SideBatch::Left(b));
            }
            self.src_done = true;
        }
        if self.done {
            return None;
        }
        // Mark first: if the iterator panics, it is never asked again.
        self.done = true;
        let batch: Vec<B::Item> = self.other.by_ref().take(max).collect();
        self.done = batch.len() < max;
        (!batch.is_empty()).then(|| SideBatch::Right(batch.into_iter()))
    }

    fn remaining(&self) -> Option<usize> {
        let left = if self.src_done {
            Some(0)
        } else {
            self.src.remaining()
        };
        let right = match self.other.size_hint() {
            _ if self.done => Some(0),
            (lo, Some(hi)) if lo == hi => Some(lo),
            _ => None,
        };
        Some(left? + right?)
    }
}

/// Runs the chain on the second part of `(carried, item)` and pairs each output with what its
/// item carried, kept meanwhile by `K`. Exact for one-to-one chains only (which is all it is
/// used with).
pub(crate) struct Carry<P, K> {
    prev: P,
    kept: PhantomData<fn() -> K>,
}

impl<P, K> Carry<P, K> {
    fn new(prev: P) -> Self {
        Carry {
            prev,
            kept: PhantomData,
        }
    }
}

/// How a [`Carry`] keeps what a batch's items carry until their outputs come out of the chain
/// (a worker's, for one batch at a time).
pub(crate) trait Carried<C>: Default {
    /// Forgets what a batch that panicked left.
    fn reset(&self);
    /// The next item of the batch, carrying `c`, goes into the chain.
    fn put(&self, c: C);
    /// What the batch's `k`th output carries.
    fn take(&self, k: usize) -> C;
}

/// Anything carried, in a queue.
pub(crate) struct Queue<C>(RefCell<VecDeque<C>>);

impl<C> Default for Queue<C> {
    fn default() -> Self {
        Queue(RefCell::new(VecDeque::new()))
    }
}

impl<C> Carried<C> for Queue<C> {
    fn reset(&self) {
        self.0.borrow_mut().clear();
    }

    fn put(&self, c: C) {
        self.0.borrow_mut().push_back(c);
    }

    fn take(&self, _: usize) -> C {
        let c = self.0.borrow_mut().pop_front();
        c.expect("a one-to-one chain makes one output per item")
    }
}

/// The indices of a batch's items: a batch holds consecutive items and the chain is
/// one-to-one, so output `k` is item `first + k` (cheaper than a [`Queue`]).
#[derive(Default)]
pub(crate) struct Index(Cell<Option<usize>>);

impl Carried<usize> for Index {
    fn reset(&self) {
        self.0.set(None);
    }

    fn put(&self, i: usize) {
        if self.0.get().is_none() {
            self.0.set(Some(i));
        }
    }

    fn take(&self, k: usize) -> usize {
        // An output exists only once its item was taken, so `first` is set.
        self.0.get().unwrap_or_default() + k
    }
}

impl<C, In, P, K> Stage<(C, In)> for Carry<P, K>
where
    C: Send,
    P: Stage<In>,
    K: Carried<C>,
{
    type Out = (C, P::Out);
    type Local = (P::Local, K);
    const ONE_TO_ONE: bool = P::ONE_TO_ONE;

    fn local(&self) -> Self::Local {
        (self.prev.local(), K::default())
    }

    fn pipe<'a, I>(
        &'a self,
        (prev, kept): &'a mut Self::Local,
        items: I,
    ) -> impl Iterator<Item = Self::Out>
    where
        I: Iterator<Item = (C, In)>,
    {
        let kept: &'a K = kept;
        kept.reset();
        let inputs = items.map(move |(c, x)| {
            kept.put(c);
            x
        });
        self.prev
            .pipe(prev, inputs)
            .enumerate()
            .map(move |(k, out)| (kept.take(k), out))
    }
}

/// Runs the chain over each chunk and collects its outputs.
pub(crate) struct PerChunk<P> {
    prev: P,
}

impl<In, P: Stage<In>> Stage<Vec<In>> for PerChunk<P> {
    type Out = Vec<P::Out>;
    type Local = P::Local;
    const ONE_TO_ONE: bool = true;

    fn local(&self) -> P::Local {
        self.prev.local()
    }

    fn pipe<'a, I>(&'a self, local: &'a mut P::Local, items: I) -> impl Iterator<Item = Self::Out>
    where
        I: Iterator<Item = Vec<In>>,
    {
        items.map(move |chunk| self.prev.pipe(&mut *local, chunk.into_iter()).collect())
    }
}

/// Runs the chain on items of the pipeline's source and passes the chained items through.
pub(crate) struct ChainStage<P> {
    prev: P,
}

/// One of two iterators of the same items.
enum Either<A, B> {
    A(A),
    B(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            Either::A(a) => a.next(),
            Either::B(b) => b.next(),
        }
    }
}

impl<In, P: Stage<In>> Stage<Side<In, P::Out>> for ChainStage<P> {
    type Out = P::Out;
    type Local = P::Local;
    const ONE_TO_ONE: bool = P::ONE_TO_ONE;

    fn local(&self) -> P::Local {
        self.prev.local()
    }

    fn pipe<'a, I>(&'a self, local: &'a mut P::Local, items: I) -> impl Iterator<Item = P::Out>
    where
        I: Iterator<Item = Side<In, P::Out>>,
    {
        // A batch comes from one side only.
        let mut items = items.peekable();
        if matches!(items.peek(), Some(Side::Right(_))) {
            Either::B(items.filter_map(|s| match s {
                Side::Right(o) => Some(o),
                Side::Left(_) => None,
            }))
        } else {
            Either::A(self.prev.pipe(
                local,
                items.filter_map(|s| match s {
                    Side::Left(x) => Some(x),
                    Side::Right(_) => None,
                }),
            ))
        }
    }
}

/// Rayon's `fold`: each batch a worker takes is folded into one accumulator, which is the
/// batch's one output.
pub(crate) struct Fold<Id, F> {
    identity: Id,
    f: F,
}

impl<T, Id, F, A> Adapter<T> for Fold<Id, F>
where
    Id: Fn() -> A + Send + Sync,
    F: Fn(A, T) -> A + Send + Sync,
    A: Send,
{
    type Out = A;

    fn adapt<I: Iterator<Item = T>>(&self, items: I) -> impl Iterator<Item = A> {
        std::iter::once(items.fold((self.identity)(), &self.f))
    }
}

fn swap<A, B>((a, b): (A, B)) -> (B, A) {
    (b, a)
}

// The return types say what each adapter's source and stage yield; naming them with aliases
// would only hide that.
#[allow(clippy::type_complexity)]
impl<Src, St> Pipeline<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    /// The source cut where a `take` given so far cuts the output (the same place, since the
    /// chain is one-to-one), so that what follows counts from there.
    fn taken_at_source(self) -> Pipeline<Cut<Src>, St> {
        const {
            assert!(
                St::ONE_TO_ONE,
                "enumerate, zip, skip, chain and chunks need a chain that makes one output per \
                 item (map, inspect, map_init, map_with, try_map), as rayon's indexed iterators \
                 do: put them before filter, filter_map or flat_map, or collect first"
            );
        }
        self.cut_at_source()
    }

    /// The source cut after as many items as a `take` given so far lets through (all of them
    /// without one); the pipeline's own limit is gone.
    fn cut_at_source(self) -> Pipeline<Cut<Src>, St> {
        let mut options = self.options;
        let left = options.limit.take().unwrap_or(usize::MAX);
        Pipeline {
            source: Cut {
                src: self.source,
                skip: 0,
                left,
            },
            stage: self.stage,
            options,
        }
    }

    /// Pairs each item with its index in the input: rayon's and std's `enumerate`.
    ///
    /// ```
    /// let v: Vec<(usize, char)> = parade::iter("abc".chars()).map(|c| c.to_ascii_uppercase()).enumerate().collect();
    /// assert_eq!(v, [(0, 'A'), (1, 'B'), (2, 'C')]);
    /// ```
    ///
    /// Like rayon, only on a chain that makes one output per item; this does not build:
    ///
    /// ```compile_fail
    /// let v: Vec<(usize, u32)> = parade::iter(0..9u32).filter(|x| x % 2 == 0).enumerate().collect();
    /// ```
    pub fn enumerate(
        self,
    ) -> Pipeline<
        impl Source<Item = (usize, Src::Item)>,
        impl Stage<(usize, Src::Item), Out = (usize, St::Out)>,
    > {
        let p = self.taken_at_source();
        Pipeline {
            source: Enumerated {
                src: p.source,
                next: 0,
            },
            stage: Carry::<_, Index>::new(p.stage),
            options: p.options,
        }
    }

    /// Pairs each item with the next item of `other`, ending with the shorter: std's and
    /// rayon's `zip`. `other` is read in order under the source's lock (it may be another
    /// pipeline: its items arrive in order).
    ///
    /// ```
    /// let names = ["ada", "bob", "cy"];
    /// let v: Vec<(usize, &str)> = parade::iter(names).map(str::len).zip(names).collect();
    /// assert_eq!(v, [(3, "ada"), (3, "bob"), (2, "cy")]);
    /// let short: Vec<(u32, char)> = parade::iter(0..100u32).zip("ab".chars()).collect();
    /// assert_eq!(short, [(0, 'a'), (1, 'b')]);
    /// ```
    pub fn zip<O>(
        self,
        other: O,
    ) -> Pipeline<
        impl Source<Item = (O::Item, Src::Item)>,
        impl Stage<(O::Item, Src::Item), Out = (St::Out, O::Item)>,
    >
    where
        O: IntoIterator,
        O::IntoIter: Send,
        O::Item: Send,
    {
        let p = self.taken_at_source();
        Pipeline {
            source: Zipped {
                src: p.source,
                other: other.into_iter(),
                done: false,
            },
            stage: Adapted {
                prev: Carry::<_, Queue<_>>::new(p.stage),
                then: Map(swap),
            },
            options: p.options,
        }
    }

    /// Leaves out the first `n` items: std's and rayon's `skip`. The skipped items are never
    /// run through the chain.
    ///
    /// ```
    /// let v: Vec<u64> = parade::iter(0u64..).map(|x| x * 10).skip(2).take(3).collect();
    /// assert_eq!(v, [20, 30, 40]);
    /// let w: Vec<u64> = parade::iter(0u64..).take(5).skip(3).collect();
    /// assert_eq!(w, [3, 4]);
    /// ```
    pub fn skip(self, n: usize) -> Pipeline<impl Source<Item = Src::Item>, St> {
        let mut p = self.taken_at_source();
        // Within the cut: the items skipped count against a `take` given before.
        p.source.skip = n;
        p.source.left = p.source.left.saturating_sub(n);
        p
    }

    /// This pipeline's items, then those of `other` (as they are: the chain runs on this
    /// pipeline's items only): std's and rayon's `chain`.
    ///
    /// ```
    /// let v: Vec<u32> = parade::iter(1..=3u32).map(|x| x * 100).chain([7, 8]).collect();
    /// assert_eq!(v, [100, 200, 300, 7, 8]);
    /// ```
    pub fn chain<B>(
        self,
        other: B,
    ) -> Pipeline<
        impl Source<Item = Side<Src::Item, St::Out>>,
        impl Stage<Side<Src::Item, St::Out>, Out = St::Out>,
    >
    where
        B: IntoIterator<Item = St::Out>,
        B::IntoIter: Send,
    {
        let p = self.taken_at_source();
        Pipeline {
            source: Chained {
                src: p.source,
                src_done: false,
                other: other.into_iter(),
                done: false,
            },
            stage: ChainStage { prev: p.stage },
            options: p.options,
        }
    }

    /// Groups the items into vectors of `n` consecutive ones, the last possibly shorter:
    /// rayon's `chunks` (std's `slice::chunks`). The window then counts chunks, so at most
    /// [`in_flight`](Self::in_flight) × `n` items are in flight.
    ///
    /// # Panics
    ///
    /// If `n` is 0, as std's and rayon's do.
    ///
    /// ```
    /// let v: Vec<Vec<u32>> = parade::iter(1..=7u32).map(|x| x * 2).chunks(3).collect();
    /// assert_eq!(v, [vec![2, 4, 6], vec![8, 10, 12], vec![14]]);
    /// ```
    pub fn chunks(
        self,
        n: usize,
    ) -> Pipeline<impl Source<Item = Vec<Src::Item>>, impl Stage<Vec<Src::Item>, Out = Vec<St::Out>>>
    {
        assert!(n != 0, "chunk size must be non-zero");
        let p = self.taken_at_source();
        Pipeline {
            source: Chunked {
                src: p.source,
                n,
                done: false,
            },
            stage: PerChunk { prev: p.stage },
            options: p.options,
        }
    }

    /// Rayon's `fold`: each worker folds the items it takes into accumulators started with
    /// `identity()`, and the pipeline yields those accumulators (one per batch a worker took,
    /// in input order; how many there are is not specified, as in rayon). Combine them with
    /// [`reduce`](Self::reduce), [`sum`](Self::sum) or a collect. For std's one-thread left
    /// fold over the items in order, use [`fold_in_order`](Self::fold_in_order).
    ///
    /// ```
    /// // Per-worker strings of the items, then joined: rayon's idiom.
    /// let folded: Vec<String> = parade::iter(0..1000u32)
    ///     .fold(String::new, |mut s, x| { s.push_str(&x.to_string()); s })
    ///     .collect();
    /// let expected: String = (0..1000u32).map(|x| x.to_string()).collect();
    /// assert_eq!(folded.concat(), expected); // in input order
    ///
    /// let total: u64 = parade::iter(1..=100u64).fold(|| 0, |a, x| a + x).sum();
    /// assert_eq!(total, 5050);
    /// ```
    ///
    /// # Panics
    ///
    /// When the pipeline was given a [`take`](Self::take) and filters (its chain is not one
    /// output per item): which items the limit keeps is only known in order, so take after
    /// `fold`, or collect first.
    pub fn fold<A, Id, F>(
        self,
        identity: Id,
        f: F,
    ) -> Pipeline<impl Source<Item = Src::Item>, impl Stage<Src::Item, Out = A>>
    where
        Id: Fn() -> A + Send + Sync,
        F: Fn(A, St::Out) -> A + Send + Sync,
        A: Send,
    {
        assert!(
            self.options.limit.is_none() || St::ONE_TO_ONE,
            "fold after take on a filtering pipeline: put take after fold, or collect first"
        );
        let p = self.cut_at_source();
        Pipeline {
            source: p.source,
            stage: Adapted {
                prev: p.stage,
                then: Fold { identity, f },
            },
            options: p.options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::source::IterSource;
    use super::*;

    fn drain<S: Source>(mut s: S, max: usize) -> Vec<Vec<S::Item>> {
        std::iter::from_fn(|| s.next_batch(max).map(Iterator::collect)).collect()
    }

    #[test]
    fn sources_cut_skip_number_and_chunk_in_order() {
        let taken = Cut {
            src: IterSource::new(0..10),
            skip: 0,
            left: 5,
        };
        assert_eq!(drain(taken, 2), [vec![0, 1], vec![2, 3], vec![4]]);
        let skipped = Cut {
            src: IterSource::new(0..10),
            skip: 7,
            left: usize::MAX,
        };
        assert_eq!(drain(skipped, 5), [vec![7, 8, 9]]);
        let both = Cut {
            src: IterSource::new(0..10),
            skip: 2,
            left: 3,
        };
        assert_eq!(drain(both, 2), [vec![2, 3], vec![4]]);
        let numbered = Enumerated {
            src: IterSource::new("ab".chars()),
            next: 0,
        };
        assert_eq!(drain(numbered, 1), [vec![(0, 'a')], vec![(1, 'b')]]);
        let chunked = Chunked {
            src: IterSource::new(0..5),
            n: 2,
            done: false,
        };
        assert_eq!(
            drain(chunked, 2),
            [vec![vec![0, 1], vec![2, 3]], vec![vec![4]]]
        );
    }

    #[test]
    fn zip_ends_with_the_shorter() {
        let z = Zipped {
            src: IterSource::new(0..10),
            other: "abc".chars(),
            done: false,
        };
        assert_eq!(drain(z, 2), [vec![('a', 0), ('b', 1)], vec![('c', 2)]]);
    }

    /// Yields `0..yields` while claiming, exactly, `claims` items.
    struct Lying {
        next: usize,
        yields: usize,
        claims: usize,
    }

    impl Iterator for Lying {
        type Item = usize;
        fn next(&mut self) -> Option<usize> {
            (self.next < self.yields).then(|| {
                self.next += 1;
                self.next - 1
            })
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            let left = self.claims.saturating_sub(self.next);
            (left, Some(left))
        }
    }

    fn indexed<S: Source>(_: &S) -> bool {
        S::INDEXED
    }

    #[test]
    fn a_zip_of_a_slice_is_collected_in_place_and_ends_with_the_shorter() {
        let v: Vec<usize> = (0..10_000).collect();
        let zipped = Zipped {
            src: crate::iter::source::SliceSource::new(&v),
            other: 0..3usize,
            done: false,
        };
        assert!(
            indexed(&zipped),
            "a zip of a slice takes the in-place collect"
        );
        let expected = |n: usize| -> Vec<(usize, usize)> { (0..n).map(|i| (i * 2, i)).collect() };
        for (yields, claims) in [
            (10_000, 10_000),
            (20_000, 20_000),
            (5_000, 5_000),
            (5_000, 9_000),
        ] {
            let other = Lying {
                next: 0,
                yields,
                claims,
            };
            let got = crate::iter_slice(&v)
                .map(|x| x * 2)
                .zip(other)
                .collect_vec();
            assert_eq!(
                got,
                expected(yields.min(10_000)),
                "partner yields {yields}, claims {claims}"
            );
        }
    }
}
