//! The `graph` face against parman's behaviours: `WaitGraph` (`after`), `Scheduler` (`submit_after`),
//! runners (inline, threads, dry run), structured results, failures and cancellation. Where
//! parman has a bug, the test asserts the right behaviour and says so.

#![allow(clippy::many_single_char_names, clippy::float_cmp)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use parade::engine::TaskState;
use parade::exec::ThreadPool;
use parade::graph::{Graph, GraphError, Handle};

fn threads() -> Graph {
    Graph::with_executor(Arc::new(ThreadPool::new(2)))
}

/// Both real executors, to run a behaviour on each.
fn graphs() -> [Graph; 2] {
    [Graph::inline(), threads()]
}

// ---- WaitGraph: `after` ------------------------------------------------------------------

#[test]
fn after_with_no_inputs_completes() {
    for g in graphs() {
        let h = g.after(());
        h.wait().unwrap();
        assert!(h.is_done());
    }
}

#[test]
fn after_completes_only_when_all_inputs_have() {
    let g = threads();
    let (tx, rx) = mpsc::channel::<()>();
    let slow = g.submit(move || rx.recv().unwrap());
    let fast = g.submit(|| 1);
    let both = g.after((&slow, &fast));
    fast.wait().unwrap();
    assert!(!both.is_done(), "after must wait for the slow input");
    tx.send(()).unwrap();
    both.wait().unwrap();
    assert!(slow.is_done());
}

#[test]
fn after_with_combines_values_in_argument_order() {
    // waitdemo: a digest over two futures gives the tuple of their results
    for g in graphs() {
        let a = g.submit(|| 1.0);
        let b = g.submit(|| 2.0);
        let t = g.after_with((&a, &b), |(x, y)| (x, y));
        assert_eq!(t.value().unwrap(), (1.0, 2.0));
    }
}

#[test]
fn duplicate_inputs_give_their_value_twice() {
    let g = Graph::inline();
    let a = g.submit(|| 2);
    let t = g.after_with((&a, &a), |(x, y)| (x, y));
    assert_eq!(t.value().unwrap(), (2, 2));
    assert_eq!(g.engine().deps(t.id()).unwrap(), [a.id()]);
}

#[test]
fn after_fails_with_the_root_failure_of_an_input() {
    for g in graphs() {
        let ok = g.submit(|| 1);
        let bad = g.task("bad").submit(|| -> i32 { panic!("no luck") });
        let both = g.after((&ok, &bad));
        match both.wait().unwrap_err() {
            GraphError::DepFailed { root, message, .. } => {
                assert_eq!(root.id, bad.id());
                assert_eq!(message, "panicked: no luck");
            }
            other => panic!("unexpected {other}"),
        }
    }
}

#[test]
fn a_panicking_digest_fails_the_handle() {
    // parman bug: a digest that raises leaves the WaitFuture pending forever
    let g = threads();
    let a = g.submit(|| 1);
    let t = g.after_with(&a, |_| -> i32 { panic!("digest broke") });
    let err = t.value().unwrap_err();
    assert!(
        matches!(&err, GraphError::Failed { message, .. } if message == "panicked: digest broke")
    );
}

#[test]
fn a_cancelled_input_cancels_the_after_handle() {
    // parman bug: a cancelled dependency contributes None and the dependent still runs
    let g = Graph::inline();
    let a = g.submit(|| 1);
    let b = g.submit(|| 2);
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let t = g.after_with((&a, &b), move |v| {
        r.store(true, Ordering::SeqCst);
        v
    });
    b.cancel();
    let err = t.value().unwrap_err();
    assert!(
        matches!(&err, GraphError::DepCancelled { root, .. } if root.id == b.id()),
        "{err}"
    );
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(a.value().unwrap(), 1);
}

#[test]
fn cancelling_an_after_handle_then_finishing_its_input_is_quiet() {
    // parman bug: an InvalidStateError from the callback
    let g = threads();
    let (tx, rx) = mpsc::channel::<()>();
    let slow = g.submit(move || rx.recv().unwrap());
    let t = g.after(&slow);
    t.cancel();
    tx.send(()).unwrap();
    slow.wait().unwrap();
    assert!(matches!(t.wait(), Err(GraphError::Cancelled { .. })));
    g.wait_all().unwrap(); // a cancel is not a failure
}

// ---- Scheduler: submit_after ---------------------------------------------------------------

#[test]
fn submitting_never_blocks_and_never_runs_before_inputs() {
    let g = threads();
    let (tx, rx) = mpsc::channel::<i32>();
    let input = g.submit(move || rx.recv().unwrap());
    let called = Arc::new(AtomicBool::new(false));
    let c = called.clone();
    // returns at once although `input` is blocked
    let out = g.submit_after(&input, move |x| {
        c.store(true, Ordering::SeqCst);
        x + 1
    });
    assert!(!out.is_done());
    assert!(
        !called.load(Ordering::SeqCst),
        "called before its input was ready"
    );
    tx.send(41).unwrap();
    assert_eq!(out.value().unwrap(), 42);
    assert!(called.load(Ordering::SeqCst));
}

#[test]
fn a_failed_input_fails_dependents_transitively_and_they_never_run() {
    for g in graphs() {
        let runs = Arc::new(AtomicUsize::new(0));
        let root = g
            .task("load")
            .try_submit(|| "x".parse::<i32>().map_err(|e| format!("bad number: {e}")));
        let r1 = runs.clone();
        let mid = g.task("mid").submit_after(&root, move |x| {
            r1.fetch_add(1, Ordering::SeqCst);
            x
        });
        let r2 = runs.clone();
        let end = g.task("end").submit_after(&mid, move |x| {
            r2.fetch_add(1, Ordering::SeqCst);
            x
        });
        let err = end.value().unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"end\" (task #2) did not run because \"load\" (task #0) failed: bad number: invalid digit found in string"
        );
        assert_eq!(mid.value().unwrap_err().task().unwrap().id, mid.id());
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        assert_eq!(end.state(), TaskState::DepFailed);
    }
}

#[test]
fn submitting_after_a_failed_handle_still_returns_a_handle() {
    let g = Graph::inline();
    let bad = g.task("bad").try_submit(|| Err::<i32, _>("broken"));
    assert!(bad.value().is_err());
    let later = g.submit_after(&bad, |x| x + 1); // never blocks, never raises
    assert!(
        matches!(later.value(), Err(GraphError::DepFailed { ref message, .. }) if message == "broken")
    );
}

#[test]
fn cancelling_a_handle_cancels_what_only_it_needed() {
    let g = Graph::inline();
    let shared = g.submit(|| 1);
    let only_for_c = {
        let tmp = g.submit(|| 10);
        g.submit_after(&tmp, |x| x * 2) // `tmp`'s handle is dropped: only this task reads it
    };
    let c = g.submit_after((&shared, &only_for_c), |(a, b)| a + b);
    let other = g.submit_after(&shared, |a| a + 100);
    c.cancel();
    assert_eq!(c.state(), TaskState::Cancelled);
    // only_for_c is still held here, so it runs; its own input is needed by it
    assert_eq!(only_for_c.value().unwrap(), 20);
    assert_eq!(other.value().unwrap(), 101);

    let g = Graph::inline();
    let a = g.submit(|| 1);
    let b = g.submit_after(&a, |x| x + 1); // handle dropped below
    let c = g.submit_after(&b, |x| x + 1);
    let (a_id, b_id) = (a.id(), b.id());
    drop((a, b));
    c.cancel();
    assert_eq!(g.engine().state(b_id).unwrap(), TaskState::Cancelled);
    // `a` was already handed to the executor: it is asked to stop, and never runs its job
    g.wait_all().unwrap();
    assert_eq!(g.engine().state(a_id).unwrap(), TaskState::Cancelled);
}

#[test]
fn wait_all_reports_every_root_failure_in_submission_order() {
    let g = threads();
    let (tx, rx) = mpsc::channel::<()>();
    // the first-submitted failure ends last: the order is still submission order
    let _late = g.task("late").try_submit(move || {
        rx.recv().unwrap();
        Err::<(), _>("late failure")
    });
    let early = g.task("early").try_submit(|| Err::<(), _>("early failure"));
    let _dep = g.submit_after(&early, |()| ());
    let ok = g.submit(|| 5);
    early.wait().unwrap_err();
    tx.send(()).unwrap();
    match g.wait_all().unwrap_err() {
        GraphError::Many(errors) => {
            let names: Vec<_> = errors
                .iter()
                .map(|e| e.task().unwrap().description.clone().unwrap())
                .collect();
            assert_eq!(names, ["late".into(), "early".into()] as [Arc<str>; 2]);
        }
        other => panic!("{other}"),
    }
    assert_eq!(ok.value().unwrap(), 5);
}

#[test]
fn a_task_can_submit_and_wait_for_tasks_on_its_own_graph() {
    let g = threads();
    let g2 = g.clone();
    let outer = g.submit(move || {
        let parts: Vec<Handle<u64>> = (0..20).map(|i| g2.submit(move || i)).collect();
        g2.after_with(parts, |v| v.iter().sum::<u64>())
            .value()
            .unwrap()
    });
    assert_eq!(outer.value().unwrap(), 190);
}

// ---- runners: inline and threads ---------------------------------------------------------

fn pipeline(g: &Graph) -> Vec<i64> {
    let xs: Vec<_> = (0..10).map(|i| g.submit(move || i)).collect();
    let sq: Vec<_> = xs.iter().map(|x| g.submit_after(x, |v| v * v)).collect();
    let total = g.submit_after(&sq, |v| v.iter().sum::<i64>());
    let mut out: Vec<i64> = sq.iter().map(|h| h.value().unwrap()).collect();
    out.push(total.value().unwrap());
    out
}

#[test]
fn inline_and_threads_give_the_same_values() {
    let a = pipeline(&Graph::inline());
    let b = pipeline(&threads());
    assert_eq!(a, b);
    assert_eq!(a[10], 285);
}

#[test]
fn inline_runs_in_submission_order() {
    let g = Graph::inline();
    let order = Arc::new(Mutex::new(Vec::new()));
    for i in 0..5 {
        let o = order.clone();
        g.submit(move || o.lock().unwrap().push(i));
    }
    assert!(
        order.lock().unwrap().is_empty(),
        "inline runs nothing until a wait"
    );
    g.wait_all().unwrap();
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
}

#[test]
fn tuples_of_eight_and_more_inputs() {
    let g = Graph::inline();
    let h: Vec<_> = (0..9).map(|i| g.submit(move || i)).collect();
    let s = g.submit_after(
        (
            &h[0], &h[1], &h[2], &h[3], &h[4], &h[5], &h[6], &h[7], &h[8],
        ),
        |(a, b, c, d, e, f, g, h, i)| a + b + c + d + e + f + g + h + i,
    );
    assert_eq!(s.value().unwrap(), 36);
    let nested = g.submit_after((&h[0], (&h[1], &h[2..4].to_vec())), |(a, (b, v))| {
        a + b + v.len()
    });
    assert_eq!(nested.value().unwrap(), 3);
}

#[test]
fn try_value_and_is_done_never_block() {
    let g = threads();
    let (tx, rx) = mpsc::channel::<()>();
    let h = g.submit(move || {
        rx.recv().unwrap();
        3
    });
    assert!(h.try_value().is_none());
    assert!(!h.is_done());
    tx.send(()).unwrap();
    assert_eq!(h.value().unwrap(), 3);
    assert_eq!(h.try_value().unwrap().unwrap(), 3);
}

#[test]
fn wait_for_several_handles() {
    let g = threads();
    let a = g.submit(|| 1);
    let b = g.submit(|| "b".to_owned());
    let v = vec![g.submit(|| 2), g.submit(|| 3)];
    assert_eq!(
        g.wait_for((&a, &b, &v)).unwrap(),
        (1, "b".to_owned(), vec![2, 3])
    );
    let bad = g.task("bad").try_submit(|| Err::<i32, _>("nope"));
    assert!(matches!(
        g.wait_for((&a, &bad)),
        Err(GraphError::Failed { .. })
    ));
}

#[test]
fn a_task_asking_for_more_cores_than_the_executor_has_fails() {
    let g = threads();
    let h = g.task("huge").cores(64).submit(|| ());
    let err = h.wait().unwrap_err();
    assert!(
        err.to_string()
            .contains("asks for 64 cores, but the threads executor has 2"),
        "{err}"
    );
}

// ---- structured results --------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct BootOut {
    configs: Vec<String>,
    log: String,
}

#[test]
fn splits_and_projections_feed_next_steps_before_values_exist() {
    for g in graphs() {
        let (tx, rx) = mpsc::channel::<()>();
        let boot = g.submit(move || {
            rx.recv().unwrap();
            BootOut {
                configs: vec!["a".into(), "bb".into(), "ccc".into()],
                log: "boot.log".into(),
            }
        });
        let configs = boot.field(|b| &b.configs).split_vec(3);
        let lens: Vec<_> = configs
            .iter()
            .map(|c| g.submit_after(c, |s| s.len()))
            .collect();
        let (n, name) = g
            .submit_after(boot.field(|b| &b.log), |l| (l.len(), l))
            .split();
        let [x, y] = g.submit(|| [1, 2]).split();
        tx.send(()).unwrap();
        let lens: Vec<usize> = lens.iter().map(|h| h.value().unwrap()).collect();
        assert_eq!(lens, [1, 2, 3]);
        assert_eq!(
            (n.value().unwrap(), name.value().unwrap()),
            (8, "boot.log".to_owned())
        );
        assert_eq!(g.wait_for((&x, &y)).unwrap(), (1, 2));
    }
}

#[test]
fn an_empty_split_gives_no_handles() {
    let g = Graph::inline();
    assert!(g.submit(Vec::<i32>::new).split_vec(0).is_empty());
}

#[test]
fn a_value_shorter_than_its_split_fails_every_part() {
    let g = Graph::inline();
    let parts = g.task("short").submit(|| vec![1, 2]).split_vec(3);
    assert!(matches!(
        parts[1].value(),
        Err(GraphError::Shape {
            expected: 3,
            len: 2,
            ..
        })
    ));
    let err = parts[2].value().unwrap_err();
    assert!(
        matches!(
            err,
            GraphError::Shape {
                expected: 3,
                len: 2,
                ..
            }
        ),
        "{err}"
    );
    let user = g.submit_after(&parts[2], |x| x);
    let err = user.value().unwrap_err();
    assert!(
        err.to_string()
            .contains("returned 2 items, but was split into 3"),
        "{err}"
    );
}

// ---- wrap ----------------------------------------------------------------------------------

#[test]
fn a_wrapped_function_submits_on_each_call() {
    fn mc_chain((x, seed): (f64, u64)) -> (f64, f64) {
        #[allow(clippy::cast_precision_loss)]
        let step = (seed % 7) as f64;
        (x + step, step)
    }
    for g in graphs() {
        let chain = g.wrap("mc_chain", mc_chain).mock((0.0, 1.0));
        let mut x = g.submit(|| 0.0);
        for seed in 0..4_u64 {
            let s = g.submit(move || seed);
            let (nx, _) = chain.call((&x, &s)).split();
            x = nx;
        }
        assert_eq!(x.value().unwrap(), 6.0);
        assert_eq!(
            g.plan()
                .tasks
                .iter()
                .filter(|t| t.name == "mc_chain")
                .count(),
            4
        );
    }
}

// ---- dry run -------------------------------------------------------------------------------

#[test]
fn a_dry_run_builds_the_graph_and_runs_nothing() {
    let g = Graph::dry_run_for(Arc::new(ThreadPool::new(2)));
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let boot = g.task("boot").mock(vec![0_u32; 3]).submit(move || {
        r.store(true, Ordering::SeqCst);
        vec![1, 2, 3]
    });
    let items = boot.split_vec(3);
    let sums: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, h)| {
            g.task(format!("compute {i}"))
                .cores(2)
                .submit_after(h, |x| x + 1)
        })
        .collect();
    let total = g
        .task("total")
        .mock(0)
        .submit_after(&sums, |v| v.iter().sum::<u32>());
    assert_eq!(total.value().unwrap(), 0); // the mock
    assert_eq!(items[2].value().unwrap(), 0); // part of a mock
    g.wait_all().unwrap();
    assert!(!ran.load(Ordering::SeqCst));
    let plan = g.plan();
    plan.check().unwrap();
    assert_eq!(plan.tasks.len(), 5);
    assert_eq!(plan.tasks[4].deps.len(), 3);
    assert!(plan.tasks.iter().all(|t| t.state == TaskState::Idle));
    assert_eq!(
        plan.to_string(),
        "dry run on the threads executor: 5 tasks\n#0 boot (mock)\n#1 compute 0 [cores=2] <- #0\n\
         #2 compute 1 [cores=2] <- #0\n#3 compute 2 [cores=2] <- #0\n#4 total (mock) <- #1, #2, #3\n"
    );
}

#[test]
fn a_dry_run_fails_where_the_workflow_reads_a_value_without_mock() {
    fn workflow(g: &Graph) -> Result<u32, GraphError> {
        let n = g.task("count").submit(|| 3_u32);
        let n = n.value()?; // the workflow itself needs the value
        Ok(n)
    }
    let g = Graph::dry_run();
    let err = workflow(&g).unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"count\" (task #0) has no mock value, but the workflow reads it during the dry run; give it one with .mock(...)"
    );
    assert!(matches!(g.plan().check(), Err(GraphError::NoMock { .. })));
    // with a real graph the same code runs
    assert_eq!(workflow(&Graph::inline()).unwrap(), 3);
}

#[test]
fn mocks_are_computed_from_input_mocks() {
    let g = Graph::dry_run();
    let n = g.task("n").mock(4_usize).submit(|| 4);
    let v = g
        .task("v")
        .mock_with(|n: &usize| vec![0.0; *n])
        .submit_after(&n, |n| vec![1.0; n]);
    assert_eq!(v.value().unwrap().len(), 4);
    let no_mock = g.task("m").submit(|| 1_usize);
    let w = g
        .task("w")
        .mock_with(|n: &usize| vec![0; *n])
        .submit_after(&no_mock, |n| vec![1; n]);
    assert!(matches!(w.value(), Err(GraphError::NoMock { task }) if task.id == w.id()));
}

#[test]
fn a_dry_run_reports_shape_resource_and_cycle_problems() {
    let g = Graph::dry_run_for(Arc::new(ThreadPool::new(2)));
    let a = g.task("a").mock(vec![1, 2]).submit(|| vec![1, 2]);
    let _parts = a.split_vec(5);
    let big = g.task("big").cores(16).submit(|| ());
    let b = g.task("b").submit_after(&big, |()| ());
    let err = big.depend_on(&b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: \"big\" (task #1) -> \"b\" (task #2) -> \"big\" (task #1); drop one of these orderings"
    );
    let plan = g.plan();
    assert_eq!(plan.problems.len(), 3);
    assert!(matches!(
        plan.problems[0],
        GraphError::Shape {
            expected: 5,
            len: 2,
            ..
        }
    ));
    assert!(matches!(
        plan.problems[1],
        GraphError::Resources {
            needs: 16,
            has: 2,
            ..
        }
    ));
    assert!(matches!(plan.problems[2], GraphError::Cycle(_)));
    assert!(matches!(plan.check(), Err(GraphError::Many(ref v)) if v.len() == 3));
}

// ---- pictures and logs ---------------------------------------------------------------------

#[test]
fn a_graph_renders_as_dot_mermaid_and_text() {
    let g = Graph::inline();
    let a = g.task("fetch \"data\"").submit(|| 1);
    let b = g.task("fit").cores(1).submit_after(&a, |x| x);
    b.wait().unwrap();
    assert_eq!(
        g.to_dot(),
        "digraph parade {\n  t0 [label=\"fetch \\\"data\\\" (succeeded)\"];\n  t1 [label=\"fit [cores=1] (succeeded)\"];\n  t0 -> t1;\n}\n"
    );
    assert_eq!(
        g.to_mermaid(),
        "flowchart TD\n  t0[\"fetch #quot;data#quot; (succeeded)\"]\n  t1[\"fit [cores=1] (succeeded)\"]\n  t0 --> t1\n"
    );
    assert_eq!(
        g.to_text(),
        "graph on the inline executor: 2 tasks\n#0 fetch \"data\" (succeeded)\n#1 fit [cores=1] (succeeded) <- #0\n"
    );
}

#[test]
fn logs_name_tasks_by_description_and_root_failure() {
    let g = Graph::inline();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    g.log(move |l| sink.lock().unwrap().push(l.to_owned()));
    let a = g.task("a").try_submit(|| Err::<i32, _>("boom"));
    let b = g.task("b").submit_after(&a, |x| x);
    let _ = b.wait();
    let lines = lines.lock().unwrap();
    assert_eq!(lines[0], "start  \"a\" (task #0)");
    assert_eq!(lines[1], "failed \"a\" (task #0) failed: boom");
    assert_eq!(
        lines[2],
        "dep-failed \"b\" (task #1) did not run because \"a\" (task #0) failed: boom"
    );
}
