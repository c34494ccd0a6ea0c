//! [`ThreadPool`]: a fixed set of worker threads, the engine's default executor.
//!
//! Waking a sleeping worker costs the thread that hands it a job a futex call and, on a
//! machine with few cores, often the core itself (the woken worker preempts it). So a worker
//! that runs out of jobs *searches* for a while before it sleeps (as rayon's workers do: a few
//! spins, then yields), and a job handed over while enough workers search wakes none: each
//! hand-off wakes at most one sleeper per job that no searcher will take. The counts of
//! searching and sleeping workers are changed under the queue's lock whenever a worker goes
//! to sleep or is woken, so a job is never left queued with every worker asleep. The
//! hand-written scheduling is the pool's whole purpose: a crate's pool (rayon) would bring
//! its own queue and continuation rules that the engine's hand-off (`NEXT`) depends on.

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

/// How many times a worker without a job looks at the queue again before it sleeps: the
/// first few after a short spin, the rest after yielding its core.
const SEARCH_ROUNDS: u32 = 32;
/// Of [`SEARCH_ROUNDS`], how many spin instead of yielding.
const SPIN_ROUNDS: u32 = 6;

struct Queue {
    jobs: VecDeque<Runnable>,
    /// Workers asleep on `work` that no one has woken yet.
    sleeping: usize,
    /// Workers awake without a job, looking for one (a woken worker counts from its wake).
    searching: usize,
    shutdown: bool,
}

impl Queue {
    /// How many sleepers to wake for the jobs queued now: one per job that no searching
    /// worker will take, as far as there are sleepers. Those woken count as searching at
    /// once, so the next hand-off does not wake another for the same job.
    fn take_wakes(&mut self) -> usize {
        let wake = self
            .jobs
            .len()
            .saturating_sub(self.searching)
            .min(self.sleeping);
        self.sleeping -= wake;
        self.searching += wake;
        wake
    }
}

struct Shared {
    queue: Mutex<Queue>,
    /// How many jobs are queued, read without the lock by searching workers.
    queued: AtomicUsize,
    work: Condvar,
    /// Workers blocked in a wait inside a task, helping with queued jobs.
    helpers: AtomicUsize,
    /// How many times a sleeping worker was woken (the tests' count).
    #[cfg(test)]
    wakes: AtomicUsize,
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
        q.searching += 1;
        let mut round = 0;
        loop {
            if let Some(job) = self.pop(&mut q) {
                q.searching -= 1;
                return Some((job, false));
            }
            if q.shutdown {
                q.searching -= 1;
                return None;
            }
            if round < SEARCH_ROUNDS {
                round += 1;
                drop(q);
                self.search(round);
                q = self.queue.lock();
                continue;
            }
            // Asleep, it no longer searches; whoever wakes it counts it as searching again.
            q.searching -= 1;
            q.sleeping += 1;
            self.work.wait(&mut q);
            round = 0;
        }
    }

    /// One round of a search without the lock: until a job is queued, spin (early rounds) or
    /// yield the core (later ones), a bounded number of times.
    fn search(&self, round: u32) {
        if round > SPIN_ROUNDS {
            if self.queued.load(Ordering::Relaxed) == 0 {
                std::thread::yield_now();
            }
            return;
        }
        for _ in 0..1 << round {
            if self.queued.load(Ordering::Relaxed) > 0 {
                return;
            }
            std::hint::spin_loop();
        }
    }

    fn pop(&self, q: &mut Queue) -> Option<Runnable> {
        let job = q.jobs.pop_front()?;
        self.queued.store(q.jobs.len(), Ordering::Relaxed);
        Some(job)
    }

    fn try_next_job(&self) -> Option<Runnable> {
        NEXT.with(|n| n.borrow_mut().take())
            .or_else(|| self.pop(&mut self.queue.lock()))
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
                searching: 0,
                shutdown: false,
            }),
            queued: AtomicUsize::new(0),
            work: Condvar::new(),
            helpers: AtomicUsize::new(0),
            #[cfg(test)]
            wakes: AtomicUsize::new(0),
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
            .get_or_init(|| Arc::new(ThreadPool::new(crate::cores::available())))
            .clone()
    }

    /// How many worker threads it has.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// How many times a sleeping worker was woken so far.
    #[cfg(test)]
    fn wakes(&self) -> usize {
        self.shared.wakes.load(Ordering::Relaxed)
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
        let wake = {
            let mut q = self.shared.queue.lock();
            q.jobs.push_back(first);
            q.jobs.extend(rest);
            self.shared.queued.store(q.jobs.len(), Ordering::Relaxed);
            q.take_wakes()
        };
        #[cfg(test)]
        self.shared.wakes.fetch_add(wake, Ordering::Relaxed);
        for _ in 0..wake {
            self.shared.work.notify_one();
        }
        if self.shared.helpers.load(Ordering::SeqCst) > 0 {
            engine.signal().notify_work();
        }
    }
}

impl Drop for ThreadPool {
    /// Every worker is woken to end: the sleepers count as searching from here, as a woken
    /// worker does (it leaves the count when it sees the shutdown).
    fn drop(&mut self) {
        let mut q = self.shared.queue.lock();
        q.shutdown = true;
        q.searching += q.sleeping;
        q.sleeping = 0;
        drop(q);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Outcome, TaskSpec};

    /// A thread handing out small jobs one at a time, a few microseconds apart, as a graph's
    /// submitter does, finds a worker searching nearly every time: it wakes a sleeper for few
    /// of them (without the search, one for nearly every job: each woken worker runs its one
    /// job, finds the queue empty and sleeps before the next comes). The pause only spaces
    /// the jobs out; nothing is timed.
    #[test]
    fn small_jobs_handed_out_one_at_a_time_seldom_wake_a_sleeping_worker() {
        const JOBS: usize = 4_000;
        let pool = Arc::new(ThreadPool::new(2));
        let engine = Engine::with_executor(pool.clone());
        for _ in 0..JOBS {
            let id = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
            engine.want([id]).unwrap();
            let handed = std::time::Instant::now();
            while handed.elapsed() < std::time::Duration::from_micros(3) {
                std::hint::spin_loop();
            }
        }
        engine.wait_all().unwrap();
        let wakes = pool.wakes();
        assert!(
            wakes < JOBS / 10,
            "{wakes} wake-ups of a sleeping worker for {JOBS} jobs"
        );
    }

    /// However the workers search and sleep, every job handed over runs, from many threads
    /// at once, in batches and alone.
    #[test]
    fn every_job_runs_whoever_hands_it_over() {
        let pool = Arc::new(ThreadPool::new(2));
        let engine = Arc::new(Engine::with_executor(pool.clone()));
        let ran = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for t in 0..3 {
                let (engine, ran) = (engine.clone(), ran.clone());
                s.spawn(move || {
                    for i in 0..500 {
                        let ran = ran.clone();
                        let id = engine
                            .add(TaskSpec::new(move |_| {
                                ran.fetch_add(1, Ordering::Relaxed);
                                Outcome::Succeeded
                            }))
                            .unwrap();
                        engine.want([id]).unwrap();
                        if (i + t) % 97 == 0 {
                            // Let the workers run dry and fall asleep now and then.
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                    }
                });
            }
        });
        engine.wait_all().unwrap();
        assert_eq!(ran.load(Ordering::Relaxed), 1_500);
        // A worker may still be returning from its last job's report: it then searches or
        // sleeps, with the queue empty.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let q = pool.shared.queue.lock();
            assert!(q.jobs.is_empty());
            if q.searching + q.sleeping == 2 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "a worker is lost");
        }
    }
}
