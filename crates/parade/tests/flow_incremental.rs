//! The `flow` face: parproc's incremental cases on flows with a run store, inline and on
//! threads; the cases are in `flow_common/incremental.rs` (`flow_process` runs them in worker
//! processes).

#[macro_use]
mod flow_common;

#[path = "flow_common/incremental.rs"]
mod incremental;
