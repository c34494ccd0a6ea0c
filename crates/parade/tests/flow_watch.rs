//! The `flow` face: parproc's watch cases on `Flow::watch`, inline and on threads; the cases
//! are in `flow_common/watch.rs` (`flow_process` runs them in worker processes).

#[macro_use]
mod flow_common;

#[path = "flow_common/watch.rs"]
mod watch;
