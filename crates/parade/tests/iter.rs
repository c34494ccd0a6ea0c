//! Integration tests of the `iter` face: order, laziness, bounded memory, early stop, panics,
//! fallible stages, and equivalence with sequential iterators.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use proptest::prelude::*;

/// Busy work that varies per item, so items finish out of order.
fn jitter(x: u64) -> u64 {
    let spins = (x.wrapping_mul(2_654_435_761) >> 7) % 2000;
    let mut h = x;
    for _ in 0..spins {
        h = std::hint::black_box(h.wrapping_mul(31).wrapping_add(7));
    }
    std::hint::black_box(h);
    x
}

/// Counts the workers alive: one guard per worker, made by `map_init`.
struct Alive(Arc<AtomicUsize>);
impl Alive {
    fn new(n: &Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, SeqCst);
        Self(Arc::clone(n))
    }
}
impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

#[test]
fn order_is_kept_for_every_stage_on_ranges() {
    let n = 3000u64;
    let seq: Vec<u64> = (0..n).map(|x| x * 3).filter(|x| x % 2 == 0).collect();
    for batch in [None, Some(1), Some(7)] {
        let mut p = parade::iter(0..n).workers(3).in_flight(64);
        if let Some(b) = batch {
            p = p.batch(b);
        }
        let got: Vec<u64> = p.map(|x| jitter(x) * 3).filter(|x| x % 2 == 0).collect();
        assert_eq!(got, seq, "batch {batch:?}");
    }
    let got: Vec<u64> = parade::iter(0..n)
        .workers(2)
        .batch(3)
        .filter_map(|x| jitter(x).is_multiple_of(5).then_some(x))
        .collect();
    assert_eq!(got, (0..n).filter(|x| x % 5 == 0).collect::<Vec<_>>());
    let got: Vec<u64> = parade::iter(0..300u64)
        .workers(2)
        .batch(2)
        .flat_map(|x| (0..jitter(x) % 4).map(move |i| x * 10 + i))
        .collect();
    assert_eq!(
        got,
        (0..300u64)
            .flat_map(|x| (0..x % 4).map(move |i| x * 10 + i))
            .collect::<Vec<_>>()
    );
}

#[test]
fn order_is_kept_on_vectors_and_stateful_stages() {
    let v: Vec<String> = (0..2000).map(|i| format!("item-{i}")).collect();
    let inspected = AtomicUsize::new(0);
    let got: Vec<(usize, usize)> = parade::iter(v.clone())
        .workers(4)
        .in_flight(32)
        .inspect(|_| {
            inspected.fetch_add(1, SeqCst);
        })
        .map_init(
            || 0usize,
            |seen, s| {
                *seen += 1;
                jitter(s.len() as u64);
                (s.len(), *seen)
            },
        )
        .map_with(String::new(), |buf, (len, seen)| {
            buf.push('x');
            (len, seen.min(buf.len()))
        })
        .collect();
    assert_eq!(inspected.into_inner(), 2000);
    let lens: Vec<usize> = got.iter().map(|&(l, _)| l).collect();
    assert_eq!(lens, v.iter().map(String::len).collect::<Vec<_>>());
    // Per-worker state: every worker counts its own items, so no count exceeds the total and the
    // counts of one worker grow one by one.
    assert!(got.iter().all(|&(_, seen)| (1..=2000).contains(&seen)));

    let words = vec!["a b", "", "c d e"];
    let flat: Vec<&str> = parade::iter(words)
        .flat_map(str::split_whitespace)
        .collect();
    assert_eq!(flat, ["a", "b", "c", "d", "e"]);

    let data: Vec<u64> = (0..5000).collect();
    let offset = 7; // borrowed by the stage: terminal operations run in a thread scope
    let got: Vec<u64> = parade::iter_slice(&data).map(|x| x + offset).collect();
    assert_eq!(got, data.iter().map(|x| x + offset).collect::<Vec<_>>());
}

#[test]
fn order_is_kept_on_an_endless_generator() {
    let mut next = 0u64;
    let endless = std::iter::from_fn(move || {
        next += 1;
        Some(next)
    });
    let got: Vec<u64> = parade::iter(endless)
        .workers(3)
        .in_flight(16)
        .map(jitter)
        .filter(|x| x % 3 == 0)
        .take(200)
        .collect();
    assert_eq!(
        got,
        (1..).filter(|x| x % 3 == 0).take(200).collect::<Vec<u64>>()
    );
    let mut it = parade::iter(0u64..).map(|x| x * 2).into_iter();
    assert_eq!(it.by_ref().take(5).collect::<Vec<_>>(), [0, 2, 4, 6, 8]);
    assert_eq!(it.next(), Some(10));
}

/// A source that counts what was pulled from it.
fn counting(pulled: &Arc<AtomicUsize>) -> impl Iterator<Item = usize> + Send + 'static {
    let pulled = Arc::clone(pulled);
    std::iter::from_fn(move || Some(pulled.fetch_add(1, SeqCst)))
}

#[test]
fn nothing_is_pulled_before_consumption_and_at_most_the_bound_after() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let bound = 10;
    let pipeline = parade::iter(counting(&pulled))
        .workers(2)
        .in_flight(bound)
        .map(|x| x + 1);
    let mut it = pipeline.into_iter();
    assert_eq!(pulled.load(SeqCst), 0, "nothing runs before the first next");
    for taken in 1..=25 {
        assert_eq!(it.next(), Some(taken));
        assert!(
            pulled.load(SeqCst) <= taken + bound,
            "pulled {} after taking {taken}",
            pulled.load(SeqCst)
        );
    }
    drop(it);
    let after_drop = pulled.load(SeqCst);
    assert!(after_drop <= 25 + bound);

    // The same contract for a scoped consumer with a limit.
    let pulled = Arc::new(AtomicUsize::new(0));
    let got: Vec<usize> = parade::iter(counting(&pulled))
        .in_flight(bound)
        .take(3)
        .collect();
    assert_eq!(got, [0, 1, 2]);
    assert!(pulled.load(SeqCst) <= 3 + bound);
}

#[test]
fn one_slow_item_does_not_grow_the_buffer() {
    let bound = 12;
    let pulled = Arc::new(AtomicUsize::new(0));
    let taken = Arc::new(AtomicUsize::new(0));
    let broken = Arc::new(AtomicBool::new(false));
    let source = {
        let (pulled, taken, broken) =
            (Arc::clone(&pulled), Arc::clone(&taken), Arc::clone(&broken));
        (0..2000usize).inspect(move |_| {
            let p = pulled.fetch_add(1, SeqCst) + 1;
            if p > taken.load(SeqCst) + bound {
                broken.store(true, SeqCst);
            }
        })
    };
    let stall_pulled = Arc::clone(&pulled);
    let it = parade::iter(source)
        .workers(3)
        .batch(1)
        .in_flight(bound)
        .map(move |x| {
            if x == 0 {
                // Item 0 holds back the ordered output until the others have filled the window.
                let give_up = Instant::now() + Duration::from_secs(20);
                while stall_pulled.load(SeqCst) < bound && Instant::now() < give_up {
                    std::thread::yield_now();
                }
            }
            x
        });
    let mut expected = 0;
    for x in it {
        assert_eq!(x, expected);
        expected += 1;
        taken.fetch_add(1, SeqCst);
    }
    assert_eq!(expected, 2000);
    assert!(
        !broken.load(SeqCst),
        "the source ran more than {bound} items ahead"
    );
}

#[test]
fn dropping_early_stops_and_joins_the_workers() {
    let alive = Arc::new(AtomicUsize::new(0));
    let a = Arc::clone(&alive);
    let mut it = parade::iter(0u64..)
        .workers(3)
        .map_init(move || Alive::new(&a), |_, x| x)
        .into_iter();
    assert_eq!(it.nth(100), Some(100));
    assert!(alive.load(SeqCst) >= 1);
    drop(it);
    assert_eq!(
        alive.load(SeqCst),
        0,
        "every worker has ended when drop returns"
    );

    // A scoped consumer stopping early: `take` on an endless source returns.
    let a = Arc::clone(&alive);
    let n = parade::iter(0u64..)
        .map_init(move || Alive::new(&a), |_, x| x)
        .take(1000)
        .count();
    assert_eq!(n, 1000);
    assert_eq!(alive.load(SeqCst), 0);

    // Dropped before it ever started: nothing to stop.
    drop(parade::iter(0u64..).map(|x| x + 1).into_iter());
}

#[derive(Debug, PartialEq)]
struct Boom(u64);

#[test]
fn a_stage_panic_reaches_the_consumer_with_its_payload_after_earlier_items() {
    let alive = Arc::new(AtomicUsize::new(0));
    let a = Arc::clone(&alive);
    let mut it = parade::iter(0u64..)
        .workers(3)
        .batch(2)
        .map_init(
            move || Alive::new(&a),
            |_, x| {
                if x == 37 {
                    std::panic::panic_any(Boom(x));
                }
                jitter(x)
            },
        )
        .into_iter();
    let mut got = Vec::new();
    let payload = loop {
        match catch_unwind(AssertUnwindSafe(|| it.next())) {
            Ok(Some(x)) => got.push(x),
            Ok(None) => panic!("an endless source ended"),
            Err(payload) => break payload,
        }
    };
    assert_eq!(got, (0..37).collect::<Vec<_>>());
    assert_eq!(payload.downcast_ref::<Boom>(), Some(&Boom(37)));
    assert_eq!(it.next(), None, "the run is over after the panic");
    drop(it);
    assert_eq!(alive.load(SeqCst), 0);

    // Scoped consumers re-raise the same payload, and their workers are joined.
    let a = Arc::clone(&alive);
    let err = catch_unwind(|| {
        parade::iter(0..100u64)
            .map_init(
                move || Alive::new(&a),
                |_, x| {
                    if x == 50 {
                        std::panic::panic_any(Boom(x))
                    } else {
                        x
                    }
                },
            )
            .sum::<u64>()
    })
    .unwrap_err();
    assert_eq!(err.downcast_ref::<Boom>(), Some(&Boom(50)));
    assert_eq!(alive.load(SeqCst), 0);

    // A panicking source and a panicking per-worker init are reported the same way.
    let err = catch_unwind(|| {
        parade::iter((0..10).map(|x| if x == 4 { panic!("source {x}") } else { x })).count()
    })
    .unwrap_err();
    assert_eq!(
        err.downcast_ref::<String>().map(String::as_str),
        Some("source 4")
    );
    let err = catch_unwind(|| {
        parade::iter(0..10)
            .map_init(|| panic!("init"), |(): &mut (), x| x)
            .count()
    })
    .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"init"));
}

#[test]
fn unordered_hands_out_items_as_they_finish() {
    let (tx, rx) = mpsc::channel::<()>();
    let rx = parking_lot::Mutex::new(rx);
    let mut it = parade::iter(0..50u32)
        .workers(2)
        .batch(1)
        .unordered()
        .map(move |x| {
            if x == 0 {
                // Blocks until the consumer has seen another item: in order, this would hang.
                rx.lock()
                    .recv_timeout(Duration::from_secs(20))
                    .expect("the consumer saw a later item first");
            }
            x
        })
        .into_iter();
    let first = it.next().unwrap();
    assert_ne!(first, 0);
    tx.send(()).unwrap();
    let mut all: Vec<u32> = std::iter::once(first).chain(it).collect();
    all.sort_unstable();
    assert_eq!(all, (0..50).collect::<Vec<_>>());
}

#[test]
fn consumers_agree_with_sequential_iterators() {
    let p = || parade::iter(1..=1000u64).workers(3).map(|x| x * 3);
    assert_eq!(p().sum::<u64>(), (1..=1000u64).map(|x| x * 3).sum::<u64>());
    assert_eq!(p().count(), 1000);
    assert_eq!(
        p().fold_in_order(Vec::new(), |mut v, x| {
            v.push(x);
            v
        }),
        (1..=1000u64).map(|x| x * 3).collect::<Vec<_>>()
    );
    // Associative but not commutative: order is kept across batches.
    let s = parade::iter(0..500)
        .map(|x: u32| x.to_string())
        .batch(7)
        .reduce(|a, b| a + &b);
    assert_eq!(
        s,
        Some((0..500).map(|x: u32| x.to_string()).collect::<String>())
    );
    assert_eq!(parade::iter(0..0u8).reduce(|a, b| a + b), None);
    assert_eq!(parade::iter(1..=4u64).reduce_with(10, |a, b| a + b), 20);
    assert_eq!(parade::iter(0..0u64).reduce_with(10, |a, b| a + b), 10);
    assert_eq!(p().take(3).sum::<u64>(), 18);
    assert_eq!(p().take(3).count(), 3);
    assert_eq!(p().take(2).reduce(|a, b| a * b), Some(18));
    let seen = AtomicUsize::new(0);
    p().for_each(|_| {
        seen.fetch_add(1, SeqCst);
    });
    assert_eq!(seen.into_inner(), 1000);
    let seen = parking_lot::Mutex::new(Vec::new());
    p().take(4).for_each(|x| seen.lock().push(x));
    assert_eq!(seen.into_inner(), [3, 6, 9, 12]);
}

#[test]
fn fallible_stages_stop_at_the_first_error_in_order() {
    // The error at 3 comes first in order even if the one at 10 happens first.
    let r: Result<Vec<u32>, u32> = parade::iter(0..20u32)
        .workers(2)
        .batch(1)
        .try_map(|x| {
            if x == 3 {
                jitter(5000);
            }
            if x == 3 || x == 10 { Err(x) } else { Ok(x) }
        })
        .try_collect();
    assert_eq!(r, Err(3));
    // On an endless source, the first error ends the run.
    let r: Result<Vec<u64>, String> = parade::iter(0u64..)
        .try_map(|x| {
            if x == 1000 {
                Err(format!("bad {x}"))
            } else {
                Ok(x)
            }
        })
        .try_collect();
    assert_eq!(r, Err("bad 1000".into()));
    let r = parade::iter(0u64..).try_for_each(|x| if x == 77 { Err(x) } else { Ok(()) });
    assert_eq!(r, Err(77));
    let r = parade::iter(0..10u64).try_for_each(|_| Ok::<(), ()>(()));
    assert_eq!(r, Ok(()));
    let r = parade::iter(["1", "2", "x"])
        .try_map(str::parse::<u32>)
        .try_fold(0, |a, x| Ok(a + x));
    assert!(r.is_err());
    let r = parade::iter(1..=3u32)
        .try_map(Ok::<u32, String>)
        .try_fold(0, |a, x| {
            if x == 2 {
                Err("fold".to_string())
            } else {
                Ok(a + x)
            }
        });
    assert_eq!(r, Err("fold".to_string()));
}

#[derive(Debug, Clone)]
struct Options {
    workers: usize,
    in_flight: usize,
    batch: Option<usize>,
}

fn options() -> impl Strategy<Value = Options> {
    (1usize..5, 1usize..40, proptest::option::of(1usize..9)).prop_map(
        |(workers, in_flight, batch)| Options {
            workers,
            in_flight,
            batch,
        },
    )
}

fn configure<S: parade::iter::Source, St: parade::iter::Stage<S::Item>>(
    p: parade::iter::Pipeline<S, St>,
    o: &Options,
) -> parade::iter::Pipeline<S, St> {
    let p = p.workers(o.workers).in_flight(o.in_flight);
    match o.batch {
        Some(b) => p.batch(b),
        None => p,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_pipelines_match_sequential_iterators(
        input in proptest::collection::vec(0u32..1000, 0..300),
        add in 0u32..10,
        modulus in 1u32..6,
        fan in 0u32..4,
        take in proptest::option::of(0usize..400),
        unordered in any::<bool>(),
        o in options(),
    ) {
        let seq: Vec<u32> = input.iter().map(|x| x + add).filter(|x| x % modulus != 0)
            .flat_map(|x| (0..x % (fan + 1)).map(move |i| x * 4 + i))
            .filter_map(|x| x.checked_sub(1)).collect();
        let p = configure(parade::iter(input.clone()), &o)
            .map(move |x| x + add)
            .filter(move |x| x % modulus != 0)
            .flat_map(move |x| (0..x % (fan + 1)).map(move |i| x * 4 + i))
            .filter_map(|x| x.checked_sub(1));
        let p = if unordered { p.unordered() } else { p };
        let (p, expected) = match take {
            Some(n) if !unordered => (p.take(n), seq.iter().copied().take(n).collect::<Vec<_>>()),
            _ => (p, seq.clone()),
        };
        let mut got: Vec<u32> = p.collect();
        let mut expected = expected;
        if unordered {
            got.sort_unstable();
            expected.sort_unstable();
        }
        prop_assert_eq!(got, expected);
        let sum: u64 = configure(parade::iter_slice(&input), &o).map(|&x| u64::from(x)).sum();
        prop_assert_eq!(sum, input.iter().map(|&x| u64::from(x)).sum::<u64>());
        let count = configure(parade::iter(input.clone()), &o).filter(move |x| x % modulus == 0).count();
        prop_assert_eq!(count, input.iter().filter(|&&x| x % modulus == 0).count());
        let joined = configure(parade::iter(input.clone()), &o).map(|x| vec![x]).reduce(|mut a, b| { a.extend(b); a });
        prop_assert_eq!(joined.unwrap_or_default(), input.clone());
        let folded = configure(parade::iter(input.clone()), &o).into_iter().fold(0u64, |a, x| a.wrapping_mul(3).wrapping_add(u64::from(x)));
        prop_assert_eq!(folded, input.iter().fold(0u64, |a, &x| a.wrapping_mul(3).wrapping_add(u64::from(x))));
    }
}

#[test]
fn stages_are_fused_on_one_worker_and_workers_are_bounded() {
    use std::collections::HashSet;
    use std::thread;
    let caller = thread::current().id();
    let got: Vec<(thread::ThreadId, bool)> = parade::iter(0..2000u64)
        .workers(3)
        .batch(5)
        .map(|x| (jitter(x), thread::current().id()))
        .filter(|_| true)
        .map(|(_, id)| (id, id == thread::current().id()))
        .collect();
    assert!(
        got.iter().all(|&(_, same)| same),
        "an item changed thread between stages"
    );
    let ids: HashSet<_> = got.iter().map(|&(id, _)| id).collect();
    assert!(ids.len() <= 3, "{} threads for 3 workers", ids.len());
    assert!(
        !ids.contains(&caller),
        "collect keeps the calling thread free to reorder"
    );

    // Folding consumers may use the calling thread as one of their workers.
    let ids = parking_lot::Mutex::new(HashSet::new());
    let n = parade::iter(0..2000u64)
        .workers(2)
        .inspect(|_| {
            ids.lock().insert(thread::current().id());
        })
        .count();
    assert_eq!(n, 2000);
    assert!(ids.into_inner().len() <= 2);
}

#[test]
fn try_filter_keeps_order_and_stops_at_the_first_error() {
    let r: Result<Vec<u64>, u64> = parade::iter(0..500u64)
        .workers(3)
        .batch(4)
        .try_filter(|&x| Ok(jitter(x).is_multiple_of(3)))
        .try_collect();
    assert_eq!(r, Ok((0..500).filter(|x| x % 3 == 0).collect()));
    let r: Result<Vec<u64>, u64> = parade::iter(0u64..)
        .try_filter(|&x| if x == 300 { Err(x) } else { Ok(x % 2 == 0) })
        .try_collect();
    assert_eq!(r, Err(300));
}

/// Counts values made and dropped, to show the indexed collect drops nothing twice.
#[derive(Debug)]
struct Tracked {
    value: u64,
    drops: Arc<AtomicUsize>,
}
impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

#[test]
fn indexed_collect_keeps_order_with_stateful_stages() {
    let v: Vec<u64> = (0..5000).collect();
    for workers in [1, 2, 4] {
        let got = parade::iter_slice(&v)
            .workers(workers)
            .map(|&x| jitter(x))
            .inspect(|x| assert!(*x < 5000))
            .map_init(
                || 0u64,
                |seen, x| {
                    *seen += 1;
                    (x, *seen > 0)
                },
            )
            .map_with(3u64, |k, (x, ok)| (x * *k, ok))
            .collect_vec();
        let expected: Vec<(u64, bool)> = v.iter().map(|x| (x * 3, true)).collect();
        assert_eq!(got, expected, "workers {workers}");
    }
    let took = parade::iter_slice(&v).map(|x| x + 1).take(7).collect_vec();
    assert_eq!(took, [1, 2, 3, 4, 5, 6, 7]);
    assert!(
        parade::iter_slice(&v)
            .take(0)
            .map(|x| x + 1)
            .collect_vec()
            .is_empty()
    );
}

#[test]
fn indexed_collect_raises_a_stage_panic_with_its_payload_and_drops_nothing_twice() {
    let v: Vec<u64> = (0..20_000).collect();
    for batch in [None, Some(1), Some(64)] {
        let made = AtomicUsize::new(0);
        let drops = Arc::new(AtomicUsize::new(0));
        let run = catch_unwind(AssertUnwindSafe(|| {
            let mut p = parade::iter_slice(&v).workers(3);
            if let Some(b) = batch {
                p = p.batch(b);
            }
            p.map(|&x| {
                assert!(x != 12_345, "boom at {x}");
                made.fetch_add(1, SeqCst);
                Tracked {
                    value: x,
                    drops: Arc::clone(&drops),
                }
            })
            .collect_vec()
        }));
        let payload = run.expect_err("the panic reaches the consumer");
        let msg = payload
            .downcast_ref::<String>()
            .expect("a formatted payload");
        assert_eq!(msg, "boom at 12345", "batch {batch:?}");
        // Values written before the panic are leaked by design; none is dropped twice.
        assert!(drops.load(SeqCst) <= made.load(SeqCst), "batch {batch:?}");
    }
    // Without a panic, every value is dropped exactly once, with the vector.
    let drops = Arc::new(AtomicUsize::new(0));
    let got = parade::iter_slice(&v[..3000])
        .workers(3)
        .map(|&x| Tracked {
            value: x,
            drops: Arc::clone(&drops),
        })
        .collect_vec();
    assert!(got.iter().map(|t| t.value).eq(0..3000));
    assert_eq!(drops.load(SeqCst), 0);
    drop(got);
    assert_eq!(drops.load(SeqCst), 3000);
}

#[test]
fn collect_vec_falls_back_for_stages_that_change_the_count() {
    let v: Vec<u64> = (0..3000).collect();
    let got = parade::iter_slice(&v)
        .workers(3)
        .batch(5)
        .map(|&x| jitter(x))
        .filter(|x| x % 3 == 0)
        .map(|x| x * 2)
        .collect_vec();
    let expected: Vec<u64> = v.iter().filter(|&&x| x % 3 == 0).map(|x| x * 2).collect();
    assert_eq!(got, expected);
    let got = parade::iter_slice(&v[..50])
        .flat_map(|&x| [x, x])
        .collect_vec();
    assert_eq!(got.len(), 100);
    let got = parade::iter(v.clone()).map(|x| x + 1).take(4).collect_vec();
    assert_eq!(got, [1, 2, 3, 4]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn indexed_collect_matches_sequential_iterators(
        input in prop_oneof![
            proptest::collection::vec(any::<u32>(), 0..=1),
            proptest::collection::vec(any::<u32>(), 0..2000),
        ],
        take in proptest::option::of(0usize..2100),
        unordered in any::<bool>(),
        o in options(),
    ) {
        let seq: Vec<u64> = input.iter().map(|&x| u64::from(x) * 3 + 1)
            .take(take.unwrap_or(usize::MAX)).collect();
        let p = configure(parade::iter_slice(&input), &o)
            .map(|&x| jitter(u64::from(x)))
            .map_init(|| 3u64, |k, x| x * *k)
            .inspect(|_| ())
            .map_with(1u64, |one, x| x + *one);
        let p = if unordered { p.unordered() } else { p };
        let p = match take {
            Some(n) => p.take(n),
            None => p,
        };
        // The indexed path keeps input order even when unordered is asked for.
        prop_assert_eq!(p.collect_vec(), seq);
    }
}

/// Two items that each wait until the other has started: a caller that starts alone must still
/// call its helper for a source of few items (they are likely slow), or this would wait forever.
#[test]
fn few_items_run_side_by_side_in_folds_and_collect_vec() {
    static MEETING: (std::sync::Mutex<u32>, std::sync::Condvar) =
        (std::sync::Mutex::new(0), std::sync::Condvar::new());
    let meet = |x: &u32| {
        let (lock, cvar) = &MEETING;
        let mut started = lock.lock().unwrap();
        *started += 1;
        cvar.notify_all();
        let (started, timeout) = cvar
            .wait_timeout_while(started, Duration::from_secs(20), |n| *n % 2 == 1)
            .unwrap();
        assert!(!timeout.timed_out(), "the other item never started");
        drop(started);
        *x
    };
    let items = [1u32, 2];
    assert_eq!(
        parade::iter_slice(&items).workers(2).map(meet).sum::<u32>(),
        3
    );
    assert_eq!(
        parade::iter_slice(&items)
            .workers(2)
            .map(meet)
            .collect_vec(),
        [1, 2]
    );
}
