//! `parade-bench join`: fork-join of trivial calls, parade against `std::thread::scope` and
//! `rayon::join`.
//!
//! Cases, each timed as the best of a few runs of `n` joins:
//!
//! * `3 trivial calls`: `parade::join((f, g, h))`, `std::thread::scope` with 3 spawns, and
//!   `rayon::join(f, || rayon::join(g, h))`. The figure to read is the time per join
//!   (`secs / n`); python-parallel spends about 44 µs per call warm.
//! * `100 trivial calls`: `parade::join_all` of 100 closures against 100 scoped spawns (rayon is
//!   left out: `rayon::scope` with 100 spawns is not the same promise, each call its own thread).

use std::hint::black_box;

use crate::report::Report;

/// Runs the `join` benchmarks.
pub fn run(out: &mut Report, quick: bool) {
    let runs = if quick { 2 } else { 5 };
    let n: u64 = if quick { 200 } else { 2_000 };

    // Warm the thread cache so the figures are the steady state a program sees.
    for _ in 0..100 {
        parade::join((|| (), || (), || ())).expect("trivial calls do not fail");
    }

    let case = "3 trivial calls";
    out.measure(case, "parade::join", n, runs, || {
        for i in 0..n {
            let r = parade::join((
                move || black_box(i),
                move || black_box(i + 1),
                || black_box(2),
            ))
            .expect("trivial calls do not fail");
            black_box(r);
        }
    });
    out.measure(case, "std::thread::scope", n, runs, || {
        for i in 0..n {
            let r = std::thread::scope(|s| {
                let a = s.spawn(move || black_box(i));
                let b = s.spawn(move || black_box(i + 1));
                let c = s.spawn(|| black_box(2));
                (
                    a.join().expect("no panic"),
                    b.join().expect("no panic"),
                    c.join().expect("no panic"),
                )
            });
            black_box(r);
        }
    });
    out.measure(case, "rayon::join (nested)", n, runs, || {
        for i in 0..n {
            let r = rayon::join(
                move || black_box(i),
                move || rayon::join(move || black_box(i + 1), || black_box(2)),
            );
            black_box(r);
        }
    });
    out.ratio(case, "parade::join", "std::thread::scope");
    out.ratio(case, "parade::join", "rayon::join (nested)");
    per_join(
        out,
        case,
        n,
        &["parade::join", "std::thread::scope", "rayon::join (nested)"],
    );

    let case = "100 trivial calls";
    let m: u64 = if quick { 10 } else { 100 };
    out.measure(case, "parade::join_all", m, runs, || {
        for _ in 0..m {
            let calls: Vec<_> = (0..100_u32).map(|i| move || black_box(i)).collect();
            black_box(parade::join_all(calls).expect("trivial calls do not fail"));
        }
    });
    out.measure(case, "std::thread::scope", m, runs, || {
        for _ in 0..m {
            let r: Vec<u32> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..100_u32)
                    .map(|i| s.spawn(move || black_box(i)))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().expect("no panic"))
                    .collect()
            });
            black_box(r);
        }
    });
    out.ratio(case, "parade::join_all", "std::thread::scope");
    per_join(out, case, m, &["parade::join_all", "std::thread::scope"]);
}

/// Prints the time per join of each implementation under the table.
fn per_join(out: &Report, case: &str, n: u64, impls: &[&str]) {
    for who in impls {
        if let Some(secs) = out.find(case, who) {
            #[allow(clippy::cast_precision_loss)]
            let micros = secs * 1e6 / n as f64;
            out.note(&format!("{case}: {who} takes {micros:.1} µs per join"));
        }
    }
}
