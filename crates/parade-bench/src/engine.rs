//! `parade-bench engine`: not measured yet.

use crate::report::Report;

/// Runs the `engine` benchmarks.
pub fn run(_out: &mut Report, _quick: bool) {}
