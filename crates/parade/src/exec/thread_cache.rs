//! A cache of reusable threads on which every submitted call starts at once.
//!
//! This module owns [`ThreadCache`], the executor that [`crate::join`](mod@crate::join) stands on. Its one promise
//! is the one a fork-join of blocking calls needs: **a submitted call never waits for another
//! call**. It is handed to a parked idle thread if there is one, else a new thread is spawned for
//! it. Calls may therefore block on each other (a barrier, a channel) without deadlock, which a
//! fixed-size pool such as rayon's cannot offer.
//!
//! Threads are kept after their call ends and reused, so a warm hand-off costs a lock and a
//! wake-up instead of an OS thread spawn. A thread that stays idle for the cache's keep-alive
//! expires; when the last handle to a cache is dropped its idle threads exit at once (busy ones
//! exit when their call returns).
//!
//! A caller that knows the current call is about to return (the engine's report of a job's end,
//! see `ThreadCache::execute_next`) may instead keep one call for this very thread: it runs
//! as soon as the current call returns, with no wake-up of another thread (a continuation, as
//! rayon's and tokio's workers run the job their last one made ready). It still waits for no
//! other call, only for the return already under way.
//!
//! It knows nothing about results, errors or joins: a job is a `FnOnce() + Send + 'static`, and a
//! panic in a job is caught and dropped so the thread survives (callers that care about panics,
//! like `join`, catch them inside the job).

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    /// The cache this thread belongs to (its `Inner`'s address), or 0 off the cache's threads.
    static CACHE: Cell<usize> = const { Cell::new(0) };
    /// The call this thread runs when its current call returns ([`ThreadCache::execute_next`]).
    static NEXT: RefCell<Option<Job>> = const { RefCell::new(None) };
}

/// How long an idle thread of [`ThreadCache::global`] waits for a new call before it exits.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(60);

/// A cache of reusable threads where every call starts at once, on an idle thread or a new one.
///
/// Cloning is cheap and gives another handle to the same threads. When the last handle is
/// dropped, idle threads exit; calls still running finish first.
///
/// ```
/// use parade::exec::thread_cache::ThreadCache;
/// use std::sync::mpsc;
///
/// let cache = ThreadCache::new();
/// let (tx, rx) = mpsc::channel();
/// cache.execute(move || tx.send(6 * 7).unwrap());
/// assert_eq!(rx.recv().unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct ThreadCache {
    owner: Arc<Owner>,
}

/// Dropped with the last [`ThreadCache`] handle: tells idle threads to exit.
struct Owner {
    inner: Arc<Inner>,
}

struct Inner {
    /// Parked threads, most recently parked last (they are reused first: their stacks are warm).
    idle: Mutex<Vec<Arc<Worker>>>,
    keep_alive: Duration,
    name: String,
    alive: AtomicUsize,
    spawned: AtomicUsize,
    shutdown: AtomicBool,
}

/// The mailbox of one parked thread.
struct Worker {
    job: Mutex<Option<Job>>,
    /// Set with the mailbox, so a worker that has just gone idle can see a job without parking.
    has_job: AtomicBool,
    ready: Condvar,
}

/// How long a thread that has just finished a call watches its mailbox before parking. Fork-join
/// programs submit in bursts: catching the next call while still awake saves a futex wake-up on
/// each side, which is most of the cost of a warm hand-off.
const SPIN: Duration = Duration::from_micros(50);

impl ThreadCache {
    /// A new, empty cache whose idle threads expire after [`DEFAULT_KEEP_ALIVE`].
    ///
    /// ```
    /// let cache = parade::exec::thread_cache::ThreadCache::new();
    /// assert_eq!(cache.threads(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_keep_alive(DEFAULT_KEEP_ALIVE)
    }

    /// A new, empty cache whose idle threads expire after `keep_alive`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cache = parade::exec::thread_cache::ThreadCache::with_keep_alive(Duration::from_secs(1));
    /// assert_eq!(cache.keep_alive(), Duration::from_secs(1));
    /// ```
    pub fn with_keep_alive(keep_alive: Duration) -> Self {
        let inner = Arc::new(Inner {
            idle: Mutex::new(Vec::new()),
            keep_alive,
            name: "parade-cache".to_owned(),
            alive: AtomicUsize::new(0),
            spawned: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
        });
        Self {
            owner: Arc::new(Owner { inner }),
        }
    }

    /// The process-wide cache that `join` uses unless told otherwise.
    ///
    /// ```
    /// use parade::exec::thread_cache::ThreadCache;
    /// let a = ThreadCache::global();
    /// let b = ThreadCache::global();
    /// assert!(std::ptr::eq(a, b));
    /// ```
    pub fn global() -> &'static ThreadCache {
        static GLOBAL: OnceLock<ThreadCache> = OnceLock::new();
        GLOBAL.get_or_init(ThreadCache::new)
    }

    /// Starts `job` now: on an idle cached thread if there is one, else on a new thread.
    ///
    /// Never queues `job` behind another call. A panic in `job` is caught and discarded (the
    /// thread stays usable); catch it yourself if you need it.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to create a new thread.
    ///
    /// ```
    /// use parade::exec::thread_cache::ThreadCache;
    /// use std::sync::{Arc, Barrier};
    ///
    /// // Four calls that can only finish together: none may wait for another to start.
    /// let barrier = Arc::new(Barrier::new(5));
    /// for _ in 0..4 {
    ///     let b = barrier.clone();
    ///     ThreadCache::global().execute(move || { b.wait(); });
    /// }
    /// barrier.wait();
    /// ```
    pub fn execute<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.execute_boxed(Box::new(job));
    }

    /// Runs `job` on this thread as soon as its current call returns, if this is one of the
    /// cache's threads and it keeps no such call yet; otherwise starts it as
    /// [`ThreadCache::execute`] does.
    ///
    /// The caller promises that the current call returns without waiting for anything (in
    /// parade, the engine reporting the end of the outermost task a thread ran): `job` then
    /// waits for nothing but that return, and no other thread is woken for it.
    pub(crate) fn execute_next<F: FnOnce() + Send + 'static>(&self, job: F) {
        let job: Job = Box::new(job);
        let job = if CACHE.with(Cell::get) == self.key() {
            NEXT.with(|n| {
                let mut n = n.borrow_mut();
                if n.is_none() {
                    *n = Some(job);
                    None
                } else {
                    Some(job)
                }
            })
        } else {
            Some(job)
        };
        if let Some(job) = job {
            self.execute_boxed(job);
        }
    }

    /// This cache's identity, as its threads record it.
    fn key(&self) -> usize {
        Arc::as_ptr(&self.owner.inner) as usize
    }

    fn execute_boxed(&self, job: Job) {
        let inner = &self.owner.inner;
        let parked = inner.idle.lock().pop();
        match parked {
            Some(worker) => {
                let mut mailbox = worker.job.lock();
                *mailbox = Some(job);
                worker.has_job.store(true, Ordering::Release);
                drop(mailbox);
                worker.ready.notify_one();
            }
            None => spawn_worker(inner, job),
        }
    }

    /// How many threads this cache has now, busy or idle.
    ///
    /// ```
    /// let cache = parade::exec::thread_cache::ThreadCache::new();
    /// assert_eq!(cache.threads(), 0);
    /// ```
    pub fn threads(&self) -> usize {
        self.owner.inner.alive.load(Ordering::Acquire)
    }

    /// How many threads are parked, waiting for a call.
    ///
    /// ```
    /// let cache = parade::exec::thread_cache::ThreadCache::new();
    /// assert_eq!(cache.idle_threads(), 0);
    /// ```
    pub fn idle_threads(&self) -> usize {
        self.owner.inner.idle.lock().len()
    }

    /// How many threads this cache has spawned since it was created (a measure of reuse).
    ///
    /// ```
    /// use parade::exec::thread_cache::ThreadCache;
    /// let cache = ThreadCache::new();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// cache.execute(move || tx.send(()).unwrap());
    /// rx.recv().unwrap();
    /// assert_eq!(cache.spawned(), 1);
    /// ```
    pub fn spawned(&self) -> usize {
        self.owner.inner.spawned.load(Ordering::Acquire)
    }

    /// How long an idle thread waits for a new call before it exits.
    ///
    /// ```
    /// use parade::exec::thread_cache::{ThreadCache, DEFAULT_KEEP_ALIVE};
    /// assert_eq!(ThreadCache::new().keep_alive(), DEFAULT_KEEP_ALIVE);
    /// ```
    pub fn keep_alive(&self) -> Duration {
        self.owner.inner.keep_alive
    }
}

impl Default for ThreadCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ThreadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadCache")
            .field("threads", &self.threads())
            .field("idle", &self.idle_threads())
            .field("keep_alive", &self.keep_alive())
            .finish()
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.inner.shutdown.store(true, Ordering::Release);
        let idle = std::mem::take(&mut *self.inner.idle.lock());
        for worker in idle {
            // Take the mailbox lock so the wake-up cannot slip between a check and a wait.
            let _mailbox = worker.job.lock();
            worker.ready.notify_one();
        }
    }
}

fn spawn_worker(inner: &Arc<Inner>, job: Job) {
    let worker = Arc::new(Worker {
        job: Mutex::new(None),
        has_job: AtomicBool::new(false),
        ready: Condvar::new(),
    });
    let n = inner.spawned.fetch_add(1, Ordering::AcqRel);
    inner.alive.fetch_add(1, Ordering::AcqRel);
    let for_thread = Arc::clone(inner);
    let spawned = thread::Builder::new()
        .name(format!("{}-{n}", inner.name))
        .spawn(move || worker_loop(&for_thread, &worker, job));
    if let Err(err) = spawned {
        inner.alive.fetch_sub(1, Ordering::AcqRel);
        panic!("parade: cannot spawn a thread for a call: {err}");
    }
}

fn worker_loop(inner: &Inner, me: &Arc<Worker>, first: Job) {
    CACHE.with(|c| c.set(std::ptr::from_ref(inner) as usize));
    let mut job = first;
    loop {
        // The job is expected to catch its own panics; this keeps the thread alive regardless.
        drop(catch_unwind(AssertUnwindSafe(job)));
        if let Some(next) = NEXT.with(|n| n.borrow_mut().take()) {
            job = next;
            continue;
        }
        let Some(next) = next_job(inner, me) else {
            inner.alive.fetch_sub(1, Ordering::AcqRel);
            return;
        };
        job = next;
    }
}

/// Parks `me` until a job arrives, or returns `None` when it should exit.
fn next_job(inner: &Inner, me: &Arc<Worker>) -> Option<Job> {
    if inner.shutdown.load(Ordering::Acquire) {
        return None;
    }
    inner.idle.lock().push(Arc::clone(me));
    spin_until(|| me.has_job.load(Ordering::Acquire));
    let mut mailbox = me.job.lock();
    loop {
        if let Some(job) = mailbox.take() {
            me.has_job.store(false, Ordering::Relaxed);
            return Some(job);
        }
        if inner.shutdown.load(Ordering::Acquire) {
            // No handle is left, so no submitter can be holding us: leave and exit.
            inner.idle.lock().retain(|w| !Arc::ptr_eq(w, me));
            return None;
        }
        let timed_out = me
            .ready
            .wait_for(&mut mailbox, inner.keep_alive)
            .timed_out();
        if timed_out && mailbox.is_none() {
            // Leave the idle list unless a submitter has just taken us out of it: then its job
            // is on the way and we must wait for it.
            let mut idle = inner.idle.lock();
            if let Some(pos) = idle.iter().position(|w| Arc::ptr_eq(w, me)) {
                idle.remove(pos);
                return None;
            }
        }
    }
}

/// Watches `ready` for up to [`SPIN`], yielding the core between looks; true if it became true.
pub(crate) fn spin_until(ready: impl Fn() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        for _ in 0..16 {
            if ready() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() > SPIN {
            return ready();
        }
        thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::mpsc;

    #[test]
    fn runs_a_job_and_reuses_the_thread() {
        let cache = ThreadCache::new();
        for i in 0..20 {
            let (tx, rx) = mpsc::channel();
            cache.execute(move || tx.send(i).unwrap());
            assert_eq!(rx.recv().unwrap(), i);
            // Wait until the thread is parked again, so the next call must reuse it.
            while cache.idle_threads() == 0 {
                thread::yield_now();
            }
        }
        assert_eq!(cache.spawned(), 1);
    }

    #[test]
    fn never_queues_a_call_behind_another() {
        let cache = ThreadCache::new();
        let n = 50;
        let barrier = Arc::new(Barrier::new(n + 1));
        for _ in 0..n {
            let b = Arc::clone(&barrier);
            cache.execute(move || {
                b.wait();
            });
        }
        barrier.wait();
        assert!(cache.spawned() >= n);
    }

    #[test]
    fn a_kept_call_runs_on_the_same_thread_once_the_current_call_returned() {
        let cache = ThreadCache::new();
        let (tx, rx) = mpsc::channel();
        let inner_cache = cache.clone();
        let returned = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&returned);
        cache.execute(move || {
            let first = thread::current().id();
            let tx2 = tx.clone();
            inner_cache.execute_next(move || {
                let _ = tx2.send((first, thread::current().id(), seen.load(Ordering::SeqCst)));
            });
            // A second kept call does not fit: it starts elsewhere at once, as `execute` does.
            inner_cache.execute_next(move || {
                let _ = tx.send((first, thread::current().id(), false));
            });
            // Still inside the first call: the kept one must not have run.
            thread::sleep(Duration::from_millis(20));
            returned.store(true, Ordering::SeqCst);
        });
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
        got.sort_by_key(|&(first, ran_on, _)| first == ran_on);
        let [(first, elsewhere, _), (_, same, after_return)] = got;
        assert_ne!(first, elsewhere, "the second call did not wait");
        assert_eq!(first, same, "the kept call ran on the thread that kept it");
        assert!(
            after_return,
            "the kept call ran only after the current call returned"
        );
        assert_eq!(cache.spawned(), 2);
    }

    #[test]
    fn a_call_kept_off_the_cache_threads_starts_at_once() {
        let cache = ThreadCache::new();
        let (tx, rx) = mpsc::channel();
        cache.execute_next(move || tx.send(thread::current().id()).unwrap());
        assert_ne!(rx.recv().unwrap(), thread::current().id());
    }

    #[test]
    fn survives_a_panicking_job() {
        let cache = ThreadCache::new();
        cache.execute(|| panic!("boom"));
        let (tx, rx) = mpsc::channel();
        cache.execute(move || tx.send(1).unwrap());
        assert_eq!(rx.recv().unwrap(), 1);
    }

    #[test]
    fn idle_threads_expire() {
        let cache = ThreadCache::with_keep_alive(Duration::from_millis(10));
        let (tx, rx) = mpsc::channel();
        cache.execute(move || tx.send(()).unwrap());
        rx.recv().unwrap();
        while cache.threads() > 0 {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(cache.idle_threads(), 0);
        // Still usable after every thread expired.
        let (tx, rx) = mpsc::channel();
        cache.execute(move || tx.send(2).unwrap());
        assert_eq!(rx.recv().unwrap(), 2);
        assert_eq!(cache.spawned(), 2);
    }

    #[test]
    fn dropping_the_cache_ends_idle_threads() {
        let cache = ThreadCache::new();
        let (tx, rx) = mpsc::channel();
        cache.execute(move || tx.send(()).unwrap());
        rx.recv().unwrap();
        while cache.idle_threads() == 0 {
            thread::yield_now();
        }
        let inner = Arc::clone(&cache.owner.inner);
        drop(cache);
        while inner.alive.load(Ordering::Acquire) > 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
}
