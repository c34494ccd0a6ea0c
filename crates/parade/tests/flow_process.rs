//! The flow cases of `flow_common` (every `both!` case) with the procs in worker processes.
//! This test binary is its own worker program: its `main` serves workers first. A worker is
//! started with the case's name and the case's log directory as arguments; it runs the case
//! again, and its flow runs the requested proc when the case defines it.

#![allow(clippy::needless_pass_by_value)] // every case takes its flow, as `both!` cases do

#[macro_use]
mod flow_common;

#[path = "flow_common/deps.rs"]
mod deps;
#[path = "flow_common/fidelity.rs"]
mod fidelity;
#[path = "flow_common/incremental.rs"]
mod incremental;
#[path = "flow_common/lifecycle.rs"]
mod lifecycle;
#[path = "flow_common/names.rs"]
mod names;
#[path = "flow_common/rdeps.rs"]
mod rdeps;
#[path = "flow_common/watch.rs"]
mod watch;

mod common;
#[path = "common/squares.rs"]
mod squares;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parade::engine::{Event, Reason, Stream, TaskState};
use parade::exec::Inline;
use parade::exec::process::{ProcessExecutor, WORKER_SOCKET_ENV};
use parade::flow::{Flow, FlowOptions, ProcError};

type Case = fn(Flow, bool);

fn cases() -> Vec<(String, Case)> {
    let files: [(&str, &[(&str, Case)]); 8] = [
        ("fidelity", fidelity::PROCESS),
        ("incremental", incremental::PROCESS),
        ("lifecycle", lifecycle::PROCESS),
        ("deps", deps::PROCESS),
        ("names", names::PROCESS),
        ("rdeps", rdeps::PROCESS),
        ("watch", watch::PROCESS),
        ("process", ONLY_IN_PROCESSES),
    ];
    files
        .iter()
        .flat_map(|(file, cases)| {
            cases
                .iter()
                .map(move |(name, case)| (format!("{file}::{name}"), *case))
        })
        .collect()
}

/// Cases that only make sense with procs in worker processes.
const ONLY_IN_PROCESSES: &[(&str, Case)] = &[
    ("crashes_fail_only_their_proc", crashes_fail_only_their_proc),
    ("output_reaches_the_log", output_reaches_the_log),
    (
        "unserializable_results_fail_with_a_reason",
        unserializable_results_fail_with_a_reason,
    ),
    ("timeouts_kill_everything", timeouts_kill_everything),
    (
        "contexts_call_back_into_the_flow",
        contexts_call_back_into_the_flow,
    ),
];

fn crashes_fail_only_their_proc(flow: Flow, _: bool) {
    flow.proc("panic", |_| -> Result<(), ProcError> {
        panic!("on purpose")
    })
    .add()
    .unwrap();
    flow.proc("abort", |_| -> Result<(), ProcError> {
        std::process::abort()
    })
    .add()
    .unwrap();
    flow.proc("kill", |ctx| {
        ctx.shell(&format!("kill -9 {}", std::process::id()))?;
        Ok(())
    })
    .add()
    .unwrap();
    flow.proc("exit", |ctx| ctx.shell("exit 3").map(|_| ()))
        .add()
        .unwrap();
    flow.proc("fine", |_| Ok(std::process::id())).add().unwrap();
    for p in ["panic", "abort", "kill", "exit", "fine"] {
        flow.run(p).unwrap();
    }
    assert!(flow.wait_all().is_err());
    let reason = |p: &str| flow.status(p).unwrap().reason.unwrap_or_default();
    assert_eq!(reason("panic"), "panicked: on purpose");
    assert_eq!(reason("abort"), Reason::Signal(6).to_string());
    assert_eq!(reason("kill"), Reason::Signal(9).to_string());
    assert_eq!(reason("exit"), Reason::Exit(3).to_string());
    assert_eq!(flow.state("fine").unwrap(), TaskState::Succeeded);
    assert_ne!(flow.result::<u32>("fine").unwrap(), std::process::id());
}

fn output_reaches_the_log(flow: Flow, _: bool) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    flow.observe(move |e: &Event| {
        if let Event::Output { line, stream, .. } = e {
            sink.lock()
                .unwrap()
                .push((*stream == Stream::Stderr, line.clone()));
        }
    });
    flow.proc("print", |ctx| {
        println!("to stdout");
        eprintln!("to stderr");
        ctx.emit("emitted");
        ctx.shell("echo from a subprocess; sh -c 'echo from its child >&2'")?;
        Ok(())
    })
    .add()
    .unwrap();
    flow.run("print").unwrap();
    flow.wait_all().unwrap();
    let mut got = lines.lock().unwrap().clone();
    got.sort();
    assert_eq!(
        got,
        [
            (false, "emitted".to_owned()),
            (false, "from a subprocess".to_owned()),
            (false, "to stdout".to_owned()),
            (true, "from its child".to_owned()),
            (true, "to stderr".to_owned()),
        ]
    );
}

fn unserializable_results_fail_with_a_reason(flow: Flow, _: bool) {
    flow.proc("map", |_| {
        Ok(std::collections::HashMap::from([((1_u8, 2_u8), 3_u8)]))
    })
    .add()
    .unwrap();
    flow.run("map").unwrap();
    assert!(flow.wait_all().is_err());
    let reason = flow.status("map").unwrap().reason.unwrap();
    assert!(
        reason.contains("the result of `map` cannot be serialized"),
        "{reason}"
    );
}

fn alive(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|c| {
            String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .contains(marker)
        })
    })
}

fn timeouts_kill_everything(flow: Flow, _: bool) {
    // The marker names the test run, so the worker (a later process) knows it too.
    let marker = format!("parade-flow-timeout-{}", std::process::id());
    let in_worker = std::env::var_os(WORKER_SOCKET_ENV).is_some();
    let m = marker.clone();
    flow.proc("stubborn", move |_| -> Result<(), ProcError> {
        use std::os::unix::process::CommandExt;
        // A shell that ignores SIGTERM, with a child that ignores it too.
        let script = format!(
            "trap '' TERM; sh -c \"trap '' TERM; exec sleep 1000 # {m}\" & sleep 1000; wait"
        );
        let err = std::process::Command::new("sh")
            .args(["-c", &script])
            .exec();
        Err(ProcError::failed(format!("exec failed: {err}")))
    })
    .timeout(Duration::from_millis(300))
    .add()
    .unwrap();
    assert!(!in_worker, "the worker ran the proc when it was defined");
    flow.run("stubborn").unwrap();
    assert!(flow.wait_all().is_err());
    let status = flow.status("stubborn").unwrap();
    assert_eq!(status.state, TaskState::Failed);
    assert!(status.reason.unwrap().starts_with("timeout"));
    assert!(!alive(&marker), "a process of the timed-out proc survived");
}

fn contexts_call_back_into_the_flow(flow: Flow, _: bool) {
    flow.set_param("factor", 10).unwrap();
    squares::square(&flow);
    flow.proc("sum", |ctx| {
        let names: Vec<String> = (1..=3).map(|n| format!("square::{n}")).collect();
        ctx.create("square::1")?;
        ctx.start(["square::1"])?;
        for n in &names[1..] {
            ctx.run(n)?;
        }
        ctx.wait(&names)?;
        let unknown = ctx.wait(["nope"]).unwrap_err().to_string();
        let sum: u64 = names.iter().map(|n| ctx.result::<u64>(n).unwrap()).sum();
        Ok((sum, ctx.results().len(), unknown, ctx.params().len()))
    })
    .add()
    .unwrap();
    flow.run("sum").unwrap();
    flow.wait_all().unwrap();
    let (sum, results, unknown, params): (u64, usize, String, usize) = flow.result("sum").unwrap();
    assert_eq!(sum, 140);
    assert_eq!(results, 3);
    assert!(unknown.contains("nope"), "{unknown}");
    assert_eq!(params, 1);
}

fn main() {
    parade::worker_entry();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os(WORKER_SOCKET_ENV).is_some() {
        // A worker: run the case again; its flow serves the requested proc and exits.
        let (name, dir) = (&args[0], &args[1]);
        let (_, case) = cases().into_iter().find(|(n, _)| n == name).unwrap();
        flow_common::set_log_dir(Some(PathBuf::from(dir)));
        let flow = Flow::with_executor(Arc::new(Inline::new()), FlowOptions::new()).unwrap();
        case(flow, false);
        return;
    }
    let mut harness = common::Harness::from_args();
    for (name, case) in cases() {
        let test = format!("{name}::process");
        if !harness.selects(&test) {
            continue;
        }
        harness.run(&test, || {
            let dir = tempfile::tempdir().unwrap();
            flow_common::set_log_dir(Some(dir.path().to_path_buf()));
            let executor = ProcessExecutor::with_program(
                4,
                std::env::current_exe().unwrap(),
                vec![name.clone(), dir.path().to_string_lossy().into_owned()],
            )
            .unwrap()
            .grace(Duration::from_millis(500));
            let flow =
                Flow::with_executor(Arc::new(executor), FlowOptions::new().parallel(4)).unwrap();
            case(flow, false);
        });
    }
    harness.finish()
}
