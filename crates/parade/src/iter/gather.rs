//! Gatherers: what a worker makes of one batch's outputs before handing it to the consumer.
//!
//! Iteration and `collect` keep the outputs in a vector; `count`, `sum` and `reduce` fold each
//! batch on the worker and hand over one partial result, so the consumer only combines a few
//! partials in order. This file knows nothing about threads or order.

use std::iter::Sum;
use std::marker::PhantomData;

/// Folds the outputs of one batch on the worker.
pub(crate) trait Gather<T>: Sync {
    /// Built up on the worker while the batch runs.
    type Acc;
    /// Handed to the consumer.
    type Done: Send;
    /// Whether a batch is folded into a small value: then its window slots are given back as
    /// soon as it is finished, and the consumer is woken only now and then to combine them.
    const FOLDS: bool = false;

    /// An empty accumulator for a batch of `n` source items.
    fn start(&self, n: usize) -> Self::Acc;
    /// Takes in the outputs of the batch. What was taken in before a panic stays in `acc`.
    fn absorb(&self, acc: &mut Self::Acc, items: impl Iterator<Item = T>);
    /// Finishes the batch.
    fn finish(&self, acc: Self::Acc) -> Self::Done;
}

/// Keeps every output, in order.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ToVec;

impl<T: Send> Gather<T> for ToVec {
    type Acc = Vec<T>;
    type Done = Vec<T>;

    fn start(&self, n: usize) -> Vec<T> {
        Vec::with_capacity(n)
    }

    fn absorb(&self, acc: &mut Vec<T>, items: impl Iterator<Item = T>) {
        acc.extend(items);
    }

    fn finish(&self, acc: Vec<T>) -> Vec<T> {
        acc
    }
}

/// Counts outputs and drops them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Count;

impl<T> Gather<T> for Count {
    type Acc = usize;
    type Done = usize;
    const FOLDS: bool = true;

    fn start(&self, _: usize) -> usize {
        0
    }

    fn absorb(&self, acc: &mut usize, items: impl Iterator<Item = T>) {
        *acc += items.count();
    }

    fn finish(&self, acc: usize) -> usize {
        acc
    }
}

/// Folds outputs with an associative `f`, in order.
pub(crate) struct Reduce<F>(pub F);

impl<T: Send, F: Fn(T, T) -> T + Sync> Gather<T> for Reduce<F> {
    type Acc = Option<T>;
    type Done = Option<T>;
    const FOLDS: bool = true;

    fn start(&self, _: usize) -> Option<T> {
        None
    }

    fn absorb(&self, acc: &mut Option<T>, items: impl Iterator<Item = T>) {
        *acc = acc.take().into_iter().chain(items).reduce(&self.0);
    }

    fn finish(&self, acc: Option<T>) -> Option<T> {
        acc
    }
}

/// Sums outputs with [`Sum`] on the worker.
pub(crate) struct SumTo<S>(pub PhantomData<fn() -> S>);

impl<T, S: Sum<T> + Send> Gather<T> for SumTo<S> {
    type Acc = Option<S>;
    type Done = Option<S>;
    const FOLDS: bool = true;

    fn start(&self, _: usize) -> Option<S> {
        None
    }

    fn absorb(&self, acc: &mut Option<S>, items: impl Iterator<Item = T>) {
        *acc = Some(items.sum());
    }

    fn finish(&self, acc: Option<S>) -> Option<S> {
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather<T, G: Gather<T>>(g: &G, items: impl IntoIterator<Item = T>) -> G::Done {
        let mut acc = g.start(0);
        g.absorb(&mut acc, items.into_iter());
        g.finish(acc)
    }

    #[test]
    fn gatherers_fold_a_batch() {
        assert_eq!(gather(&ToVec, [1, 2]), [1, 2]);
        assert_eq!(gather(&Count, ["a", "b", "c"]), 3);
        assert_eq!(
            gather(
                &Reduce(|a: String, b: String| a + &b),
                ["x".into(), "y".into()]
            ),
            Some("xy".into())
        );
        assert_eq!(gather(&Reduce(|a: u8, b: u8| a + b), []), None);
        assert_eq!(gather(&SumTo::<u64>(PhantomData), [1u64, 2, 3]), Some(6));
    }
}
