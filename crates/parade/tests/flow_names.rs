//! The `flow` face: names, patterns, arguments, choices and globs.
//! Inline and thread mode; the cases are in `flow_common/names.rs`.

#[macro_use]
mod flow_common;

#[path = "flow_common/names.rs"]
mod names;
