//! Tasks that run child processes: exit statuses, signals, output from the child and its own
//! subprocesses, timeouts and cancels that end the whole process group, and nothing left behind.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use parade::engine::{Engine, Event, Reason, TaskId, TaskSpec, TaskState};
use parade::exec::{CommandJob, CommandSpec};

fn sh(script: &str) -> TaskSpec {
    TaskSpec::from_job(
        CommandJob::new(CommandSpec::shell(&["sh", "-c"], script))
            .grace(Duration::from_millis(300)),
    )
}

fn run(engine: &Engine, spec: TaskSpec) -> (TaskId, parade::engine::TaskStatus) {
    let id = engine.add(spec).unwrap();
    engine.want([id]).unwrap();
    let status = engine.wait([id]).unwrap().remove(0);
    (id, status)
}

fn lines_of(engine: &Engine) -> Arc<Mutex<Vec<(TaskId, String)>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    engine.subscribe(move |e: &Event| {
        if let Event::Output { id, line, .. } = e {
            sink.lock().unwrap().push((*id, line.clone()));
        }
    });
    lines
}

#[test]
fn exit_status_and_signals_become_reasons() {
    let engine = Engine::new();
    assert_eq!(run(&engine, sh("exit 0")).1.state, TaskState::Succeeded);
    assert_eq!(run(&engine, sh("exit 7")).1.reason, Some(Reason::Exit(7)));
    assert_eq!(
        run(&engine, sh("kill -9 $$")).1.reason,
        Some(Reason::Signal(9))
    );
    let missing = run(
        &engine,
        TaskSpec::from_job(CommandJob::new(CommandSpec::new(
            "/no/such/program",
            [""; 0],
        ))),
    )
    .1;
    assert_eq!(missing.state, TaskState::Failed);
    assert!(
        missing
            .reason
            .unwrap()
            .to_string()
            .contains("cannot start `/no/such/program`")
    );
}

#[test]
fn output_of_the_child_and_its_subprocesses_reaches_observers_by_line() {
    let engine = Engine::new();
    let lines = lines_of(&engine);
    let (id, st) = run(
        &engine,
        sh("echo one; sh -c 'echo two >&2'; printf 'three'"),
    );
    assert_eq!(st.state, TaskState::Succeeded);
    let mut got: Vec<String> = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t == id)
        .map(|(_, l)| l.clone())
        .collect();
    got.sort();
    assert_eq!(got, ["one", "three", "two"]);
}

#[test]
fn env_and_cwd_are_applied() {
    let engine = Engine::new();
    let lines = lines_of(&engine);
    let dir = tempfile::tempdir().unwrap();
    let spec = CommandSpec::shell(&["sh", "-c"], "echo \"$GREETING from $(pwd)\"")
        .env("GREETING", "hi")
        .cwd(dir.path());
    run(&engine, TaskSpec::from_job(CommandJob::new(spec)));
    let got = lines.lock().unwrap().clone();
    let want = format!("hi from {}", dir.path().canonicalize().unwrap().display());
    assert_eq!(got[0].1, want);
}

#[test]
fn a_timeout_ends_the_whole_group_even_when_everything_ignores_sigterm() {
    let engine = Engine::new();
    let marker = format!("parade-timeout-{}", std::process::id());
    let script = format!(
        "trap '' TERM; sh -c \"trap '' TERM; exec sleep 1000 # {marker}\" & sleep 1000; wait"
    );
    let (_, st) = run(&engine, sh(&script).timeout(Duration::from_millis(200)));
    assert_eq!(st.state, TaskState::Failed);
    assert_eq!(st.reason, Some(Reason::Timeout(Duration::from_millis(200))));
    assert!(
        !common::alive(&marker),
        "a process of the timed-out task survived"
    );
}

#[test]
fn cancelling_a_running_command_terminates_its_group_and_leftovers_are_cleaned_up() {
    let engine = Engine::new();
    let lines = lines_of(&engine);
    let marker = format!("parade-cancel-{}", std::process::id());
    let id = engine
        .add(sh(&format!("echo started; exec sleep 1000 # {marker}")))
        .unwrap();
    engine.want([id]).unwrap();
    while lines.lock().unwrap().is_empty() {
        std::thread::yield_now();
    }
    engine.cancel(id).unwrap();
    let st = engine.wait([id]).unwrap().remove(0);
    assert_eq!(st.state, TaskState::Cancelled);
    assert!(!common::alive(&marker));

    // A task that exits while a background process of its group still runs leaves nothing.
    let leftover = format!("parade-leftover-{}", std::process::id());
    let (_, st) = run(
        &engine,
        sh(&format!("sh -c 'exec sleep 1000 # {leftover}' & echo bye")),
    );
    assert_eq!(st.state, TaskState::Succeeded);
    assert!(!common::alive(&leftover));
}

#[test]
fn leftovers_that_ignore_sigterm_and_let_go_of_the_output_are_killed_too() {
    let engine = Engine::new();
    let marker = format!("parade-detached-{}", std::process::id());
    // The leftover shell keeps the marker in its command line (no exec), ignores SIGTERM, and
    // holds none of the task's pipes; the task ends only once the leftover is ready.
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let ready = ready.display();
    let script = format!(
        "sh -c \"trap '' TERM; touch {ready}; sleep 1000; echo {marker}\" > /dev/null 2>&1 & \
         while [ ! -e {ready} ]; do sleep 0.01; done; echo bye"
    );
    let (_, st) = run(&engine, sh(&script));
    assert_eq!(st.state, TaskState::Succeeded);
    assert!(!common::alive(&marker), "a detached leftover survived");
}
