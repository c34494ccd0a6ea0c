//! # parade: parallel workflows for Rust and for the shell
//!
//! One scheduling core and four faces over it:
//!
//! | face | what you write |
//! |---|---|
//! | [`join`](mod@join) | `let (a, b) = parade::join((|| 1, || "two"))?;` |
//! | [`iter`](mod@iter) | `parade::iter(lines).map(parse).filter(ok).collect()` |
//! | [`graph`] | `let b = g.submit_after(&a, |x| f(x));` |
//! | [`flow`] | `flow.proto("build::[env]", ...).deps(["setup"])` |
//!
//! The [`engine`] owns the task graph and its state machine (dependencies, waves, named locks,
//! a parallel limit, failure cascades); [`exec`] holds the executors that run ready jobs: a
//! thread pool, inline on the waiting thread, child processes of the same program
//! ([`exec::process`]) and a Slurm cluster ([`exec::slurm`]). Everything a run does is told
//! through engine [`engine::Event`]s to observers, such as the terminal displays and log files
//! of [`display`]. A [`report::RunRecorder`] attached to any face's engine gives the
//! same run as an HTML page and a Chrome trace ([`report`]).
//!
//! ```
//! // Three calls at once, typed results in call order.
//! let (a, b, c) = parade::join((|| 1 + 1, || "two", || vec![3])).unwrap();
//! assert_eq!((a, b, c.len()), (2, "two", 1));
//!
//! // A lazy, order-keeping parallel pipeline.
//! let squares: Vec<u64> = parade::iter(1..=5u64).map(|x| x * x).collect();
//! assert_eq!(squares, [1, 4, 9, 16, 25]);
//! ```

pub mod cores;
pub mod display;
pub mod engine;
pub mod exec;

/// Call at the top of `main` in a program whose tasks may run in worker processes (the
/// [process executor](exec::process::ProcessExecutor), Slurm jobs) or that may run as a Slurm
/// pilot job. In a pilot ([`exec::slurm::pilot_entry`]) it runs the tasks its parent hands it
/// and exits; in a worker ([`exec::process::worker_entry`]) it keeps the request for the code
/// that defines the task; in any other process it does nothing.
///
/// ```
/// parade::worker_entry(); // at the top of `main`
/// ```
pub fn worker_entry() {
    exec::slurm::pilot_entry();
    exec::process::worker_entry();
}
pub mod flow;
pub mod graph;
pub mod iter;
pub mod store;
pub use iter::{iter, iter_slice};
pub mod join;
pub mod report;
pub use join::{
    Acquired, Calls, Join, JoinError, acquire, acquire_releasable, calls, join, join_all,
    try_calls, try_join, try_join_all,
};
