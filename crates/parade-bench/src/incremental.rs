//! `parade-bench incremental`: what a rerun costs when (almost) nothing changed.
//!
//! A generated project of 1,000 tasks, each concatenating its own 10 source files into one
//! object (`src/t<i>/f<j>.c` → `out/t<i>.o`), and a last task joining the objects into
//! `out/all`. The same build is written as a `parade.toml` (`sources`/`outputs`), a `Makefile`
//! and a `build.ninja`. After one full build each, measured side by side:
//!
//! * `no-op`: a rerun with nothing changed (parade checks content hashes through its stat fast
//!   path; make and ninja compare mtimes). Target: parade within ninja's time.
//! * `one file changed`: one source file's content changes, then a rerun (one task and the
//!   join run again).
//!
//! Peers that are not installed are reported as "not run"; nothing is installed here.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::cli::parade_binary;
use crate::report::Report;

/// Sources per task.
const FILES: usize = 10;

/// Runs the `incremental` benchmark.
pub fn run(out: &mut Report, quick: bool) {
    let n: usize = if quick { 100 } else { 1000 };
    let runs = if quick { 2 } else { 5 };
    let Some(parade) = parade_binary() else {
        out.note("cannot find or build the `parade` binary");
        return;
    };
    let dir = std::env::temp_dir().join(format!("parade-bench-incr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    generate(&dir, n);
    let parade_cmd = |dir: &Path| {
        let mut c = Command::new(&parade);
        c.args(["run", "all", "-j", "2", "--output", "plain"])
            .current_dir(dir);
        c
    };
    let mut peers: Vec<(&str, Command)> = vec![("parade run", parade_cmd(&dir))];
    for (name, program, args) in [
        ("ninja", "ninja", vec!["-j", "2", "out/all"]),
        ("make", "make", vec!["-s", "-j", "2", "out/all"]),
    ] {
        if Command::new(program).arg("--version").output().is_ok() {
            let mut c = Command::new(program);
            c.args(args).current_dir(&dir);
            peers.push((name, c));
        } else {
            out.note(&format!("{name}: not run (`{program}` is not installed)"));
        }
    }
    for (name, cmd) in &mut peers {
        assert!(
            quiet(cmd),
            "the full build with {name} failed in {}",
            dir.display()
        );
    }
    let noop = format!("no-op rerun, {n} tasks x {FILES} files");
    for (name, cmd) in &mut peers {
        out.measure(&noop, name, n as u64, runs, || {
            assert!(quiet(cmd), "{name} failed");
        });
    }
    let changed = format!("rerun after 1 of {} files changed", n * FILES);
    let file = dir.join(format!("src/t{}/f3.c", n / 2));
    for (name, cmd) in &mut peers {
        let mut round = 0;
        out.measure(&changed, name, n as u64, runs, || {
            round += 1;
            std::fs::write(
                &file,
                format!("int changed_{name}_{round};\n").replace(' ', "_"),
            )
            .unwrap();
            assert!(quiet(cmd), "{name} failed");
        });
    }
    if let (Some(p), Some(k)) = (out.find(&noop, "parade run"), out.find(&noop, "ninja")) {
        out.note(&format!(
            "no-op: parade takes {:.2}x ninja's time (target: 1.0x or less)",
            p / k
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `cmd` with its output dropped; whether it succeeded.
fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes the sources and the three build files for `n` tasks under `dir`.
fn generate(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("out")).expect("a temporary directory");
    for i in 0..n {
        let d = dir.join(format!("src/t{i}"));
        std::fs::create_dir_all(&d).expect("a source directory");
        for j in 0..FILES {
            std::fs::write(d.join(format!("f{j}.c")), format!("int t{i}_f{j};\n"))
                .expect("a source file");
        }
    }
    std::fs::write(dir.join("parade.toml"), task_file(n)).expect("parade.toml");
    std::fs::write(dir.join("Makefile"), makefile(n)).expect("Makefile");
    std::fs::write(dir.join("build.ninja"), ninja_file(n)).expect("build.ninja");
}

fn task_file(n: usize) -> String {
    let values: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    format!(
        "[task.\"obj::[i]\"]\nchoices = {{ i = [{}] }}\n\
         run = \"cat src/t{{i}}/*.c > out/t{{i}}.o\"\n\
         sources = [\"src/t{{i}}/*.c\"]\noutputs = [\"out/t{{i}}.o\"]\n\n\
         [task.all]\ndeps = [\"obj::*\"]\nrun = \"cat out/t*.o > out/all\"\n\
         sources = [\"out/t*.o\"]\noutputs = [\"out/all\"]\n",
        values.join(", ")
    )
}

fn sources(i: usize) -> String {
    (0..FILES)
        .map(|j| format!("src/t{i}/f{j}.c"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn makefile(n: usize) -> String {
    let objs: Vec<String> = (0..n).map(|i| format!("out/t{i}.o")).collect();
    let mut m = format!("out/all: {}\n\tcat $^ > $@\n\n", objs.join(" "));
    for i in 0..n {
        let _ = write!(m, "out/t{i}.o: {}\n\tcat $^ > $@\n", sources(i));
    }
    m
}

fn ninja_file(n: usize) -> String {
    let objs: Vec<String> = (0..n).map(|i| format!("out/t{i}.o")).collect();
    let mut m = String::from("rule cat\n  command = cat $in > $out\n\n");
    for i in 0..n {
        let _ = writeln!(m, "build out/t{i}.o: cat {}", sources(i));
    }
    let _ = writeln!(m, "build out/all: cat {}", objs.join(" "));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_build_files_describe_the_same_build() {
        assert_eq!(makefile(3).matches("cat $^").count(), 4);
        assert_eq!(ninja_file(3).matches("build ").count(), 4);
        assert!(task_file(3).contains("i = [0, 1, 2]"));
        assert_eq!(sources(1).split(' ').count(), FILES);
    }
}
