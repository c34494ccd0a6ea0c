//! `parade-bench process`: 1,000 trivial procs as a fan-out, each in a worker process of this
//! program (the process executor), next to the same flow on threads, in the same run. parproc's
//! process mode manages about 130 procs/s on 2 cores.
//!
//! The process case is measured first: a worker re-runs this program up to the definition of
//! the proc it was started for, so nothing else must run before it.

use parade::flow::Mode;

use crate::flow::fanout;
use crate::report::Report;

/// Runs the `process` benchmark.
pub fn run(out: &mut Report, quick: bool) {
    let n: usize = if quick { 200 } else { 1_000 };
    let runs = if quick { 1 } else { 3 };
    out.measure("fanout", "parade process", n as u64, runs, || {
        fanout(Mode::Process, n);
    });
    out.measure("fanout", "parade threads", n as u64, runs, || {
        fanout(Mode::Threads, n);
    });
}
