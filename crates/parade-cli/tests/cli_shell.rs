//! Running real commands: quoting against injection, environment, output streams, time limits
//! that reach a whole process group, and stopping every running group at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use parade::engine::Stream;
use parade_cli::shell::{Exit, Groups, ShellCommand, quote, run, substitute};

type Lines = Arc<Mutex<Vec<(Stream, String)>>>;

fn collect() -> (Lines, impl Fn(Stream, String) + Send + Sync + 'static) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    (lines, move |s, l| sink.lock().unwrap().push((s, l)))
}

/// Whether the process is gone within a generous bound. A killed process closes its pipes a
/// moment before the kernel marks it dead, so the check waits for that moment.
fn dies(pid: i32) -> bool {
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while alive(pid) {
        if std::time::Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Whether the process exists and is not a zombie waiting to be reaped.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with('Z') && !state.starts_with('X')
    })
}

#[test]
fn a_hostile_value_is_one_word_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let script = substitute("echo built {env}", |_| {
        Some("$(touch x); touch y".to_owned())
    });
    let mut cmd = ShellCommand::sh(script);
    cmd.cwd = Some(dir.path().to_path_buf());
    let (lines, sink) = collect();
    assert_eq!(run(&cmd, &Groups::default(), sink).unwrap(), Exit::Code(0));
    assert_eq!(lines.lock().unwrap()[0].1, "built $(touch x); touch y");
    assert!(!dir.path().join("x").exists() && !dir.path().join("y").exists());
    assert_eq!(quote("build::$(touch x)"), "'build::$(touch x)'");
}

#[test]
fn output_streams_env_and_exit_status() {
    let mut cmd = ShellCommand::sh("echo out; echo \"err $GREETING\" >&2; exit 3");
    cmd.env.insert("GREETING".into(), "hi".into());
    let (lines, sink) = collect();
    assert_eq!(run(&cmd, &Groups::default(), sink).unwrap(), Exit::Code(3));
    let mut got = lines.lock().unwrap().clone();
    got.sort_by_key(|(s, _)| *s == Stream::Stderr);
    assert_eq!(
        got,
        [
            (Stream::Stdout, "out".into()),
            (Stream::Stderr, "err hi".into())
        ]
    );
}

/// A command that ignores SIGTERM, as does its child; writes both pids to `pids`.
fn stubborn(pids: &std::path::Path) -> ShellCommand {
    ShellCommand::sh(format!(
        "trap '' TERM; sh -c \"trap '' TERM; sleep 100\" & echo $$ $! > {}; wait",
        pids.display()
    ))
}

fn read_pids(path: &std::path::Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

#[test]
fn timeout_kills_the_whole_group_even_when_it_ignores_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let mut cmd = stubborn(&pids);
    cmd.timeout = Some(Duration::from_millis(300));
    cmd.grace = Duration::from_millis(200);
    let groups = Groups::default();
    assert_eq!(run(&cmd, &groups, |_, _| ()).unwrap(), Exit::Timeout);
    for pid in read_pids(&pids) {
        assert!(dies(pid), "process {pid} survived");
    }
    assert!(groups.is_empty());
}

#[test]
fn terminate_all_stops_running_groups_and_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let groups: &'static Groups = Box::leak(Box::default());
    let cmd = stubborn(&pids);
    let runner = std::thread::spawn(move || run(&cmd, groups, |_, _| ()).unwrap());
    // Wait until the command runs and wrote its pids (no fixed sleep).
    while groups.is_empty() || std::fs::read_to_string(&pids).map_or(true, |s| !s.ends_with('\n')) {
        std::thread::yield_now();
    }
    groups.terminate_all(Duration::from_millis(200));
    assert_eq!(runner.join().unwrap(), Exit::Stopped);
    for pid in read_pids(&pids) {
        assert!(dies(pid), "process {pid} survived");
    }
    assert_eq!(
        run(&ShellCommand::sh("true"), groups, |_, _| ()).unwrap(),
        Exit::Stopped
    );
}

#[test]
fn background_leftovers_do_not_outlive_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let mut cmd = ShellCommand::sh(format!("sleep 100 & echo $! > {}", pids.display()));
    cmd.grace = Duration::from_millis(200);
    assert_eq!(
        run(&cmd, &Groups::default(), |_, _| ()).unwrap(),
        Exit::Code(0)
    );
    for pid in read_pids(&pids) {
        assert!(dies(pid), "process {pid} survived");
    }
}
