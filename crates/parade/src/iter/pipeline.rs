//! [`Pipeline`]: a lazy description of a parallel pipeline, its adapters and its options.
//!
//! Every adapter wraps the stage chain and returns a new pipeline; nothing runs until a
//! consuming method (see `consume.rs`) or iteration starts the workers.

use parking_lot::Mutex;

use super::options::Options;
use super::source::Source;
use super::stage::{Adapted, CloneSeed, FilterMap, FlatMap, Map, MapInit, Stage};

/// A lazy parallel pipeline: a source, a fused chain of stages and options.
///
/// Made by [`iter`](super::iter()) or [`iter_slice`](super::iter_slice). Adapters such as
/// [`map`](Self::map) return a new pipeline; consuming methods such as
/// [`collect`](Self::collect) or a `for` loop start the workers. Each item goes through the
/// whole chain on one worker; output keeps input order unless [`unordered`](Self::unordered)
/// is asked for.
///
/// ```
/// let squares: Vec<u64> = parade::iter(1..=4u64).map(|x| x * x).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
#[must_use = "a pipeline does nothing until it is consumed"]
pub struct Pipeline<Src, St> {
    pub(crate) source: Src,
    pub(crate) stage: St,
    pub(crate) options: Options,
}

impl<Src, St> std::fmt::Debug for Pipeline<Src, St> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<Src, St> Pipeline<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    fn then<Next>(self, stage: impl FnOnce(St) -> Next) -> Pipeline<Src, Next> {
        Pipeline {
            source: self.source,
            stage: stage(self.stage),
            options: self.options,
        }
    }

    /// Applies `f` to every item.
    ///
    /// ```
    /// let v: Vec<String> = parade::iter(1..=3).map(|x| x.to_string()).collect();
    /// assert_eq!(v, ["1", "2", "3"]);
    /// ```
    pub fn map<U, F>(self, f: F) -> Pipeline<Src, impl Stage<Src::Item, Out = U>>
    where
        F: Fn(St::Out) -> U + Send + Sync,
        U: Send,
    {
        self.then(|prev| Adapted { prev, then: Map(f) })
    }

    /// Keeps the items for which `keep` is true.
    ///
    /// ```
    /// let v: Vec<i32> = parade::iter(0..10).filter(|x| x % 3 == 0).collect();
    /// assert_eq!(v, [0, 3, 6, 9]);
    /// ```
    pub fn filter<F>(self, keep: F) -> Pipeline<Src, impl Stage<Src::Item, Out = St::Out>>
    where
        F: Fn(&St::Out) -> bool + Send + Sync,
    {
        self.filter_map(move |x| if keep(&x) { Some(x) } else { None })
    }

    /// Maps every item to an `Option` and keeps the `Some` values.
    ///
    /// ```
    /// let v: Vec<u8> = parade::iter(["1", "x", "3"]).filter_map(|s| s.parse().ok()).collect();
    /// assert_eq!(v, [1, 3]);
    /// ```
    pub fn filter_map<U, F>(self, f: F) -> Pipeline<Src, impl Stage<Src::Item, Out = U>>
    where
        F: Fn(St::Out) -> Option<U> + Send + Sync,
        U: Send,
    {
        self.then(|prev| Adapted {
            prev,
            then: FilterMap(f),
        })
    }

    /// Maps every item to an iterable, then hands out its elements in order (map, then
    /// flatten one level). The iterable is drained on the worker, so it must be finite.
    ///
    /// ```
    /// let v: Vec<u32> = parade::iter(vec![vec![1, 2], vec![], vec![3]]).flat_map(|v| v).collect();
    /// assert_eq!(v, [1, 2, 3]);
    /// ```
    pub fn flat_map<I, F>(self, f: F) -> Pipeline<Src, impl Stage<Src::Item, Out = I::Item>>
    where
        F: Fn(St::Out) -> I + Send + Sync,
        I: IntoIterator,
        I::Item: Send,
    {
        self.then(|prev| Adapted {
            prev,
            then: FlatMap(f),
        })
    }

    /// Calls `f` on every item as it passes, on the worker.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let seen = AtomicUsize::new(0);
    /// let n = parade::iter(0..5).inspect(|_| { seen.fetch_add(1, Ordering::Relaxed); }).count();
    /// assert_eq!((n, seen.into_inner()), (5, 5));
    /// ```
    pub fn inspect<F>(self, f: F) -> Pipeline<Src, impl Stage<Src::Item, Out = St::Out>>
    where
        F: Fn(&St::Out) + Send + Sync,
    {
        self.map(move |x| {
            f(&x);
            x
        })
    }

    /// Like [`map`](Self::map), with state each worker makes once with `init` and keeps across
    /// its items (a buffer, a connection, a random generator).
    ///
    /// ```
    /// let v: Vec<usize> = parade::iter(["a", "bb"])
    ///     .map_init(String::new, |buf, s| { buf.clear(); buf.push_str(s); buf.len() })
    ///     .collect();
    /// assert_eq!(v, [1, 2]);
    /// ```
    pub fn map_init<L, I, U, F>(
        self,
        init: I,
        f: F,
    ) -> Pipeline<Src, impl Stage<Src::Item, Out = U>>
    where
        I: Fn() -> L + Send + Sync,
        F: Fn(&mut L, St::Out) -> U + Send + Sync,
        U: Send,
    {
        self.then(|prev| MapInit { prev, init, f })
    }

    /// Like [`map`](Self::map), with a clone of `value` for each worker to use and change.
    ///
    /// ```
    /// let v: Vec<u32> = parade::iter(1..=3).map_with(10, |base, x| *base + x).collect();
    /// assert_eq!(v, [11, 12, 13]);
    /// ```
    pub fn map_with<L, U, F>(self, value: L, f: F) -> Pipeline<Src, impl Stage<Src::Item, Out = U>>
    where
        L: Clone + Send,
        F: Fn(&mut L, St::Out) -> U + Send + Sync,
        U: Send,
    {
        let seed = CloneSeed(Mutex::new(value));
        self.map_init(move || seed.get(), f)
    }

    /// Ends the pipeline after `n` items (the first `n` in order, or the first `n` finished
    /// when unordered); then the workers stop.
    ///
    /// ```
    /// let v: Vec<u64> = parade::iter(0u64..).map(|x| x * 2).take(3).collect();
    /// assert_eq!(v, [0, 2, 4]);
    /// ```
    pub fn take(mut self, n: usize) -> Self {
        self.options.limit = Some(self.options.limit.map_or(n, |m| m.min(n)));
        self
    }

    /// Uses `n` worker threads (default: the available parallelism; `0` means the default).
    ///
    /// ```
    /// let n = parade::iter(0..100).workers(3).count();
    /// assert_eq!(n, 100);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.options.workers = n;
        self
    }

    /// Lets at most `n` source items (at least 1) be pulled ahead of what the consumer has
    /// taken: in flight on workers, or finished and waiting to be reordered. The default is
    /// [`DEFAULT_IN_FLIGHT`](super::DEFAULT_IN_FLIGHT). `count`, `sum`, `reduce` and
    /// `for_each` fold each batch on its worker, so there the bound covers the items being
    /// worked on; a folded batch leaves only its partial result behind.
    ///
    /// ```
    /// let v: Vec<i32> = parade::iter(0..10).in_flight(2).map(|x| -x).collect();
    /// assert_eq!(v.len(), 10);
    /// ```
    pub fn in_flight(mut self, n: usize) -> Self {
        self.options.in_flight = n;
        self
    }

    /// Hands `n` items (at least 1, at most the in-flight bound) to a worker at a time,
    /// instead of adapting the batch size to how long items take.
    ///
    /// ```
    /// let s: u64 = parade::iter(0..1000u64).batch(100).map(|x| x + 1).sum();
    /// assert_eq!(s, 500_500);
    /// ```
    pub fn batch(mut self, n: usize) -> Self {
        self.options.batch = Some(n);
        self
    }

    /// Hands out items as they finish instead of in input order: less waiting behind a slow
    /// item. `reduce` then needs an operation that is also commutative.
    ///
    /// ```
    /// let mut v: Vec<i32> = parade::iter(0..5).unordered().map(|x| x * 2).collect();
    /// v.sort_unstable();
    /// assert_eq!(v, [0, 2, 4, 6, 8]);
    /// ```
    pub fn unordered(mut self) -> Self {
        self.options.ordered = false;
        self
    }
}
