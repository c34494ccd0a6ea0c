//! Named task flows: procs, protos with `[placeholders]`, dependencies by name, reverse
//! dependencies, waves, locks, results and params, on the parade engine.
//!
//! A **proc** is a named unit of work: a closure taking a [`Context`] and returning
//! `Result<T, ProcError>` for any `T: Serialize`. A **proto** is a template whose name holds
//! placeholders (`build::[env]`, `sim::[temp]::[seed]`); naming a filled-out name
//! (`build::prod`) makes a proc from it, its arguments read from the name and converted to the
//! types the proc asks for (`ctx.arg::<u32>("seed")`). Placeholders can list their allowed
//! choices, and `*` / `?` globs expand over them (`build::*`).
//!
//! ```
//! use parade::flow::{Flow, Dep, ProcError};
//! let flow = Flow::inline();
//! flow.proc("setup", |_| Ok("ready")).add().unwrap();
//! flow.proto("build::[env]", |ctx| Ok(format!("app-{}", ctx.arg::<String>("env")?)))
//!     .deps(["setup"])
//!     .choices("env", ["dev", "prod"])
//!     .add()
//!     .unwrap();
//! flow.proto("test::[env]", |_| Ok(()))
//!     .deps([Dep::pattern("build::[env]")])
//!     .add()
//!     .unwrap();
//! flow.proto("deploy::[env]", |ctx| {
//!         if ctx.arg::<String>("env")? == "dev" { return Err(ProcError::skipped("dev is not deployed")) }
//!         Ok(())
//!     })
//!     .deps(["test::[env]"])
//!     .choices("env", ["dev", "prod"])
//!     .locks(["cluster"])
//!     .wave(1)
//!     .add()
//!     .unwrap();
//! let started = flow.run("deploy::*").unwrap();
//! assert_eq!(started, ["deploy::dev", "deploy::prod"]);
//! flow.wait_all().unwrap();
//! assert_eq!(flow.result::<String>("build::prod").unwrap(), "app-prod");
//! ```
//!
//! # How it maps onto the engine
//!
//! The flow owns names; the [`engine`](crate::engine) owns scheduling. Every proc (and every
//! name a dependency mentions that nothing defines yet) is one engine task; a name nothing
//! defines is an engine placeholder, so a proc registered later under that name is picked up,
//! and if the run goes quiet first, the placeholder ends as missing and its dependents as
//! dep-failed. Starting procs computes everything the start brings in (dependencies, injected
//! rdeps, `WhenScheduled` targets), checks it, adds the edges, and only then wants it: a
//! refused start leaves nothing wanted. Cycles are refused when the edge that would close one
//! is added, naming the procs on it. No walk recurses, so chains of any length are fine.
//!
//! # Differences from parproc
//!
//! - Cycles are errors that list the cycle (parproc hangs or overflows its stack).
//! - `start` of an unknown name is an error; options not given stay as they were.
//! - Proc names are the names as given (arguments are converted when the proc asks, so a bad
//!   value fails that proc with a clear message instead of leaving every argument unconverted).
//! - In glob expansion, non-glob arguments are checked against their choices too.
//! - Proto instances fill their inherited rdep patterns with their own arguments, so
//!   `migrate::prod`'s rdep `deploy::[env]` targets `deploy::prod` only.
//! - A dependency naming an uncreated proto instance creates it, for procs as for protos.
//! - Missing dependencies are detected when the run goes quiet, not when the dependent is
//!   next looked at (a proc defined in between is picked up).
//! - Timeouts in thread mode: a thread cannot be stopped, so the proc sees
//!   [`Context::is_cancelled`] turn true and, if it returns late, ends as failed with a
//!   timeout. Hard timeouts need the process executor.
//! - Up to date compares inputs' content, not mtimes (a touched file reruns nothing), and holds
//!   for procs in worker processes too: the parent decides before dispatch, so an up-to-date
//!   proc starts no worker ([`FlowOptions::store`], [`Define::inputs`]).
//! - [`Flow::watch`] takes the program (a closure defining the procs) and runs each round on a
//!   new flow, since a task runs once; procs a change leaves alone end as they did, without
//!   running, and a failed one runs again.
//!
//! Closures given to a flow (dependency closures, computed choices) run under the flow's lock
//! and must not call the flow. Observers must only use [`FlowNames`] to name tasks.

mod args;
mod command;
mod context;
mod dep;
mod error;
mod gate;
mod handle;
mod host;
mod incremental;
mod job;
mod lifecycle;
mod name_index;
mod names;
mod ops;
mod options;
mod params;
mod pattern;
mod plan;
mod planner;
mod proc;
mod proto;
mod rdep;
mod remote;
mod resources;
mod results;
mod schedule;
mod show;
mod table;
mod watch;

pub use args::ArgList;
pub use command::CommandOutput;
pub use context::{Context, FromArg};
pub use dep::{Dep, DepFn, Lookup};
pub use error::{Failure, FlowError, ProcError};
pub use handle::Flow;
pub use incremental::Output;
pub use names::FlowNames;
pub use options::{FlowOptions, Mode};
pub use pattern::{Pattern, glob_match, has_placeholders, is_glob};
pub use plan::{PlanStep, ProcInfo, ProtoInfo};
pub(crate) use proc::Decl;
pub use proc::{Body, BodyFn, Choices, Define, body};
pub use rdep::{Rdep, RdepKind};
pub use results::ProcStatus;
pub use schedule::Why;
pub use watch::{Watch, WatchEvent, WatchStop};
