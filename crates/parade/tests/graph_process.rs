//! Named graph tasks in worker processes: this test binary is its own worker program (its
//! `main` serves the graph's named functions first, so it has no libtest harness). Values cross
//! the boundary as JSON; panics, aborts and values that cannot cross fail only their task;
//! tasks the process executor cannot take fail (or are reported by a dry run) with a reason.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parade::engine::Reason;
use parade::exec::process::ProcessExecutor;
use parade::graph::{Functions, Graph, GraphError};

fn square(n: u64) -> u64 {
    n * n
}

fn functions() -> Functions {
    Functions::new()
        .add("seven", |()| 7_u64)
        .add("twelve", |()| "12".to_owned())
        .add("square", square)
        .add("add", |(a, b): (u64, u64)| a + b)
        .add("sum", |v: Vec<u64>| v.iter().sum::<u64>())
        .add("pid", |()| std::process::id())
        .add("label", |(n, s): (u64, String)| format!("{s}={n}"))
        .add("boom", |()| -> u64 { panic!("on purpose") })
        .add("abort", |()| -> u64 { std::process::abort() })
        .try_add("parse", |s: String| s.parse::<u64>())
        .add("map", |()| HashMap::from([((1_u8, 2_u8), 3_u8)]))
        .add("nan", |()| f64::NAN)
}

fn main() {
    functions().serve();
    let tests: &[(&str, fn())] = &[
        ("values_cross_the_boundary", values_cross_the_boundary),
        (
            "crashes_fail_only_their_task_and_dependents_name_the_root",
            crashes_fail_only_their_task_and_dependents_name_the_root,
        ),
        (
            "values_that_cannot_cross_fail_with_a_reason",
            values_that_cannot_cross_fail_with_a_reason,
        ),
        (
            "tasks_without_a_function_are_refused",
            tasks_without_a_function_are_refused,
        ),
        (
            "a_dry_run_reports_what_the_executor_cannot_take",
            a_dry_run_reports_what_the_executor_cannot_take,
        ),
        (
            "named_tasks_run_their_closure_in_process",
            named_tasks_run_their_closure_in_process,
        ),
    ];
    let mut harness = common::Harness::from_args();
    for (name, test) in tests {
        harness.run(name, test);
    }
    harness.finish()
}

fn processes() -> Arc<ProcessExecutor> {
    Arc::new(
        ProcessExecutor::new(2)
            .unwrap()
            .grace(Duration::from_millis(300)),
    )
}

fn graph() -> Graph {
    Graph::with_executor(processes())
}

fn message(error: &GraphError) -> String {
    match error {
        GraphError::Failed { message, .. } | GraphError::DepFailed { message, .. } => {
            message.clone()
        }
        other => panic!("unexpected {other}"),
    }
}

fn values_cross_the_boundary() {
    let g = graph();
    let n = g.task("n").named("seven").submit(|| 7_u64);
    let sq = g.task("square").named("square").submit_after(&n, square);
    let sum = g
        .task("add")
        .named("add")
        .submit_after((&n, &sq), |(a, b)| a + b);
    let all = g
        .task("sum")
        .named("sum")
        .submit_after(vec![n.clone(), sq.clone(), sum.clone()], |v| {
            v.iter().sum::<u64>()
        });
    let text = g.task("text").named("twelve").submit(|| "12".to_owned());
    let parsed = g
        .task("parse")
        .named("parse")
        .try_submit_after(&text, |s| s.parse::<u64>());
    let label = g
        .task("label")
        .named("label")
        .submit_after((&parsed, &text), |(n, s)| format!("{s}={n}"));
    let pid = g.task("pid").named("pid").submit(std::process::id);
    assert_eq!(sq.value().unwrap(), 49);
    assert_eq!(sum.value().unwrap(), 56);
    assert_eq!(all.value().unwrap(), 112);
    assert_eq!(label.value().unwrap(), "12=12");
    assert_ne!(
        pid.value().unwrap(),
        std::process::id(),
        "ran in this process"
    );
    g.wait_all().unwrap();
}

fn crashes_fail_only_their_task_and_dependents_name_the_root() {
    let g = graph();
    let boom = g
        .task("boom")
        .named("boom")
        .submit(|| -> u64 { panic!("on purpose") });
    let abort = g
        .task("abort")
        .named("abort")
        .submit(|| -> u64 { std::process::abort() });
    let after_abort = g
        .task("square")
        .named("square")
        .submit_after(&abort, square);
    let further = g
        .task("add")
        .named("add")
        .submit_after((&after_abort, &after_abort), |(a, b)| a + b);
    let fine = g.task("seven").named("seven").submit(|| 7_u64);
    assert_eq!(message(&boom.value().unwrap_err()), "panicked: on purpose");
    assert_eq!(
        message(&abort.value().unwrap_err()),
        Reason::Signal(6).to_string()
    );
    match further.value().unwrap_err() {
        GraphError::DepFailed { root, message, .. } => {
            assert_eq!(root.id, abort.id());
            assert_eq!(message, Reason::Signal(6).to_string());
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(fine.value().unwrap(), 7);
    match g.wait_all().unwrap_err() {
        GraphError::Many(errors) => assert_eq!(errors.len(), 2),
        other => panic!("unexpected {other}"),
    }
}

fn values_that_cannot_cross_fail_with_a_reason() {
    let g = graph();
    let map = g
        .task("map")
        .named("map")
        .submit(|| HashMap::from([((1_u8, 2_u8), 3_u8)]));
    let nan = g.task("nan").named("nan").submit(|| f64::NAN);
    let m = message(&map.value().unwrap_err());
    assert!(m.contains("the value of `map` cannot be serialized"), "{m}");
    let m = message(&nan.value().unwrap_err());
    assert!(
        m.contains("its value cannot be read back from the worker"),
        "{m}"
    );
}

fn tasks_without_a_function_are_refused() {
    let g = graph();
    let unnamed = g.task("closure").submit(|| 1_u64);
    let unknown = g.task("cube").named("cube").submit(|| 1_u64);
    let mistyped = g.task("seven").named("seven").submit(|| 7_i32);
    let m = message(&unnamed.value().unwrap_err());
    assert!(m.contains("cannot run in a worker process"), "{m}");
    let m = message(&unknown.value().unwrap_err());
    assert!(m.contains("no function named `cube` is registered"), "{m}");
    let m = message(&mistyped.value().unwrap_err());
    assert!(m.contains("takes () and gives u64"), "{m}");
    assert!(m.contains("wants i32"), "{m}");
}

fn a_dry_run_reports_what_the_executor_cannot_take() {
    let g = Graph::dry_run_for(processes());
    let n = g.task("n").mock(7_u64).named("seven").submit(|| 7_u64);
    let _sq = g.task("sq").named("square").submit_after(&n, square);
    let _closure = g.task("closure").submit_after(&n, |n| n + 1);
    let _unknown = g.task("cube").named("cube").submit_after(&n, |n| n * n * n);
    let plan = g.plan();
    assert_eq!(plan.tasks.len(), 4);
    let problems: Vec<(String, String)> = plan
        .problems
        .iter()
        .map(|p| match p {
            GraphError::Executor { task, message, .. } => (
                task.description.as_deref().unwrap().to_owned(),
                message.clone(),
            ),
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].0, "closure");
    assert!(
        problems[0].1.contains("without a name"),
        "{}",
        problems[0].1
    );
    assert_eq!(problems[1].0, "cube");
    assert!(problems[1].1.contains("no function named `cube`"));
}

fn named_tasks_run_their_closure_in_process() {
    let g = Graph::new();
    let pid = g.task("pid").named("pid").submit(std::process::id);
    let unknown = g.task("cube").named("cube").submit(|| 27_u64);
    assert_eq!(pid.value().unwrap(), std::process::id());
    assert_eq!(unknown.value().unwrap(), 27);
    assert!(g.plan().problems.is_empty());
}
