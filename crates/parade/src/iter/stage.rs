//! The fused stage chain: every adapter (`map`, `filter`, `flat_map`, ...) wraps the chain
//! before it, and a worker pushes each item through the whole chain in one call, so an item
//! never changes thread between stages.
//!
//! A stage turns the iterator of a batch into the iterator of its outputs with one standard
//! adapter (`map`, `filter_map`, `flat_map`), so the compiler fuses the chain into one loop (and
//! can vectorise cheap maps over slices). Per-worker state (`map_init`, `map_with`) lives in
//! [`Stage::Local`], made once on each worker. This file knows nothing about threads or order.

use parking_lot::Mutex;

/// One fused chain of stages from a source item `In` to zero or more outputs.
///
/// Built by the adapters of [`Pipeline`](super::Pipeline); you rarely need to name it.
///
/// ```
/// let v: Vec<u32> = parade::iter(0..6u32).filter(|x| x % 2 == 0).map(|x| x * 10).collect();
/// assert_eq!(v, [0, 20, 40]);
/// ```
pub trait Stage<In>: Send + Sync {
    /// What comes out of the chain.
    type Out: Send;
    /// State each worker keeps for itself across items.
    type Local;
    /// Whether the chain makes exactly one output per item, in order (`map`, `map_init`,
    /// `map_with`, `inspect`, `try_map`; not `filter`, `filter_map`, `flat_map`, `try_filter`).
    /// Lets [`collect_vec`](super::Pipeline::collect_vec) over a slice write every output
    /// straight into its place in the result.
    const ONE_TO_ONE: bool = false;

    /// Makes the per-worker state; called once on each worker before its first item.
    fn local(&self) -> Self::Local;

    /// Runs a batch of items through the chain: one iterator adapter per stage, so the
    /// compiler fuses the whole chain into one loop.
    fn pipe<'a, I>(
        &'a self,
        local: &'a mut Self::Local,
        items: I,
    ) -> impl Iterator<Item = Self::Out>
    where
        I: Iterator<Item = In>;
}

/// The empty chain: items pass through unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Identity;

impl<T: Send> Stage<T> for Identity {
    type Out = T;
    type Local = ();
    const ONE_TO_ONE: bool = true;

    fn local(&self) {}

    fn pipe<'a, I>(&'a self, (): &'a mut (), items: I) -> impl Iterator<Item = T>
    where
        I: Iterator<Item = T>,
    {
        items
    }
}

/// A stage that keeps the per-worker state of the chain before it and only adapts the iterator
/// of that chain's outputs: `map`, `filter_map`, `flat_map` and rayon's `fold` are its
/// [`Adapter`]s, so how a stage wraps the one before it is written once, here.
pub(crate) struct Adapted<P, A> {
    pub prev: P,
    pub then: A,
}

/// What an [`Adapted`] stage does to the outputs of the chain before it: one standard iterator
/// adapter, so the chain stays one fused loop.
pub(crate) trait Adapter<T>: Send + Sync {
    /// What comes out.
    type Out: Send;
    /// Whether it makes exactly one output per input, in order (see [`Stage::ONE_TO_ONE`]).
    const ONE_TO_ONE: bool = false;

    /// Adapts the outputs of the chain before it.
    fn adapt<I: Iterator<Item = T>>(&self, items: I) -> impl Iterator<Item = Self::Out>;
}

impl<In, P, A> Stage<In> for Adapted<P, A>
where
    P: Stage<In>,
    A: Adapter<P::Out>,
{
    type Out = A::Out;
    type Local = P::Local;
    const ONE_TO_ONE: bool = P::ONE_TO_ONE && A::ONE_TO_ONE;

    fn local(&self) -> P::Local {
        self.prev.local()
    }

    fn pipe<'a, I>(&'a self, local: &'a mut P::Local, items: I) -> impl Iterator<Item = A::Out>
    where
        I: Iterator<Item = In>,
    {
        self.then.adapt(self.prev.pipe(local, items))
    }
}

/// `map`: one output per input.
pub(crate) struct Map<F>(pub F);

impl<T, F: Fn(T) -> U + Send + Sync, U: Send> Adapter<T> for Map<F> {
    type Out = U;
    const ONE_TO_ONE: bool = true;

    fn adapt<I: Iterator<Item = T>>(&self, items: I) -> impl Iterator<Item = U> {
        items.map(&self.0)
    }
}

/// `filter_map`: zero or one output per input; `filter` is built on it.
pub(crate) struct FilterMap<F>(pub F);

impl<T, F: Fn(T) -> Option<U> + Send + Sync, U: Send> Adapter<T> for FilterMap<F> {
    type Out = U;

    fn adapt<I: Iterator<Item = T>>(&self, items: I) -> impl Iterator<Item = U> {
        items.filter_map(&self.0)
    }
}

/// `flat_map`: map, then hand out every element of the result, in order.
pub(crate) struct FlatMap<F>(pub F);

impl<T, F, It> Adapter<T> for FlatMap<F>
where
    F: Fn(T) -> It + Send + Sync,
    It: IntoIterator,
    It::Item: Send,
{
    type Out = It::Item;

    fn adapt<I: Iterator<Item = T>>(&self, items: I) -> impl Iterator<Item = It::Item> {
        items.flat_map(&self.0)
    }
}

/// `map_init`: a map that borrows per-worker state made by `init`.
pub(crate) struct MapInit<P, Init, F> {
    pub prev: P,
    pub init: Init,
    pub f: F,
}

impl<In, P, Init, F, L, U> Stage<In> for MapInit<P, Init, F>
where
    P: Stage<In>,
    Init: Fn() -> L + Send + Sync,
    F: Fn(&mut L, P::Out) -> U + Send + Sync,
    U: Send,
{
    type Out = U;
    type Local = (P::Local, L);
    const ONE_TO_ONE: bool = P::ONE_TO_ONE;

    fn local(&self) -> Self::Local {
        (self.prev.local(), (self.init)())
    }

    fn pipe<'a, I>(
        &'a self,
        (prev, state): &'a mut Self::Local,
        items: I,
    ) -> impl Iterator<Item = U>
    where
        I: Iterator<Item = In>,
    {
        self.prev.pipe(prev, items).map(move |x| (self.f)(state, x))
    }
}

/// The seed of `map_with`: each worker gets its own clone. Kept behind a lock so the value only
/// needs to be `Send`, not `Sync`; the lock is taken once per worker.
pub(crate) struct CloneSeed<L>(pub Mutex<L>);

impl<L: Clone> CloneSeed<L> {
    pub fn get(&self) -> L {
        self.0.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<S: Stage<u32>>(s: &S, items: impl IntoIterator<Item = u32>) -> Vec<S::Out> {
        let mut local = s.local();
        s.pipe(&mut local, items.into_iter()).collect()
    }

    #[test]
    fn stages_fuse_in_order() {
        let chain = Adapted {
            prev: Adapted {
                prev: Adapted {
                    prev: Identity,
                    then: Map(|x: u32| x + 1),
                },
                then: FilterMap(|x: u32| x.is_multiple_of(2).then_some(x)),
            },
            then: FlatMap(|x: u32| [x, x * 10]),
        };
        assert_eq!(run(&chain, 0..5), [2, 20, 4, 40]);
    }

    #[test]
    fn map_init_keeps_state_per_local() {
        let chain = MapInit {
            prev: Identity,
            init: || 0u32,
            f: |seen: &mut u32, x: u32| {
                *seen += 1;
                (x, *seen)
            },
        };
        assert_eq!(run(&chain, [7, 8]), [(7, 1), (8, 2)]);
        assert_eq!(run(&chain, [9]), [(9, 1)]);
    }

    #[test]
    fn clone_seed_clones() {
        let seed = CloneSeed(Mutex::new(vec![1]));
        let mut a = seed.get();
        a.push(2);
        assert_eq!(seed.get(), [1]);
    }
}
