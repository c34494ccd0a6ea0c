//! `parade-bench cli`: the `parade` command against `make`, and the time of `parade list`.
//!
//! * `fan-out/fan-in`: 1,000 tasks running `true` — `root`, then 998 `work::[i]` that need it,
//!   then `sink` needing them all — through `parade run -j 2` (plain output to a null device,
//!   logs written as usual) and the same graph as a generated Makefile through `make -j 2`.
//!   The target is parade within 1.3x of make.
//! * `list`: `parade list` on a task file of 1,000 tasks (target: under 50 ms).
//!
//! Both task files are generated in a temporary directory. The `parade` binary is the one
//! next to `parade-bench` in the target directory (`cargo run --release -p parade-bench -- cli`
//! finds `target/release/parade`); when it is missing, this builds it with
//! `cargo build -p parade-cli` in the same profile first.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::report::Report;

/// Runs the `cli` benchmark.
pub fn run(out: &mut Report, quick: bool) {
    let n: usize = if quick { 200 } else { 1000 };
    let runs = if quick { 1 } else { 3 };
    let Some(parade) = parade_binary() else {
        out.note("cannot find or build the `parade` binary");
        return;
    };
    let dir = std::env::temp_dir().join(format!("parade-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(dir.join("parade.toml"), fan_task_file(n)).expect("write the task file");
    std::fs::write(dir.join("Makefile"), fan_makefile(n)).expect("write the Makefile");

    let case = format!("fan-out/fan-in {n} x true -j2");
    out.measure(&case, "parade run", n as u64, runs, || {
        let _ = std::fs::remove_dir_all(dir.join(".parade"));
        let ok = Command::new(&parade)
            .args(["run", "sink", "-j", "2", "--output", "plain"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "parade run failed in {}", dir.display());
    });
    let make = Command::new("make").arg("--version").output().is_ok();
    if make {
        out.measure(&case, "make", n as u64, runs, || {
            let ok = Command::new("make")
                .args(["-s", "-j", "2", "sink"])
                .current_dir(&dir)
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "make failed in {}", dir.display());
        });
        if let (Some(p), Some(m)) = (out.find(&case, "parade run"), out.find(&case, "make")) {
            out.note(&format!(
                "parade run takes {:.2}x the time of make -j 2 (target: 1.3x or less)",
                p / m
            ));
        }
    } else {
        out.note("`make` is not installed: no comparison");
    }

    std::fs::write(dir.join("parade.toml"), flat_task_file(n)).expect("write the task file");
    let case = format!("list {n} tasks");
    let secs = out.measure(&case, "parade list", n as u64, runs.max(5), || {
        let ok = Command::new(&parade)
            .arg("list")
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "parade list failed");
    });
    out.note(&format!(
        "parade list: {:.1} ms (target: under 50 ms)",
        secs * 1000.0
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `root`, `work::[i]` for `n - 2` values of `i` needing `root`, and `sink` needing them all.
fn fan_task_file(n: usize) -> String {
    let values: Vec<String> = (0..n - 2).map(|i| i.to_string()).collect();
    format!(
        "[task.root]\nrun = \"true\"\n\n\
         [task.\"work::[i]\"]\nchoices = {{ i = [{}] }}\ndeps = [\"root\"]\nrun = \"true\"\n\n\
         [task.sink]\ndeps = [\"work::*\"]\nrun = \"true\"\n",
        values.join(", ")
    )
}

/// The same graph for `make`: phony targets, each running `true`.
fn fan_makefile(n: usize) -> String {
    let work: Vec<String> = (0..n - 2).map(|i| format!("work{i}")).collect();
    let mut m = format!(".PHONY: root sink {}\n\nroot:\n\ttrue\n\n", work.join(" "));
    for w in &work {
        let _ = write!(m, "{w}: root\n\ttrue\n");
    }
    let _ = write!(m, "\nsink: {}\n\ttrue\n", work.join(" "));
    m
}

/// `n` independent plain tasks with a description each.
fn flat_task_file(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let _ = write!(
            s,
            "[task.t{i}]\ndescription = \"task number {i}\"\nrun = \"echo {i}\"\n\n"
        );
    }
    s
}

/// The `parade` binary beside this one, built first if it is missing.
pub(crate) fn parade_binary() -> Option<PathBuf> {
    let here = std::env::current_exe().ok()?;
    let dir = here.parent()?;
    let parade = dir.join("parade");
    if parade.is_file() {
        return Some(parade);
    }
    let release = dir.file_name().is_some_and(|d| d == "release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cargo_build = Command::new(cargo);
    cargo_build.args(["build", "-p", "parade-cli"]);
    if release {
        cargo_build.arg("--release");
    }
    let built = cargo_build
        .current_dir(workspace_root())
        .status()
        .is_ok_and(|s| s.success());
    (built && parade.is_file()).then_some(parade)
}

fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_have_n_tasks() {
        assert_eq!(fan_makefile(10).matches("\ttrue").count(), 10);
        assert!(fan_task_file(10).contains("i = [0, 1, 2, 3, 4, 5, 6, 7]"));
        assert_eq!(flat_task_file(3).matches("[task.").count(), 3);
    }
}
