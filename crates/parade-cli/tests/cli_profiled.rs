//! `parade run` can be profiled: under valgrind (the tool callgrind and memcheck measurements
//! of this project are taken with) a run that spawns tasks goes to its end. It died at its
//! first spawn when the spawn's start-time reading went through rustix's own vDSO and
//! auxiliary-vector code, which reads a page valgrind has not mapped. Skipped, with a reason,
//! where valgrind is not installed.

mod common;

use std::process::Command;

use common::{Project, task_file, tool_runs};

#[test]
fn a_run_that_spawns_tasks_goes_to_its_end_under_valgrind() {
    if !tool_runs("valgrind", "--version") {
        eprintln!("SKIPPED: no valgrind on PATH (Debian: apt-get install -y valgrind)");
        return;
    }
    let p = Project::new(&task_file(&[
        ("a", "echo a > a.txt", &[]),
        ("b", "cat a.txt > b.txt", &["a"]),
    ]));
    // `--tool=none` runs the program on valgrind's core alone: what any tool runs on.
    let out = Command::new("valgrind")
        .args(["--tool=none", "--quiet", "--error-exitcode=99"])
        .arg(assert_cmd::cargo::cargo_bin("parade"))
        .args(["run", "b", "-j", "2", "--output", "plain"])
        .current_dir(p.dir.path())
        .output()
        .expect("valgrind runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "parade under valgrind: {out:?}\n{text}"
    );
    assert!(text.contains("2 succeeded"), "{text}");
    let b = std::fs::read_to_string(p.path("b.txt")).expect("b ran after a");
    assert_eq!(b, "a\n");
}
