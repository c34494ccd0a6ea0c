//! The window: state shared by the workers and the consumer of one running pipeline.
//!
//! It bounds memory and keeps order. Before pulling a batch of `n` items from the source a
//! worker reserves `n` slots; the slots are given back only when the consumer moves on from that
//! batch, so the source is never more than `in_flight` items ahead of what the consumer has
//! taken, however slow one item is. Finished batches wait in a reorder buffer keyed by their
//! sequence number: the ordered consumer takes exactly the next one, the unordered consumer any
//! finished one. Both modes share everything else.
//!
//! This file owns the accounting and the hand-over; the worker loop lives in `worker.rs`.

use std::any::Any;
use std::collections::BTreeMap;

use parking_lot::{Condvar, Mutex};

use super::gather::Gather;
use super::options::Settings;
use super::source::Source;
use super::stage::Stage;

/// How many folded batches may wait before the consumer is woken to combine them.
const FOLDED_PILE: usize = 64;

/// A panic payload, carried unchanged to the consumer.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// Everything one running pipeline shares between its workers and its consumer.
pub(crate) struct Shared<Src, St, G>
where
    Src: Source,
    St: Stage<Src::Item>,
    G: Gather<St::Out>,
{
    pub feed: Mutex<Feed<Src>>,
    pub window: Mutex<Window<G::Done>>,
    /// Workers wait here for room in the window.
    pub to_workers: Condvar,
    /// The consumer waits here for the next batch.
    pub to_consumer: Condvar,
    pub stage: St,
    pub gather: G,
    pub settings: Settings,
}

/// The source and the sequence number of the next batch, behind one lock.
pub(crate) struct Feed<Src> {
    pub source: Src,
    pub next_seq: u64,
    pub done: bool,
}

/// Accounting and finished batches, behind one lock.
pub(crate) struct Window<D> {
    /// Source items reserved or pulled and not yet released by the consumer.
    pub in_flight: usize,
    /// Finished batches not yet taken, by sequence number.
    pub ready: BTreeMap<u64, Finished<D>>,
    /// How many batches the consumer has taken.
    pub taken: u64,
    /// How many batches there are, once the source has ended.
    pub total: Option<u64>,
    /// Set when the consumer is gone or a stage panicked: take no new batch.
    pub stop: bool,
    /// A panic outside any batch (making per-worker state), for the consumer to raise.
    pub fatal: Option<Payload>,
}

/// One finished batch.
pub(crate) struct Finished<D> {
    /// What the batch made, up to the panic if there was one.
    pub done: D,
    /// Window slots to give back when the consumer moves on.
    pub cost: usize,
    /// The panic that cut the batch short.
    pub panic: Option<Payload>,
}

impl<Src, St, G> Shared<Src, St, G>
where
    Src: Source,
    St: Stage<Src::Item>,
    G: Gather<St::Out>,
{
    pub fn new(source: Src, stage: St, gather: G, settings: Settings) -> Self {
        Self {
            feed: Mutex::new(Feed {
                source,
                next_seq: 0,
                done: false,
            }),
            window: Mutex::new(Window {
                in_flight: 0,
                ready: BTreeMap::new(),
                taken: 0,
                total: None,
                stop: false,
                fatal: None,
            }),
            to_workers: Condvar::new(),
            to_consumer: Condvar::new(),
            stage,
            gather,
            settings,
        }
    }

    /// Waits until `n` slots are free and takes them; `false` if the pipeline is stopping.
    pub fn reserve(&self, n: usize) -> bool {
        let mut w = self.window.lock();
        loop {
            if w.stop {
                return false;
            }
            if w.in_flight + n <= self.settings.in_flight {
                w.in_flight += n;
                return true;
            }
            self.to_workers.wait(&mut w);
        }
    }

    /// The source ended after `total` batches: give back `unused` slots and say so.
    pub fn end(&self, total: u64, unused: usize) {
        let mut w = self.window.lock();
        w.in_flight -= unused;
        w.total = Some(total);
        drop(w);
        self.to_consumer.notify_one();
        self.to_workers.notify_all();
    }

    /// Hands a finished batch to the consumer; `unused` reserved slots go back at once.
    pub fn publish(&self, seq: u64, unused: usize, batch: Finished<G::Done>) {
        let panicked = batch.panic.is_some();
        let mut w = self.window.lock();
        w.in_flight -= unused;
        w.ready.insert(seq, batch);
        if panicked {
            // Batches before this one are already out with other workers and will still
            // arrive; nothing after it is pulled.
            w.stop = true;
        }
        // An ordered consumer only waits for the next batch in order: do not wake it for others.
        // Folded batches are small: let a few pile up, the consumer combines them in one go.
        let wake = if G::FOLDS {
            panicked || w.total.is_some() || w.ready.len() >= FOLDED_PILE
        } else {
            !self.settings.ordered || seq == w.taken
        };
        drop(w);
        if wake {
            self.to_consumer.notify_one();
        }
        if panicked || unused > 0 {
            self.to_workers.notify_all();
        }
    }

    /// A panic outside any batch: stop and let the consumer raise it.
    pub fn fail(&self, payload: Payload) {
        let mut w = self.window.lock();
        w.stop = true;
        w.fatal.get_or_insert(payload);
        drop(w);
        self.to_consumer.notify_one();
        self.to_workers.notify_all();
    }

    /// The consumer is gone: workers finish the batch in hand and leave.
    pub fn stop(&self) {
        self.window.lock().stop = true;
        self.to_workers.notify_all();
    }

    /// The consumer's side: gives back the `held` slots of the batch it is done with, then
    /// waits for the next batch (in order, or any finished one when unordered). `None` at
    /// the end; `Err` with a panic that happened outside any batch.
    pub fn take(&self, held: usize) -> Result<Option<Finished<G::Done>>, Payload> {
        let mut w = self.window.lock();
        if held > 0 {
            w.in_flight -= held;
            self.to_workers.notify_all();
        }
        loop {
            if let Some(payload) = w.fatal.take() {
                return Err(payload);
            }
            let next = if self.settings.ordered {
                let seq = w.taken;
                w.ready.remove(&seq)
            } else {
                w.ready.pop_first().map(|(_, b)| b)
            };
            if let Some(batch) = next {
                w.taken += 1;
                return Ok(Some(batch));
            }
            if w.total == Some(w.taken) {
                return Ok(None);
            }
            self.to_consumer.wait(&mut w);
        }
    }
}
