//! The worker loop, the same for ordered and unordered pipelines and for every consumer.
//!
//! A worker reserves room in the window, takes the next batch from the source (getting its
//! sequence number under the same lock), runs every item through the fused stage chain into a
//! gatherer, and publishes the result. Panics are caught and travel with the batch. Without a
//! fixed batch size the size adapts: it doubles while a batch takes less than about
//! [`TARGET`], halves when it takes far more, and never exceeds a share of the window or of
//! what the source has left, so cheap items travel in big batches and slow ones in small ones.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use super::gather::Gather;
use super::pool::Help;
use super::source::Source;
use super::stage::Stage;
use super::window::{Finished, Payload, Shared};

/// How long one adaptive batch should take: long enough to make a hand-off negligible, short
/// enough to keep workers balanced and the reorder buffer small.
pub(crate) const TARGET: Duration = Duration::from_micros(500);

/// What a worker got from the source.
enum Pulled<B> {
    /// A batch, and how many items the source has left if it knows.
    Batch(u64, B, Option<usize>),
    Panicked(u64, Payload),
    Ended,
}

impl<Src, St, G> Shared<Src, St, G>
where
    Src: Source,
    St: Stage<Src::Item>,
    G: Gather<St::Out>,
{
    /// Runs batches until the source ends, the consumer leaves or a stage panics.
    pub fn work(&self) {
        self.work_helped(None);
    }

    /// [`work`](Self::work) on the calling thread of a run, which calls for its helpers when
    /// it is time (see [`Help::check`]).
    pub fn work_helped(&self, help: Option<&Help<'_>>) {
        let mut local = match catch_unwind(AssertUnwindSafe(|| self.stage.local())) {
            Ok(local) => local,
            Err(payload) => return self.fail(payload),
        };
        let mut size = self.settings.batch.unwrap_or(1);
        loop {
            if !self.reserve(size) {
                return;
            }
            match self.pull(size) {
                Pulled::Ended => return,
                Pulled::Panicked(seq, payload) => {
                    let done = self.gather.finish(self.gather.start(0));
                    let batch = Finished {
                        done,
                        cost: 0,
                        panic: Some(payload),
                    };
                    return self.publish(seq, size, batch);
                }
                Pulled::Batch(seq, items, left) => {
                    if let Some(help) = help {
                        help.check(left);
                    }
                    let n = items.len();
                    let started = Instant::now();
                    let mut acc = self.gather.start(n);
                    let run = catch_unwind(AssertUnwindSafe(|| {
                        self.gather
                            .absorb(&mut acc, self.stage.pipe(&mut local, items));
                    }));
                    let elapsed = started.elapsed();
                    let panic = run.err();
                    let stopping = panic.is_some();
                    let done = self.gather.finish(acc);
                    // A folded batch holds no items any more: its slots go back at once.
                    let cost = if G::FOLDS { 0 } else { n };
                    self.publish(seq, size - cost, Finished { done, cost, panic });
                    if stopping {
                        return;
                    }
                    if self.settings.batch.is_none() {
                        size = adapt(size, n, elapsed, self.settings.max_batch(G::FOLDS));
                    }
                }
            }
        }
    }

    /// Takes the next batch of at most `size` items, or learns that the source has ended
    /// (then the whole reservation goes back).
    fn pull(&self, size: usize) -> Pulled<Src::Batch> {
        let mut feed = self.feed.lock();
        if feed.done {
            let total = feed.next_seq;
            drop(feed);
            self.end(total, size);
            return Pulled::Ended;
        }
        // Near the end of a source of known length, smaller batches keep workers balanced.
        let want = match feed.source.remaining() {
            Some(left) => size.min(left.div_ceil(2 * self.settings.workers).max(1)),
            None => size,
        };
        let got = catch_unwind(AssertUnwindSafe(|| feed.source.next_batch(want)));
        let seq = feed.next_seq;
        match got {
            Ok(Some(batch)) => {
                feed.next_seq += 1;
                Pulled::Batch(seq, batch, feed.source.remaining())
            }
            Ok(None) => {
                feed.done = true;
                drop(feed);
                self.end(seq, size);
                Pulled::Ended
            }
            Err(payload) => {
                feed.done = true;
                feed.next_seq += 1;
                Pulled::Panicked(seq, payload)
            }
        }
    }
}

/// The next adaptive batch size after `n` items took `elapsed`.
pub(crate) fn adapt(size: usize, n: usize, elapsed: Duration, max: usize) -> usize {
    if n < size {
        // A short batch says nothing about speed.
        size
    } else if elapsed < TARGET / 2 {
        (size * 2).min(max)
    } else if elapsed > TARGET * 4 {
        (size / 2).max(1)
    } else {
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapt_grows_cheap_batches_and_shrinks_slow_ones() {
        assert_eq!(adapt(4, 4, Duration::ZERO, 100), 8);
        assert_eq!(adapt(64, 64, Duration::ZERO, 100), 100);
        assert_eq!(adapt(64, 64, Duration::from_millis(10), 100), 32);
        assert_eq!(adapt(1, 1, Duration::from_millis(10), 100), 1);
        assert_eq!(adapt(64, 3, Duration::ZERO, 100), 64);
        assert_eq!(adapt(64, 64, TARGET, 100), 64);
    }
}
