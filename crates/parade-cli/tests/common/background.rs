//! `parade` started in the background by a test: how long it may take to exit (a bound, not a
//! timing), what it wrote on a piped stderr, and the processes of its tasks ended by pid when
//! a test gives up on it. It knows nothing of task files.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Waits for `child` to exit, for at most `limit` (generous: a bound, not a timing).
pub fn exits_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`exits_within`], and when `child` did not exit in time: kills it and the processes `left`
/// (its tasks'), so a failing test leaves nothing running.
pub fn exits_or_ends(child: &mut Child, limit: Duration, left: &[i32]) -> Option<ExitStatus> {
    let status = exits_within(child, limit);
    if status.is_none() {
        let _ = child.kill();
        cleanup(left);
    }
    status
}

/// The pid of `child`, for signals.
pub fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap())
}

/// Kills what a failed test left (by pid).
pub fn cleanup(all: &[i32]) {
    for &pid in all {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Everything `child` wrote on its piped stderr (read to the end: call it once it exited).
pub fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

/// Starts `cmd` (a `parade` command) with its stdout discarded and its stderr piped, for
/// [`stderr_of`].
pub fn start(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Asserts that each of `pids` is gone within the bound of [`dies`](super::dies); `after`
/// says what should have ended them, for the failure's message.
#[track_caller]
pub fn all_die(pids: &[i32], after: &str) {
    for &pid in pids {
        assert!(super::dies(pid), "process {pid} survived {after}");
    }
}
