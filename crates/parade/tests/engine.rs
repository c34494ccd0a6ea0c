//! Integration tests of the scheduling engine, on both executors: scenarios, failure
//! cascades, constraints, waits from inside tasks, very large graphs, and property tests of
//! the scheduler's invariants over random graphs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parade::engine::{
    Engine, EngineError, Event, Outcome, Reason, Stream, TaskId, TaskSpec, TaskState,
};
use parade::exec::ThreadPool;

fn engines() -> Vec<(&'static str, Engine)> {
    vec![
        ("inline", Engine::inline()),
        (
            "threads",
            Engine::with_executor(Arc::new(ThreadPool::new(3))),
        ),
    ]
}

fn ok() -> TaskSpec {
    TaskSpec::new(|_| Outcome::Succeeded)
}

/// A task that appends `label` to `order` when it runs.
fn logs(order: &Arc<Mutex<Vec<&'static str>>>, label: &'static str) -> TaskSpec {
    let order = order.clone();
    TaskSpec::new(move |_| {
        order.lock().unwrap().push(label);
        Outcome::Succeeded
    })
}

fn record(engine: &Engine) -> Arc<Mutex<Vec<Event>>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    engine.subscribe(move |e: &Event| sink.lock().unwrap().push(e.clone()));
    events
}

#[test]
fn waves_run_lower_waves_first_as_parproc_does() {
    // A(w0), B(w0, after A), C(w2, after B), D(w1); wanting C and D runs A, B, D, C.
    let engine = Engine::inline();
    let order = Arc::new(Mutex::new(Vec::new()));
    let a = engine.add(logs(&order, "A")).unwrap();
    let b = engine.add(logs(&order, "B").dep(a)).unwrap();
    let c = engine.add(logs(&order, "C").dep(b).wave(2)).unwrap();
    let d = engine.add(logs(&order, "D").wave(1)).unwrap();
    engine.want([c, d]).unwrap();
    engine.wait_all().unwrap();
    assert_eq!(*order.lock().unwrap(), ["A", "B", "D", "C"]);
}

#[test]
fn depending_on_a_higher_wave_is_an_error() {
    let engine = Engine::inline();
    let high = engine.add(ok().wave(2)).unwrap();
    let err = engine.add(ok().dep(high)).unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::WaveOrder {
                dep_wave: 2,
                task_wave: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("same or a lower wave"));
    let low = engine.add(ok()).unwrap();
    assert!(matches!(
        engine.add_dep(low, high),
        Err(EngineError::WaveOrder { .. })
    ));
}

#[test]
fn cycles_are_refused_with_their_path() {
    let engine = Engine::inline();
    let a = engine.add(ok()).unwrap();
    let b = engine.add(ok().dep(a)).unwrap();
    let c = engine.add(ok().dep(b)).unwrap();
    match engine.add_dep(a, c) {
        Err(EngineError::Cycle(path)) => assert_eq!(path, [a, c, b, a]),
        other => panic!("expected a cycle, got {other:?}"),
    }
    assert_eq!(
        engine.add_dep(a, a).unwrap_err().to_string(),
        "dependency cycle: task #0 -> task #0"
    );
    // A placeholder that nothing depends on yet cannot be given itself as a dependency.
    let p = engine.add(TaskSpec::placeholder()).unwrap();
    assert_eq!(
        engine
            .define(p, ok().dep(a).dep(p))
            .unwrap_err()
            .to_string(),
        "dependency cycle: task #3 -> task #3"
    );
    // The refused edge was not added: the graph still runs.
    engine.want([c]).unwrap();
    engine.wait_all().unwrap();
    assert_eq!(engine.state(c).unwrap(), TaskState::Succeeded);
}

#[test]
fn failure_cascades_to_dependents_naming_the_root_and_independent_tasks_go_on() {
    for (name, engine) in engines() {
        let ran = Arc::new(AtomicUsize::new(0));
        let count = |ran: &Arc<AtomicUsize>| {
            let ran = ran.clone();
            TaskSpec::new(move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
                Outcome::Succeeded
            })
        };
        let root = engine
            .add(TaskSpec::new(|_| Outcome::failed("compile error")))
            .unwrap();
        let mid = engine.add(count(&ran).dep(root)).unwrap();
        let leaf = engine.add(count(&ran).dep(mid)).unwrap();
        let other = engine.add(count(&ran)).unwrap();
        engine.want([leaf, other]).unwrap();
        engine.wait_all().unwrap();
        let st = engine.wait([root, mid, leaf, other]).unwrap();
        assert_eq!(st[0].state, TaskState::Failed, "{name}");
        assert_eq!(st[0].reason, Some(Reason::Error("compile error".into())));
        assert_eq!(st[1].state, TaskState::DepFailed);
        assert_eq!(st[1].reason, Some(Reason::DepFailed { dep: root, root }));
        assert_eq!(st[2].reason, Some(Reason::DepFailed { dep: mid, root }));
        assert_eq!(st[3].state, TaskState::Succeeded);
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "{name}: only the independent task ran"
        );
    }
}

#[test]
fn a_panic_fails_only_its_task_with_the_message() {
    for (name, engine) in engines() {
        let bad = engine
            .add(TaskSpec::new(|_| panic!("index out of range: {}", 7)))
            .unwrap();
        let good = engine.add(ok()).unwrap();
        engine.want([bad, good]).unwrap();
        let st = engine.wait([bad, good]).unwrap();
        assert_eq!(st[0].state, TaskState::Failed, "{name}");
        assert_eq!(
            st[0].reason,
            Some(Reason::Panic("index out of range: 7".into()))
        );
        assert_eq!(st[1].state, TaskState::Succeeded);
    }
}

#[test]
fn skipped_satisfies_dependents() {
    let engine = Engine::inline();
    let skip = engine
        .add(TaskSpec::new(|_| Outcome::skipped("up to date")))
        .unwrap();
    let next = engine.add(ok().dep(skip)).unwrap();
    engine.want([next]).unwrap();
    let st = engine.wait([skip, next]).unwrap();
    assert_eq!(st[0].state, TaskState::Skipped);
    assert_eq!(st[0].reason, Some(Reason::Skipped("up to date".into())));
    assert_eq!(st[1].state, TaskState::Succeeded);
}

#[test]
fn no_failures_condition_stops_tasks_after_a_failure() {
    let engine = Engine::inline();
    let bad = engine
        .add(TaskSpec::new(|_| Outcome::failed("boom")))
        .unwrap();
    let guarded = engine.add(ok().no_failures()).unwrap();
    let plain = engine.add(ok()).unwrap();
    engine.want([bad, guarded, plain]).unwrap();
    let st = engine.wait([bad, guarded, plain]).unwrap();
    assert_eq!(st[1].state, TaskState::DepFailed);
    assert_eq!(st[1].reason, Some(Reason::NoFailures { first: bad }));
    assert_eq!(st[2].state, TaskState::Succeeded);

    // Without a failure before it, the guarded task runs.
    let engine = Engine::inline();
    let guarded = engine.add(ok().no_failures()).unwrap();
    engine.want([guarded]).unwrap();
    assert_eq!(
        engine.wait([guarded]).unwrap()[0].state,
        TaskState::Succeeded
    );
}

#[test]
fn idle_tasks_nobody_wants_never_run_and_cannot_be_awaited() {
    let engine = Engine::inline();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let idle = engine
        .add(TaskSpec::new(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
            Outcome::Succeeded
        }))
        .unwrap();
    let wanted = engine.add(ok()).unwrap();
    engine.want([wanted]).unwrap();
    engine.wait_all().unwrap();
    assert_eq!(engine.state(idle).unwrap(), TaskState::Idle);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    let err = engine.wait([idle]).unwrap_err();
    assert_eq!(err, EngineError::NotWanted(idle));
    assert!(err.to_string().contains("want it"), "{err}");
}

#[test]
fn unknown_ids_are_errors_not_panics() {
    let engine = Engine::inline();
    let ghost = TaskId::from_index(42);
    assert_eq!(engine.want([ghost]), Err(EngineError::UnknownTask(ghost)));
    assert!(engine.add(ok().dep(ghost)).is_err());
    assert!(engine.wait([ghost]).is_err());
    assert!(engine.status(ghost).is_err());
}

#[test]
fn undefined_placeholders_end_missing_and_later_definitions_are_picked_up() {
    for (name, engine) in engines() {
        let missing = engine.add(TaskSpec::placeholder()).unwrap();
        let user = engine.add(ok().dep(missing)).unwrap();
        let defined_later = engine.add(TaskSpec::placeholder()).unwrap();
        let definer_dep = engine.add(ok().dep(defined_later)).unwrap();
        // A running task defines one placeholder while the run is going on.
        let definer = engine
            .add(TaskSpec::new(move |ctx| {
                ctx.engine()
                    .define(defined_later, TaskSpec::new(|_| Outcome::Succeeded))
                    .unwrap();
                Outcome::Succeeded
            }))
            .unwrap();
        engine.want([definer, user, definer_dep]).unwrap();
        engine.wait_all().unwrap();
        let st = engine
            .wait([missing, user, defined_later, definer_dep])
            .unwrap();
        assert_eq!(
            (st[0].state, st[0].reason.clone()),
            (TaskState::Failed, Some(Reason::Missing)),
            "{name}"
        );
        assert_eq!(st[1].state, TaskState::DepFailed);
        assert_eq!(
            st[1].reason,
            Some(Reason::DepFailed {
                dep: missing,
                root: missing
            })
        );
        assert_eq!(st[2].state, TaskState::Succeeded, "{name}");
        assert_eq!(st[3].state, TaskState::Succeeded, "{name}");
    }
}

#[test]
fn tasks_grow_the_graph_and_wait_inside_a_one_thread_pool() {
    // Many rounds: an outside waiter must never take the moment between the children's end and
    // the parent's wake-up for a deadlock.
    for _ in 0..200 {
        grow_and_wait_once();
    }
}

fn grow_and_wait_once() {
    // One worker thread: the parent waits for children that need that same thread.
    let engine = Engine::with_executor(Arc::new(ThreadPool::new(1)));
    let total = Arc::new(AtomicUsize::new(0));
    let t = total.clone();
    let parent = engine
        .add(TaskSpec::new(move |ctx| {
            let kids: Vec<TaskId> = (0..10)
                .map(|_| {
                    let t = t.clone();
                    ctx.engine()
                        .add(TaskSpec::new(move |_| {
                            t.fetch_add(1, Ordering::SeqCst);
                            Outcome::Succeeded
                        }))
                        .unwrap()
                })
                .collect();
            ctx.engine().want(kids.iter().copied()).unwrap();
            let done = ctx.engine().wait(kids).unwrap();
            assert!(done.iter().all(|s| s.state == TaskState::Succeeded));
            Outcome::Succeeded
        }))
        .unwrap();
    engine.want([parent]).unwrap();
    assert_eq!(
        engine.wait([parent]).unwrap()[0].state,
        TaskState::Succeeded
    );
    assert_eq!(total.load(Ordering::SeqCst), 10);
}

#[test]
fn a_real_deadlock_is_reported_not_hung() {
    for (name, engine) in engines() {
        let lock = engine.lock("db");
        let outer = engine
            .add(
                TaskSpec::new(move |ctx| {
                    let inner = ctx
                        .engine()
                        .add(TaskSpec::new(|_| Outcome::Succeeded).lock(lock))
                        .unwrap();
                    ctx.engine().want([inner]).unwrap();
                    match ctx.engine().wait([inner]) {
                        Err(EngineError::Deadlock(ids)) if ids == [inner] => {
                            Outcome::failed("deadlock seen")
                        }
                        other => Outcome::failed(format!("unexpected: {other:?}")),
                    }
                })
                .lock(lock),
            )
            .unwrap();
        engine.want([outer]).unwrap();
        let st = engine.wait([outer]).unwrap();
        assert_eq!(
            st[0].reason,
            Some(Reason::Error("deadlock seen".into())),
            "{name}"
        );
    }
}

#[test]
fn cancel_and_stop() {
    let engine = Engine::inline();
    let a = engine.add(ok()).unwrap();
    let b = engine.add(ok().dep(a)).unwrap();
    engine.cancel(a).unwrap();
    engine.want([b]).unwrap();
    let st = engine.wait([a, b]).unwrap();
    assert_eq!(st[0].state, TaskState::Cancelled);
    assert_eq!(st[1].state, TaskState::DepFailed);

    // stop(): a running task sees the request, wanted ones are cancelled.
    let engine = Engine::with_executor(Arc::new(ThreadPool::new(1)));
    let (tx, rx) = std::sync::mpsc::channel();
    let running = engine
        .add(TaskSpec::new(move |ctx| {
            tx.send(()).unwrap();
            while !ctx.is_cancelled() {
                std::thread::yield_now();
            }
            Outcome::Succeeded
        }))
        .unwrap();
    let queued = engine.add(ok()).unwrap();
    engine.want([running, queued]).unwrap();
    rx.recv().unwrap();
    engine.stop();
    engine.wait_all().unwrap();
    let st = engine.wait([running, queued]).unwrap();
    assert_eq!(st[0].state, TaskState::Cancelled);
    assert_eq!(st[1].state, TaskState::Cancelled);
    assert!(engine.is_stopped());
}

#[test]
fn a_job_returning_after_its_deadline_fails_with_timeout() {
    let engine = Engine::inline();
    let slow = engine
        .add(
            TaskSpec::new(|ctx| {
                assert!(ctx.deadline().is_some());
                while !ctx.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Outcome::Succeeded
            })
            .timeout(Duration::from_millis(5)),
        )
        .unwrap();
    engine.want([slow]).unwrap();
    let st = engine.wait([slow]).unwrap();
    assert_eq!(st[0].state, TaskState::Failed);
    assert_eq!(
        st[0].reason,
        Some(Reason::Timeout(Duration::from_millis(5)))
    );
}

#[test]
fn events_arrive_in_order_with_output_between_start_and_finish() {
    for (name, engine) in engines() {
        let events = record(&engine);
        let t = engine
            .add(TaskSpec::new(|ctx| {
                ctx.emit("line one");
                ctx.emit_from(Stream::Stderr, "line two");
                Outcome::Succeeded
            }))
            .unwrap();
        engine.want([t]).unwrap();
        engine.wait_all().unwrap();
        let events = events.lock().unwrap();
        let kinds: Vec<String> = events
            .iter()
            .map(|e| match e {
                Event::Wanted { .. } => "wanted".into(),
                Event::Started { .. } => "started".into(),
                Event::Output { line, .. } => line.clone(),
                Event::Finished { state, .. } => state.to_string(),
            })
            .collect();
        assert_eq!(
            kinds,
            ["wanted", "started", "line one", "line two", "succeeded"],
            "{name}"
        );
    }
}

#[test]
fn a_million_task_chain_and_a_million_independent_tasks() {
    const N: usize = 1_000_000;
    let engine = Engine::with_executor(Arc::new(ThreadPool::new(2)));
    let mut last = engine.add(ok()).unwrap();
    for _ in 1..N {
        last = engine.add(ok().dep(last)).unwrap();
    }
    engine.want([last]).unwrap();
    assert_eq!(engine.wait([last]).unwrap()[0].state, TaskState::Succeeded);

    let engine = Engine::with_executor(Arc::new(ThreadPool::new(2)));
    let done = Arc::new(AtomicUsize::new(0));
    let ids: Vec<TaskId> = (0..N)
        .map(|_| {
            let done = done.clone();
            engine
                .add(TaskSpec::new(move |_| {
                    done.fetch_add(1, Ordering::Relaxed);
                    Outcome::Succeeded
                }))
                .unwrap()
        })
        .collect();
    engine.want(ids).unwrap();
    engine.wait_all().unwrap();
    assert_eq!(done.load(Ordering::Relaxed), N);
}

#[test]
fn a_long_failure_cascade_does_not_recurse() {
    let engine = Engine::inline();
    let root = engine
        .add(TaskSpec::new(|_| Outcome::failed("first")))
        .unwrap();
    let mut last = root;
    for _ in 0..200_000 {
        last = engine.add(ok().dep(last)).unwrap();
    }
    engine.want([last]).unwrap();
    let st = engine.wait([last]).unwrap();
    assert_eq!(
        st[0].reason,
        Some(Reason::DepFailed {
            dep: TaskId::from_index(199_999),
            root
        })
    );
}

/// Tasks using a counted resource: never more in use than the capacity, across tasks that
/// use different amounts; a use over the capacity is refused; a larger capacity lets parked
/// tasks start.
#[test]
fn counted_resources_are_never_exceeded_and_uses_over_capacity_are_refused() {
    for (name, engine) in engines() {
        engine.set_limit(8);
        let gpu = engine.resource("gpu", 3);
        let in_use = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut ids = Vec::new();
        for i in 0..24u32 {
            let amount = 1 + i % 3;
            let (in_use, most) = (in_use.clone(), most.clone());
            let spec = TaskSpec::new(move |_| {
                let now = in_use.fetch_add(amount as usize, Ordering::SeqCst) + amount as usize;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
                in_use.fetch_sub(amount as usize, Ordering::SeqCst);
                Outcome::Succeeded
            })
            .uses(gpu, amount);
            ids.push(engine.add(spec).unwrap());
        }
        engine.want(ids.iter().copied()).unwrap();
        for s in engine.wait(ids).unwrap() {
            assert_eq!(s.state, TaskState::Succeeded, "{name}");
        }
        assert!(most.load(Ordering::SeqCst) <= 3, "{name}: {most:?} in use");
        let err = engine.add(ok().uses(gpu, 4)).unwrap_err();
        assert!(
            matches!(
                err,
                EngineError::OverCapacity {
                    amount: 4,
                    capacity: 3,
                    ..
                }
            ),
            "{err}"
        );
    }
}

/// A task parked for room starts when the capacity grows, while the task holding the room is
/// still running (it waits for the parked one to run).
/// Found by the property test: a parked task woken by a release that then ends without
/// starting (here its "no failures" condition broke) passes the wake-up on, so the next parked
/// task is not left waiting for room that is free.
#[test]
fn a_woken_task_that_ends_unrun_passes_its_wake_up_on() {
    for (name, engine) in engines() {
        engine.set_limit(2);
        let gpu = engine.resource("gpu", 2);
        let fails = engine
            .add(TaskSpec::new(|_| Outcome::failed("boom")).uses(gpu, 2))
            .unwrap();
        let strict = engine.add(ok().uses(gpu, 2).no_failures()).unwrap();
        let last = engine.add(ok().uses(gpu, 2)).unwrap();
        engine.want([fails, strict, last]).unwrap();
        let states: Vec<_> = engine
            .wait([fails, strict, last])
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .into_iter()
            .map(|s| s.state)
            .collect();
        assert_eq!(
            states,
            [
                TaskState::Failed,
                TaskState::DepFailed,
                TaskState::Succeeded
            ],
            "{name}"
        );
    }
}

#[test]
fn a_larger_capacity_starts_parked_tasks() {
    let engine = Engine::with_executor(Arc::new(ThreadPool::new(3)));
    let licence = engine.resource("licence", 1);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let holder = engine
        .add(
            TaskSpec::new(move |_| match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(()) => Outcome::Succeeded,
                Err(_) => Outcome::failed("the parked task never started"),
            })
            .uses(licence, 1),
        )
        .unwrap();
    let parked = engine
        .add(
            TaskSpec::new(move |_| {
                let _ = tx.send(());
                Outcome::Succeeded
            })
            .uses(licence, 1),
        )
        .unwrap();
    engine.want([holder]).unwrap();
    while engine.state(holder).unwrap() != TaskState::Running {
        std::thread::yield_now();
    }
    engine.want([parked]).unwrap();
    assert_eq!(
        engine.state(parked).unwrap(),
        TaskState::Wanted,
        "no room yet"
    );
    assert_eq!(
        engine.resource("licence", 2),
        licence,
        "the same name, the same id"
    );
    let states: Vec<_> = engine
        .wait([holder, parked])
        .unwrap()
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(states, [TaskState::Succeeded, TaskState::Succeeded]);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct Node {
        deps: Vec<usize>,
        locks: Vec<usize>,
        /// (resource, amount) uses of the counted resources of [`CAPACITIES`].
        uses: Vec<(usize, u32)>,
        wave: u32,
        fails: bool,
        no_failures: bool,
    }

    /// The counted resources every case has: `res0 = 2`, `res1 = 3`.
    const CAPACITIES: [u32; 2] = [2, 3];

    #[derive(Debug, Clone)]
    struct Case {
        nodes: Vec<Node>,
        wanted: Vec<usize>,
        limit: usize,
        threads: bool,
    }

    fn case() -> impl Strategy<Value = Case> {
        (1usize..28).prop_flat_map(|n| {
            let node = |i: usize| {
                (
                    proptest::collection::vec(0..i.max(1), 0..3.min(i + 1)),
                    proptest::collection::vec(0usize..3, 0..2),
                    proptest::collection::vec((0usize..2, 1u32..4), 0..3),
                    0u32..3,
                    proptest::bool::weighted(0.15),
                    proptest::bool::weighted(0.1),
                )
                    .prop_map(
                        move |(deps, locks, uses, wave, fails, no_failures)| {
                            // Uses of one resource add up: keep each total within its capacity.
                            let mut total = [0u32; 2];
                            let uses = uses
                                .into_iter()
                                .filter(|&(r, a)| {
                                    let fits = total[r] + a <= CAPACITIES[r];
                                    if fits {
                                        total[r] += a;
                                    }
                                    fits
                                })
                                .collect();
                            Node {
                                deps: if i == 0 { vec![] } else { deps },
                                locks,
                                uses,
                                wave,
                                fails,
                                no_failures,
                            }
                        },
                    )
            };
            let nodes: Vec<_> = (0..n).map(node).collect();
            (
                nodes,
                proptest::collection::vec(0..n, 1..6),
                1usize..4,
                any::<bool>(),
            )
                .prop_map(|(mut nodes, wanted, limit, threads)| {
                    // Keep the waves legal: a task's wave is at least each dependency's.
                    for i in 0..nodes.len() {
                        let floor = nodes[i]
                            .deps
                            .iter()
                            .map(|&d| nodes[d].wave)
                            .max()
                            .unwrap_or(0);
                        nodes[i].wave = nodes[i].wave.max(floor);
                    }
                    Case {
                        nodes,
                        wanted,
                        limit,
                        threads,
                    }
                })
        })
    }

    /// Runs a case and checks every scheduler invariant against the engine's event stream.
    fn check(case: &Case) -> Result<(), TestCaseError> {
        let engine = if case.threads {
            Engine::with_executor(Arc::new(ThreadPool::new(3)))
        } else {
            Engine::inline()
        };
        engine.set_limit(case.limit);
        let events = record(&engine);
        let locks: Vec<_> = (0..3).map(|i| engine.lock(&format!("lock{i}"))).collect();
        let resources: Vec<_> = CAPACITIES
            .iter()
            .enumerate()
            .map(|(i, &c)| engine.resource(&format!("res{i}"), c))
            .collect();
        let mut ids = Vec::new();
        for node in &case.nodes {
            let fails = node.fails;
            let mut spec = TaskSpec::new(move |_| {
                std::thread::yield_now();
                if fails {
                    Outcome::failed("random failure")
                } else {
                    Outcome::Succeeded
                }
            })
            .deps(node.deps.iter().map(|&d| ids[d]))
            .locks(node.locks.iter().map(|&l| locks[l]))
            .wave(node.wave);
            for &(r, amount) in &node.uses {
                spec = spec.uses(resources[r], amount);
            }
            if node.no_failures {
                spec = spec.no_failures();
            }
            ids.push(engine.add(spec).unwrap());
        }
        engine.want(case.wanted.iter().map(|&w| ids[w])).unwrap();
        engine.wait_all().unwrap();
        let wanted = wanted_closure(case);
        let events = events.lock().unwrap().clone();
        let ever_started = check_events(case, &wanted, &events)?;
        check_final_states(case, &wanted, &ever_started, &engine, &ids)
    }

    /// Which tasks the case wants, directly or as dependencies.
    fn wanted_closure(case: &Case) -> Vec<bool> {
        let mut wanted = vec![false; case.nodes.len()];
        let mut stack = case.wanted.clone();
        while let Some(t) = stack.pop() {
            if !std::mem::replace(&mut wanted[t], true) {
                stack.extend(&case.nodes[t].deps);
            }
        }
        wanted
    }

    /// Replays the event stream, checking each start against what had happened before it.
    /// Returns which tasks started.
    fn check_events(
        case: &Case,
        wanted: &[bool],
        events: &[Event],
    ) -> Result<Vec<bool>, TestCaseError> {
        let n = case.nodes.len();
        let mut finished: Vec<Option<TaskState>> = vec![None; n];
        let mut running: Vec<bool> = vec![false; n];
        let mut ever_started = vec![false; n];
        for event in events {
            match event {
                Event::Started { id } => {
                    let t = id.index();
                    prop_assert!(wanted[t], "task {t} ran but nothing wanted it");
                    for &d in &case.nodes[t].deps {
                        prop_assert!(
                            finished[d].is_some_and(TaskState::is_success),
                            "task {t} started before its dependency {d} succeeded"
                        );
                    }
                    for (u, &r) in running.iter().enumerate() {
                        if r {
                            let shared = case.nodes[t]
                                .locks
                                .iter()
                                .any(|l| case.nodes[u].locks.contains(l));
                            prop_assert!(!shared, "tasks {t} and {u} overlap holding one lock");
                        }
                    }
                    // Counted resources: what running tasks use never exceeds the capacity.
                    for (r, &capacity) in CAPACITIES.iter().enumerate() {
                        let used: u32 = (0..n)
                            .filter(|&u| running[u] || u == t)
                            .flat_map(|u| &case.nodes[u].uses)
                            .filter(|&&(res, _)| res == r)
                            .map(|&(_, a)| a)
                            .sum();
                        prop_assert!(
                            used <= capacity,
                            "task {t} started with {used} of res{r} in use (capacity {capacity})"
                        );
                    }
                    // No lower-wave task may be ready (deps succeeded, unfinished) or running.
                    for l in 0..n {
                        if l == t
                            || !wanted[l]
                            || finished[l].is_some()
                            || case.nodes[l].wave >= case.nodes[t].wave
                        {
                            continue;
                        }
                        let ready = case.nodes[l]
                            .deps
                            .iter()
                            .all(|&d| finished[d].is_some_and(TaskState::is_success));
                        prop_assert!(
                            !ready,
                            "task {t} (wave {}) started while task {l} (wave {}) could run",
                            case.nodes[t].wave,
                            case.nodes[l].wave
                        );
                    }
                    running[t] = true;
                    ever_started[t] = true;
                    prop_assert!(
                        running.iter().filter(|&&r| r).count() <= case.limit,
                        "more than {} running",
                        case.limit
                    );
                }
                Event::Finished { id, state, .. } => {
                    let t = id.index();
                    prop_assert!(finished[t].is_none(), "task {t} finished twice");
                    running[t] = false;
                    finished[t] = Some(*state);
                }
                _ => {}
            }
        }
        for t in 0..n {
            prop_assert_eq!(
                finished[t].is_some(),
                wanted[t],
                "task {} finished iff wanted",
                t
            );
        }
        Ok(ever_started)
    }

    /// Checks where every task ended.
    fn check_final_states(
        case: &Case,
        wanted: &[bool],
        ever_started: &[bool],
        engine: &Engine,
        ids: &[TaskId],
    ) -> Result<(), TestCaseError> {
        let n = case.nodes.len();
        for t in 0..n {
            let state = engine.state(ids[t]).unwrap();
            if wanted[t] {
                prop_assert!(state.is_final(), "wanted task {t} ended {state}");
            } else {
                prop_assert_eq!(state, TaskState::Idle);
                prop_assert!(!ever_started[t]);
            }
            // Every wanted dependent of a failure is dep-failed and never ran.
            if state.is_failure() {
                for u in 0..n {
                    if wanted[u] && case.nodes[u].deps.contains(&t) {
                        prop_assert_eq!(engine.state(ids[u]).unwrap(), TaskState::DepFailed);
                        prop_assert!(
                            !ever_started[u],
                            "task {u} ran although dependency {t} failed"
                        );
                    }
                }
            }
            if state == TaskState::Failed {
                prop_assert!(case.nodes[t].fails);
            }
            if matches!(state, TaskState::Succeeded | TaskState::Failed) {
                prop_assert!(
                    ever_started[t],
                    "task {t} ended {state} without a start event"
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn scheduler_invariants_hold_on_random_graphs(case in case()) {
            check(&case)?;
        }
    }
}

#[test]
fn a_panicking_observer_is_dropped_and_the_run_goes_on() {
    for (kind, engine) in engines() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        engine.subscribe(move |_: &Event| {
            c.fetch_add(1, Ordering::SeqCst);
            panic!("observer fails on purpose");
        });
        let seen = record(&engine);
        let ids: Vec<TaskId> = (0..3).map(|_| engine.add(ok()).unwrap()).collect();
        engine.want(ids.iter().copied()).unwrap();
        let st = engine.wait(ids).unwrap();
        assert!(st.iter().all(|s| s.state.is_success()), "{kind}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "{kind}: dropped after its panic"
        );
        let finished = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Finished { .. }))
            .count();
        assert_eq!(finished, 3, "{kind}: the other observer saw every event");
    }
}

#[test]
fn a_slow_observer_does_not_hold_up_scheduling_and_misses_no_finished() {
    let engine = Engine::new();
    let (open, gate) = std::sync::mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let finished = Arc::new(AtomicUsize::new(0));
    let seen = finished.clone();
    let held = std::sync::atomic::AtomicBool::new(true);
    engine.subscribe(move |e: &Event| {
        // Held at its first event until the test lets it go (at most a while: an engine that
        // delivered on the threads that schedule would otherwise hang here, not fail).
        if held.swap(false, Ordering::SeqCst)
            && let Ok(g) = gate.lock()
        {
            let _ = g.recv_timeout(Duration::from_secs(10));
        }
        if matches!(e, Event::Finished { .. }) {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    let ran = Arc::new(AtomicUsize::new(0));
    let n = 200;
    let ids: Vec<TaskId> = (0..n)
        .map(|_| {
            let ran = ran.clone();
            engine
                .add(TaskSpec::new(move |_| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Outcome::Succeeded
                }))
                .unwrap()
        })
        .collect();
    engine.want(ids.iter().copied()).unwrap();
    // Every task runs while the observer still holds its first event.
    while ran.load(Ordering::SeqCst) < n {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the observer was held, yet saw tasks finish"
    );
    drop(open);
    engine.wait_all().unwrap();
    assert_eq!(
        finished.load(Ordering::SeqCst),
        n,
        "every Finished reached the observer by the end of the wait"
    );
}

/// The end of a task hands the task it made ready to the thread that ran it (a continuation):
/// on a pool of one thread with room for two jobs, a chain runs link after link, ahead of an
/// independent task that was queued first. Without the continuation each link would go to
/// the back of the pool's queue, behind that task, and the two would interleave.
#[test]
fn the_task_an_end_makes_ready_runs_next_on_the_thread_that_ended() {
    let engine = Engine::with_executor(Arc::new(ThreadPool::new(1)));
    engine.set_limit(2);
    let order = Arc::new(Mutex::new(Vec::new()));
    let labels = ["a0", "a1", "a2", "a3", "a4", "a5"];
    let mut prev = None;
    let mut chain = Vec::new();
    for label in labels {
        let spec = logs(&order, label);
        let id = engine
            .add(match prev {
                Some(p) => spec.dep(p),
                None => spec,
            })
            .unwrap();
        chain.push(id);
        prev = Some(id);
    }
    let b = engine.add(logs(&order, "b")).unwrap();
    engine.want(chain.iter().copied().chain([b])).unwrap();
    engine.wait_all().unwrap();
    // Both a0 and b were queued at the start; every later link came from an end on the
    // pool's thread and ran there next.
    assert_eq!(
        *order.lock().unwrap(),
        ["a0", "a1", "a2", "a3", "a4", "a5", "b"]
    );
}
