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
//! [`Runnable::finish`](crate::engine::Runnable::finish) when they learn how it ended. [`CommandJob`] runs a command as a child
//! process in its own process group, here or on any of them.

pub(crate) mod child;
mod command;
mod defaults;
mod inline;
pub mod isolation;
mod pool;
pub mod process;
mod program;
pub mod slurm;
mod spawn;
pub mod thread_cache;

pub use command::{CommandJob, CommandSpec, ResourceHints};
pub use inline::Inline;
pub use pool::ThreadPool;
pub use program::find_program;
pub use slurm::{SlurmConfig, SlurmExecutor};

/// The engine's port to executors (defined with the engine, which must not depend on this
/// module); re-exported here, where the executors are.
pub use crate::engine::Executor;
pub(crate) use crate::engine::help_until;
