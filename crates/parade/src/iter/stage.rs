//! The fused stage chain: every adapter (`map`, `filter`, `flat_map`, ...) wraps the chain
//! before it, and a worker pushes each item through the whole chain in one call, so an item
//! never changes thread between stages.
//!
//! Stages push their outputs into a sink closure (zero, one or many per input), which is how
//! `filter` and `flat_map` fuse with `map`. Per-worker state (`map_init`, `map_with`) lives in
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

    /// Makes the per-worker state; called once on each worker before its first item.
    fn local(&self) -> Self::Local;

    /// Runs `item` through the chain, handing every output to `out`.
    fn feed<O: FnMut(Self::Out)>(&self, local: &mut Self::Local, item: In, out: &mut O);
}

/// The empty chain: items pass through unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Identity;

impl<T: Send> Stage<T> for Identity {
    type Out = T;
    type Local = ();

    fn local(&self) {}

    #[inline]
    fn feed<O: FnMut(T)>(&self, (): &mut (), item: T, out: &mut O) {
        out(item);
    }
}

/// `map`: one output per input.
pub(crate) struct Map<P, F> {
    pub prev: P,
    pub f: F,
}

impl<In, P, F, U> Stage<In> for Map<P, F>
where
    P: Stage<In>,
    F: Fn(P::Out) -> U + Send + Sync,
    U: Send,
{
    type Out = U;
    type Local = P::Local;

    fn local(&self) -> P::Local {
        self.prev.local()
    }

    #[inline]
    fn feed<O: FnMut(U)>(&self, local: &mut P::Local, item: In, out: &mut O) {
        self.prev.feed(local, item, &mut |x| out((self.f)(x)));
    }
}

/// `filter_map`: zero or one output per input; `filter` and `inspect` are built on it.
pub(crate) struct FilterMap<P, F> {
    pub prev: P,
    pub f: F,
}

impl<In, P, F, U> Stage<In> for FilterMap<P, F>
where
    P: Stage<In>,
    F: Fn(P::Out) -> Option<U> + Send + Sync,
    U: Send,
{
    type Out = U;
    type Local = P::Local;

    fn local(&self) -> P::Local {
        self.prev.local()
    }

    #[inline]
    fn feed<O: FnMut(U)>(&self, local: &mut P::Local, item: In, out: &mut O) {
        self.prev.feed(local, item, &mut |x| {
            if let Some(u) = (self.f)(x) {
                out(u);
            }
        });
    }
}

/// `flat_map`: map, then hand out every element of the result, in order.
pub(crate) struct FlatMap<P, F> {
    pub prev: P,
    pub f: F,
}

impl<In, P, F, I> Stage<In> for FlatMap<P, F>
where
    P: Stage<In>,
    F: Fn(P::Out) -> I + Send + Sync,
    I: IntoIterator,
    I::Item: Send,
{
    type Out = I::Item;
    type Local = P::Local;

    fn local(&self) -> P::Local {
        self.prev.local()
    }

    #[inline]
    fn feed<O: FnMut(I::Item)>(&self, local: &mut P::Local, item: In, out: &mut O) {
        self.prev.feed(local, item, &mut |x| {
            (self.f)(x).into_iter().for_each(&mut *out)
        });
    }
}

/// `map_init`: a map that borrows per-worker state made by `init`.
pub(crate) struct MapInit<P, I, F> {
    pub prev: P,
    pub init: I,
    pub f: F,
}

impl<In, P, I, F, L, U> Stage<In> for MapInit<P, I, F>
where
    P: Stage<In>,
    I: Fn() -> L + Send + Sync,
    F: Fn(&mut L, P::Out) -> U + Send + Sync,
    U: Send,
{
    type Out = U;
    type Local = (P::Local, L);

    fn local(&self) -> Self::Local {
        (self.prev.local(), (self.init)())
    }

    #[inline]
    fn feed<O: FnMut(U)>(&self, (prev, state): &mut Self::Local, item: In, out: &mut O) {
        self.prev.feed(prev, item, &mut |x| out((self.f)(state, x)));
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
        let mut out = Vec::new();
        for i in items {
            s.feed(&mut local, i, &mut |x| out.push(x));
        }
        out
    }

    #[test]
    fn stages_fuse_in_order() {
        let chain = FlatMap {
            prev: FilterMap {
                prev: Map {
                    prev: Identity,
                    f: |x: u32| x + 1,
                },
                f: |x: u32| (x % 2 == 0).then_some(x),
            },
            f: |x: u32| [x, x * 10],
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
