//! The `graph` face against parman's own behaviour (issue "fidelity to the seeds"), inline and
//! on threads: `after` over nothing, settling waits, the failure named in list order,
//! `as_completed`, splits of the wrong shape, shutdown and scopes.

#![allow(clippy::float_cmp)]

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use parade::exec::ThreadPool;
use parade::graph::{Graph, GraphError};

fn threads() -> Graph {
    Graph::with_executor(Arc::new(ThreadPool::new(2)))
}

fn graphs() -> [(&'static str, Graph); 2] {
    [("inline", Graph::inline()), ("threads", threads())]
}

#[test]
fn after_over_zero_handles_is_done_as_soon_as_it_is_made() {
    for (mode, g) in graphs() {
        let h = g.after(());
        assert!(h.is_done(), "{mode}");
        let v: Vec<parade::graph::Handle<u8>> = Vec::new();
        assert!(g.after(&v).is_done(), "{mode}");
    }
}

#[test]
fn a_settling_wait_yields_none_for_a_cancelled_member_and_the_others_values() {
    for (mode, g) in graphs() {
        // parman's test_cancel: the digest sees (2.0, None).
        let (tx, rx) = mpsc::channel::<()>();
        let a = g.submit(|| 2.0_f64);
        let gate = g.submit(move || rx.recv_timeout(Duration::from_secs(30)).is_ok());
        let b = g.submit_after(&gate, |_| 5.0_f64);
        b.cancel();
        drop(tx);
        assert_eq!(
            g.wait_settled((&a, &b)).unwrap(),
            (Some(2.0), None),
            "{mode}"
        );
        let both = vec![a.clone(), b.clone()];
        assert_eq!(g.wait_settled(&both).unwrap(), [Some(2.0), None], "{mode}");
        // The strict form fails as before.
        assert!(
            matches!(g.wait_for((&a, &b)), Err(GraphError::Cancelled { .. })),
            "{mode}"
        );
        // A failed member is an error, not a None.
        let bad = g.task("bad").try_submit(|| Err::<f64, _>("boom"));
        let err = g.wait_settled((&a, &bad)).unwrap_err();
        assert!(err.to_string().contains("boom"), "{mode}: {err}");
    }
}

#[test]
fn with_several_failed_inputs_the_first_in_list_order_is_reported() {
    for (mode, g) in graphs() {
        // `late` fails after `early` in time (on threads it waits until the test has seen
        // `early` end; inline, tasks run in submission order) but comes first in the list.
        let (tx, rx) = mpsc::channel::<()>();
        let threads = mode == "threads";
        let late = g.task("late").try_submit(move || {
            if threads {
                let _ = rx.recv_timeout(Duration::from_secs(30));
            }
            Err::<i32, _>("late failure")
        });
        let early = g
            .task("early")
            .try_submit(|| Err::<i32, _>("early failure"));
        let both = g.after((&late, &early));
        let sum = g.submit_after((&late, &early), |(a, b)| a + b);
        if threads {
            assert!(early.wait().is_err());
            assert!(!late.is_done(), "{mode}");
        }
        let _ = tx.send(());
        for err in [both.wait().unwrap_err(), sum.value().unwrap_err()] {
            match err {
                GraphError::DepFailed { root, message, .. } => {
                    assert_eq!(root.description.as_deref(), Some("late"), "{mode}");
                    assert_eq!(message, "late failure", "{mode}");
                }
                other => panic!("{mode}: {other}"),
            }
        }
        // Further down the graph the root is found the same way.
        let next = g.submit_after(&sum, |x| x);
        match next.value().unwrap_err() {
            GraphError::DepFailed { root, .. } => {
                assert_eq!(root.description.as_deref(), Some("late"), "{mode}");
            }
            other => panic!("{mode}: {other}"),
        }
    }
}

#[test]
fn as_completed_yields_handles_as_they_finish() {
    for (mode, g) in graphs() {
        // On threads `slow` ends only once the test has been given `fast`.
        let (tx, rx) = mpsc::channel::<()>();
        let threads = mode == "threads";
        let slow = g.submit(move || {
            if threads {
                let _ = rx.recv_timeout(Duration::from_secs(30));
            }
            "slow"
        });
        let fast = g.submit(|| "fast");
        let mut it = g.as_completed([slow.clone(), fast.clone()]);
        let first = it.next().unwrap().value().unwrap();
        let _ = tx.send(());
        let second = it.next().unwrap().value().unwrap();
        assert!(it.next().is_none());
        if threads {
            assert_eq!([first, second], ["fast", "slow"], "{mode}");
        } else {
            // Inline: the waiting thread runs them in submission order.
            assert_eq!([first, second], ["slow", "fast"], "{mode}");
        }
        // `after` handles too (parman's waitdemo: as_completed([f1, wf])).
        let wf = g.after((&slow, &fast));
        let one = g.submit(|| "x");
        let ends: Vec<_> = g.as_completed([wf, g.after(&one)]).collect();
        assert_eq!(ends.len(), 2, "{mode}");
        assert!(ends.iter().all(parade::graph::Handle::is_done), "{mode}");
        // A failed task is yielded too, with its error.
        let bad = g.task("bad").try_submit(|| Err::<(), _>("no"));
        let mut it = g.as_completed([bad]);
        assert!(it.next().unwrap().value().is_err(), "{mode}");
        assert!(it.next().is_none(), "{mode}");
    }
}

#[test]
fn a_longer_vec_than_its_split_fails_every_part_naming_both_lengths() {
    for (mode, g) in graphs() {
        let parts = g.task("long").submit(|| vec![1, 2, 3, 4]).split_vec(3);
        for p in &parts {
            let err = p.value().unwrap_err();
            assert!(
                matches!(
                    err,
                    GraphError::Shape {
                        expected: 3,
                        len: 4,
                        ..
                    }
                ),
                "{mode}: {err}"
            );
        }
        let user = g.submit_after(&parts[0], |x| x);
        let err = user.value().unwrap_err().to_string();
        assert!(
            err.contains("returned 4 items, but was split into 3"),
            "{mode}: {err}"
        );
    }
}

#[test]
fn submitting_after_shutdown_is_an_error_that_says_so() {
    for (mode, g) in graphs() {
        let a = g.submit(|| 1);
        let b = g.submit_after(&a, |x| x + 1);
        g.shutdown().unwrap();
        // Everything submitted before had ended when shutdown returned.
        assert!(a.is_done() && b.is_done(), "{mode}");
        assert!(g.is_shut_down());
        let late = g.submit(|| 3);
        let err = late.value().unwrap_err().to_string();
        assert!(
            err.contains("cannot submit to the graph after it was shut down"),
            "{mode}: {err}"
        );
    }
}

#[test]
fn shutdown_reports_the_first_failure_in_submission_order() {
    for (mode, g) in graphs() {
        let (tx, rx) = mpsc::channel::<()>();
        let threads = mode == "threads";
        let _first = g.task("first").try_submit(move || {
            if threads {
                let _ = rx.recv_timeout(Duration::from_secs(30));
            }
            Err::<(), _>("first")
        });
        let _second = g.task("second").try_submit(move || {
            drop(tx);
            Err::<(), _>("second")
        });
        match g.shutdown().unwrap_err() {
            GraphError::Many(errors) => {
                assert!(errors[0].to_string().contains("first"), "{mode}");
            }
            other => panic!("{mode}: {other}"),
        }
    }
}

#[test]
fn a_graph_used_as_a_scope_waits_for_everything_it_scheduled() {
    let h = Graph::scope(|g| {
        let a = g.submit(|| {
            std::thread::sleep(Duration::from_millis(50));
            20
        });
        g.submit_after(&a, |x| x + 1)
    })
    .unwrap();
    assert!(h.is_done());
    assert_eq!(h.value().unwrap(), 21);
    let g = Graph::inline();
    let inner = g.scoped(|g| g.submit(|| 5)).unwrap();
    assert!(inner.is_done());
    let err = Graph::scope(|g| {
        let _ = g.task("bad").try_submit(|| Err::<(), _>("nope"));
    })
    .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}
