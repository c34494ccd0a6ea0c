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
//! Peers that are not installed are reported as "not run"; nothing is installed here. Rounds
//! are interleaved (every peer once per round) and each peer's median is recorded;
//! `PARADE_BENCH_BASELINE` names an earlier parade binary to measure beside this one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::parade_binary;
use crate::report::Report;

/// Sources per task.
const FILES: usize = 10;

/// Runs the `incremental` benchmark: the peers' rounds interleaved (each round runs every
/// peer once, so a load spike falls on all of them), the median of the rounds recorded.
/// `PARADE_BENCH_BASELINE=/path/to/parade` adds an earlier build of parade as a peer (in a
/// project of its own, as its keys may differ), for before/after figures in one run.
pub fn run(out: &mut Report, quick: bool) {
    let n: usize = if quick { 100 } else { 1000 };
    let rounds = if quick { 2 } else { 9 };
    let Some(parade) = parade_binary() else {
        out.note("cannot find or build the `parade` binary");
        return;
    };
    let dir = std::env::temp_dir().join(format!("parade-bench-incr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    generate(&dir, n);
    let parade_cmd = |program: &Path, dir: &Path| {
        let mut c = Command::new(program);
        c.args(["run", "all", "-j", "2", "--output", "plain"])
            .current_dir(dir);
        c
    };
    // Each peer with the file it changes in the second case.
    let mut peers: Vec<(String, Command, PathBuf)> = vec![(
        "parade run".to_owned(),
        parade_cmd(&parade, &dir),
        dir.clone(),
    )];
    let baseline_dir = dir.with_extension("baseline");
    if let Some(baseline) = std::env::var_os("PARADE_BENCH_BASELINE") {
        let _ = std::fs::remove_dir_all(&baseline_dir);
        generate(&baseline_dir, n);
        peers.push((
            "parade run (baseline)".to_owned(),
            parade_cmd(Path::new(&baseline), &baseline_dir),
            baseline_dir.clone(),
        ));
    }
    for (name, program, args) in [
        ("ninja", "ninja", vec!["-j", "2", "out/all"]),
        ("make", "make", vec!["-s", "-j", "2", "out/all"]),
    ] {
        if Command::new(program).arg("--version").output().is_ok() {
            let mut c = Command::new(program);
            c.args(args).current_dir(&dir);
            peers.push((name.to_owned(), c, dir.clone()));
        } else {
            out.note(&format!("{name}: not run (`{program}` is not installed)"));
        }
    }
    for (name, cmd, at) in &mut peers {
        assert!(
            quiet(cmd),
            "the full build with {name} failed in {}",
            at.display()
        );
    }
    let noop = format!("no-op rerun, {n} tasks x {FILES} files");
    let times = interleaved(rounds, &mut peers, |_, _, _| ());
    record(out, &noop, n, &peers, &times);
    let changed = format!("rerun after 1 of {} files changed", n * FILES);
    let times = interleaved(rounds, &mut peers, |name, at, round| {
        std::fs::write(
            at.join(format!("src/t{}/f3.c", n / 2)),
            format!("int changed_{name}_{round};\n").replace(' ', "_"),
        )
        .unwrap();
    });
    record(out, &changed, n, &peers, &times);
    if let (Some(p), Some(k)) = (out.find(&noop, "parade run"), out.find(&noop, "ninja")) {
        out.note(&format!(
            "no-op: parade takes {:.2}x ninja's time (target: 1.0x or less; medians of {rounds} interleaved rounds)",
            p / k
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&baseline_dir);
}

/// Runs every peer once per round, `before` each run (with the peer's name, project and the
/// round); returns each peer's times.
fn interleaved(
    rounds: usize,
    peers: &mut [(String, Command, PathBuf)],
    mut before: impl FnMut(&str, &Path, usize),
) -> Vec<Vec<Duration>> {
    let mut times = vec![Vec::new(); peers.len()];
    for round in 0..rounds.max(1) {
        for (i, (name, cmd, at)) in peers.iter_mut().enumerate() {
            before(name, at, round);
            let start = Instant::now();
            assert!(quiet(cmd), "{name} failed");
            times[i].push(start.elapsed());
        }
    }
    times
}

/// Records each peer's median time for `case`, and notes its fastest and slowest round.
fn record(
    out: &mut Report,
    case: &str,
    n: usize,
    peers: &[(String, Command, PathBuf)],
    times: &[Vec<Duration>],
) {
    for ((name, ..), t) in peers.iter().zip(times) {
        let mut t = t.clone();
        t.sort();
        let median = crate::report::median(&t);
        out.record(case, name, n as u64, median);
        out.note(&format!(
            "{case}: {name}: median {:.1} ms, fastest {:.1} ms, slowest {:.1} ms",
            median.as_secs_f64() * 1e3,
            t[0].as_secs_f64() * 1e3,
            t[t.len() - 1].as_secs_f64() * 1e3
        ));
    }
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
