//! The `flow` face: rdeps, `WhenScheduled`, `WhenTargetScheduled`, waves, locks, limits.
//! Inline and thread mode; the cases are in `flow_common/rdeps.rs`.

#[macro_use]
mod flow_common;

#[path = "flow_common/rdeps.rs"]
mod rdeps;
