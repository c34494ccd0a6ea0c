//! `parade-bench iter`, the ordered adapters: `enumerate`, `zip` and rayon's per-worker `fold`
//! against rayon's indexed `par_iter` and a sequential loop, over 10,000,000 `u64` in memory.
//!
//! parade numbers and pairs items at its source (under the source's lock, in input order) and
//! carries what it added beside each item through the fused stages; rayon splits indexed
//! ranges. Each case checks every result against the sequential one.

use std::hint::black_box;

use rayon::prelude::*;

use crate::iter::race_slices;
use crate::report::Report;

/// Runs the adapter cases.
pub fn run(out: &mut Report, quick: bool) {
    let n: u64 = if quick { 1_000_000 } else { 10_000_000 };
    let rounds = if quick { 2 } else { 7 };
    let v: Vec<u64> = (0..n).collect();
    enumerate(out, &v, rounds);
    zip(out, &v, rounds);
    fold(out, &v, rounds);
}

fn enumerate(out: &mut Report, v: &[u64], rounds: usize) {
    let n = v.len() as u64;
    let at = |(i, x): (usize, &u64)| x * 2 + i as u64;

    let case = "enumerate-map (collect)";
    let expected: Vec<u64> = v.iter().enumerate().map(at).collect();
    let check = |got: &Vec<u64>| assert!(*got == expected, "enumerate lost order or items");
    race_slices(
        out,
        (case, n, rounds),
        (
            || check(&black_box(v.iter().enumerate().map(at).collect())),
            || check(&black_box(v.par_iter().enumerate().map(at).collect())),
            || {
                check(&black_box(
                    parade::iter_slice(v).enumerate().map(at).collect_vec(),
                ));
            },
        ),
        Vec::new(),
    );
}

fn zip(out: &mut Report, v: &[u64], rounds: usize) {
    let n = v.len() as u64;
    let w: Vec<u64> = v.iter().map(|x| x ^ 0x5555).collect();
    let case = "zip-map (collect)";
    let expected: Vec<u64> = v.iter().zip(&w).map(|(a, b)| a + b).collect();
    let check = |got: &Vec<u64>| assert!(*got == expected, "zip lost order or items");
    race_slices(
        out,
        (case, n, rounds),
        (
            || check(&black_box(v.iter().zip(&w).map(|(a, b)| a + b).collect())),
            || {
                check(&black_box(
                    v.par_iter().zip(&w).map(|(a, b)| a + b).collect(),
                ));
            },
            || {
                check(&black_box(
                    parade::iter_slice(v)
                        .zip(&w)
                        .map(|(a, b)| a + b)
                        .collect_vec(),
                ));
            },
        ),
        Vec::new(),
    );
}

fn fold(out: &mut Report, v: &[u64], rounds: usize) {
    let n = v.len() as u64;
    let case = "per-worker fold (sum)";
    let f = |x: &u64| x * 2 + 1;
    let total: u64 = v.iter().map(f).sum();
    let check = |got: u64| assert_eq!(got, total, "fold lost items");
    race_slices(
        out,
        (case, n, rounds),
        (
            || check(black_box(v.iter().map(f).sum())),
            || {
                check(black_box(
                    v.par_iter().map(f).fold(|| 0, |a, x| a + x).sum(),
                ));
            },
            || {
                check(black_box(
                    parade::iter_slice(v).map(f).fold(|| 0, |a, x| a + x).sum(),
                ));
            },
        ),
        Vec::new(),
    );
}
