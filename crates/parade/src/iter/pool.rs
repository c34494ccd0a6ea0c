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

use std::thread;

/// Runs `main` on this thread and `work` on `extra` other threads, and returns `main`'s result
/// once every `work` has returned. If a thread cannot be started, `stop` is called (so the
/// workers already running leave) and this panics.
pub(crate) fn with_workers<R>(
    extra: usize,
    work: &(dyn Fn() + Sync),
    stop: &(dyn Fn() + Sync),
    main: impl FnOnce() -> R,
) -> R {
    if extra == 0 {
        return main();
    }
    if rayon::current_thread_index().is_none() {
        return rayon::in_place_scope(|scope| {
            for _ in 0..extra {
                scope.spawn(|_| work());
            }
            main()
        });
    }
    thread::scope(|scope| {
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
}
