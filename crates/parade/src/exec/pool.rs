//! [`ThreadPool`]: a fixed set of worker threads, the engine's default executor.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};

use super::{Executor, help_until};
use crate::engine::{Progress, Runnable, Signal, is_finishing};

thread_local! {
    /// The pool this thread works for (its address), or 0.
    static POOL: Cell<usize> = const { Cell::new(0) };
    /// A job this worker runs next, without a trip through the shared queue.
    static NEXT: RefCell<Option<Runnable>> = const { RefCell::new(None) };
}

struct Queue {
    jobs: VecDeque<Runnable>,
    sleeping: usize,
    shutdown: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    work: Condvar,
    /// Workers blocked in a wait inside a task, helping with queued jobs.
    helpers: AtomicUsize,
}

impl Shared {
    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// The next job, and whether it is the one this worker kept when it reported its last
    /// job's end (it runs straight on: see [`Runnable::run_from`]).
    fn next_job(&self) -> Option<(Runnable, bool)> {
        if let Some(job) = NEXT.with(|n| n.borrow_mut().take()) {
            return Some((job, true));
        }
        let mut q = self.queue.lock();
        loop {
            if let Some(job) = q.jobs.pop_front() {
                return Some((job, false));
            }
            if q.shutdown {
                return None;
            }
            q.sleeping += 1;
            self.work.wait(&mut q);
            q.sleeping -= 1;
        }
    }

    fn try_next_job(&self) -> Option<Runnable> {
        NEXT.with(|n| n.borrow_mut().take())
            .or_else(|| self.queue.lock().jobs.pop_front())
    }
}

/// A fixed number of worker threads taking started jobs from one queue.
///
/// A worker that ends a task keeps one job that the end made ready and runs it next, so a chain
/// of tasks runs on one thread without touching the queue. A task that waits for other tasks
/// lends its place under the engine's limit, and its thread runs queued jobs while it waits.
///
/// ```
/// use std::sync::Arc;
/// use parade::{engine::{Engine, TaskSpec, Outcome}, exec::ThreadPool};
/// let engine = Engine::with_executor(Arc::new(ThreadPool::new(2)));
/// let ids: Vec<_> = (0..100)
///     .map(|_| engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap())
///     .collect();
/// engine.want(ids).unwrap();
/// engine.wait_all().unwrap();
/// ```
pub struct ThreadPool {
    shared: Arc<Shared>,
    threads: usize,
}

impl ThreadPool {
    /// A pool of `threads` workers (at least one).
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                sleeping: 0,
                shutdown: false,
            }),
            work: Condvar::new(),
            helpers: AtomicUsize::new(0),
        });
        for i in 0..threads {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("parade-worker-{i}"))
                .spawn(move || {
                    POOL.with(|p| p.set(shared.key()));
                    let mut ended = None;
                    while let Some((job, kept)) = shared.next_job() {
                        ended = job.run_from(ended.filter(|_| kept));
                    }
                })
                .expect("the operating system refused to start a worker thread");
        }
        Self { shared, threads }
    }

    /// The process-wide pool, one worker per core, started on first use.
    pub fn global() -> Arc<ThreadPool> {
        static GLOBAL: OnceLock<Arc<ThreadPool>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                Arc::new(ThreadPool::new(cores))
            })
            .clone()
    }

    /// How many worker threads it has.
    pub fn threads(&self) -> usize {
        self.threads
    }

    fn on_worker_thread(&self) -> bool {
        POOL.with(Cell::get) == self.shared.key()
    }

    /// Takes `first` and `rest`: a worker reporting the end of a job keeps one for itself
    /// (it runs it next, without the queue), the others go on the queue.
    fn enqueue(&self, first: Runnable, mut rest: impl Iterator<Item = Runnable>) {
        let mut first = Some(first);
        if self.on_worker_thread() && is_finishing() {
            NEXT.with(|n| {
                let mut n = n.borrow_mut();
                if n.is_none() {
                    *n = first.take();
                }
            });
        }
        let Some(first) = first.or_else(|| rest.next()) else {
            return;
        };
        let engine = first.engine().clone();
        let (count, sleeping) = {
            let mut q = self.shared.queue.lock();
            q.jobs.push_back(first);
            q.jobs.extend(rest);
            (q.jobs.len(), q.sleeping)
        };
        for _ in 0..count.min(sleeping) {
            self.shared.work.notify_one();
        }
        if self.shared.helpers.load(Ordering::SeqCst) > 0 {
            engine.signal().notify();
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shared.queue.lock().shutdown = true;
        self.shared.work.notify_all();
    }
}

impl Executor for ThreadPool {
    fn name(&self) -> &'static str {
        "threads"
    }

    fn capacity(&self) -> usize {
        self.threads
    }

    fn spawn(&self, jobs: Vec<Runnable>) {
        let mut jobs = jobs.into_iter();
        let Some(first) = jobs.next() else { return };
        self.enqueue(first, jobs);
    }

    fn spawn_one(&self, job: Runnable) {
        self.enqueue(job, std::iter::empty());
    }

    fn block_until(&self, check: &mut dyn FnMut() -> Progress, signal: &Signal) -> Progress {
        if !self.on_worker_thread() {
            return help_until(check, signal, || None);
        }
        self.shared.helpers.fetch_add(1, Ordering::SeqCst);
        let progress = help_until(check, signal, || self.shared.try_next_job());
        self.shared.helpers.fetch_sub(1, Ordering::SeqCst);
        progress
    }
}
