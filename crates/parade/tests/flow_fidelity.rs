//! The `flow` face against parproc's behaviour: arguments, named instances.
//! Inline and thread mode; the cases are in `flow_common/fidelity.rs`.

#[macro_use]
mod flow_common;

#[path = "flow_common/fidelity.rs"]
mod fidelity;
