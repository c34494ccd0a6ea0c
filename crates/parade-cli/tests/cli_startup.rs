//! What a command that only reads the task file pays before and after reading it: `check`,
//! `list`, `graph` and a dry run start no thread and read no cgroup CPU limits (a flow that
//! only plans runs nothing, so it needs neither), and only a dry run opens a store. Counted
//! from the system calls of the real binary under `strace -f`, not timed.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Project, task_file, tool_runs};

/// The thread starts and file opens of `parade ARGS` in `p` (every thread followed), one
/// call a line; the command's success checked.
fn traced(p: &Project, args: &[&str]) -> String {
    let trace = p.path("trace.txt");
    let out = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=clone,clone3,fork,vfork,open,openat",
            "-o",
        ])
        .arg(&trace)
        .arg(assert_cmd::cargo::cargo_bin("parade"))
        .args(args)
        .current_dir(p.dir.path())
        .output()
        .expect("strace runs");
    assert!(out.status.success(), "parade {args:?}: {out:?}");
    let text = std::fs::read_to_string(&trace).expect("the trace is written");
    let _ = std::fs::remove_file(&trace);
    text
}

/// The system call a line of `strace -f -o` names: `PID name(args) = r`, or
/// `PID <... name resumed> ...` for a call another thread interrupted.
fn call_of(line: &str) -> &str {
    let rest = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
    let rest = rest.strip_prefix("<... ").unwrap_or(rest);
    rest.split(['(', ' ']).next().unwrap_or("")
}

/// The lines of `trace` whose system call is one of `calls` (not a path that happens to
/// hold the word: a checkout in `ci-clone/` opens files whose paths say "clone").
fn calls_in<'a>(trace: &'a str, calls: &[&str]) -> Vec<&'a str> {
    trace
        .lines()
        .filter(|l| calls.contains(&call_of(l)))
        .collect()
}

/// The lines of `trace` that mention any of `words`.
fn lines_with<'a>(trace: &'a str, words: &[&str]) -> Vec<&'a str> {
    trace
        .lines()
        .filter(|l| words.iter().any(|w| l.contains(w)))
        .collect()
}

#[test]
fn a_trace_line_is_judged_by_its_call_not_its_path() {
    let trace = "12 openat(AT_FDCWD, \"/work/ci-clone/x.so\", O_RDONLY) = 3\n\
                 12 clone3({flags=CLONE_VM}, 88) = 13\n\
                 13 <... clone resumed>, child_tidptr=0x7f) = 14\n";
    assert_eq!(calls_in(trace, &["clone", "clone3"]).len(), 2);
    assert_eq!(call_of("12 openat(AT_FDCWD, \"a\") = 3"), "openat");
}

#[test]
fn reading_commands_start_no_thread_and_read_no_cgroup_limits() {
    if !tool_runs("strace", "-V") {
        eprintln!("SKIPPED: no strace on PATH (Debian: apt-get install -y strace)");
        return;
    }
    let p = Project::new(&task_file(&[
        ("a", "true", &[]),
        ("b", "echo b", &["a"]),
        ("c", "echo c", &["a", "b"]),
    ]));
    for args in [
        &["check"][..],
        &["list"],
        &["list", "--expand"],
        &["graph", "c"],
        &["run", "--dry-run", "c"],
    ] {
        let trace = traced(&p, args);
        // The trace saw the command at work: it opened its task file.
        assert!(
            !lines_with(&trace, &["parade.toml"]).is_empty(),
            "{args:?}: the task file's open is traced:\n{trace}"
        );
        let threads = calls_in(&trace, &["clone", "clone3", "fork", "vfork"]);
        assert!(threads.is_empty(), "{args:?} starts threads: {threads:#?}");
        let limits: Vec<&str> = calls_in(&trace, &["open", "openat"])
            .into_iter()
            .filter(|l| {
                [
                    "/proc/self/cgroup",
                    "/sys/fs/cgroup",
                    "cpu.max",
                    "cpu.cfs_quota_us",
                ]
                .iter()
                .any(|w| l.contains(w))
            })
            .collect();
        assert!(limits.is_empty(), "{args:?} reads CPU limits: {limits:#?}");
        if args[0] != "run" {
            let store = lines_with(&trace, &["state.db"]);
            assert!(store.is_empty(), "{args:?} opens the store: {store:#?}");
        }
    }
    assert!(
        !Path::new(&p.path(".parade/state.db")).exists(),
        "nothing made a store"
    );
}
