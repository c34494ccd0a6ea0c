//! The `iter` face against rayon's idiom: the adapters of ordered streams (`enumerate`, `zip`,
//! `skip`, `take`, `chain`, `chunks`) and rayon's per-worker `fold`, checked against std's
//! iterator results for any input, worker count, window and batch size.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Opts {
    workers: usize,
    in_flight: usize,
    batch: Option<usize>,
}

fn opts() -> impl Strategy<Value = Opts> {
    (1usize..5, 1usize..40, proptest::option::of(1usize..9)).prop_map(
        |(workers, in_flight, batch)| Opts {
            workers,
            in_flight,
            batch,
        },
    )
}

fn configure<S: parade::iter::Source, St: parade::iter::Stage<S::Item>>(
    p: parade::iter::Pipeline<S, St>,
    o: &Opts,
) -> parade::iter::Pipeline<S, St> {
    let p = p.workers(o.workers).in_flight(o.in_flight);
    match o.batch {
        Some(b) => p.batch(b),
        None => p,
    }
}

fn f(x: u32) -> u64 {
    u64::from(x) * 3 + 1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn enumerate_matches_std(v in proptest::collection::vec(any::<u32>(), 0..300), o in opts()) {
        let got: Vec<(usize, u64)> = configure(parade::iter(v.clone()), &o).map(f).enumerate().collect();
        let want: Vec<(usize, u64)> = v.iter().copied().map(f).enumerate().collect();
        prop_assert_eq!(got, want);
        // Over a slice, where collect_vec writes in place.
        let got = configure(parade::iter_slice(&v), &o).map(|x| f(*x)).enumerate().collect_vec();
        prop_assert_eq!(got, v.iter().copied().map(f).enumerate().collect::<Vec<_>>());
    }

    #[test]
    fn zip_matches_std(
        a in proptest::collection::vec(any::<u32>(), 0..300),
        b in proptest::collection::vec(any::<u8>(), 0..300),
        o in opts(),
    ) {
        let got: Vec<(u64, u8)> = configure(parade::iter(a.clone()), &o).map(f).zip(b.clone()).collect();
        let want: Vec<(u64, u8)> = a.iter().copied().map(f).zip(b.iter().copied()).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn take_and_skip_compose_as_in_std(
        n in 0usize..300,
        take in 0usize..200,
        skip in 0usize..200,
        o in opts(),
    ) {
        let p = || configure(parade::iter(0..u32::try_from(n).unwrap()), &o).map(f);
        let std = || (0..u32::try_from(n).unwrap()).map(f);
        prop_assert_eq!(p().skip(skip).collect::<Vec<_>>(), std().skip(skip).collect::<Vec<_>>());
        prop_assert_eq!(
            p().take(take).skip(skip).collect::<Vec<_>>(),
            std().take(take).skip(skip).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            p().skip(skip).take(take).collect::<Vec<_>>(),
            std().skip(skip).take(take).collect::<Vec<_>>()
        );
        // An endless source: skipping and taking end it.
        let endless: Vec<u64> = configure(parade::iter(0u32..), &o).map(f).skip(skip).take(take).collect();
        prop_assert_eq!(endless, (0u32..).map(f).skip(skip).take(take).collect::<Vec<_>>());
    }

    #[test]
    fn chain_matches_std(
        a in proptest::collection::vec(any::<u32>(), 0..200),
        b in proptest::collection::vec(any::<u64>(), 0..200),
        take in proptest::option::of(0usize..250),
        o in opts(),
    ) {
        let p = configure(parade::iter(a.clone()), &o).map(f);
        let p = match take { Some(t) => p.take(t), None => p };
        let got: Vec<u64> = p.chain(b.clone()).collect();
        let want: Vec<u64> = a.iter().copied().map(f).take(take.unwrap_or(usize::MAX)).chain(b).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn chunks_match_std(
        v in proptest::collection::vec(any::<u32>(), 0..300),
        n in 1usize..20,
        take in proptest::option::of(0usize..300),
        o in opts(),
    ) {
        let p = configure(parade::iter(v.clone()), &o).map(f);
        let p = match take { Some(t) => p.take(t), None => p };
        let got: Vec<Vec<u64>> = p.chunks(n).collect();
        let mapped: Vec<u64> = v.iter().copied().map(f).take(take.unwrap_or(usize::MAX)).collect();
        let want: Vec<Vec<u64>> = mapped.chunks(n).map(<[u64]>::to_vec).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn per_worker_fold_keeps_every_item_once_in_order(
        v in proptest::collection::vec(any::<u32>(), 0..400),
        o in opts(),
    ) {
        let parts: Vec<Vec<u32>> = configure(parade::iter(v.clone()), &o)
            .filter(|x| x % 3 != 0)
            .fold(Vec::new, |mut acc, x| { acc.push(x); acc })
            .collect();
        let want: Vec<u32> = v.iter().copied().filter(|x| x % 3 != 0).collect();
        prop_assert_eq!(parts.concat(), want);
        let sum: u64 = configure(parade::iter(v.clone()), &o).map(f).fold(|| 0u64, u64::wrapping_add).reduce(u64::wrapping_add).unwrap_or(0);
        prop_assert_eq!(sum, v.iter().copied().map(f).fold(0u64, u64::wrapping_add));
    }
}

#[test]
fn fold_makes_one_accumulator_per_batch_not_per_item() {
    let made = AtomicUsize::new(0);
    let parts = parade::iter(0..10_000u32)
        .workers(2)
        .batch(100)
        .fold(
            || {
                made.fetch_add(1, Ordering::Relaxed);
                0u64
            },
            |a, x| a + u64::from(x),
        )
        .collect_vec();
    // One per batch (batches shrink near the end of a source of known length): far fewer
    // than one per item, and every one made is yielded.
    assert!(parts.len() >= 100 && parts.len() < 1000, "{}", parts.len());
    assert_eq!(made.load(Ordering::Relaxed), parts.len());
    assert_eq!(parts.iter().sum::<u64>(), (0..10_000u64).sum::<u64>());
}

#[test]
fn skipped_items_are_never_mapped_and_the_window_bounds_the_source() {
    let mapped = AtomicUsize::new(0);
    let pulled = AtomicUsize::new(0);
    let source = (0..u32::MAX).inspect(|_| {
        pulled.fetch_add(1, Ordering::Relaxed);
    });
    let v: Vec<u32> = parade::iter(source)
        .in_flight(64)
        .map(|x| {
            mapped.fetch_add(1, Ordering::Relaxed);
            x
        })
        .skip(1000)
        .enumerate()
        .map(|(i, x)| x - u32::try_from(i).unwrap())
        .take(10)
        .collect();
    assert_eq!(v, [1000; 10]);
    // The 1000 skipped were pulled, never mapped; the rest stayed within the window.
    assert!(mapped.load(Ordering::Relaxed) <= 10 + 64, "{mapped:?}");
    assert!(
        pulled.load(Ordering::Relaxed) <= 1000 + 10 + 64,
        "{pulled:?}"
    );
}

#[test]
#[should_panic(expected = "fold after take on a filtering pipeline")]
fn fold_after_take_on_a_filtering_pipeline_says_what_to_do() {
    let _ = parade::iter(0..10u32)
        .filter(|x| x % 2 == 0)
        .take(3)
        .fold(|| 0, |a, x| a + x);
}

#[test]
#[should_panic(expected = "chunk size must be non-zero")]
fn chunks_of_zero_panic_as_in_std() {
    let _ = parade::iter(0..10u32).chunks(0);
}
