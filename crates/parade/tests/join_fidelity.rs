//! The `join` face against python-parallel (issue "fidelity to the seeds"): `fail_fast` is
//! `FIRST_EXCEPTION` (exactly one error, a panic preferred, the others not collected), calls
//! started early and collected later with a policy, and a join of nothing.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use parade::join::{Failure, Join};

const PATIENCE: Duration = Duration::from_secs(30);

fn wait_done<P: parade::join::PendingTuple<E>, E>(s: &parade::join::Started<P, E>) {
    let start = Instant::now();
    while !s.is_done() {
        assert!(start.elapsed() < PATIENCE, "the calls never ended");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn fail_fast_is_first_exception_exactly_one_error_never_a_group() {
    for _ in 0..20 {
        // Both fail at once: still exactly one error comes back.
        let err = Join::new()
            .fail_fast()
            .try_join((|| Err::<(), _>("a"), || Err::<(), _>("b"), || Ok(())))
            .unwrap_err();
        assert_eq!(err.failures().len(), 1, "{err}");
        let kept = err.failures()[0].index;
        let mut others = vec![0, 1, 2];
        others.retain(|&i| i != kept);
        assert_eq!(err.not_collected(), others);
        assert!(err.unfinished().is_empty());
    }
}

#[test]
fn under_fail_fast_a_panic_is_preferred_over_an_error_when_both_happened() {
    let started = Join::new().try_start((
        || Err::<(), _>("an error"),
        || -> Result<(), &str> { panic!("a panic") },
    ));
    wait_done(&started);
    let err = started.first_exception().unwrap_err();
    assert_eq!(err.failures().len(), 1);
    assert_eq!(err.failures()[0].index, 1);
    assert_eq!(err.failures()[0].failure.panic_message(), Some("a panic"));
    assert_eq!(err.not_collected(), [0]);
    // The same through the options.
    for _ in 0..10 {
        let err = Join::new()
            .fail_fast()
            .try_join((
                || Err::<(), _>("an error"),
                || -> Result<(), &str> { panic!("a panic") },
            ))
            .unwrap_err();
        assert_eq!(err.failures().len(), 1);
    }
}

#[test]
fn under_fail_fast_running_calls_are_not_collected_not_running() {
    let (tx, rx) = mpsc::channel::<()>();
    let err = Join::new()
        .fail_fast()
        .try_join((
            move || rx.recv_timeout(PATIENCE).map_err(|_| "gone"),
            || Err::<(), _>("broken"),
        ))
        .unwrap_err();
    assert!(err.unfinished().is_empty());
    assert_eq!(err.not_collected(), [0]);
    assert_eq!(
        err.to_string(),
        "call 1 returned an error: broken; call 0 not collected"
    );
    let v = Join::new()
        .fail_fast()
        .try_join_all([|| Ok(1), || Err("x"), || Err("y")])
        .unwrap_err();
    assert_eq!(v.failures().len(), 1);
    assert_eq!(v.not_collected().len(), 2);
    drop(tx);
}

#[test]
fn calls_started_early_run_while_the_caller_goes_on_and_are_collected_later() {
    // The call signals that it ran before the caller asked for anything.
    let (ran_tx, ran_rx) = mpsc::channel();
    let started = Join::new().start((
        move || {
            ran_tx.send(()).unwrap();
            6 * 7
        },
        || "second",
    ));
    ran_rx
        .recv_timeout(PATIENCE)
        .expect("the call runs without being collected");
    wait_done(&started);
    assert_eq!(started.results().unwrap(), (42, "second"));
    // Per-call results.
    let (a, b) = Join::new()
        .start((|| 1, || -> i32 { panic!("two") }))
        .settle();
    assert_eq!(a.unwrap(), 1);
    assert!(matches!(b, Err(Failure::Panic(_))));
    // All results keep every failure.
    let err = Join::new()
        .try_start((|| Err::<(), _>("a"), || Err::<(), _>("b")))
        .results()
        .unwrap_err();
    assert_eq!(err.failures().len(), 2);
}

#[test]
fn a_join_of_nothing_returns_unit() {
    let () = parade::join(()).unwrap();
    let () = parade::try_join::<std::io::Error, _>(()).unwrap();
    let () = Join::new().join(()).unwrap();
    assert!(Join::new().start(()).is_done());
}

fn into_boxed() -> Result<(i32, i32), Box<dyn std::error::Error + Send + Sync>> {
    let v = parade::try_join((
        || Ok::<_, std::io::Error>(1),
        || Err(std::io::Error::other("disk full")),
    ))?;
    Ok(v)
}

fn into_anyhow() -> anyhow::Result<u8> {
    let (v,) = parade::join((|| -> u8 { panic!("in a call") },))?;
    Ok(v)
}

fn send_sync<T: Send + Sync>() {}

#[test]
fn the_join_error_converts_with_question_mark_into_anyhow_and_boxed_errors() {
    let err = into_boxed().unwrap_err();
    assert_eq!(err.to_string(), "call 1 returned an error: disk full");
    let err = into_anyhow().unwrap_err();
    assert_eq!(err.to_string(), "call 0 panicked: in a call");
    // The JoinError is Send + Sync, so it crosses threads as an error value.
    send_sync::<parade::join::JoinError<std::io::Error>>();
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Calls that return `anyhow::Error` themselves: the join error still converts with `?`.
fn anyhow_calls() -> anyhow::Result<(u8, u8)> {
    let v = parade::try_join((
        || -> anyhow::Result<u8> { Ok(1) },
        || -> anyhow::Result<u8> { anyhow::bail!("no quota") },
    ))?;
    Ok(v)
}

/// Calls that return boxed errors themselves.
fn boxed_calls() -> Result<Vec<u8>, BoxError> {
    let calls: Vec<Box<dyn FnOnce() -> Result<u8, BoxError> + Send>> = vec![
        Box::new(|| Ok("4".parse::<u8>()?)),
        Box::new(|| Ok("x".parse::<u8>()?)),
    ];
    Ok(parade::try_join_all(calls)?)
}

#[test]
fn the_join_error_converts_with_question_mark_when_the_calls_return_anyhow_or_boxed_errors() {
    let err = anyhow_calls().unwrap_err();
    assert_eq!(err.to_string(), "call 1 returned an error: no quota");
    // The join error is inside, with the call's own error.
    let join = err
        .downcast::<parade::join::JoinError<anyhow::Error>>()
        .unwrap();
    assert_eq!(join.into_error().unwrap().to_string(), "no quota");
    let err = boxed_calls().unwrap_err();
    assert_eq!(
        err.to_string(),
        "call 1 returned an error: invalid digit found in string"
    );
    send_sync::<parade::join::JoinError<anyhow::Error>>();
    send_sync::<parade::join::JoinError<BoxError>>();
}
