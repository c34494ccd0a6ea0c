//! The process executor, end to end: this test binary is its own worker program (its `main`
//! serves worker requests first, so it has no libtest harness). Tasks panic, abort, get
//! killed, time out (also when they and their children ignore SIGTERM), print from
//! subprocesses, return unserializable values, and call back into the parent.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parade::engine::{Engine, Event, Outcome, Reason, TaskId, TaskSpec, TaskState, TaskStatus};
use parade::exec::process::{
    Done, ProcessExecutor, Registry, WorkerCall, WorkerHost, WorkerJob, socket_dir,
};
use serde_json::{Value, json};

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register("square", |args, _| {
        let n = args.as_u64().ok_or("expected a number")?;
        Ok(json!(n * n))
    });
    r.register("panic", |_, _| panic!("worker panicked on purpose"));
    r.register("abort", |_, _| std::process::abort());
    r.register("kill-self", |_, _| {
        let me = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-9", &me])
            .status();
        unreachable!("killed")
    });
    r.register("print", |_, _| {
        println!("to stdout");
        eprintln!("to stderr");
        let status = std::process::Command::new("sh")
            .args(["-c", "echo from a subprocess"])
            .status();
        status.map_err(|e| e.to_string())?;
        Ok(Value::Null)
    });
    r.register("unserializable", |_, _| {
        let map: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
        serde_json::to_value(&map).map_err(|e| format!("the result cannot be serialized: {e}"))
    });
    r.register("ignore-term", |args, _| {
        use std::os::unix::process::CommandExt;
        // Becomes a shell that ignores SIGTERM, with a child that ignores it too.
        let marker = args.as_str().unwrap_or("none");
        let script = format!(
            "trap '' TERM; sh -c \"trap '' TERM; exec sleep 1000 # {marker}\" & sleep 1000; wait"
        );
        let err = std::process::Command::new("sh")
            .args(["-c", &script])
            .exec();
        Err(format!("exec failed: {err}"))
    });
    r.register("callback", |args, session| {
        let sum = session.call("add", args.clone())?;
        let missing = session.call("nonsense", Value::Null).unwrap_err();
        Ok(json!({"sum": sum, "error": missing}))
    });
    r.register("child-env", |_, _| {
        // A command parade starts from a worker does not inherit the worker's socket.
        let engine = Engine::inline();
        let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let sink = seen.clone();
        engine.subscribe(move |e: &Event| {
            if let Event::Output { line, .. } = e {
                sink.lock().push(line.clone());
            }
        });
        let spec =
            parade::exec::CommandSpec::shell(&["sh", "-c"], "echo ${PARADE_WORKER_SOCKET:-unset}");
        let t = engine
            .add(TaskSpec::from_job(parade::exec::CommandJob::new(spec)))
            .unwrap();
        engine.want([t]).unwrap();
        engine.wait_all().unwrap();
        let lines = seen.lock().clone();
        Ok(json!(lines))
    });
    r.register("pid", |_, _| Ok(json!(std::process::id())));
    r.register("close-stdout", |_, _| {
        // Points stdout at a pipe nobody reads, as a task that closes its stdout leaves it:
        // what goes there now fails, and the parent's end of the old stdout sees its end.
        let (read, write) = nix::unistd::pipe().map_err(|e| e.to_string())?;
        drop(read);
        nix::unistd::dup2_stdout(&write).map_err(|e| e.to_string())?;
        eprintln!("stdout is gone");
        Ok(json!(std::process::id()))
    });
    r.register("hang", |args, _| {
        // Says which process it is, then never ends by itself.
        let path = args.as_str().ok_or("expected a path")?;
        std::fs::write(path, std::process::id().to_string()).map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_secs(1000));
        Ok(Value::Null)
    });
    r.register("fan-out", |args, session| {
        session.call("run-children", args.clone())
    });
    r
}

fn main() {
    registry().serve();
    let tests: &[(&str, fn())] = &[
        ("results_cross_the_boundary", results_cross_the_boundary),
        ("crashes_fail_only_their_task", crashes_fail_only_their_task),
        ("output_reaches_the_log", output_reaches_the_log),
        (
            "unserializable_results_fail_with_a_reason",
            unserializable_results_fail_with_a_reason,
        ),
        ("timeouts_kill_everything", timeouts_kill_everything),
        (
            "workers_call_back_into_the_parent",
            workers_call_back_into_the_parent,
        ),
        (
            "a_worker_waits_for_tasks_it_started",
            a_worker_waits_for_tasks_it_started,
        ),
        (
            "commands_started_by_a_worker_do_not_inherit_its_socket",
            commands_started_by_a_worker_do_not_inherit_its_socket,
        ),
        (
            "closures_without_a_name_are_refused",
            closures_without_a_name_are_refused,
        ),
        (
            "warm_workers_serve_many_calls",
            warm_workers_serve_many_calls,
        ),
        (
            "a_timeout_replaces_only_the_stuck_worker",
            a_timeout_replaces_only_the_stuck_worker,
        ),
        (
            "a_killed_worker_fails_only_its_call",
            a_killed_worker_fails_only_its_call,
        ),
        (
            "a_task_that_closes_its_stdout_ends_on_its_report",
            a_task_that_closes_its_stdout_ends_on_its_report,
        ),
    ];
    let mut harness = common::Harness::from_args();
    for (name, test) in tests {
        harness.run(name, test);
    }
    harness.finish()
}

fn engine(limit: usize) -> Engine {
    Engine::with_executor(Arc::new(
        ProcessExecutor::new(limit)
            .unwrap()
            .grace(Duration::from_millis(300)),
    ))
}

fn worker(task: &str, args: Value, host: Option<Arc<dyn WorkerHost>>) -> TaskSpec {
    TaskSpec::from_job(WorkerJob::new(WorkerCall {
        task: task.into(),
        args,
        host,
        resources: None,
    }))
}

fn run_all(engine: &Engine, specs: Vec<TaskSpec>) -> Vec<TaskStatus> {
    let ids: Vec<TaskId> = specs.into_iter().map(|s| engine.add(s).unwrap()).collect();
    engine.want(ids.iter().copied()).unwrap();
    engine.wait(ids).unwrap()
}

/// Keeps what workers report.
#[derive(Default)]
struct Collect {
    done: parking_lot::Mutex<Vec<Done>>,
}

impl WorkerHost for Collect {
    fn call(&self, method: &str, args: Value) -> Result<Value, String> {
        match method {
            "add" => Ok(json!(
                args.as_array()
                    .ok_or("expected a list")?
                    .iter()
                    .filter_map(Value::as_i64)
                    .sum::<i64>()
            )),
            other => Err(format!("no method `{other}`")),
        }
    }
    fn done(&self, done: &Done) {
        self.done.lock().push(done.clone());
    }
}

fn results_cross_the_boundary() {
    let engine = engine(2);
    let host = Arc::new(Collect::default());
    let specs = (1..=5)
        .map(|n| worker("square", json!(n), Some(host.clone())))
        .collect();
    let st = run_all(&engine, specs);
    assert!(st.iter().all(|s| s.state == TaskState::Succeeded), "{st:?}");
    let mut got: Vec<Done> = host.done.lock().clone();
    got.sort_by_key(|d| match d {
        Done::Ok(v) => v.as_u64(),
        _ => None,
    });
    assert_eq!(got, [1, 4, 9, 16, 25].map(|v| Done::Ok(json!(v))));
}

fn crashes_fail_only_their_task() {
    let engine = engine(2);
    let st = run_all(
        &engine,
        vec![
            worker("panic", Value::Null, None),
            worker("abort", Value::Null, None),
            worker("kill-self", Value::Null, None),
            worker("no-such-task", Value::Null, None),
            worker("square", json!(3), None),
        ],
    );
    assert_eq!(
        st[0].reason,
        Some(Reason::Exit(101)),
        "a panic exits with 101"
    );
    assert_eq!(st[1].reason, Some(Reason::Signal(6)), "abort is SIGABRT");
    assert_eq!(st[2].reason, Some(Reason::Signal(9)));
    let unknown = st[3].reason.as_ref().unwrap().to_string();
    assert!(
        unknown.contains("no task named `no-such-task`") && unknown.contains("square"),
        "{unknown}"
    );
    assert_eq!(st[4].state, TaskState::Succeeded);
}

fn output_reaches_the_log() {
    let engine = engine(1);
    let lines = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let sink = lines.clone();
    engine.subscribe(move |e: &Event| {
        if let Event::Output { line, .. } = e {
            sink.lock().push(line.clone());
        }
    });
    run_all(&engine, vec![worker("print", Value::Null, None)]);
    let mut got = lines.lock().clone();
    got.sort();
    assert_eq!(got, ["from a subprocess", "to stderr", "to stdout"]);
}

fn unserializable_results_fail_with_a_reason() {
    let st = run_all(
        &engine(1),
        vec![worker("unserializable", Value::Null, None)],
    );
    let reason = st[0].reason.as_ref().unwrap().to_string();
    assert!(reason.contains("cannot be serialized"), "{reason}");
}

fn timeouts_kill_everything() {
    let marker = format!("parade-worker-timeout-{}", std::process::id());
    let st = run_all(
        &engine(1),
        vec![worker("ignore-term", json!(marker), None).timeout(Duration::from_millis(300))],
    );
    assert_eq!(
        st[0].reason,
        Some(Reason::Timeout(Duration::from_millis(300)))
    );
    assert!(
        !common::alive(&marker),
        "a process of the timed-out worker survived"
    );
}

fn workers_call_back_into_the_parent() {
    let st_host = Arc::new(Collect::default());
    let st = run_all(
        &engine(1),
        vec![worker("callback", json!([2, 3, 4]), Some(st_host.clone()))],
    );
    assert_eq!(st[0].state, TaskState::Succeeded);
    assert_eq!(
        *st_host.done.lock(),
        [Done::Ok(json!({"sum": 9, "error": "no method `nonsense`"}))]
    );
}

/// Runs child tasks for a worker and waits for them, from the worker's own call.
struct FanOut {
    engine: parking_lot::Mutex<Option<Engine>>,
    result: parking_lot::Mutex<Option<Value>>,
}

impl WorkerHost for FanOut {
    fn call(&self, _method: &str, args: Value) -> Result<Value, String> {
        let engine = self.engine.lock().clone().ok_or("no engine")?;
        let n = args.as_u64().ok_or("expected a count")?;
        let ids: Vec<TaskId> = (0..n)
            .map(|i| engine.add(worker("square", json!(i), None)).unwrap())
            .collect();
        engine
            .want(ids.iter().copied())
            .map_err(|e| e.to_string())?;
        let st = engine.wait(ids).map_err(|e| e.to_string())?;
        Ok(json!(
            st.iter()
                .filter(|s| s.state == TaskState::Succeeded)
                .count()
        ))
    }
    fn done(&self, done: &Done) {
        if let Done::Ok(v) = done {
            *self.result.lock() = Some(v.clone());
        }
    }
}

fn a_worker_waits_for_tasks_it_started() {
    // One child process at a time: the waiting worker lends its place to its children.
    let engine = engine(1);
    let host = Arc::new(FanOut {
        engine: parking_lot::Mutex::new(Some(engine.clone())),
        result: parking_lot::Mutex::new(None),
    });
    let st = run_all(
        &engine,
        vec![worker("fan-out", json!(3), Some(host.clone()))],
    );
    assert_eq!(st[0].state, TaskState::Succeeded, "{st:?}");
    assert_eq!(*host.result.lock(), Some(json!(3)));
    *host.engine.lock() = None;
}

fn closures_without_a_name_are_refused() {
    let executor = ProcessExecutor::new(1).unwrap();
    let dir = socket_dir(&executor).to_path_buf();
    let engine = Engine::with_executor(Arc::new(executor));
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let st = run_all(
        &engine,
        vec![TaskSpec::new(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
            Outcome::Succeeded
        })],
    );
    assert_eq!(st[0].state, TaskState::Failed);
    assert!(
        st[0]
            .reason
            .as_ref()
            .unwrap()
            .to_string()
            .contains("no registered name")
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "no socket left behind"
    );
}

fn commands_started_by_a_worker_do_not_inherit_its_socket() {
    let host = Arc::new(Collect::default());
    let st = run_all(
        &engine(1),
        vec![worker("child-env", Value::Null, Some(host.clone()))],
    );
    assert_eq!(st[0].state, TaskState::Succeeded, "{st:?}");
    assert_eq!(*host.done.lock(), [Done::Ok(json!(["unset"]))]);
}

/// The process ids the `pid` calls returned, as their host received them.
fn pids(host: &Collect) -> Vec<u64> {
    host.done
        .lock()
        .iter()
        .filter_map(|d| match d {
            Done::Ok(v) => v.as_u64(),
            _ => None,
        })
        .collect()
}

fn warm_workers_serve_many_calls() {
    let executor = ProcessExecutor::new(2)
        .unwrap()
        .grace(Duration::from_millis(300));
    let executor = Arc::new(executor);
    let engine = Engine::with_executor(executor.clone());
    let host = Arc::new(Collect::default());
    let calls = 40;
    let specs = (0..calls)
        .map(|_| worker("pid", Value::Null, Some(host.clone())))
        .collect();
    let st = run_all(&engine, specs);
    assert!(st.iter().all(|s| s.state == TaskState::Succeeded), "{st:?}");
    let mut pids = pids(&host);
    assert_eq!(pids.len(), calls);
    assert!(!pids.contains(&u64::from(std::process::id())));
    pids.sort_unstable();
    pids.dedup();
    let started = parade::exec::process::workers_started(&executor);
    assert_eq!(
        u64::try_from(pids.len()).unwrap(),
        started,
        "every worker started served calls"
    );
    assert!(
        pids.len() <= 4,
        "{calls} calls at 2 at a time took {} worker processes",
        pids.len()
    );
}

/// Waits (polling, with no bound on a slow machine but the test's own) for `path` to hold a pid.
fn pid_in(path: &std::path::Path) -> u32 {
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn process_exists(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn a_timeout_replaces_only_the_stuck_worker() {
    let engine = engine(1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stuck.pid");
    let host = Arc::new(Collect::default());
    let first = run_all(
        &engine,
        vec![worker("pid", Value::Null, Some(host.clone()))],
    );
    assert_eq!(first[0].state, TaskState::Succeeded);
    let stuck = run_all(
        &engine,
        vec![
            worker("hang", json!(file.to_string_lossy()), None).timeout(Duration::from_millis(300)),
        ],
    );
    assert_eq!(
        stuck[0].reason,
        Some(Reason::Timeout(Duration::from_millis(300)))
    );
    let stuck_pid = pid_in(&file);
    assert_eq!(
        pids(&host),
        [u64::from(stuck_pid)],
        "the stuck call ran on the warm worker of the call before"
    );
    assert!(
        !process_exists(stuck_pid),
        "the stuck worker was stopped with its call"
    );
    let after = run_all(
        &engine,
        (0..3)
            .map(|_| worker("pid", Value::Null, Some(host.clone())))
            .collect(),
    );
    assert!(
        after.iter().all(|s| s.state == TaskState::Succeeded),
        "{after:?}"
    );
    let later = pids(&host);
    assert_eq!(later.len(), 4);
    assert!(
        later[1..]
            .iter()
            .all(|p| *p == later[1] && *p != u64::from(stuck_pid)),
        "one fresh worker serves the calls after the timeout: {later:?}"
    );
}

fn a_killed_worker_fails_only_its_call() {
    let engine = engine(2);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("victim.pid");
    let victim = engine
        .add(worker("hang", json!(file.to_string_lossy()), None))
        .unwrap();
    engine.want([victim]).unwrap();
    let pid = pid_in(&file);
    let host = Arc::new(Collect::default());
    let during = run_all(
        &engine,
        (0..5)
            .map(|_| worker("pid", Value::Null, Some(host.clone())))
            .collect(),
    );
    assert!(
        during.iter().all(|s| s.state == TaskState::Succeeded),
        "{during:?}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let st = engine.wait([victim]).unwrap();
    assert_eq!(st[0].reason, Some(Reason::Signal(9)), "{st:?}");
    let after = run_all(
        &engine,
        (0..5)
            .map(|_| worker("pid", Value::Null, Some(host.clone())))
            .collect(),
    );
    assert!(
        after.iter().all(|s| s.state == TaskState::Succeeded),
        "{after:?}"
    );
    assert!(!pids(&host).contains(&u64::from(pid)));
}

/// A task that closes its stdout cannot end its output with the call's mark there: its worker
/// says so in its report, so the call ends on the report instead of waiting for a mark that
/// never comes, and that worker serves no more calls (what they print would be lost).
fn a_task_that_closes_its_stdout_ends_on_its_report() {
    let executor = Arc::new(
        ProcessExecutor::new(1)
            .unwrap()
            .grace(Duration::from_millis(300)),
    );
    let engine = Engine::with_executor(executor.clone());
    let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let sink = log.clone();
    engine.subscribe(move |e: &Event| {
        if let Event::Output { line, .. } = e {
            sink.lock().push(line.clone());
        }
    });
    let host = Arc::new(Collect::default());
    let st = run_all(
        &engine,
        vec![worker("close-stdout", Value::Null, Some(host.clone()))],
    );
    assert_eq!(st[0].state, TaskState::Succeeded, "{st:?}");
    assert_eq!(
        parade::exec::process::mark_waits_timed_out(&executor),
        0,
        "the call waited for a mark its worker could not write"
    );
    let next = run_all(
        &engine,
        vec![worker("pid", Value::Null, Some(host.clone()))],
    );
    assert_eq!(next[0].state, TaskState::Succeeded);
    let pids = pids(&host);
    assert_eq!(pids.len(), 2);
    assert_ne!(pids[0], pids[1], "the worker without a stdout served again");
    assert!(
        log.lock().iter().any(|l| l == "stdout is gone"),
        "stderr still reached the log: {:?}",
        log.lock()
    );
}
