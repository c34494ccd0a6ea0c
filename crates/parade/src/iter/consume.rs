//! Consuming a pipeline: the methods that start the workers and what they return.
//!
//! `collect` extends the collection with whole batches, in order; `collect_vec` over a slice with
//! one output per item has its workers write straight into the result (see `indexed.rs`); `fold` (and any consumer after
//! `take`) reads items one by one on the calling thread; `count`, `sum` and `reduce` fold each
//! batch on its worker and combine the partial results in order, with the calling thread
//! working too; `for_each` runs its closure on the workers. All of these run their workers in a
//! thread scope, so stages may borrow local data. [`IntoIter`] is the plain [`Iterator`] form: it owns
//! its threads, starts them on the first `next`, and stops and joins them when dropped.

use std::iter::{FusedIterator, Sum};
use std::marker::PhantomData;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::gather::{Count, Reduce, SumTo, ToVec};
use super::indexed;
use super::options::Options;
use super::pipeline::Pipeline;
use super::run::{Flat, Items, scoped, scoped_items};
use super::source::Source;
use super::stage::Stage;
use super::window::Shared;

impl<Src, St> Pipeline<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    /// Runs `consume` over the items, one at a time, in order, on the calling thread.
    pub(crate) fn drain<R>(self, consume: impl FnOnce(&mut Items<'_, Src, St>) -> R) -> R {
        let limit = self.options.limit;
        scoped_items(
            self.source,
            self.stage,
            self.options.settle(),
            limit,
            |items| consume(items),
        )
    }

    /// Collects the items, in order, into any collection that can be built from an iterator and
    /// extended (`Vec`, `String`, `HashMap`, `BTreeSet`, `VecDeque`, ...). Each finished batch is added with one
    /// `extend`, which for a `Vec` is a plain copy. For `Result`s, see
    /// [`try_collect`](Self::try_collect). To collect into a `Vec`, prefer
    /// [`collect_vec`](Self::collect_vec): over a slice with one output per item, its workers
    /// write straight into the result, in parallel, which is much faster for cheap maps.
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// let s: BTreeSet<i32> = parade::iter(vec![3, 1, 3]).map(|x| x * 2).collect();
    /// assert_eq!(s.into_iter().collect::<Vec<_>>(), [2, 6]);
    /// ```
    pub fn collect<C>(self) -> C
    where
        C: FromIterator<St::Out> + Extend<St::Out>,
    {
        let mut left = self.options.limit;
        let settings = self.options.settle();
        scoped(self.source, self.stage, ToVec, settings, |batches| {
            let mut all: C = std::iter::empty().collect();
            while left != Some(0) {
                let Some(batch) = batches.next_batch() else {
                    break;
                };
                match &mut left {
                    None => all.extend(batch),
                    Some(left) => {
                        let n = batch.len().min(*left);
                        *left -= n;
                        all.extend(batch.into_iter().take(n));
                    }
                }
            }
            all
        })
    }

    /// Collects the items, in order, into a `Vec`.
    ///
    /// Over [`iter_slice`](super::iter_slice) with a chain that makes one output per item
    /// (`map`, `map_init`, `map_with`, `inspect`, `try_map`), the vector is allocated once at
    /// its full length and each worker writes its outputs straight into its own part of it:
    /// no copy by the consumer, and the page faults of a large output are taken in parallel.
    /// The worker count and batch options apply as usual; [`in_flight`](Self::in_flight)
    /// only caps the batch size there, since no output waits for the consumer, and output is
    /// in input order even when [`unordered`](Self::unordered). A panic in a stage is raised
    /// with its payload once every worker has stopped; the outputs already made are then
    /// leaked, not dropped. Any other pipeline (`filter`, `flat_map`, [`iter`](super::iter()),
    /// ...) is collected as [`collect`](Self::collect) does.
    ///
    /// ```
    /// let v: Vec<u64> = (0..10_000).collect();
    /// let doubled = parade::iter_slice(&v).map(|x| x * 2).collect_vec();
    /// assert_eq!(doubled[9_999], 19_998);
    /// let odd = parade::iter_slice(&v).filter(|x| *x % 2 == 1).collect_vec();
    /// assert_eq!(odd.len(), 5_000);
    /// ```
    pub fn collect_vec(self) -> Vec<St::Out> {
        if Src::INDEXED
            && St::ONE_TO_ONE
            && let Some(left) = self.source.remaining()
        {
            let n = self.options.limit.map_or(left, |limit| limit.min(left));
            if n == 0 {
                return Vec::new();
            }
            return indexed::collect(self.source, self.stage, self.options.settle(), n);
        }
        self.collect()
    }

    /// Calls `f` on every item, on the workers, in no particular order. After
    /// [`take`](Self::take), `f` runs on the calling thread on the first `n` items instead.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let total = AtomicU64::new(0);
    /// parade::iter(1..=100u64).for_each(|x| { total.fetch_add(x, Ordering::Relaxed); });
    /// assert_eq!(total.into_inner(), 5050);
    /// ```
    pub fn for_each<F>(self, f: F)
    where
        F: Fn(St::Out) + Send + Sync,
    {
        if self.options.limit.is_some() {
            return self.drain(|items| items.for_each(f));
        }
        self.map(f).count();
    }

    /// Folds the items in order on the calling thread, starting from `init`: std's
    /// `Iterator::fold`, so `f` needs no special property (the items are still made in
    /// parallel). Not rayon's [`fold`](Self::fold), which this crate also has under that name:
    /// one accumulator per worker's batch, yielded as a pipeline.
    ///
    /// ```
    /// let s = parade::iter(["a", "b", "c"]).fold_in_order(String::from(">"), |acc, x| acc + x);
    /// assert_eq!(s, ">abc");
    /// ```
    pub fn fold_in_order<A, F>(self, init: A, f: F) -> A
    where
        F: FnMut(A, St::Out) -> A,
    {
        self.drain(|items| items.fold(init, f))
    }

    /// Combines all items with `f`, `None` if there are none. Each worker combines its batch,
    /// then the partial results are combined in order, so `f` must be associative (and also
    /// commutative when [`unordered`](Self::unordered)).
    ///
    /// ```
    /// let longest = parade::iter(["a", "ccc", "bb"]).reduce(|a, b| if b.len() > a.len() { b } else { a });
    /// assert_eq!(longest, Some("ccc"));
    /// ```
    pub fn reduce<F>(self, f: F) -> Option<St::Out>
    where
        F: Fn(St::Out, St::Out) -> St::Out + Send + Sync,
    {
        if self.options.limit.is_some() {
            return self.drain(|items| items.reduce(f));
        }
        let settings = self.options.settle();
        scoped(self.source, self.stage, Reduce(&f), settings, |batches| {
            std::iter::from_fn(|| batches.next_batch())
                .flatten()
                .reduce(&f)
        })
    }

    /// Like [`reduce`](Self::reduce), starting from `init` (returned when there are no items).
    ///
    /// ```
    /// let product = parade::iter(1..=5u64).reduce_with(1, |a, b| a * b);
    /// assert_eq!(product, 120);
    /// ```
    pub fn reduce_with<F>(self, init: St::Out, f: F) -> St::Out
    where
        F: Fn(St::Out, St::Out) -> St::Out + Send + Sync,
    {
        match self.reduce(&f) {
            Some(rest) => f(init, rest),
            None => init,
        }
    }

    /// Counts the items.
    ///
    /// ```
    /// assert_eq!(parade::iter(0..1000).filter(|x| x % 7 == 0).count(), 143);
    /// ```
    pub fn count(self) -> usize {
        if self.options.limit.is_some() {
            return self.drain(|items| items.count());
        }
        let settings = self.options.settle();
        scoped(self.source, self.stage, Count, settings, |batches| {
            std::iter::from_fn(|| batches.next_batch()).sum()
        })
    }

    /// Sums the items: each worker sums its batches, then the partial sums are added.
    ///
    /// ```
    /// let s: u64 = parade::iter(vec![1u64, 2, 3]).map(|x| x * 10).sum();
    /// assert_eq!(s, 60);
    /// ```
    pub fn sum<S>(self) -> S
    where
        S: Sum<St::Out> + Sum<S> + Send,
    {
        if self.options.limit.is_some() {
            return self.drain(|items| items.sum());
        }
        let settings = self.options.settle();
        scoped(
            self.source,
            self.stage,
            SumTo::<S>(PhantomData),
            settings,
            |batches| std::iter::from_fn(|| batches.next_batch()).flatten().sum(),
        )
    }
}

impl<Src, St> IntoIterator for Pipeline<Src, St>
where
    Src: Source + 'static,
    St: Stage<Src::Item> + 'static,
{
    type Item = St::Out;
    type IntoIter = IntoIter<Src, St>;

    /// A plain iterator over the items; its workers start on the first `next`.
    fn into_iter(self) -> IntoIter<Src, St> {
        IntoIter {
            state: State::Idle(Some(self)),
        }
    }
}

/// A pipeline as a plain [`Iterator`], made by `into_iter` (or a `for` loop).
///
/// Its worker threads start on the first [`next`](Iterator::next) and are stopped and joined
/// when it is dropped, also before the end. A panic in a stage is raised by `next` with its
/// original payload once the items before it have been handed out.
///
/// ```
/// let mut it = parade::iter(0u64..).map(|x| x * x).into_iter();
/// assert_eq!(it.next(), Some(0));
/// assert_eq!(it.nth(2), Some(9));
/// drop(it); // stops the workers on the endless source
/// ```
pub struct IntoIter<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    state: State<Src, St>,
}

enum State<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    Idle(Option<Pipeline<Src, St>>),
    Running {
        shared: Arc<Shared<Src, St, ToVec>>,
        flat: Flat<St::Out>,
        threads: Vec<JoinHandle<()>>,
    },
}

impl<Src, St> std::fmt::Debug for IntoIter<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let running = matches!(self.state, State::Running { .. });
        f.debug_struct("IntoIter")
            .field("running", &running)
            .finish_non_exhaustive()
    }
}

impl<Src, St> IntoIter<Src, St>
where
    Src: Source + 'static,
    St: Stage<Src::Item> + 'static,
{
    fn start(pipeline: Pipeline<Src, St>) -> State<Src, St> {
        let Pipeline {
            source,
            stage,
            options,
        } = pipeline;
        let Options { limit, .. } = options;
        let settings = options.settle();
        let shared = Arc::new(Shared::new(source, stage, ToVec, settings));
        let mut threads = Vec::with_capacity(settings.workers);
        for _ in 0..settings.workers {
            let worker = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name("parade-iter".into())
                .spawn(move || worker.work())
            {
                Ok(handle) => threads.push(handle),
                Err(err) => {
                    shared.stop();
                    for t in threads {
                        drop(t.join());
                    }
                    panic!("parade: cannot spawn an iter worker: {err}");
                }
            }
        }
        State::Running {
            shared,
            flat: Flat::new(limit),
            threads,
        }
    }
}

impl<Src, St> Iterator for IntoIter<Src, St>
where
    Src: Source + 'static,
    St: Stage<Src::Item> + 'static,
{
    type Item = St::Out;

    fn next(&mut self) -> Option<St::Out> {
        if let State::Idle(pipeline) = &mut self.state {
            let pipeline = pipeline
                .take()
                .expect("an idle iterator holds its pipeline");
            self.state = Self::start(pipeline);
        }
        match &mut self.state {
            State::Running { shared, flat, .. } => flat.next(shared),
            State::Idle(_) => unreachable!("started above"),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.state {
            State::Running { flat, .. } => (flat.lower_bound(), None),
            State::Idle(_) => (0, None),
        }
    }
}

impl<Src, St> FusedIterator for IntoIter<Src, St>
where
    Src: Source + 'static,
    St: Stage<Src::Item> + 'static,
{
}

impl<Src, St> Drop for IntoIter<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    fn drop(&mut self) {
        if let State::Running {
            shared, threads, ..
        } = &mut self.state
        {
            shared.stop();
            for t in threads.drain(..) {
                // Workers catch every panic of a stage; a join error cannot carry one.
                drop(t.join());
            }
        }
    }
}
