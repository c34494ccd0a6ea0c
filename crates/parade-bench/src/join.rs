//! `parade-bench join`: not measured yet.

use crate::report::Report;

/// Runs the `join` benchmarks.
pub fn run(_out: &mut Report, _quick: bool) {}
