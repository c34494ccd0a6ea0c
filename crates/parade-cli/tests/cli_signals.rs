//! Ctrl-C and SIGTERM sent to the `parade` process: nothing new starts, every running task's
//! process group is terminated (killed after the grace period when it ignores SIGTERM), the
//! summary is printed, the exit status is 130, and no process is left.

mod common;

use common::{Project, dies, pids};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Two tasks that ignore SIGTERM (as do their children) and write their pids; a third that
/// would run after them.
const STUBBORN: &str = r#"
[settings]
grace = "300ms"

[task."hold::[n]"]
choices = { n = ["1", "2"] }
run = "trap '' TERM; sh -c \"trap '' TERM; sleep 100\" & echo $$ $! > pids-{n}.txt; wait"

[task.after]
deps = ["hold::*"]
run = "touch after"
"#;

fn interrupt_with(signal: Signal) {
    let p = Project::new(STUBBORN);
    let child = p
        .spawn_parade(&["run", "after", "--output", "plain"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut all = pids(&p.wait_for("pids-1.txt"));
    all.extend(pids(&p.wait_for("pids-2.txt")));
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), signal).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("cancelled"), "no summary: {stderr}");
    for pid in all {
        assert!(dies(pid), "process {pid} survived");
    }
    assert!(!p.path("after").exists());
}

#[test]
fn ctrl_c_terminates_every_task_group_and_exits_130() {
    interrupt_with(Signal::SIGINT);
}

#[test]
fn sigterm_does_the_same() {
    interrupt_with(Signal::SIGTERM);
}
