//! The `flow` face: dependencies, failures, missing names, cycles, long chains.
//! Inline and thread mode; the cases are in `flow_common/deps.rs`.

#[macro_use]
mod flow_common;

#[path = "flow_common/deps.rs"]
mod deps;
