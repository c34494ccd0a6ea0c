//! # parade: parallel workflows for Rust and for the shell
//!
//! One scheduling core and four faces over it:
//!
//! | face | what you write |
//! |---|---|
//! | [`join`] | `let (a, b) = parade::join((|| 1, || "two"))?;` |
//! | [`iter`] | `parade::iter(lines).map(parse).filter(ok).collect()` |
//! | [`graph`] | `let b = g.submit_after(&a, |x| f(x));` |
//! | [`flow`] | `flow.proto("build::[env]", ...).deps(["setup"])` |
//!
//! The [`engine`] owns the task graph and its state machine; [`exec`] holds the executors that
//! run ready jobs (a thread pool, inline); everything a run does is told through engine
//! [`engine::Event`]s to observers.

pub mod display;
pub mod engine;
pub mod exec;
pub use exec::process::worker_entry;
pub mod flow;
pub mod graph;
pub mod iter;
pub use iter::{iter, iter_slice};
pub mod join;
pub use join::{
    Calls, Join, JoinError, Resources, acquire, acquire_releasable, calls, join, join_all,
    try_calls, try_join, try_join_all,
};
