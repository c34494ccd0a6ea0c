//! The `flow` face: lifecycle, results, params, context, options, observers, commands.
//! Inline and thread mode; the cases are in `flow_common/lifecycle.rs`.

#[macro_use]
mod flow_common;

#[path = "flow_common/lifecycle.rs"]
mod lifecycle;
