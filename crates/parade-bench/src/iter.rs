//! `parade-bench iter`: not measured yet.

use crate::report::Report;

/// Runs the `iter` benchmarks.
pub fn run(_out: &mut Report, _quick: bool) {}
