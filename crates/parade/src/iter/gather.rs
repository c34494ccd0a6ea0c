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

    /// An empty accumulator for a batch of `n` source items.
    fn start(&self, n: usize) -> Self::Acc;
    /// Adds one output.
    fn push(&self, acc: &mut Self::Acc, item: T);
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

    #[inline]
    fn push(&self, acc: &mut Vec<T>, item: T) {
        acc.push(item);
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

    fn start(&self, _: usize) -> usize {
        0
    }

    #[inline]
    fn push(&self, acc: &mut usize, item: T) {
        drop(item);
        *acc += 1;
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

    fn start(&self, _: usize) -> Option<T> {
        None
    }

    #[inline]
    fn push(&self, acc: &mut Option<T>, item: T) {
        *acc = Some(match acc.take() {
            None => item,
            Some(a) => (self.0)(a, item),
        });
    }

    fn finish(&self, acc: Option<T>) -> Option<T> {
        acc
    }
}

/// Sums outputs: a batch is kept, then summed with [`Sum`] on the worker.
pub(crate) struct SumTo<S>(pub PhantomData<fn() -> S>);

impl<T: Send, S: Sum<T> + Send> Gather<T> for SumTo<S> {
    type Acc = Vec<T>;
    type Done = S;

    fn start(&self, n: usize) -> Vec<T> {
        Vec::with_capacity(n)
    }

    #[inline]
    fn push(&self, acc: &mut Vec<T>, item: T) {
        acc.push(item);
    }

    fn finish(&self, acc: Vec<T>) -> S {
        acc.into_iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather<T, G: Gather<T>>(g: &G, items: impl IntoIterator<Item = T>) -> G::Done {
        let mut acc = g.start(0);
        for i in items {
            g.push(&mut acc, i);
        }
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
        assert_eq!(gather(&SumTo::<u64>(PhantomData), [1u64, 2, 3]), 6);
    }
}
