//! Starting and ending a run: worker threads, and the consumer's end of the window.
//!
//! Terminal operations (`collect`, `fold`, `sum`, ...) run their workers in a scope on a pool
//! (`pool.rs`), so stages may borrow from the caller; the plain [`Iterator`] made by
//! `into_iter` owns its threads instead (see `consume.rs`). Both read batches through the same
//! [`Taker`], and both stop and join every worker when the consumer is done or dropped, also
//! while a panic unwinds.

use std::panic::resume_unwind;

use super::gather::{Gather, ToVec};
use super::options::Settings;
use super::source::Source;
use super::stage::Stage;
use super::window::{Payload, Shared};

/// What the consumer remembers between batches: the slots of the batch in hand, and a panic
/// that cut that batch short (raised once the batch's items have been handed out).
#[derive(Default)]
pub(crate) struct Taker {
    held: usize,
    pending: Option<Payload>,
    /// Set once a panic has been raised: the run is over.
    finished: bool,
}

impl Taker {
    /// The next batch, or `None` at the end; raises a stage's panic with its own payload.
    pub fn next<Src, St, G>(&mut self, shared: &Shared<Src, St, G>) -> Option<G::Done>
    where
        Src: Source,
        St: Stage<Src::Item>,
        G: Gather<St::Out>,
    {
        if self.finished {
            return None;
        }
        let payload = match self.pending.take() {
            Some(payload) => payload,
            None => match shared.take(std::mem::take(&mut self.held)) {
                Ok(batch) => {
                    let batch = batch?;
                    self.held = batch.cost;
                    self.pending = batch.panic;
                    return Some(batch.done);
                }
                Err(payload) => payload,
            },
        };
        self.finished = true;
        shared.stop();
        resume_unwind(payload);
    }
}

/// Items one at a time out of vector batches, up to an optional limit.
pub(crate) struct Flat<T> {
    taker: Taker,
    current: std::vec::IntoIter<T>,
    left: Option<usize>,
}

impl<T> Flat<T> {
    pub fn new(limit: Option<usize>) -> Self {
        Self {
            taker: Taker::default(),
            current: Vec::new().into_iter(),
            left: limit,
        }
    }

    /// The next item; at the limit the workers are told to stop.
    pub fn next<Src, St>(&mut self, shared: &Shared<Src, St, ToVec>) -> Option<T>
    where
        T: Send,
        Src: Source,
        St: Stage<Src::Item, Out = T>,
    {
        if let Some(left) = &mut self.left {
            if *left == 0 {
                shared.stop();
                return None;
            }
            *left -= 1;
        }
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            self.current = self.taker.next(shared)?.into_iter();
        }
    }

    /// A lower bound on what is left: the items of the batch in hand.
    pub fn lower_bound(&self) -> usize {
        let here = self.current.len();
        self.left.map_or(here, |left| here.min(left))
    }
}

/// The consumer's end of a scoped run; dropping it stops the workers.
pub(crate) struct Consumer<'s, Src, St, G>
where
    Src: Source,
    St: Stage<Src::Item>,
    G: Gather<St::Out>,
{
    shared: &'s Shared<Src, St, G>,
    taker: Taker,
}

impl<Src, St, G> Consumer<'_, Src, St, G>
where
    Src: Source,
    St: Stage<Src::Item>,
    G: Gather<St::Out>,
{
    /// The next batch's result, in order (or in completion order when unordered).
    pub fn next_batch(&mut self) -> Option<G::Done> {
        self.taker.next(self.shared)
    }
}

impl<Src, St, G> Drop for Consumer<'_, Src, St, G>
where
    Src: Source,
    St: Stage<Src::Item>,
    G: Gather<St::Out>,
{
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// Items of a scoped run, as a plain iterator.
pub(crate) struct Items<'s, Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    shared: &'s Shared<Src, St, ToVec>,
    flat: Flat<St::Out>,
}

impl<Src, St> Iterator for Items<'_, Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    type Item = St::Out;

    fn next(&mut self) -> Option<St::Out> {
        self.flat.next(self.shared)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.flat.lower_bound(), None)
    }
}

impl<Src, St> Drop for Items<'_, Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// Runs `consume` against a running pipeline whose workers live in a thread scope.
pub(crate) fn scoped<Src, St, G, R, F>(
    source: Src,
    stage: St,
    gather: G,
    settings: Settings,
    consume: F,
) -> R
where
    Src: Source,
    St: Stage<Src::Item>,
    G: Gather<St::Out>,
    F: FnOnce(&mut Consumer<'_, Src, St, G>) -> R,
{
    let shared = Shared::new(source, stage, gather, settings);
    // Folded batches never wait for the consumer, so the calling thread can be a worker too
    // and combine the partial results once it runs out of work. Other batches are taken by
    // the consumer as they come, so it must stay free.
    let spawn = if G::FOLDS {
        settings.workers - 1
    } else {
        settings.workers
    };
    let consumer = |consume: F| {
        let mut consumer = Consumer {
            shared: &shared,
            taker: Taker::default(),
        };
        consume(&mut consumer)
    };
    if G::FOLDS {
        // The calling thread folds too, and calls for helpers once the work outlasts waking
        // one (see `pool.rs`).
        return super::pool::with_helpers(spawn, &|| shared.work(), &|| shared.stop(), |help| {
            shared.work_helped(Some(help));
            consumer(consume)
        });
    }
    super::pool::with_workers(spawn, &|| shared.work(), &|| shared.stop(), || {
        consumer(consume)
    })
}

/// Runs `consume` over the items of a scoped run, one at a time, up to `limit`.
pub(crate) fn scoped_items<Src, St, R>(
    source: Src,
    stage: St,
    settings: Settings,
    limit: Option<usize>,
    consume: impl FnOnce(&mut Items<'_, Src, St>) -> R,
) -> R
where
    Src: Source,
    St: Stage<Src::Item>,
{
    scoped(source, stage, ToVec, settings, |consumer| {
        let mut items = Items {
            shared: consumer.shared,
            flat: Flat::new(limit),
        };
        consume(&mut items)
    })
}
