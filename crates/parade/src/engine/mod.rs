//! The scheduling engine: one task graph, its state machine, and nothing else.
//!
//! The engine owns task ids, dependencies, constraints (waves, named locks, counted resources,
//! a parallel limit,
//! the "no failures so far" condition) and states. It does not know task names, patterns,
//! shells or terminals: faces ([`flow`](crate::flow), [`graph`](crate::graph), the CLI) map
//! their names to [`TaskId`]s. It never runs a job itself: ready jobs go to an
//! [`Executor`] as [`Runnable`]s, and news leaves only as [`Event`]s to
//! [`Observer`]s, delivered outside scheduling decisions.
//!
//! ```
//! use parade::engine::{Engine, TaskSpec, Outcome, TaskState};
//! let engine = Engine::inline();
//! let fetch = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
//! let build = engine.add(TaskSpec::new(|_| Outcome::Succeeded).dep(fetch)).unwrap();
//! let unused = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
//! engine.want([build]).unwrap();
//! engine.wait_all().unwrap();
//! assert_eq!(engine.state(fetch).unwrap(), TaskState::Succeeded);
//! assert_eq!(engine.state(unused).unwrap(), TaskState::Idle); // nothing wanted it
//! ```

mod core;
mod delivery;
mod edges;
mod error;
mod event;
mod executor;
mod finish;
mod handle;
mod id;
mod job;
mod pending;
mod ready;
mod resources;
mod runnable;
mod signal;
mod slot;
mod state;
mod task;

pub use self::core::Progress;
pub use error::EngineError;
pub use event::{Event, Events, Observer, event_system_time, event_time};
pub use executor::Executor;
pub(crate) use executor::help_until;
pub use handle::Engine;
pub(crate) use id::dedup_keeping_order;
pub use id::{LockId, ResourceId, TaskId};
pub use job::{Job, Outcome, Stream, TaskContext, panic_message};
pub(crate) use job::{JobBox, SharedJob};
pub use runnable::Runnable;
pub(crate) use runnable::{TaskScope, is_finishing, is_finishing_outermost};
pub use signal::{Signal, Ticket};
pub use state::{Reason, TaskState, TaskStatus};
pub use task::TaskSpec;
