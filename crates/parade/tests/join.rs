//! Integration tests of the `join` face: calls, builder, dynamic form, options, resources,
//! scoped forms. No test asserts on durations; timeouts are made deterministic with channels.

use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use parade::exec::thread_cache::ThreadCache;
use parade::join::{Acquire, Failure, Join, Release, scoped};

/// Long enough never to be reached in a passing test; bounds a failing one.
const PATIENCE: Duration = Duration::from_secs(30);

/// A barrier whose `wait` fails instead of hanging when not everyone arrives.
#[derive(Clone)]
struct TimedBarrier(Arc<(Mutex<(usize, usize)>, Condvar)>);

impl TimedBarrier {
    fn new(n: usize) -> Self {
        Self(Arc::new((Mutex::new((0, n)), Condvar::new())))
    }

    fn wait(&self) {
        let (lock, cv) = &*self.0;
        let mut st = lock.lock().unwrap();
        st.0 += 1;
        cv.notify_all();
        let (st, res) = cv
            .wait_timeout_while(st, PATIENCE, |st| st.0 < st.1)
            .unwrap();
        assert!(
            !res.timed_out(),
            "barrier: only {} of {} arrived",
            st.0,
            st.1
        );
    }
}

/// A value that reports on a channel when dropped.
#[derive(Debug)]
struct Tell(Sender<&'static str>, &'static str);

impl Drop for Tell {
    fn drop(&mut self) {
        let _ = self.0.send(self.1);
    }
}

fn blocked_until(rx: Receiver<()>) -> impl FnOnce() -> bool + Send + 'static {
    move || rx.recv_timeout(PATIENCE).is_ok()
}

// ---------------------------------------------------------------- calls

#[test]
fn values_come_back_typed_in_call_order() {
    let (a, b, c) = parade::join((|| 1 + 2, || 4.to_string(), || vec![5_u8])).unwrap();
    assert_eq!(a, 3);
    assert_eq!(b, "4");
    assert_eq!(c, [5]);
}

#[test]
fn twelve_calls_in_one_tuple() {
    let out = parade::join((
        || 0,
        || 1,
        || 2,
        || 3,
        || 4,
        || 5,
        || 6,
        || 7,
        || 8,
        || 9,
        || 10,
        || "eleven",
    ))
    .unwrap();
    assert_eq!(out.0 + out.5 + out.10, 15);
    assert_eq!(out.11, "eleven");
}

#[test]
fn order_is_call_order_not_completion_order() {
    // Call 0 ends last: it waits for call 1 to tell it that call 1 is done.
    let (tx, rx) = mpsc::channel();
    let (first, second) = parade::join((
        move || rx.recv_timeout(PATIENCE).map(|()| "first").unwrap(),
        move || {
            tx.send(()).unwrap();
            "second"
        },
    ))
    .unwrap();
    assert_eq!((first, second), ("first", "second"));
}

#[test]
fn calls_never_run_on_the_callers_thread() {
    let me = thread::current().id();
    let (a, b) = parade::join((move || thread::current().id(), || thread::current().id())).unwrap();
    assert_ne!(a, me);
    assert_ne!(b, me);
}

#[test]
fn calls_may_wait_for_each_other() {
    let barrier = TimedBarrier::new(3);
    let (b1, b2, b3) = (barrier.clone(), barrier.clone(), barrier);
    let out = parade::join((move || b1.wait(), move || b2.wait(), move || b3.wait()));
    assert!(out.is_ok());
}

#[test]
fn hundred_calls_on_one_barrier_complete() {
    let barrier = TimedBarrier::new(100);
    let calls: Vec<_> = (0..100)
        .map(|i| {
            let b = barrier.clone();
            move || {
                b.wait();
                i
            }
        })
        .collect();
    let out = parade::join_all(calls).unwrap();
    assert_eq!(out, (0..100).collect::<Vec<_>>());
}

#[test]
fn threads_are_reused_between_joins() {
    let cache = ThreadCache::new();
    let options = Join::new().cache(&cache);
    for _ in 0..20 {
        options.join((|| (), || (), || ())).unwrap();
        while cache.idle_threads() < cache.threads() {
            thread::yield_now();
        }
    }
    assert!(
        cache.spawned() <= 3,
        "spawned {} threads for 20 joins of 3",
        cache.spawned()
    );
}

// ---------------------------------------------------------------- failures

#[test]
fn both_panics_of_two_panicking_calls_are_reported() {
    let err = parade::join((
        || -> i32 { panic!("left") },
        || 7,
        || -> i32 { std::panic::panic_any(42_u32) },
    ))
    .unwrap_err();
    assert_eq!(err.failures().len(), 2);
    assert!(err.unfinished().is_empty());
    let failures = err.into_failures();
    assert_eq!(failures[0].index, 0);
    assert_eq!(failures[0].failure.panic_message(), Some("left"));
    assert_eq!(failures[1].index, 2);
    match &failures[1].failure {
        Failure::Panic(payload) => {
            assert_eq!(payload.with(|p| p.downcast_ref::<u32>().copied()), Some(42));
        }
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn errors_and_panics_are_kept_in_call_order() {
    let err = parade::try_join((
        || Err::<u8, String>("e2".into()),
        || Ok(1),
        || -> Result<u8, String> { panic!("p") },
        || Err::<u8, String>("e3".into()),
    ))
    .unwrap_err();
    let described: Vec<String> = err.failures().iter().map(ToString::to_string).collect();
    assert_eq!(
        described,
        [
            "call 0 returned an error: e2",
            "call 2 panicked: p",
            "call 3 returned an error: e3"
        ]
    );
    assert!(err.into_single().is_err(), "three failures are not one");
}

#[test]
fn a_single_failure_unwraps_as_itself() {
    #[derive(Debug, PartialEq)]
    struct Mine(u8);
    let err = parade::try_join((|| Ok(1), || Err::<u8, _>(Mine(9)))).unwrap_err();
    assert_eq!(err.into_error().unwrap(), Mine(9));

    // A single panic re-raises with its original payload.
    let err = parade::join((|| 1, || -> i32 { std::panic::panic_any(Mine(3)) })).unwrap_err();
    let payload = catch_unwind(AssertUnwindSafe(|| err.resume_unwind())).unwrap_err();
    assert_eq!(payload.downcast_ref::<Mine>(), Some(&Mine(3)));
}

#[test]
fn a_single_panic_is_not_an_error_value() {
    let err = parade::try_join((|| -> Result<u8, String> { panic!("x") },)).unwrap_err();
    let err = err.into_error().unwrap_err();
    assert!(err.has_panics());
    assert_eq!(err.to_string(), "call 0 panicked: x");
}

#[test]
fn join_error_is_a_std_error_keeping_the_calls_errors() {
    use std::error::Error;
    let err = parade::try_join((|| "x".parse::<u8>(),)).unwrap_err();
    assert!(matches!(
        &err.failures()[0].failure,
        parade::join::Failure::Error(e) if *e.kind() == std::num::IntErrorKind::InvalidDigit
    ));
    let boxed: Box<dyn Error> = Box::new(err);
    assert!(boxed.to_string().starts_with("call 0 returned an error: "));
    let back = boxed.downcast::<parade::join::JoinError<std::num::ParseIntError>>();
    assert_eq!(
        back.unwrap().into_error().unwrap().to_string(),
        "invalid digit found in string"
    );
}

// ---------------------------------------------------------------- options

#[test]
fn timeout_returns_and_names_the_unfinished_call() {
    let (tx, rx) = mpsc::channel();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let err = Join::new()
        .timeout(Duration::from_millis(20))
        .join((
            || 1,
            move || {
                let _ = rx.recv_timeout(PATIENCE);
                Tell(dropped_tx, "late value")
            },
        ))
        .unwrap_err();
    assert!(err.unfinished().contains(&1));
    assert_eq!(err.timed_out(), Some(Duration::from_millis(20)));
    assert!(err.failures().is_empty());
    assert!(err.to_string().starts_with("join timed out after 20ms"));
    // The abandoned call keeps running; its value is dropped on its thread when it ends.
    tx.send(()).unwrap();
    assert_eq!(dropped_rx.recv_timeout(PATIENCE), Ok("late value"));
}

#[test]
fn fail_fast_returns_at_the_first_failure() {
    let (tx, rx) = mpsc::channel();
    let err = Join::new()
        .fail_fast()
        .try_join((
            move || rx.recv_timeout(PATIENCE).map_err(|_| "no signal"),
            || Err::<(), _>("broken"),
        ))
        .unwrap_err();
    assert_eq!(err.failures().len(), 1);
    assert_eq!(err.failures()[0].index, 1);
    assert_eq!(err.not_collected(), [0]);
    assert!(err.unfinished().is_empty());
    assert_eq!(err.timed_out(), None);
    assert_eq!(
        err.to_string(),
        "call 1 returned an error: broken; call 0 not collected"
    );
    tx.send(()).unwrap();
}

#[test]
fn settle_gives_one_result_per_call() {
    let (ok, panicked, also_ok) =
        Join::new().settle((|| 1, || -> &str { panic!("middle") }, || "three"));
    assert_eq!(ok.unwrap(), 1);
    assert_eq!(panicked.unwrap_err().panic_message(), Some("middle"));
    assert_eq!(also_ok.unwrap(), "three");
}

#[test]
fn settle_with_timeout_marks_unfinished_calls() {
    let (tx, rx) = mpsc::channel();
    let (_, blocked) = Join::new()
        .timeout(Duration::from_millis(10))
        .settle((|| (), blocked_until(rx)));
    assert!(matches!(blocked, Err(Failure::Unfinished)));
    tx.send(()).unwrap();
}

// ---------------------------------------------------------------- builder

#[test]
fn builder_starts_calls_early_and_joins_later() {
    let (tx, rx) = mpsc::channel();
    // The first call starts as soon as it is added: it reports before the second is added.
    let calls = parade::calls().call(move || tx.send("started").unwrap());
    assert_eq!(rx.recv_timeout(PATIENCE), Ok("started"));
    let calls = calls.call(|| 2).call(|| "three");
    assert_eq!(calls.len(), 3);
    assert_eq!(calls.join().unwrap(), ((), 2, "three"));
}

#[test]
fn builder_mixes_plain_and_fallible_calls() {
    let err = parade::try_calls()
        .call(|| 1)
        .try_call(|| "x".parse::<i32>())
        .call(|| -> u8 { panic!("boom") })
        .join()
        .unwrap_err();
    let indices: Vec<_> = err.failures().iter().map(|f| f.index).collect();
    assert_eq!(indices, [1, 2]);
    assert!(!err.failures()[0].failure.is_panic());
    assert!(err.failures()[1].failure.is_panic());
}

#[test]
fn builder_calls_may_wait_for_each_other() {
    let barrier = TimedBarrier::new(2);
    let (b1, b2) = (barrier.clone(), barrier);
    let out = parade::calls()
        .call(move || b1.wait())
        .call(move || b2.wait())
        .join();
    assert!(out.is_ok());
}

#[test]
fn builder_timeout_and_settle() {
    let (tx, rx) = mpsc::channel();
    let err = parade::calls()
        .call(blocked_until(rx))
        .timeout(Duration::from_millis(5))
        .join()
        .unwrap_err();
    assert_eq!(err.unfinished(), [0]);
    tx.send(()).unwrap();

    let (a, b) = parade::calls()
        .call(|| 1)
        .call(|| -> u8 { panic!("b") })
        .settle();
    assert_eq!(a.unwrap(), 1);
    assert!(b.unwrap_err().is_panic());
}

// ---------------------------------------------------------------- dynamic

#[test]
fn join_all_keeps_call_order() {
    let out = parade::join_all((0..50_u32).rev().map(|i| move || i * 2)).unwrap();
    assert_eq!(out, (0..50_u32).rev().map(|i| i * 2).collect::<Vec<_>>());
    let empty: Vec<fn() -> u8> = Vec::new();
    assert!(parade::join_all(empty).unwrap().is_empty());
}

#[test]
fn try_join_all_reports_every_failure() {
    let err = parade::try_join_all((0..6).map(|i| {
        move || {
            if i % 2 == 1 {
                Err(format!("odd {i}"))
            } else {
                Ok(i)
            }
        }
    }))
    .unwrap_err();
    let indices: Vec<_> = err.failures().iter().map(|f| f.index).collect();
    assert_eq!(indices, [1, 3, 5]);
    assert_eq!(
        err.failures()[2].to_string(),
        "call 5 returned an error: odd 5"
    );
}

#[test]
fn settle_all_and_fail_fast_on_vectors() {
    let out = Join::new().settle_all((0..4).map(|i| {
        move || {
            assert!(i != 2, "two");
            i
        }
    }));
    assert!(matches!(out[0], Ok(0)));
    assert!(matches!(out[1], Ok(1)));
    assert!(matches!(&out[2], Err(f) if f.panic_message() == Some("two")));
    assert!(matches!(out[3], Ok(3)));

    let (tx, rx) = mpsc::channel::<()>();
    let rx = Arc::new(Mutex::new(rx));
    let err = Join::new()
        .fail_fast()
        .try_join_all((0..3).map(|i| {
            let rx = Arc::clone(&rx);
            move || {
                if i == 1 {
                    return Err("one failed");
                }
                let _ = rx.lock().unwrap().recv_timeout(PATIENCE);
                Ok(i)
            }
        }))
        .unwrap_err();
    assert_eq!(err.failures()[0].index, 1);
    assert_eq!(err.not_collected(), [0, 2]);
    drop(tx);
}

#[test]
fn first_completed_returns_the_first_call_to_end() {
    let (tx, rx) = mpsc::channel::<()>();
    let slow: Box<dyn FnOnce() -> &'static str + Send> = Box::new(move || {
        let _ = rx.recv_timeout(PATIENCE);
        "slow"
    });
    let fast: Box<dyn FnOnce() -> &'static str + Send> = Box::new(|| "fast");
    assert_eq!(
        Join::new().first_completed(vec![slow, fast]).unwrap(),
        (1, "fast")
    );
    drop(tx);

    let err = Join::new()
        .first_completed(vec![|| -> u8 { panic!("first and only") }])
        .unwrap_err();
    assert!(err.has_panics());
}

// ---------------------------------------------------------------- resources

/// A resource that counts how many are alive and logs its release.
#[derive(Debug)]
struct Res {
    name: &'static str,
    live: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl Res {
    fn open(
        name: &'static str,
        live: &Arc<AtomicUsize>,
        log: &Arc<Mutex<Vec<&'static str>>>,
    ) -> impl FnOnce() -> Result<Res, String> + Send + 'static {
        let (live, log) = (Arc::clone(live), Arc::clone(log));
        move || {
            live.fetch_add(1, Ordering::SeqCst);
            Ok(Res { name, live, log })
        }
    }
}

impl Drop for Res {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(self.name);
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

fn counters() -> (Arc<AtomicUsize>, Arc<Mutex<Vec<&'static str>>>) {
    (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(Mutex::new(Vec::new())),
    )
}

#[test]
fn resources_are_acquired_in_parallel_and_released_in_reverse() {
    let (live, log) = counters();
    let barrier = TimedBarrier::new(3);
    let opener = |name, b: TimedBarrier| {
        let open = Res::open(name, &live, &log);
        move || {
            b.wait(); // all three acquisitions run at the same time
            open()
        }
    };
    let guard = parade::acquire((
        opener("a", barrier.clone()),
        opener("b", barrier.clone()),
        opener("c", barrier),
    ))
    .unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 3);
    let (a, b, c) = &*guard;
    assert_eq!([a.name, b.name, c.name], ["a", "b", "c"]);
    drop(guard);
    assert_eq!(live.load(Ordering::SeqCst), 0);
    assert_eq!(*log.lock().unwrap(), ["c", "b", "a"]);
}

#[test]
fn failed_acquisition_releases_the_others_in_reverse_and_reports_every_error() {
    let (live, log) = counters();
    let err = parade::acquire((
        Res::open("a", &live, &log),
        || Err::<Res, _>("b refused".to_owned()),
        Res::open("c", &live, &log),
        || -> Result<Res, String> { panic!("d exploded") },
        Res::open("e", &live, &log),
    ))
    .unwrap_err();
    assert_eq!(live.load(Ordering::SeqCst), 0);
    assert_eq!(*log.lock().unwrap(), ["e", "c", "a"]);
    let indices: Vec<_> = err
        .join_error()
        .failures()
        .iter()
        .map(|f| f.index)
        .collect();
    assert_eq!(indices, [1, 3]);
    assert!(err.release_failures().is_empty());
    assert_eq!(
        err.to_string(),
        "2 calls failed: call 1 returned an error: b refused; call 3 panicked: d exploded"
    );
}

#[test]
fn a_resource_acquired_after_a_timeout_is_released() {
    let (live, log) = counters();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let late_open = Res::open("late", &live, &log);
    let err = Acquire::new()
        .timeout(Duration::from_millis(20))
        .acquire((Res::open("early", &live, &log), move || {
            let _ = go_rx.recv_timeout(PATIENCE);
            late_open()
        }))
        .unwrap_err();
    assert!(err.join_error().unfinished().contains(&1));
    assert!(err.join_error().timed_out().is_some());
    go_tx.send(()).unwrap();
    // The late resource is released on its own thread once it arrives: nothing leaks.
    let mut waited = Duration::ZERO;
    while log.lock().unwrap().len() < 2 {
        assert!(waited < PATIENCE, "late resource never released");
        thread::sleep(Duration::from_millis(1));
        waited += Duration::from_millis(1);
    }
    assert_eq!(live.load(Ordering::SeqCst), 0);
    assert!(log.lock().unwrap().contains(&"late"));
}

#[test]
fn parallel_release_releases_all_at_once() {
    struct Meets(TimedBarrier, Sender<()>);
    impl Release for Meets {
        type Error = Infallible;
        fn release(self) -> Result<(), Infallible> {
            self.0.wait(); // only passes if every release runs at the same time
            let _ = self.1.send(());
            Ok(())
        }
    }
    let barrier = TimedBarrier::new(3);
    let (tx, rx) = mpsc::channel();
    let meets = |b: &TimedBarrier| {
        let (b, tx) = (b.clone(), tx.clone());
        move || Ok::<_, ()>(Meets(b, tx))
    };
    let guard = Acquire::new()
        .parallel_release()
        .acquire_releasable((meets(&barrier), meets(&barrier), meets(&barrier)))
        .unwrap();
    guard.release().unwrap();
    assert_eq!(rx.try_iter().count(), 3);
}

#[derive(Debug)]
struct Fallible(u8, Arc<Mutex<Vec<u8>>>);

impl Release for Fallible {
    type Error = String;
    fn release(self) -> Result<(), String> {
        self.1.lock().unwrap().push(self.0);
        if self.0.is_multiple_of(2) {
            Err(format!("cannot close {}", self.0))
        } else {
            Ok(())
        }
    }
}

#[test]
fn fallible_releases_report_from_release() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let open = |n: u8| {
        let order = Arc::clone(&order);
        move || Ok::<_, ()>(Fallible(n, order))
    };
    let guard = parade::acquire_releasable((open(1), open(2), open(4))).unwrap();
    let err = guard.release().unwrap_err();
    assert_eq!(*order.lock().unwrap(), [4, 2, 1]);
    assert_eq!(
        err.to_string(),
        "release of resource 2 returned an error: cannot close 4; \
         release of resource 1 returned an error: cannot close 2"
    );
}

#[test]
fn release_errors_while_unwinding_are_attached_to_the_acquire_error() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = Arc::clone(&order);
    let err = parade::acquire_releasable((
        move || Ok(Fallible(2, o)),
        || Err::<Fallible, _>("second failed"),
    ))
    .unwrap_err();
    assert_eq!(err.release_failures().len(), 1);
    assert_eq!(
        err.to_string(),
        "call 1 returned an error: second failed; then, releasing what was acquired: \
         release of resource 0 returned an error: cannot close 2"
    );
}

#[test]
fn dropping_a_fallible_guard_releases_and_into_inner_does_not() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let o1 = Arc::clone(&order);
    let o2 = Arc::clone(&order);
    drop(parade::acquire_releasable((move || Ok::<_, ()>(Fallible(1, o1)),)).unwrap());
    assert_eq!(*order.lock().unwrap(), [1]);
    let (kept,) = parade::acquire_releasable((move || Ok::<_, ()>(Fallible(3, o2)),))
        .unwrap()
        .into_inner();
    assert_eq!(*order.lock().unwrap(), [1]);
    assert_eq!(kept.0, 3);
}

// ---------------------------------------------------------------- scoped

#[test]
fn scoped_calls_borrow_from_the_stack() {
    let words = ["a".to_owned(), "bb".to_owned()];
    let mut total = 0;
    let (longest, ()) = scoped::join((
        || words.iter().map(String::len).max(),
        || total = words.len(),
    ))
    .unwrap();
    assert_eq!((longest, total), (Some(2), 2));
}

#[test]
fn scoped_failures_are_all_reported() {
    let data = [1, 2, 3];
    let err = scoped::join((
        || -> i32 { panic!("one") },
        || data[0],
        || -> i32 { panic!("two") },
    ))
    .unwrap_err();
    let indices: Vec<_> = err.failures().iter().map(|f| f.index).collect();
    assert_eq!(indices, [0, 2]);

    let err =
        scoped::try_join((|| data.get(5).ok_or("out of range"), || Ok(&data[1]))).unwrap_err();
    assert_eq!(err.into_error().unwrap(), "out of range");
}

#[test]
fn scoped_join_all_waits_on_a_shared_barrier() {
    let barrier = TimedBarrier::new(10);
    let ids: Vec<usize> = (0..10).collect();
    let out = scoped::join_all(ids.iter().map(|i| {
        let barrier = &barrier;
        move || {
            barrier.wait();
            i * 10
        }
    }))
    .unwrap();
    assert_eq!(out, (0..10).map(|i| i * 10).collect::<Vec<_>>());

    let err = scoped::join_all((0..3).map(|i| move || assert!(i != 1, "bad {i}"))).unwrap_err();
    assert_eq!(err.failures()[0].failure.panic_message(), Some("bad 1"));
}
