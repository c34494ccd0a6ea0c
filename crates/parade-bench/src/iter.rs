//! `parade-bench iter`: parallel pipelines against rayon, pariter and sequential code.
//!
//! Two cases, each measured for every implementation in the same run:
//!
//! 1. `cheap-map`: `x * 2 + 1` over 10,000,000 `u64` in a `Vec`, collected into a `Vec` (and,
//!    separately, summed), with `parade::iter_slice` against rayon's indexed `par_iter` and a
//!    sequential loop. `parade iter_slice` collects with `collect_vec` (workers write straight
//!    into the result); `parade iter_slice collect` is the generic batch-by-batch `collect`, and
//!    `parade::iter(&v)` shows the un-indexed path on the same data.
//! 2. `10us-map`: a map of about 10 µs per item over 200,000 items from an un-indexed iterator,
//!    in order, against rayon's `par_bridge` (unordered, then sorted back into order), the
//!    `pariter` crate and a sequential loop.
//!
//! 3. `small`: 1,000 pipelines of 100 cheap items each, which shows the cost of starting a
//!    pipeline (both borrow the threads of a pool kept between runs).
//!
//! Implementations take turns, round after round, and the best round of each is recorded, so
//! a burst of load from elsewhere on the machine hits all of them alike.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pariter::IteratorExt as _;
use rayon::prelude::*;

use crate::report::Report;

/// Runs the `iter` benchmarks.
pub fn run(out: &mut Report, quick: bool) {
    // PARADE_BENCH_ITER=small runs only the small pipelines (to profile them alone).
    if std::env::var_os("PARADE_BENCH_ITER").is_some_and(|v| v == "small") {
        return small(out, quick);
    }
    cheap(out, quick);
    slow(out, quick);
    small(out, quick);
    crate::iter_adapters::run(out, quick);
}

fn small(out: &mut Report, quick: bool) {
    let pipelines: u64 = if quick { 100 } else { 1000 };
    let v: Vec<u64> = (0..100).collect();
    let expected: u64 = v.iter().map(|x| x * 3).sum();
    let case = "small (100 items x runs)";
    let runs = if quick { 1 } else { 3 };
    out.measure(case, "sequential", pipelines, runs, || {
        for _ in 0..pipelines {
            assert_eq!(black_box(v.iter().map(|x| x * 3).sum::<u64>()), expected);
        }
    });
    out.measure(case, "rayon par_iter", pipelines, runs, || {
        for _ in 0..pipelines {
            assert_eq!(
                black_box(v.par_iter().map(|x| x * 3).sum::<u64>()),
                expected
            );
        }
    });
    out.measure(case, "parade iter_slice", pipelines, runs, || {
        for _ in 0..pipelines {
            assert_eq!(
                black_box(parade::iter_slice(&v).map(|x| x * 3).sum::<u64>()),
                expected
            );
        }
    });
    // What the figure above is made of: the pipeline's own work with no helper thread, and
    // the hand-off to one pool thread alone (an empty spawn in a scope, as a pipeline makes).
    out.measure(
        case,
        "parade iter_slice workers(1)",
        pipelines,
        runs,
        || {
            for _ in 0..pipelines {
                assert_eq!(
                    black_box(
                        parade::iter_slice(&v)
                            .workers(1)
                            .map(|x| x * 3)
                            .sum::<u64>()
                    ),
                    expected
                );
            }
        },
    );
    out.measure(
        case,
        "rayon in_place_scope + 1 empty spawn",
        pipelines,
        runs,
        || {
            for _ in 0..pipelines {
                rayon::in_place_scope(|s| s.spawn(|_| {}));
                assert_eq!(black_box(v.iter().map(|x| x * 3).sum::<u64>()), expected);
            }
        },
    );
    out.ratio(case, "parade iter_slice", "rayon par_iter");
}

/// One implementation of a case: its name and one run.
pub(crate) type Contender<'a> = (&'a str, Box<dyn FnMut() + 'a>);

fn cheap(out: &mut Report, quick: bool) {
    let n: u64 = if quick { 1_000_000 } else { 10_000_000 };
    let rounds = if quick { 2 } else { 9 };
    let v: Vec<u64> = (0..n).collect();
    let f = |x: &u64| x * 2 + 1;
    let expected: Vec<u64> = v.iter().map(f).collect();
    let check = |got: &Vec<u64>| assert!(*got == expected, "a pipeline lost order or items");

    let case = "cheap-map (collect)";
    race_slices(
        out,
        (case, n, rounds),
        (
            || check(&black_box(v.iter().map(f).collect())),
            || check(&black_box(v.par_iter().map(f).collect())),
            || check(&black_box(parade::iter_slice(&v).map(f).collect_vec())),
        ),
        vec![
            (
                "parade iter_slice collect",
                Box::new(|| check(&black_box(parade::iter_slice(&v).map(f).collect()))),
            ),
            (
                "parade iter (un-indexed)",
                Box::new(|| check(&black_box(parade::iter(&v).map(f).collect()))),
            ),
        ],
    );
    out.ratio(case, "parade iter_slice", "sequential");

    let case = "cheap-map (sum)";
    let total: u64 = expected.iter().sum();
    let check = |got: u64| assert_eq!(got, total, "a pipeline lost items");
    race_slices(
        out,
        (case, n, rounds),
        (
            || check(black_box(v.iter().map(f).sum())),
            || check(black_box(v.par_iter().map(f).sum())),
            || check(black_box(parade::iter_slice(&v).map(f).sum())),
        ),
        Vec::new(),
    );
    out.ratio(case, "parade iter_slice", "sequential");
}

/// Races what most cases compare, in this order: a `sequential` loop, `rayon par_iter` and
/// `parade iter_slice` (`runs`), then `more`; records parade's time against rayon's.
/// The second argument is the case, its item count and its rounds.
pub(crate) fn race_slices<'a>(
    out: &mut Report,
    (case, n, rounds): (&str, u64, usize),
    runs: (impl FnMut() + 'a, impl FnMut() + 'a, impl FnMut() + 'a),
    more: Vec<Contender<'a>>,
) {
    let mut contenders: Vec<Contender<'a>> = vec![
        ("sequential", Box::new(runs.0)),
        ("rayon par_iter", Box::new(runs.1)),
        ("parade iter_slice", Box::new(runs.2)),
    ];
    contenders.extend(more);
    out.interleaved(case, n, rounds.max(1), &mut contenders);
    out.ratio(case, "parade iter_slice", "rayon par_iter");
}

/// How many rounds of [`spin`] take about 10 µs here.
fn calibrate() -> u64 {
    let rounds = 200_000;
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        black_box(spin(1, rounds));
        best = best.min(start.elapsed());
    }
    #[allow(clippy::cast_precision_loss)]
    let per_round = best.as_secs_f64() / rounds as f64;
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

/// An iterator that does not know its length, like the lines of a file.
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
    let rounds = if quick { 1 } else { 3 };
    let spins = calibrate();
    let f = move |x: u64| spin(x, spins);
    let expected: Vec<u64> = (0..n).map(f).collect();
    let check = |got: &[u64]| assert!(got == expected.as_slice(), "a pipeline lost order or items");
    let mut sorted = expected.clone();
    sorted.sort_unstable();

    let case = "10us-map (ordered)";
    let mut contenders: [Contender<'_>; 5] = [
        (
            "sequential",
            Box::new(|| check(&black_box(unindexed(n).map(f).collect::<Vec<_>>()))),
        ),
        (
            "rayon par_bridge+sort",
            Box::new(|| {
                let mut pairs: Vec<(u64, u64)> =
                    unindexed(n).par_bridge().map(|x| (x, f(x))).collect();
                pairs.sort_unstable_by_key(|p| p.0);
                check(&black_box(
                    pairs.into_iter().map(|p| p.1).collect::<Vec<_>>(),
                ));
            }),
        ),
        (
            "pariter parallel_map",
            Box::new(|| check(&black_box(unindexed(n).parallel_map(f).collect::<Vec<_>>()))),
        ),
        (
            "parade iter",
            Box::new(|| {
                let got: Vec<u64> = parade::iter(unindexed(n)).map(f).collect();
                check(&black_box(got));
            }),
        ),
        (
            "parade iter unordered",
            Box::new(|| {
                let mut got: Vec<u64> = parade::iter(unindexed(n)).unordered().map(f).collect();
                got.sort_unstable();
                assert!(got == sorted, "an unordered pipeline lost items");
            }),
        ),
    ];
    out.interleaved(case, n, rounds.max(1), &mut contenders);
    out.ratio(case, "parade iter", "rayon par_bridge+sort");
    out.ratio(case, "parade iter", "pariter parallel_map");
    out.ratio(case, "parade iter", "sequential");
}
