//! Faults of real life around `parade run`: the terminal goes away (SIGHUP, then writes fail),
//! stderr is a closed pipe, a second Ctrl-C, a task whose processes escape with `setsid`, and
//! `parade` itself killed with `kill -9`. Each ends with no process of the tasks left.
//!
//! Tests that depend on how processes are kept together run under both mechanisms
//! (`PARADE_ISOLATION=cgroup`, which falls back where the machine has no usable cgroup v2,
//! and `process-group`).

mod common;

use std::io::Read;
use std::os::fd::AsFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::background::{all_die, cleanup, exits_or_ends, pid_of, start, stderr_of};
use common::{Project, alive, dies, pids};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};

/// A task that runs long, with a child, and writes both pids.
const LONG: &str = r#"
[settings]
grace = "500ms"

[task.long]
run = "sleep 300 & echo $$ $! > pids.txt; wait"
"#;

#[test]
fn closing_the_terminal_stops_the_run_and_its_tasks() {
    let p = Project::new(LONG);
    // Not inherited: a copy of the master side in parade would keep the terminal open.
    let pty = common::pty::terminal(120, 40);
    // `setsid -c`: parade leads a session whose controlling terminal is the pty, as in a
    // terminal window or tmux; closing the master side hangs it up (SIGHUP).
    let mut cmd = std::process::Command::new("setsid");
    cmd.arg("-c")
        .arg(assert_cmd::cargo::cargo_bin("parade"))
        .args(["run", "long"])
        .current_dir(p.dir.path())
        .env("TERM", "xterm")
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave));
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // the only other holder of the terminal's slave side
    let mut master = std::fs::File::from(pty.master);
    // Read the screen until the task runs (the live display redraws), then close the terminal.
    let reader = std::thread::spawn({
        let pids = p.path("pids.txt");
        move || {
            let mut buf = [0u8; 4096];
            let until = Instant::now() + Duration::from_secs(60);
            while !pids.exists() && Instant::now() < until {
                let ready = {
                    let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
                    poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0)
                };
                if ready > 0 && master.read(&mut buf).unwrap_or(0) == 0 {
                    break;
                }
            }
            drop(master);
        }
    });
    let all = pids(&p.wait_for("pids.txt"));
    reader.join().unwrap();
    let status = exits_or_ends(&mut child, Duration::from_secs(30), &all)
        .expect("parade outlived its terminal");
    // Not 101 (a panic writing to the dead terminal): stopped by the hangup.
    assert_eq!(status.code(), Some(130), "{status:?}");
    all_die(&all, "the closed terminal");
}

#[test]
fn a_closed_stderr_does_not_keep_sigterm_from_stopping_the_run() {
    let p = Project::new(LONG);
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read); // `parade run ... 2>&1 | head -c3` once head is gone
    let mut child = p
        .spawn_parade(&["run", "long", "--output", "plain"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(write))
        .spawn()
        .unwrap();
    let all = pids(&p.wait_for("pids.txt"));
    kill(pid_of(&child), Signal::SIGTERM).unwrap();
    let status = exits_or_ends(&mut child, Duration::from_secs(30), &all)
        .expect("SIGTERM did not stop the run");
    assert_eq!(status.code(), Some(130), "{status:?}");
    all_die(&all, "the stopped run");
}

#[test]
fn a_second_ctrl_c_kills_at_once() {
    // Everything ignores SIGTERM, and the grace period is far longer than the bound below.
    let p = Project::new(
        r#"
[settings]
grace = "120s"

[task.stubborn]
run = "trap '' TERM; sh -c \"trap '' TERM; sleep 300\" & echo $$ $! > pids.txt; wait"
"#,
    );
    let mut child = start(&mut p.spawn_parade(&["run", "stubborn", "--output", "plain"]));
    let all = pids(&p.wait_for("pids.txt"));
    kill(pid_of(&child), Signal::SIGINT).unwrap();
    // The first one is seen (the run is stopping) before the second is sent.
    std::thread::sleep(Duration::from_millis(300));
    assert!(all.iter().all(|&pid| alive(pid)), "SIGTERM is ignored");
    kill(pid_of(&child), Signal::SIGINT).unwrap();
    let status = exits_or_ends(&mut child, Duration::from_secs(60), &all)
        .expect("a second Ctrl-C did not end the run before the grace period");
    let stderr = stderr_of(&mut child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("SIGKILL"), "{stderr}");
    all_die(&all, "the stopped run");
}

/// Whether the `--verbose` output of a run says it keeps tasks in cgroups.
fn uses_cgroups(stderr: &str) -> bool {
    stderr.contains("isolation: a cgroup v2 per task")
}

fn setsid_escape_ends_within_the_grace(mode: &str) {
    let p = Project::new(
        r#"
[settings]
grace = "2s"

[task.escape]
run = "setsid sh -c 'echo $$ > a.tmp; mv a.tmp a.txt; exec sleep 300' & while [ ! -e a.txt ]; do sleep 0.01; done; echo started"
timeout = "1s"

[task.escape_and_wait]
run = "setsid sh -c 'echo $$ > b.tmp; mv b.tmp b.txt; exec sleep 300' & sleep 300"
timeout = "1s"
"#,
    );
    let mut child = start(
        p.spawn_parade(&[
            "run",
            "escape",
            "escape_and_wait",
            "--output",
            "plain",
            "--verbose",
        ])
        .env("PARADE_ISOLATION", mode),
    );
    let mut escaped = pids(&p.wait_for("a.txt"));
    escaped.extend(pids(&p.wait_for("b.txt")));
    // The escaped processes hold the tasks' output open for 300 s: the run must not wait
    // for them past the timeout and its grace period (3 s here; the bound is generous).
    let status = exits_or_ends(&mut child, Duration::from_secs(60), &escaped);
    assert!(status.is_some(), "the run waited for the escaped process");
    let stderr = stderr_of(&mut child);
    assert!(stderr.contains("isolation:"), "{stderr}");
    all_die(&escaped, &format!("its escape ({mode}): {stderr}"));
}

#[test]
fn a_setsid_escape_ends_within_the_grace_with_cgroups() {
    setsid_escape_ends_within_the_grace("cgroup");
}

#[test]
fn a_setsid_escape_ends_within_the_grace_with_process_groups() {
    setsid_escape_ends_within_the_grace("process-group");
}

fn kill_9_leftovers_are_ended_by_the_next_run(mode: &str) {
    let p = Project::new(&common::task_file(&[
        ("long", "sleep 300 & echo $$ $! > pids.txt; wait", &[]),
        ("quick", "true", &[]),
    ]));
    let mut first = start(
        p.spawn_parade(&["run", "long", "--output", "plain", "--verbose"])
            .env("PARADE_ISOLATION", mode),
    );
    let all = pids(&p.wait_for("pids.txt"));
    // The task runs before parade has noted it (the record follows the spawn): wait for it.
    let run_file = p.path(&format!(".parade/runs/{}.run", first.id()));
    let until = Instant::now() + Duration::from_secs(60);
    // With cgroups, the record that names the task's cgroup (made a moment after it starts).
    let noted = |t: &str| {
        t.contains(r#""task":"long""#)
            && (!t.contains(r#""isolation":"cgroup""#) || t.contains(r#""cgroup":"/"#))
    };
    while !std::fs::read_to_string(&run_file).is_ok_and(|t| noted(&t)) {
        assert!(Instant::now() < until, "the run file never named the task");
        std::thread::sleep(Duration::from_millis(5));
    }
    kill(pid_of(&first), Signal::SIGKILL).unwrap();
    first.wait().unwrap();
    let first_err = stderr_of(&mut first);
    // Reparented to init, the task runs on without parade.
    std::thread::sleep(Duration::from_millis(100));
    assert!(all.iter().all(|&pid| alive(pid)), "{first_err}");
    let out = p
        .parade(&["run", "quick", "--output", "plain", "--verbose"])
        .env("PARADE_ISOLATION", mode)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ended = all.iter().all(|&pid| dies(pid));
    if !ended {
        cleanup(&all);
    }
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("died with 1 task running; ended what it left: long"),
        "{stderr}"
    );
    assert!(ended, "the leftovers of the killed run survived: {stderr}");
    assert_eq!(uses_cgroups(&first_err), uses_cgroups(&stderr));
    // Said once: the dead run's file is gone.
    let again = p
        .parade(&["run", "quick", "--output", "plain"])
        .env("PARADE_ISOLATION", mode)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&again.stderr).contains("died with"));
}

#[test]
fn kill_9_leftovers_are_ended_by_the_next_run_with_cgroups() {
    kill_9_leftovers_are_ended_by_the_next_run("cgroup");
}

#[test]
fn kill_9_leftovers_are_ended_by_the_next_run_with_process_groups() {
    kill_9_leftovers_are_ended_by_the_next_run("process-group");
}

#[test]
fn short_tasks_side_by_side_are_never_taken_for_escaped_ones() {
    // A child being spawned holds every pipe of parade until its `exec`: a task that ends
    // meanwhile must not take it for a process that escaped with its output.
    let n = 500;
    let values: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let p = Project::new(&format!(
        "[task.\"t::[i]\"]\nchoices = {{ i = [{}] }}\nrun = \"true\"\n",
        values.join(", ")
    ));
    for mode in ["cgroup", "process-group"] {
        let out = p
            .parade(&["run", "t::*", "-j", "4", "--output", "plain"])
            .env("PARADE_ISOLATION", mode)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{mode}: {}",
            stderr
                .lines()
                .filter(|l| l.contains('✗'))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(
            stderr.contains(&format!("{n} succeeded")),
            "{mode}: {stderr}"
        );
    }
}
