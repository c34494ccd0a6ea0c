//! Fork-join calls and parallel resources.
//!
//! This module owns the `join` face: run a few closures of different types in parallel and get
//! their values back typed, in call order; or acquire a few resources in parallel and hold them
//! in one guard. It stands only on [`ThreadCache`](crate::exec::thread_cache::ThreadCache) (and
//! on [`std::thread::scope`] for the borrowing forms); it knows nothing of the engine.
//!
//! | you have | you write |
//! |---|---|
//! | a few closures | [`join`]`((f, g, h))`, or [`try_join`] when they return `Result` |
//! | calls to start one by one | [`calls`]`().call(f).call(g).join()` ([`Calls`]) |
//! | a `Vec` of closures | [`join_all`]`(v)`, [`try_join_all`]`(v)` |
//! | options: timeout, fail fast, per-call results, first to end | [`Join`] |
//! | calls to start now and collect later | [`Join::start`] → [`Started`] |
//! | resources to open in parallel | [`acquire`]`((open_a, open_b))` → [`Acquired`] guard |
//! | closures borrowing local data | [`scoped::join`], [`scoped::join_all`] |
//!
//! # Guarantees
//!
//! * **Every call starts at once on a thread of its own**, an idle cached thread or a new one,
//!   never queued behind another call. Calls may block on each other (a barrier, a channel)
//!   without deadlock; a fixed pool such as rayon's cannot promise that. No call runs on the
//!   caller's thread (except in [`scoped::join_all`]).
//! * **Values come back in call order**, typed, whatever order the calls end in.
//! * **No failure hides another**: [`JoinError`] keeps every `Err` and every panic, with the call
//!   index and the original panic payload, sorted by call index. A single failure can be taken
//!   as itself ([`JoinError::into_single`], [`JoinError::into_error`],
//!   [`JoinError::resume_unwind`]).
//! * **Nothing is killed**: when a join stops waiting (a [`Join::timeout`], or
//!   [`Join::fail_fast`] at the first failure) calls still running go on on their threads. The
//!   join returns at once and names them in [`JoinError::unfinished`]; their values are dropped
//!   on their threads when they end, and a late resource is released there, never leaked.
//!
//! ```
//! use std::sync::{Arc, Barrier};
//!
//! // Three calls that can only finish together: each must have started on its own thread.
//! let barrier = Arc::new(Barrier::new(3));
//! let (b1, b2, b3) = (barrier.clone(), barrier.clone(), barrier);
//! let (a, b, c) = parade::join((
//!     move || { b1.wait(); 1 },
//!     move || { b2.wait(); "two" },
//!     move || { b3.wait(); 3.0 },
//! )).unwrap();
//! assert_eq!((a, b, c), (1, "two", 3.0));
//! ```

mod builder;
mod call;
mod dynamic;
mod error;
mod guard;
mod options;
mod release;
mod resources;
pub mod scoped;
mod started;
mod tuple;

pub use builder::{Calls, calls, try_calls};
pub use call::Pending;
pub use dynamic::{join_all, try_join_all};
pub use error::{CallFailure, Failure, JoinError, PanicPayload};
pub use guard::Acquired;
pub use options::{Join, join, try_join};
pub use release::{
    BoxError, ByDrop, ByRelease, Release, ReleaseBy, ReleaseError, ReleaseJobBox, Releaser,
    ResourceTuple,
};
pub use resources::{Acquire, AcquireError, AcquireTuple, acquire, acquire_releasable};
pub use started::Started;
pub use tuple::{Append, CallTuple, PendingTuple, SettledTuple, Starter, TryCallTuple};
