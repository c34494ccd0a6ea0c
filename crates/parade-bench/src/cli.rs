//! `parade-bench cli`: the `parade` command against the spawn floor, `make` and `ninja`, and
//! the time of `parade list`.
//!
//! Three graphs of 1,000 tasks running `true` at `-j 2`, each as a task file, a Makefile and a
//! `build.ninja`, beside the floor:
//! * `fan-out`: `root`, then 998 `work::[i]` that need it, then `sink` needing them all;
//! * `chain`: `c0` ... `c999`, each needing the one before;
//! * `layered`: 10 layers of 100, each task needing every task of the layer before.
//!
//! The floor is this program's own tight loop: two threads that `posix_spawn` `/bin/sh -c
//! true` and wait for it, layer by layer (what any runner of the graph must at least do).
//! parade runs with plain output to a null device and logs written as usual, twice: as a user
//! runs it (`true` is a simple command, run without `sh` as make runs it) and with
//! `PARADE_FORCE_SHELL=1` (every task through `sh -e -c`, as the floor). Targets: parade
//! within 1.05x the floor, at or ahead of make and ninja. Rounds are interleaved (each round
//! runs every implementation once) and the best round counts, the median printed beside it
//! (`Report::rounds`, as every comparison here). A peer that is not installed
//! is reported as "not run".
//!
//! Each graph also prints each run's CPU seconds (the median of its rounds: the runner's and
//! its tasks', from `/proc/self/stat`), a figure the machine's other load moves less than
//! the clock, with the microseconds per task each spends over the floor.
//!
//! `list`: `parade list` on a task file of 1,000 tasks (target: under 50 ms).
//!
//! `throughput`: one task printing 200 MB of 100-byte lines (`cat` of a file), run in each
//! `--output` mode with stdout and stderr to a null device, beside the floor (`sh -c 'cat
//! FILE' > LOG`: the same bytes to a file, nothing in between). It prints MB/s through to the
//! log, by the clock and per CPU-second of parade's own (all its threads: read by the task
//! from `/proc/$PPID/stat` as it ends). Target: 200 MB/s in every mode.
//! `PARADE_BENCH_BASELINE=/path/to/parade` measures an earlier parade beside this one, the
//! rounds interleaved (each round runs both), for before/after figures in one run (in the
//! three graphs too). `PARADE_BENCH_CLI=graphs` runs the three graphs alone, and a list of
//! graph names (`PARADE_BENCH_CLI=fan-out,chain`) those graphs alone.
//!
//! The files are generated in a temporary directory. The `parade` binary is the one next to
//! `parade-bench` in the target directory (`cargo run --release -p parade-bench -- cli` finds
//! `target/release/parade`); when it is missing, this builds it with `cargo build -p
//! parade-cli` in the same profile first.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::report::Report;

/// A graph as layers: every task of a layer needs every task of the layer before.
struct Graph {
    name: &'static str,
    layers: Vec<usize>,
}

impl Graph {
    fn tasks(&self) -> usize {
        self.layers.iter().sum()
    }

    /// The name of task `i` of layer `l`.
    fn task(l: usize, i: usize) -> String {
        format!("l{l}_{i}")
    }

    /// Each task of layer `l` with the names of what it needs.
    fn each(&self, mut f: impl FnMut(String, Vec<String>)) {
        for (l, &width) in self.layers.iter().enumerate() {
            for i in 0..width {
                let deps = if l == 0 {
                    Vec::new()
                } else {
                    (0..self.layers[l - 1])
                        .map(|j| Self::task(l - 1, j))
                        .collect()
                };
                f(Self::task(l, i), deps);
            }
        }
    }

    /// The tasks of the last layer (the targets).
    fn targets(&self) -> Vec<String> {
        let l = self.layers.len() - 1;
        (0..self.layers[l]).map(|i| Self::task(l, i)).collect()
    }

    fn task_file(&self) -> String {
        let mut s = String::new();
        self.each(|name, deps| {
            let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
            let _ = write!(
                s,
                "[task.{name}]\nrun = \"true\"\ndeps = [{}]\n\n",
                deps.join(", ")
            );
        });
        s
    }

    fn makefile(&self) -> String {
        let mut s = String::from(".PHONY: all\nall: ");
        s.push_str(&self.targets().join(" "));
        s.push_str("\n\n");
        let mut phony = Vec::new();
        self.each(|name, deps| {
            let _ = write!(s, "{name}: {}\n\ttrue\n", deps.join(" "));
            phony.push(name);
        });
        let _ = writeln!(s, ".PHONY: {}", phony.join(" "));
        s
    }

    /// Outputs never written: every edge is a real dependency and every task runs each time.
    fn ninja(&self) -> String {
        let mut s = String::from("rule t\n  command = true\n\n");
        self.each(|name, deps| {
            let _ = writeln!(s, "build {name}: t {}", deps.join(" "));
        });
        let _ = writeln!(s, "build all: phony {}", self.targets().join(" "));
        s
    }

    /// The floor: `jobs` threads, started once, each spawning `/bin/sh -c true` and waiting
    /// for it, layer by layer (a barrier between layers).
    fn floor(&self, jobs: usize) {
        let next: Vec<AtomicUsize> = self.layers.iter().map(|_| AtomicUsize::new(0)).collect();
        let barrier = Barrier::new(jobs);
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| {
                    for (l, &width) in self.layers.iter().enumerate() {
                        while next[l].fetch_add(1, Ordering::Relaxed) < width {
                            let ok = Command::new("/bin/sh")
                                .args(["-c", "true"])
                                .stdin(Stdio::null())
                                .stdout(Stdio::null())
                                .stderr(Stdio::null())
                                .status()
                                .is_ok_and(|s| s.success());
                            assert!(ok, "sh -c true failed");
                        }
                        barrier.wait();
                    }
                });
            }
        });
    }
}

/// One run of an implementation to time.
type Run<'a> = Box<dyn FnMut() + 'a>;

/// An implementation to time: its name and one run of it.
type Impl<'a> = (&'static str, Run<'a>);

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs the `cli` benchmark.
#[allow(clippy::too_many_lines)] // one sequence: files, rounds, notes per graph
pub fn run(out: &mut Report, quick: bool) {
    let n: usize = if quick { 200 } else { 1000 };
    let rounds = if quick { 1 } else { 5 };
    let Some(parade) = parade_binary() else {
        out.note("cannot find or build the `parade` binary");
        return;
    };
    let dir = std::env::temp_dir().join(format!("parade-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let graphs = [
        Graph {
            name: "fan-out",
            layers: vec![1, n - 2, 1],
        },
        Graph {
            name: "chain",
            layers: vec![1; n],
        },
        Graph {
            name: "layered",
            layers: vec![n / 10; 10],
        },
    ];
    let (make, ninja) = (installed("make"), installed("ninja"));
    let baseline = std::env::var_os("PARADE_BENCH_BASELINE").map(PathBuf::from);
    let only = std::env::var("PARADE_BENCH_CLI").unwrap_or_default();
    let picked: Vec<&str> = only
        .split(',')
        .filter(|g| graphs.iter().any(|k| k.name == *g))
        .collect();
    if let Some(unknown) = only
        .split(',')
        .find(|g| !g.is_empty() && *g != "graphs" && graphs.iter().all(|k| k.name != *g))
    {
        let known: Vec<&str> = graphs.iter().map(|g| g.name).collect();
        eprintln!(
            "parade-bench: unknown graph {unknown:?} in PARADE_BENCH_CLI; known: {}, or graphs \
             (all of them)",
            known.join(", ")
        );
        let _ = std::fs::remove_dir_all(&dir);
        std::process::exit(2);
    }
    for graph in graphs
        .iter()
        .filter(|g| picked.is_empty() || picked.contains(&g.name))
    {
        std::fs::write(dir.join("parade.toml"), graph.task_file()).expect("write the task file");
        std::fs::write(dir.join("Makefile"), graph.makefile()).expect("write the Makefile");
        std::fs::write(dir.join("build.ninja"), graph.ninja()).expect("write build.ninja");
        let mut targets = vec!["run".to_owned()];
        targets.extend(graph.targets());
        targets.extend(["-j", "2", "--output", "plain"].map(String::from));
        let quiet = |cmd: &mut Command| {
            let ok = cmd
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "{cmd:?} failed in {}", dir.display());
        };
        let mut impls: Vec<Impl<'_>> = vec![
            ("floor (posix_spawn)", Box::new(|| graph.floor(2))),
            (
                "parade run",
                Box::new(|| {
                    let _ = std::fs::remove_dir_all(dir.join(".parade"));
                    quiet(Command::new(&parade).args(&targets));
                }),
            ),
            (
                "parade run (sh forced)",
                Box::new(|| {
                    let _ = std::fs::remove_dir_all(dir.join(".parade"));
                    quiet(
                        Command::new(&parade)
                            .args(&targets)
                            .env("PARADE_FORCE_SHELL", "1"),
                    );
                }),
            ),
        ];
        if let Some(baseline) = baseline.as_deref() {
            let (dir, targets, quiet) = (&dir, &targets, &quiet);
            impls.push((
                "parade run (baseline)",
                Box::new(move || {
                    let _ = std::fs::remove_dir_all(dir.join(".parade"));
                    quiet(Command::new(baseline).args(targets));
                }),
            ));
        }
        if make {
            impls.push((
                "make",
                Box::new(|| quiet(Command::new("make").args(["-s", "-j", "2", "all"]))),
            ));
        }
        if ninja {
            impls.push((
                "ninja",
                Box::new(|| quiet(Command::new("ninja").args(["-j", "2", "all"]))),
            ));
        }
        let case = format!("{} {} x true -j2", graph.name, graph.tasks());
        // Each run's CPU seconds beside its time: the runner's and its tasks' together, a
        // figure the machine's other load moves far less than the clock.
        let mut runs: Vec<(&str, (Run<'_>, Vec<f64>))> = impls
            .into_iter()
            .map(|(name, run)| (name, (run, Vec::new())))
            .collect();
        out.rounds(
            &case,
            graph.tasks() as u64,
            rounds,
            &mut runs,
            |(run, cpu)| {
                let (before, start) = (cpu_so_far(), Instant::now());
                run();
                let took = start.elapsed();
                cpu.push(cpu_so_far() - before);
                took
            },
        );
        let cpu_ms: Vec<(&str, f64)> = runs
            .iter_mut()
            .map(|(name, (_, cpu))| {
                cpu.sort_by(f64::total_cmp);
                (*name, cpu[cpu.len() / 2] * 1000.0)
            })
            .collect();
        drop(runs);
        out.note(&cpu_note(&case, &cpu_ms, graph.tasks()));
        for (peer, there) in [("make", make), ("ninja", ninja)] {
            if !there {
                out.note(&format!(
                    "{case}: {peer}: not run ({peer} is not installed)"
                ));
            }
        }
        let secs = |who: &str| out.find(&case, who);
        if let (Some(p), Some(f)) = (secs("parade run"), secs("floor (posix_spawn)")) {
            let mut note = format!("{case}: parade {:.3}x the floor (target: 1.05x)", p / f);
            for peer in ["make", "ninja"] {
                if let Some(m) = secs(peer) {
                    let _ = write!(note, ", {:.3}x {peer}", p / m);
                }
            }
            if let Some(forced) = secs("parade run (sh forced)") {
                let _ = write!(note, "; with the shell forced {:.3}x the floor", forced / f);
            }
            if let Some(base) = secs("parade run (baseline)") {
                let _ = write!(note, "; the baseline {:.3}x the floor", base / f);
            }
            out.note(&note);
        }
    }

    if only == "graphs" || !picked.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    std::fs::write(dir.join("parade.toml"), flat_task_file(n)).expect("write the task file");
    let case = format!("list {n} tasks");
    let secs = out.measure(&case, "parade list", n as u64, rounds.max(5), || {
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
    throughput(out, &parade, &dir, quick);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux).
const TICKS: f64 = 100.0;

/// The `throughput` section (see the module doc).
fn throughput(out: &mut Report, parade: &Path, dir: &Path, quick: bool) {
    let lines: usize = if quick { 200_000 } else { 2_000_000 };
    let rounds = if quick { 1 } else { 3 };
    let bytes = lines * 100;
    let mut text = String::with_capacity(bytes);
    for i in 0..lines {
        let _ = writeln!(text, "{i:>10} {}", "x".repeat(88));
    }
    std::fs::write(dir.join("big.txt"), &text).expect("write the output file");
    drop(text);
    std::fs::write(
        dir.join("parade.toml"),
        "[task.big]\nrun = \"cat big.txt; cat /proc/$PPID/stat > cpu.txt\"\n",
    )
    .expect("write the task file");
    let case = format!("throughput {} MB", bytes / 1_000_000);
    let mb = f64::from(u32::try_from(bytes).unwrap_or(u32::MAX)) / 1e6;
    let floor = || {
        let start = Instant::now();
        let ok = Command::new("/bin/sh")
            .args(["-c", "cat big.txt > floor.log"])
            .current_dir(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cat failed");
        start.elapsed()
    };
    let mut notes = Vec::new();
    // The floor, this parade and, with PARADE_BENCH_BASELINE, an earlier one, their rounds
    // interleaved: each implementation the program it runs (none: the floor) and its least
    // CPU seconds.
    let mut peers = vec![("parade".to_owned(), Some(parade.to_path_buf()))];
    if let Some(baseline) = std::env::var_os("PARADE_BENCH_BASELINE") {
        peers.push((
            "parade (baseline)".to_owned(),
            Some(PathBuf::from(baseline)),
        ));
    }
    for (i, mode) in ["prefixed", "grouped", "live", "plain", "json"]
        .into_iter()
        .enumerate()
    {
        let mut impls: Vec<(String, (Option<PathBuf>, f64))> = peers
            .iter()
            .map(|(name, program)| {
                (
                    format!("{name} --output {mode}"),
                    (program.clone(), f64::MAX),
                )
            })
            .collect();
        // The floor once, in the first mode's rounds.
        if i == 0 {
            impls.insert(0, ("floor (cat > log)".to_owned(), (None, f64::MAX)));
        }
        let best = out.rounds(&case, bytes as u64, rounds, &mut impls, |(program, cpu)| {
            let Some(program) = program else {
                return floor();
            };
            let (took, secs) = throughput_round(program, dir, mode, bytes as u64);
            *cpu = cpu.min(secs);
            took
        });
        for ((name, (program, cpu)), best) in impls.iter().zip(&best) {
            notes.push(if program.is_some() {
                let name = name.replace(" --output", "");
                format!(
                    "{name} {:.0} MB/s ({:.0} per CPU-second)",
                    mb / best.as_secs_f64(),
                    mb / cpu
                )
            } else {
                format!("floor {:.0} MB/s", mb / best.as_secs_f64())
            });
        }
    }
    out.note(&format!(
        "{case} to the log (target: 200 MB/s): {}",
        notes.join(", ")
    ));
}

/// One run of `program` in `mode`: its time by the clock and parade's CPU seconds.
fn throughput_round(program: &Path, dir: &Path, mode: &str, bytes: u64) -> (Duration, f64) {
    let _ = std::fs::remove_dir_all(dir.join(".parade"));
    let start = Instant::now();
    let ok = Command::new(program)
        .args(["run", "big", "--output", mode])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let took = start.elapsed();
    assert!(ok, "{} run --output {mode} failed", program.display());
    let log = std::fs::metadata(dir.join(".parade/logs/latest/big.log")).map_or(0, |m| m.len());
    assert_eq!(log, bytes, "{mode}: the log holds everything");
    let cpu = std::fs::read_to_string(dir.join("cpu.txt"))
        .ok()
        .and_then(|stat| stat_cpu(&stat))
        .map_or(f64::NAN, |(own, _)| own);
    (took, cpu)
}

/// CPU seconds read from a `/proc/<pid>/stat` text: the process's own (all its threads) and
/// its waited-for descendants' (those it and they waited for).
fn stat_cpu(stat: &str) -> Option<(f64, f64)> {
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime, stime, cutime and cstime: fields 14 to 17, the 12th to 15th after the name.
    let tick = |i: usize| f.get(i)?.parse::<f64>().ok();
    Some((
        (tick(11)? + tick(12)?) / TICKS,
        (tick(13)? + tick(14)?) / TICKS,
    ))
}

/// This program's CPU seconds so far, its own and its waited-for descendants' (a `parade`
/// run and its tasks once it has ended), in clock ticks of 10 ms.
fn cpu_so_far() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| stat_cpu(&stat))
        .map_or(f64::NAN, |(own, descendants)| own + descendants)
}

/// The note of a graph's CPU per run (the median of its rounds), each implementation's in
/// milliseconds, the first being the floor's and each other's also as microseconds per task
/// over it.
fn cpu_note(case: &str, cpu_ms: &[(&str, f64)], tasks: usize) -> String {
    let mut note = format!("{case}: CPU per run, the runner's and its tasks' (median):");
    let floor = cpu_ms.first().map_or(f64::NAN, |(_, ms)| *ms);
    #[allow(clippy::cast_precision_loss)]
    let per_task = |ms: f64| (ms - floor) * 1000.0 / tasks as f64;
    for (i, (name, ms)) in cpu_ms.iter().enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        let _ = write!(note, "{sep}{name} {ms:.0} ms");
        if i > 0 {
            let _ = write!(note, " ({:+.0} us per task)", per_task(*ms));
        }
    }
    note
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
    fn generated_files_have_every_task_and_edge() {
        let g = Graph {
            name: "t",
            layers: vec![1, 3, 1],
        };
        assert_eq!(g.tasks(), 5);
        assert_eq!(g.makefile().matches("\ttrue").count(), 5);
        assert!(g.makefile().contains("l2_0: l1_0 l1_1 l1_2\n"));
        assert!(g.ninja().contains("build l1_2: t l0_0\n"));
        assert!(
            g.task_file()
                .contains("[task.l2_0]\nrun = \"true\"\ndeps = [\"l1_0\", \"l1_1\", \"l1_2\"]")
        );
        assert_eq!(g.targets(), ["l2_0"]);
        assert_eq!(flat_task_file(3).matches("[task.").count(), 3);
    }

    #[test]
    fn cpu_is_read_from_the_four_time_fields_after_the_name() {
        // A name with a space and a parenthesis, then state, ppid ... utime 150, stime 50,
        // cutime 300, cstime 100 (ticks of 10 ms).
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194304 10 0 0 0 150 50 300 100 20 0 1 0";
        assert_eq!(stat_cpu(stat), Some((2.0, 4.0)));
        assert_eq!(stat_cpu("42 (cut"), None);
    }

    #[test]
    fn the_cpu_note_puts_each_beside_the_floor_per_task() {
        let note = cpu_note("g", &[("floor", 400.0), ("parade run", 500.0)], 1000);
        assert_eq!(
            note,
            "g: CPU per run, the runner's and its tasks' (median): floor 400 ms, parade run \
             500 ms (+100 us per task)"
        );
    }
}
