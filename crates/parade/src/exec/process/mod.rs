//! The process executor: tasks in child processes of the same program, in worker mode, with
//! hard timeouts and isolation; and the small protocol between a worker and its parent.
//!
//! A program opts in by serving worker requests at the top of `main` (see [`Registry::serve`]);
//! the parent then runs tasks on a [`ProcessExecutor`]. Arguments and results cross the boundary
//! as JSON values.

mod executor;
mod protocol;
mod transport;
mod warm;
mod worker;

pub use executor::{
    ProcessExecutor, Refusal, WorkerCall, WorkerHost, WorkerJob, mark_waits_timed_out, socket_dir,
    workers_started,
};
pub(crate) use executor::{serve, worker_command, worker_outcome};
pub use protocol::{Done, Hello, MESSAGE_MAX};
pub(crate) use protocol::{receive, send};
pub(crate) use transport::{Listener, Secret, Waker};
pub use transport::{SECRET_LINE_MAX, SECRET_WAIT, WORKER_SECRET_FILE_ENV};
pub use worker::{Registry, WORKER_SOCKET_ENV, WorkerFn, WorkerSession, worker_entry};
pub(crate) use worker::{is_pending_worker, refuse_pending, set_pending, take_pending};
