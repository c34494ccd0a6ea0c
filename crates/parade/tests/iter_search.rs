//! The rayon-style consumers of `parade::iter` (`any`, `all`, `find_first`, `find_any`,
//! `position`, `min`/`max` and their `_by`/`_by_key` forms, `product`) against std's sequential
//! answers, on random inputs, small batches and several workers (so items really spread over
//! threads and the early stops really happen mid-run).

use proptest::prelude::*;

/// `v` as a pipeline on `workers` workers, in batches of 3, through one stage.
macro_rules! pipe {
    ($v:expr, $workers:expr) => {
        parade::iter($v.clone())
            .workers($workers)
            .batch(3)
            .map(|x| x)
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn searches_and_extremes_match_std(v in proptest::collection::vec(-20i32..20, 0..200), workers in 1usize..4, t in -20i32..20) {
        prop_assert_eq!(pipe!(v, workers).any(|x| x == t), v.contains(&t));
        prop_assert_eq!(pipe!(v, workers).all(|x| x != t), v.iter().all(|&x| x != t));
        prop_assert_eq!(pipe!(v, workers).find_first(|&x| x > t), v.iter().copied().find(|&x| x > t));
        prop_assert_eq!(pipe!(v, workers).position(|x| x == t), v.iter().position(|&x| x == t));
        let any = pipe!(v, workers).find_any(|&x| x > t);
        prop_assert_eq!(any.is_some(), v.iter().any(|&x| x > t));
        prop_assert!(any.is_none_or(|x| x > t));
        prop_assert_eq!(pipe!(v, workers).min(), v.iter().copied().min());
        prop_assert_eq!(pipe!(v, workers).max(), v.iter().copied().max());
        // Ties: the key |x| has equal keys for x and -x; std keeps the first least and the
        // last greatest, and so must we.
        let idx: Vec<(usize, i32)> = v.iter().copied().enumerate().collect();
        let by_key = |ws| parade::iter(idx.clone()).workers(ws).batch(3);
        prop_assert_eq!(by_key(workers).min_by_key(|p| p.1.abs()), idx.iter().copied().min_by_key(|p| p.1.abs()));
        prop_assert_eq!(by_key(workers).max_by_key(|p| p.1.abs()), idx.iter().copied().max_by_key(|p| p.1.abs()));
        prop_assert_eq!(by_key(workers).min_by(|a, b| a.1.abs().cmp(&b.1.abs())), idx.iter().copied().min_by(|a, b| a.1.abs().cmp(&b.1.abs())));
        prop_assert_eq!(by_key(workers).max_by(|a, b| a.1.abs().cmp(&b.1.abs())), idx.iter().copied().max_by(|a, b| a.1.abs().cmp(&b.1.abs())));
        let small: Vec<i64> = v.iter().take(30).map(|&x| i64::from(x % 3)).collect();
        prop_assert_eq!(parade::iter(small.clone()).workers(workers).batch(2).product::<i64>(), small.iter().product::<i64>());
    }
}

#[test]
fn searches_stop_an_endless_pipeline() {
    assert!(parade::iter(0u64..).any(|x| x == 10_000));
    assert!(!parade::iter(0u64..).all(|x| x < 10_000));
    assert_eq!(
        parade::iter(0u64..).find_first(|x| x * x > 1_000_000),
        Some(1001)
    );
    assert_eq!(parade::iter(0u64..).position(|x| x == 77), Some(77));
    assert!(parade::iter(0u64..).find_any(|x| x % 1000 == 999).is_some());
}
