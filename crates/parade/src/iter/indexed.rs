//! The indexed collect path behind `collect_vec`: for a source of exactly known length whose
//! stage chain yields exactly one output per item, workers write their outputs straight into
//! the spare capacity of the result, each into its own disjoint chunk, in parallel. No batch is
//! copied by the consumer and the page faults of the output are taken by the workers.
//!
//! Chunks are handed out under one lock, in input order, with the matching input batch: the
//! chunk is split off the front of what is left of the output, so the chunks handed out always
//! cover `0..m` of the output, without overlap. The only `unsafe` of the module is the final
//! `set_len`, in [`collect`].

use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use super::options::Settings;
use super::pool::Help;
use super::source::Source;
use super::stage::Stage;
use super::window::Payload;
use super::worker::adapt;

/// The source and what is left of the output, taken from together under one lock.
struct Feed<'o, Src, U> {
    source: Src,
    /// The part of the output not handed out yet: always the back of it.
    rest: &'o mut [MaybeUninit<U>],
    /// Sequence number of the next chunk, to raise the earliest panic.
    next_seq: u64,
}

/// What the workers of one indexed run share.
struct Run<'o, Src, St, U> {
    feed: Mutex<Feed<'o, Src, U>>,
    stage: St,
    settings: Settings,
    /// Outputs written by chunks that finished without panicking.
    written: AtomicUsize,
    /// Set on the first panic: workers take no more chunks.
    stop: AtomicBool,
    /// The panic of the earliest chunk that panicked.
    panic: Mutex<Option<(u64, Payload)>>,
}

impl<Src, St> Run<'_, Src, St, St::Out>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    fn fail(&self, seq: u64, payload: Payload) {
        self.stop.store(true, Ordering::Relaxed);
        let mut panic = self.panic.lock();
        if panic.as_ref().is_none_or(|(first, _)| seq < *first) {
            *panic = Some((seq, payload));
        }
    }

    /// Takes chunks until the output is full, the source ends or something panics; on the
    /// calling thread (`help`), calls for the helpers when it is time.
    fn work(&self, help: Option<&Help<'_>>) {
        let mut local = match catch_unwind(AssertUnwindSafe(|| self.stage.local())) {
            Ok(local) => local,
            Err(payload) => return self.fail(u64::MAX, payload),
        };
        let max = self.settings.max_batch(true);
        let mut size = self.settings.batch.unwrap_or(1);
        while !self.stop.load(Ordering::Relaxed) {
            let (seq, batch, chunk, left) = {
                let mut feed = self.feed.lock();
                let left = feed.rest.len();
                if left == 0 {
                    return;
                }
                // Near the end, smaller chunks keep the workers balanced.
                let want = size.min(left.div_ceil(2 * self.settings.workers));
                let seq = feed.next_seq;
                let batch = match catch_unwind(AssertUnwindSafe(|| feed.source.next_batch(want))) {
                    Ok(Some(batch)) => batch,
                    Ok(None) => return,
                    Err(payload) => {
                        // Nothing more is handed out after a panicking source.
                        feed.rest = &mut [];
                        drop(feed);
                        return self.fail(seq, payload);
                    }
                };
                feed.next_seq += 1;
                let (chunk, rest) =
                    std::mem::take(&mut feed.rest).split_at_mut(batch.len().min(left));
                feed.rest = rest;
                (seq, batch, chunk, feed.rest.len())
            };
            if let Some(help) = help {
                help.check(Some(left));
            }
            let n = chunk.len();
            let started = Instant::now();
            let run = catch_unwind(AssertUnwindSafe(|| {
                let mut wrote = 0;
                // The chunk comes first in the zip: no output is made that has no slot.
                for (slot, value) in chunk.iter_mut().zip(self.stage.pipe(&mut local, batch)) {
                    slot.write(value);
                    wrote += 1;
                }
                wrote
            }));
            match run {
                Ok(wrote) => {
                    self.written.fetch_add(wrote, Ordering::Relaxed);
                }
                Err(payload) => return self.fail(seq, payload),
            }
            if self.settings.batch.is_none() {
                size = adapt(size, n, started.elapsed(), max);
            }
        }
    }
}

/// Runs the pipeline over its `n` first items (the source must not yield them out of order)
/// and collects the outputs in order; `St` must yield one output per item.
///
/// A panic in the source or a stage is raised here with its own payload, after every worker has
/// stopped; the outputs already written are then leaked, never dropped twice.
#[allow(unsafe_code)]
pub(crate) fn collect<Src, St>(source: Src, stage: St, settings: Settings, n: usize) -> Vec<St::Out>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    let mut out: Vec<St::Out> = Vec::with_capacity(n);
    let run = Run {
        feed: Mutex::new(Feed {
            source,
            rest: &mut out.spare_capacity_mut()[..n],
            next_seq: 0,
        }),
        stage,
        settings,
        written: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        panic: Mutex::new(None),
    };
    // Nothing waits for a consumer, so the calling thread is one of the workers.
    super::pool::with_helpers(
        settings.workers - 1,
        &|| run.work(None),
        &|| run.stop.store(true, Ordering::Relaxed),
        |help| run.work(Some(help)),
    );
    let Run {
        feed,
        written,
        panic,
        ..
    } = run;
    if let Some((_, payload)) = panic.into_inner() {
        // The length stays 0: what was written leaks, nothing is dropped twice.
        resume_unwind(payload);
    }
    // The chunks handed out are the front `0..handed` of the output (each split off the front
    // of `rest`), disjoint, and a source that ends early just hands out fewer.
    let handed = n - feed.into_inner().rest.len();
    let written = written.into_inner();
    assert!(
        written == handed,
        "parade: a stage chain marked one-to-one made fewer outputs than items"
    );
    // SAFETY: `out` has capacity `n >= handed`. Every slot of `0..handed` belongs to exactly one
    // chunk handed to exactly one worker. A worker writes its chunk front to back with
    // `MaybeUninit::write`, one slot per output, and counts the writes; no worker panicked
    // (checked above), so every chunk finished and added its count to `written`, and the scope
    // joined every worker, so all writes happen before this point. A chunk holds at most
    // `chunk.len()` writes, so `written == handed` (checked above) means every chunk was
    // written in full: every slot of `0..handed` holds an initialised value, written once.
    unsafe { out.set_len(handed) };
    out
}
