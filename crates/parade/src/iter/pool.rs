//! Where a pipeline's workers run. A top-level run borrows the threads of a pool that stays
//! between runs (rayon's global pool, through a scope, so stages may still borrow from the
//! caller); starting threads for every run cost ~30 µs, more than a whole small pipeline. The
//! caller stays off the pool (the consumer runs on the calling thread), so a consumer waiting
//! for batches never takes a pool thread from the workers.
//!
//! A pipeline started *on* a pool thread (a stage of another pipeline, or user code inside
//! rayon) gets threads of its own instead: its consumer blocks while it waits for batches, and
//! a pool whose threads all wait that way would have none left for their workers.
//!
//! This module knows nothing of sources, stages or windows: it runs `work` on `extra` threads
//! beside `main` and returns once all of them are done.
//!
//! # Helpers called late
//!
//! Handing work to a pool thread and waiting for it to finish costs about 10 µs here (a
//! wake-up each way: `parade-bench iter` prints it as `rayon in_place_scope + 1 empty spawn`), a
//! hundred times what 100 cheap items cost. Where the calling thread works too
//! ([`with_helpers`]: folds, sums, `collect_vec`), it starts alone and calls for the helpers
//! only once it has worked [`HELP_AFTER`] and is not done, or at once when the source has
//! few items left (few items are likely slow ones). So a small pipeline never wakes a
//! thread, and a big one loses at most [`HELP_AFTER`] or one item's time of parallelism.
//! Like rayon, this runs items side by side when it can and never promises it: items must
//! not wait for each other.

use std::cell::Cell;
use std::thread;
use std::time::{Duration, Instant};

/// How long the calling thread works alone before it calls for helpers: about what waking one
/// costs.
pub(crate) const HELP_AFTER: Duration = Duration::from_micros(10);

/// A source with at most this many items left per worker gets its helpers at once.
const FEW_PER_WORKER: usize = 4;

/// The calling thread's way to call for its run's helpers, at most once.
pub(crate) struct Help<'a> {
    spawn: &'a dyn Fn(),
    called: Cell<bool>,
    /// Whether the caller has taken its first batch.
    started: Cell<bool>,
    since: Instant,
    /// How long the caller works alone ([`HELP_AFTER`]; tests choose).
    after: Duration,
    workers: usize,
}

impl<'a> Help<'a> {
    fn new(spawn: &'a dyn Fn(), extra: usize, after: Duration) -> Self {
        Help {
            spawn,
            called: Cell::new(extra == 0),
            started: Cell::new(false),
            since: Instant::now(),
            after,
            workers: extra + 1,
        }
    }

    /// Calls for the helpers if it is time: the caller has worked [`HELP_AFTER`], or the
    /// source had only a few items (`remaining` after the caller's first batch, if the source
    /// knows it), so each is likely slow.
    pub(crate) fn check(&self, remaining: Option<usize>) {
        if self.called.get() {
            return;
        }
        let first = !self.started.replace(true);
        let few = first && remaining.is_some_and(|r| r > 0 && r < FEW_PER_WORKER * self.workers);
        if few || self.since.elapsed() >= self.after {
            self.now();
        }
    }

    /// Calls for the helpers now (once).
    pub(crate) fn now(&self) {
        if !self.called.replace(true) {
            (self.spawn)();
        }
    }
}

/// Runs `main` on this thread, which works too, with `extra` helpers running `work` on other
/// threads from when `main` calls for them ([`Help::check`], [`Help::now`]); returns
/// `main`'s result once every helper called for has returned. If a thread cannot be started,
/// `stop` is called (so the helpers already running leave) and this panics.
pub(crate) fn with_helpers<R>(
    extra: usize,
    work: &(dyn Fn() + Sync),
    stop: &(dyn Fn() + Sync),
    main: impl FnOnce(&Help<'_>) -> R,
) -> R {
    helpers_after(HELP_AFTER, extra, work, stop, main)
}

/// [`with_helpers`] with the caller working alone for `after` at first.
fn helpers_after<R>(
    after: Duration,
    extra: usize,
    work: &(dyn Fn() + Sync),
    stop: &(dyn Fn() + Sync),
    main: impl FnOnce(&Help<'_>) -> R,
) -> R {
    if extra == 0 {
        return main(&Help::new(&|| {}, 0, after));
    }
    if rayon::current_thread_index().is_none() {
        return rayon::in_place_scope(|scope| {
            let spawn = || {
                for _ in 0..extra {
                    scope.spawn(|_| work());
                }
            };
            main(&Help::new(&spawn, extra, after))
        });
    }
    thread::scope(|scope| {
        let spawn = || spawn_threads(scope, extra, work, stop);
        main(&Help::new(&spawn, extra, after))
    })
}

/// Starts `extra` threads of their own running `work` in `scope`.
fn spawn_threads<'scope>(
    scope: &'scope thread::Scope<'scope, '_>,
    extra: usize,
    work: &'scope (dyn Fn() + Sync),
    stop: &(dyn Fn() + Sync),
) {
    for _ in 0..extra {
        let spawned = thread::Builder::new()
            .name("parade-iter".into())
            .spawn_scoped(scope, work);
        if let Err(err) = spawned {
            // Let the workers already started leave, so the scope can join them.
            stop();
            panic!("parade: cannot spawn an iter worker: {err}");
        }
    }
}

/// Runs `main` on this thread and `work` on `extra` other threads, and returns `main`'s result
/// once every `work` has returned. If a thread cannot be started, `stop` is called (so the
/// workers already running leave) and this panics.
pub(crate) fn with_workers<R>(
    extra: usize,
    work: &(dyn Fn() + Sync),
    stop: &(dyn Fn() + Sync),
    main: impl FnOnce() -> R,
) -> R {
    with_helpers(extra, work, stop, |help| {
        help.now();
        main()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn every_worker_runs_once_and_main_returns_its_value() {
        let ran = AtomicUsize::new(0);
        let got = with_workers(
            3,
            &|| {
                ran.fetch_add(1, Ordering::SeqCst);
            },
            &|| {},
            || 7,
        );
        assert_eq!((got, ran.load(Ordering::SeqCst)), (7, 3));
    }

    #[test]
    fn on_a_pool_thread_workers_get_threads_of_their_own() {
        // The only pool thread waits for its worker: were the worker queued on that pool, it
        // would never run.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let got = pool.install(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            let tx = std::sync::Mutex::new(tx);
            with_workers(1, &|| tx.lock().unwrap().send(5).unwrap(), &|| {}, || {
                rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap()
            })
        });
        assert_eq!(got, 5);
    }

    /// Runs `main` with one helper that would count its runs, the caller alone for `after`.
    fn helper_runs(after: Duration, main: impl FnOnce(&Help<'_>)) -> usize {
        let ran = AtomicUsize::new(0);
        let work = || {
            ran.fetch_add(1, Ordering::SeqCst);
        };
        helpers_after(after, 1, &work, &|| {}, main);
        ran.load(Ordering::SeqCst)
    }

    #[test]
    fn a_caller_done_in_time_wakes_no_helper() {
        let hour = Duration::from_secs(3600);
        assert_eq!(helper_runs(hour, |h| h.check(Some(1000))), 0);
        assert_eq!(helper_runs(hour, |h| h.check(None)), 0);
        // Nothing left after the first batch: nothing to help with.
        assert_eq!(helper_runs(hour, |h| h.check(Some(0))), 0);
    }

    #[test]
    fn helpers_come_once_the_caller_has_worked_long_enough() {
        let runs = helper_runs(Duration::ZERO, |h| {
            h.check(Some(1000));
            h.check(Some(900));
            h.now();
        });
        assert_eq!(runs, 1);
    }

    #[test]
    fn a_source_of_few_items_gets_its_helpers_at_once() {
        let hour = Duration::from_secs(3600);
        // Two workers: fewer than 8 items left after the first batch is few.
        assert_eq!(helper_runs(hour, |h| h.check(Some(7))), 1);
        // Only the first batch says how big the source is: its end is not "few".
        assert_eq!(
            helper_runs(hour, |h| {
                h.check(Some(1000));
                h.check(Some(3));
            }),
            0
        );
    }
}
