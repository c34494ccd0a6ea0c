//! `parade-bench process`: 1,000 trivial procs as a fan-out, each a call to a worker process of
//! this program (the process executor's warm workers), beside plain spawns (two threads that
//! start `/bin/true` and wait for it, 1,000 times: what one process per call costs at least)
//! and the same flow on threads, in the same run. Rounds are interleaved (each round runs
//! every case once); the median round counts. Target: ≥ 5,000 calls/s to warm workers.
//! parproc's process mode manages about 130 procs/s on 2 cores.
//!
//! The process case is the first thing a round runs: a worker re-runs this program up to the
//! definition of the proc it was started for, so nothing else must run before it.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parade::flow::Mode;

use crate::flow::fanout;
use crate::report::Report;

/// Runs the `process` benchmark.
pub fn run(out: &mut Report, quick: bool) {
    let n: usize = if quick { 200 } else { 1_000 };
    let rounds = if quick { 1 } else { 5 };
    let mut took: [Vec<Duration>; 3] = Default::default();
    for _ in 0..rounds {
        let start = Instant::now();
        fanout(Mode::Process, n);
        took[0].push(start.elapsed());
        let start = Instant::now();
        spawns(n, 2);
        took[1].push(start.elapsed());
        let start = Instant::now();
        fanout(Mode::Threads, n);
        took[2].push(start.elapsed());
    }
    let names = [
        "parade process (warm)",
        "plain spawns, 2 at once",
        "parade threads",
    ];
    for (name, mut times) in names.into_iter().zip(took) {
        times.sort_unstable();
        out.record("fanout", name, n as u64, times[times.len() / 2]);
    }
    out.note("median of interleaved rounds; target: parade process >= 5,000 procs/s");
}

/// Starts `/bin/true` `n` times, `jobs` at once, waiting for each.
fn spawns(n: usize, jobs: usize) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let ok = Command::new("/bin/true")
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success());
                    assert!(ok, "/bin/true failed");
                }
            });
        }
    });
}
