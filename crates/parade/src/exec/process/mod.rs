//! The process executor: tasks in child processes of the same program, in worker mode, with
//! hard timeouts and isolation; and the small protocol between a worker and its parent.
//!
//! A program opts in by serving worker requests at the top of `main` (see [`Registry::serve`]);
//! the parent then runs tasks on a [`ProcessExecutor`]. Arguments and results cross the boundary
//! as JSON values.

mod executor;
mod protocol;
mod worker;

pub use executor::{ProcessExecutor, Refusal, WorkerCall, WorkerHost, WorkerJob, socket_dir};
pub(crate) use executor::{bind_worker_socket, serve, worker_command, worker_outcome};
pub use protocol::{Done, Hello};
pub use worker::{Registry, WORKER_SOCKET_ENV, WorkerFn, WorkerSession, worker_entry};
pub(crate) use worker::{is_pending_worker, refuse_pending, take_pending};
