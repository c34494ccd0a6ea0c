//! Executors: what runs the jobs the engine has started.
//!
//! The engine decides *when* a task runs; an [`Executor`] decides *where*:
//!
//! | executor | where jobs run | for |
//! |---|---|---|
//! | [`ThreadPool`] | a fixed pool of threads, one per core | the default |
//! | [`Inline`] | the thread that waits, one at a time | deterministic runs, debugging |
//! | [`process::ProcessExecutor`] | child processes of the same program, in worker mode | isolation, hard timeouts |
//! | [`SlurmExecutor`] | jobs on a Slurm cluster | more than one machine |
//!
//! `join` stands on a [`ThreadCache`](thread_cache::ThreadCache) instead, where every call
//! starts at once. Executors that run jobs outside the process read
//! [`Job::remote`](crate::engine::Job::remote) (a [`CommandSpec`] to run, or a
//! [`process::WorkerCall`] naming a registered task) and end each task with
//! [`Runnable::finish`] when they learn how it ended. [`CommandJob`] runs a command as a child
//! process in its own process group, here or on any of them.

pub(crate) mod child;
mod command;
mod inline;
pub mod isolation;
mod pool;
pub mod process;
pub mod slurm;
pub mod thread_cache;

use crate::engine::{Engine, Progress, Runnable, Signal, TaskId};

pub use command::{CommandJob, CommandSpec, ResourceHints};
pub use inline::Inline;
pub use pool::ThreadPool;
pub use slurm::{SlurmConfig, SlurmExecutor};

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

    /// Whether it runs jobs in this process ([`Job::run`](crate::engine::Job::run)); `false`
    /// for executors that run what [`Job::remote`](crate::engine::Job::remote) describes
    /// elsewhere (processes, a cluster), so a plain closure cannot run there.
    fn in_process(&self) -> bool {
        true
    }

    /// Takes started tasks; each must be ended exactly once, by [`Runnable::run`] or
    /// [`Runnable::finish`]. Called outside the engine's lock, possibly from a job's thread.
    fn spawn(&self, jobs: Vec<Runnable>);

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
    /// [`TaskContext::is_cancelled`]: crate::engine::TaskContext::is_cancelled
    fn cancel(&self, engine: &Engine, id: TaskId) {
        let _ = (engine, id);
    }
}

/// Waits for `check`, running jobs from `next` on this thread while there are any.
pub(crate) fn help_until(
    check: &mut dyn FnMut() -> Progress,
    signal: &Signal,
    mut next: impl FnMut() -> Option<Runnable>,
) -> Progress {
    loop {
        let ticket = signal.ticket();
        let progress = check();
        if progress != Progress::Pending {
            return progress;
        }
        if let Some(job) = next() {
            drop(ticket);
            job.run();
            continue;
        }
        ticket.wait();
    }
}
