//! `parade-bench iter`: parallel pipelines against rayon, pariter and sequential code.
//!
//! Two cases, each measured for every implementation in the same run:
//!
//! 1. `cheap-map` / `cheap-sum`: `x * 2 + 1` over 10,000,000 `u64` in a `Vec`, collected (or
//!    summed), with `parade::iter_slice` against rayon's indexed `par_iter` and a sequential
//!    loop; `parade::iter(&v)` shows the un-indexed path on the same data.
//! 2. `10us-map`: a map of about 10 µs per item over 200,000 items from an un-indexed iterator,
//!    in order, against rayon's `par_bridge` (unordered, then sorted back into order), the
//!    `pariter` crate and a sequential loop.

use std::hint::black_box;
use std::time::Instant;

use pariter::IteratorExt as _;
use rayon::prelude::*;

use crate::report::Report;

/// Runs the `iter` benchmarks.
pub fn run(out: &mut Report, quick: bool) {
    cheap(out, quick);
    slow(out, quick);
}

fn cheap(out: &mut Report, quick: bool) {
    let n: u64 = if quick { 1_000_000 } else { 10_000_000 };
    let runs = if quick { 2 } else { 7 };
    let v: Vec<u64> = (0..n).collect();
    let f = |x: &u64| x * 2 + 1;
    let expected: Vec<u64> = v.iter().map(f).collect();
    let check = |got: Vec<u64>| assert!(got == expected, "a pipeline lost order or items");

    let case = "cheap-map (collect)";
    out.measure(case, "sequential", n, runs, || {
        check(black_box(v.iter().map(f).collect()));
    });
    out.measure(case, "rayon par_iter", n, runs, || {
        check(black_box(v.par_iter().map(f).collect()));
    });
    out.measure(case, "parade iter_slice", n, runs, || {
        check(black_box(parade::iter_slice(&v).map(f).collect()));
    });
    out.measure(case, "parade iter (un-indexed)", n, runs, || {
        check(black_box(parade::iter(&v).map(f).collect()));
    });
    out.ratio(case, "parade iter_slice", "rayon par_iter");
    out.ratio(case, "parade iter_slice", "sequential");

    let case = "cheap-map (sum)";
    let total: u64 = expected.iter().sum();
    out.measure(case, "sequential", n, runs, || {
        assert_eq!(black_box(v.iter().map(f).sum::<u64>()), total);
    });
    out.measure(case, "rayon par_iter", n, runs, || {
        assert_eq!(black_box(v.par_iter().map(f).sum::<u64>()), total);
    });
    out.measure(case, "parade iter_slice", n, runs, || {
        assert_eq!(black_box(parade::iter_slice(&v).map(f).sum::<u64>()), total);
    });
    out.ratio(case, "parade iter_slice", "rayon par_iter");
    out.ratio(case, "parade iter_slice", "sequential");
}

/// How many rounds of [`spin`] take about 10 µs here.
fn calibrate() -> u64 {
    let rounds = 100_000;
    let start = Instant::now();
    black_box(spin(1, rounds));
    let per_round = start.elapsed().as_secs_f64() / 100_000.0;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let r = (10e-6 / per_round).round().max(1.0) as u64;
    r
}

/// Deterministic busy work: `rounds` steps of a hash.
fn spin(x: u64, rounds: u64) -> u64 {
    let mut h = x ^ 0x9e37_79b9_7f4a_7c15;
    for _ in 0..rounds {
        h = black_box(h.rotate_left(5).wrapping_mul(0x0100_0000_01b3) ^ 0x2545_f491);
    }
    h
}

/// An iterator that does not know its length, like lines of a file.
fn unindexed(n: u64) -> impl Iterator<Item = u64> + Send + 'static {
    let mut i = 0;
    std::iter::from_fn(move || {
        (i < n).then(|| {
            i += 1;
            i - 1
        })
    })
}

fn slow(out: &mut Report, quick: bool) {
    let n: u64 = if quick { 20_000 } else { 200_000 };
    let runs = if quick { 1 } else { 3 };
    let rounds = calibrate();
    let f = move |x: u64| spin(x, rounds);
    let expected: Vec<u64> = (0..n).map(f).collect();
    let check = |got: &[u64]| assert!(got == expected.as_slice(), "a pipeline lost order or items");

    let case = "10us-map (ordered)";
    out.measure(case, "sequential", n, runs, || {
        check(&black_box(unindexed(n).map(f).collect::<Vec<_>>()));
    });
    out.measure(case, "rayon par_bridge+sort", n, runs, || {
        let mut pairs: Vec<(u64, u64)> = unindexed(n).par_bridge().map(|x| (x, f(x))).collect();
        pairs.sort_unstable_by_key(|p| p.0);
        check(&black_box(
            pairs.into_iter().map(|p| p.1).collect::<Vec<_>>(),
        ));
    });
    out.measure(case, "pariter parallel_map", n, runs, || {
        check(&black_box(unindexed(n).parallel_map(f).collect::<Vec<_>>()));
    });
    out.measure(case, "parade iter", n, runs, || {
        check(&black_box(
            parade::iter(unindexed(n)).map(f).collect::<Vec<_>>(),
        ));
    });
    out.measure(case, "parade iter unordered", n, runs, || {
        let mut got: Vec<u64> = parade::iter(unindexed(n)).unordered().map(f).collect();
        got.sort_unstable();
        let mut want = expected.clone();
        want.sort_unstable();
        assert!(got == want, "an unordered pipeline lost items");
    });
    out.ratio(case, "parade iter", "rayon par_bridge+sort");
    out.ratio(case, "parade iter", "pariter parallel_map");
    out.ratio(case, "parade iter", "sequential");
}
