//! [`Executor`]: the engine's port to whatever runs jobs. It is defined here, beside the engine,
//! so the engine depends on no executor: the ones parade ships live in [`crate::exec`], which
//! depends on the engine, and the faces choose one ([`Engine::new`] and [`Engine::inline`]
//! are defined there too).

use super::{Engine, Progress, Runnable, Signal, TaskId};

/// Runs the jobs of started tasks and reports how each ended.
///
/// ```
/// use std::sync::Arc;
/// use parade::engine::{Engine, Runnable, TaskSpec, Outcome};
/// use parade::exec::Executor;
///
/// /// Runs every job on a new thread (a toy; use `ThreadPool`).
/// struct ThreadPerJob;
/// impl Executor for ThreadPerJob {
///     fn name(&self) -> &'static str { "thread-per-job" }
///     fn capacity(&self) -> usize { 4 }
///     fn spawn(&self, jobs: Vec<Runnable>) {
///         for job in jobs { std::thread::spawn(move || job.run()); }
///     }
/// }
/// let engine = Engine::with_executor(Arc::new(ThreadPerJob));
/// let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// engine.want([t]).unwrap();
/// assert!(engine.wait([t]).unwrap()[0].state.is_success());
/// ```
pub trait Executor: Send + Sync + 'static {
    /// A short name, for messages and the dry run.
    fn name(&self) -> &'static str;

    /// How many jobs it runs at once; an engine's parallel limit starts here.
    fn capacity(&self) -> usize;

    /// Whether it runs jobs in this process ([`Job::run`](super::Job::run)); `false`
    /// for executors that run what [`Job::remote`](super::Job::remote) describes
    /// elsewhere (processes, a cluster), so a plain closure cannot run there.
    fn in_process(&self) -> bool {
        true
    }

    /// Takes started tasks; each must be ended exactly once, by [`Runnable::run`] or
    /// [`Runnable::finish`]. Called outside the engine's lock, possibly from a job's thread.
    fn spawn(&self, jobs: Vec<Runnable>);

    /// Takes one started task, as [`Executor::spawn`] does. The engine calls this when it
    /// starts a single task (the common case once a run is under way); executors override it
    /// to skip the vector.
    fn spawn_one(&self, job: Runnable) {
        self.spawn(vec![job]);
    }

    /// Blocks until `check` says [`Progress::Done`] or [`Progress::Stalled`], and returns that.
    /// `signal` is notified whenever what `check` looks at may have changed. Executors whose
    /// jobs run on waiting threads (inline, a pool thread waiting inside a task) run jobs here.
    fn block_until(&self, check: &mut dyn FnMut() -> Progress, signal: &Signal) -> Progress {
        help_until(check, signal, || None)
    }

    /// Asks a running task of `engine` to stop. Threads cannot be stopped from outside, so the
    /// default does nothing (the job sees [`TaskContext::is_cancelled`]); process executors
    /// terminate the task's process group.
    ///
    /// [`TaskContext::is_cancelled`]: super::TaskContext::is_cancelled
    fn cancel(&self, engine: &Engine, id: TaskId) {
        let _ = (engine, id);
    }
}

/// Waits for `check`, running jobs from `next` on this thread while there are any. Jobs run
/// back to back (nothing between them, no sleep) count their time from the end of the one
/// before ([`Runnable::run_from`]).
///
/// `check` is asked again only when `signal` counted a change since it last said
/// [`Progress::Pending`] ([`Signal::changes`], read before each look): a thread running job
/// after job pays neither a look nor a ticket per job, only an atomic read. After a job, the
/// next look is made without a ticket of `signal`; any look that may be followed by a sleep
/// holds a ticket taken before it, so a change made after that look wakes the sleep.
pub(crate) fn help_until(
    check: &mut dyn FnMut() -> Progress,
    signal: &Signal,
    mut next: impl FnMut() -> Option<Runnable>,
) -> Progress {
    let mut ended = None;
    let mut ran = false;
    // The count of changes when `check` last said `Pending`.
    let mut seen = None;
    loop {
        let ticket = (!ran).then(|| signal.ticket());
        let changes = signal.changes();
        if seen != Some(changes) {
            let progress = check();
            if progress != Progress::Pending {
                return progress;
            }
            seen = Some(changes);
        }
        if let Some(job) = next() {
            drop(ticket);
            ended = job.run_from(ended);
            ran = true;
            continue;
        }
        ran = false;
        if let Some(ticket) = ticket {
            ended = None;
            ticket.wait();
        }
        // Without a ticket: look again with one before sleeping.
    }
}
