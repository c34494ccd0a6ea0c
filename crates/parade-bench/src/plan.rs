//! `parade-bench plan`: planning without running, against `make -n` on the same graph.
//!
//! * `plain N`: `N` plain tasks, task `i` needing `t{i-1000}` and `t{i/2}` (layers 1,000 wide
//!   with long edges back; `make` overflows its stack on a 100k-deep chain), and `all` needing
//!   the last 1,000. `parade check`, `parade list` and
//!   `parade run --dry-run all` against `make -n all` on the equivalent Makefile.
//! * `glob N`: one pattern `t::[a]::[b]` with `sqrt(N)` choices each and `all` needing
//!   `t::*::*`: `parade run --dry-run all`, `check`, `graph all` and `list --expand` against
//!   `make -n all` with the same instances as phony prerequisites of `all`.
//!
//! Plain sizes 1k, 10k and 100k (1M with `PARADE_BENCH_PLAN_MAX=1000000`); the slope of the dry
//! run's time between the two largest sizes is printed (1.00 is linear). Glob sizes 10k, 100k
//! and 1M instances (1,000 x 1,000). Peak memory per task comes from `/usr/bin/time -f %M` when
//! it is installed. Each figure is the best of its runs, its median printed beside it; parade
//! and make alternate, run by run, so a busy spell on the machine hits both.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::report::Report;

/// Runs the `plan` benchmark.
pub fn run(out: &mut Report, quick: bool) {
    let Some(parade) = crate::cli::parade_binary() else {
        out.note("cannot find or build the `parade` binary");
        return;
    };
    let max: usize = std::env::var("PARADE_BENCH_PLAN_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 10_000 } else { 100_000 });
    let runs = if quick { 1 } else { 3 };
    let dir = std::env::temp_dir().join(format!("parade-bench-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let make = Command::new("make").arg("--version").output().is_ok();
    let timer = Path::new("/usr/bin/time").is_file();
    let mut slopes: Vec<(usize, f64)> = Vec::new();
    for n in [1_000, 10_000, 100_000, 1_000_000] {
        if n > max {
            break;
        }
        std::fs::write(dir.join("parade.toml"), plain_task_file(n)).expect("write");
        std::fs::write(dir.join("Makefile"), plain_makefile(n)).expect("write");
        let case = format!("plain {n}");
        let cases: [(&str, Vec<&str>); 3] = [
            ("parade check", vec!["check"]),
            ("parade list", vec!["list"]),
            ("parade run --dry-run", vec!["run", "--dry-run", "all"]),
        ];
        let (best, peak) = alternate(
            out, &case, n as u64, runs, &parade, &cases, make, &dir, timer,
        );
        if make {
            out.note(&format!(
                "plain {n}: dry run {:.2}x make -n (target: 1.0x or less at 100k)",
                best[2].as_secs_f64() / best[cases.len()].as_secs_f64()
            ));
        }
        if timer {
            out.note(&format!(
                "plain {n}: peak RSS check/list/dry run {}/{}/{} KB",
                peak[0], peak[1], peak[2]
            ));
        }
        slopes.push((n, best[2].as_secs_f64()));
    }
    if let [.., (n0, t0), (n1, t1)] = slopes[..] {
        #[allow(clippy::cast_precision_loss)]
        let slope = (t1 / t0).ln() / (n1 as f64 / n0 as f64).ln();
        out.note(&format!(
            "dry run time grows as n^{slope:.2} from {n0} to {n1} tasks (1.00 is linear)"
        ));
    }

    glob_cases(out, &parade, &dir, quick, runs, make, timer);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The glob cases: `t::*::*` over `side` x `side` choices, each command beside `make -n`.
fn glob_cases(
    out: &mut Report,
    parade: &Path,
    dir: &Path,
    quick: bool,
    runs: usize,
    make: bool,
    timer: bool,
) {
    let globs: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    for &n in globs {
        let side = isqrt(n);
        std::fs::write(dir.join("parade.toml"), glob_task_file(side)).expect("write");
        std::fs::write(dir.join("Makefile"), glob_makefile(side)).expect("write");
        let case = format!("glob {side}x{side}");
        let instances = (side * side) as u64;
        let cases: [(&str, &[&str]); 4] = [
            ("parade run --dry-run", &["run", "--dry-run", "all"]),
            ("parade check", &["check"]),
            ("parade graph", &["graph", "all"]),
            ("parade list --expand", &["list", "--expand"]),
        ];
        let cases = cases.map(|(who, args)| (who, args.to_vec()));
        let (_, kb) = alternate(
            out, &case, instances, runs, parade, &cases, make, dir, timer,
        );
        if timer {
            for (i, (who, _)) in cases.iter().enumerate() {
                out.note(&format!(
                    "glob {side}x{side}: {who} peak RSS {} KB, {} B per instance (target: 300 or less)",
                    kb[i],
                    kb[i] * 1024 / instances.max(1)
                ));
            }
        }
    }
}

/// Times each of parade's `cases` (a name and its arguments) and, with `make`, `make -n all`, in
/// alternating rounds ([`Report::rounds`]); returns, in that order, each one's best time, and
/// each one's peak RSS in KB (with `timer`; 0 for make).
#[allow(clippy::too_many_arguments)] // the case, and how each of its commands runs
fn alternate(
    out: &mut Report,
    case: &str,
    n: u64,
    runs: usize,
    parade: &Path,
    cases: &[(&str, Vec<&str>)],
    make: bool,
    dir: &Path,
    timer: bool,
) -> (Vec<Duration>, Vec<u64>) {
    let command = |program, args, timer| Planner {
        program,
        args,
        timer,
        kb: 0,
    };
    let mut impls: Vec<(&str, Planner<'_>)> = cases
        .iter()
        .map(|(who, args)| (*who, command(parade, args.as_slice(), timer)))
        .collect();
    if make {
        let args: &[&str] = &["-n", "-s", "all"];
        impls.push(("make -n", command(Path::new("make"), args, false)));
    }
    let best = out.rounds(case, n, runs, &mut impls, |p| {
        let (took, kb) = timed(p.program, p.args, dir, p.timer);
        p.kb = p.kb.max(kb);
        took
    });
    (best, impls.iter().map(|(_, p)| p.kb).collect())
}

/// One command of a planning case, as [`alternate`] runs it: with `timer`, under
/// `/usr/bin/time`, the most memory it took in KB kept.
struct Planner<'a> {
    program: &'a Path,
    args: &'a [&'a str],
    timer: bool,
    kb: u64,
}

/// Runs `program args` in `dir` with output discarded; returns the wall time and, with
/// `timer`, the peak RSS in KB (via `/usr/bin/time`).
fn timed(program: &Path, args: &[&str], dir: &Path, timer: bool) -> (Duration, u64) {
    let mut cmd = if timer {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let start = Instant::now();
    let output = cmd
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run the planner");
    let took = start.elapsed();
    assert!(
        output.status.success(),
        "{} {args:?} failed in {}: {}",
        program.display(),
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let kb = if timer {
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    (took, kb)
}

fn isqrt(n: usize) -> usize {
    let mut r = 1;
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}

/// The dependencies of plain task `i`: `t{i-1000}` and `t{i/2}`, those that exist.
fn plain_deps(i: usize) -> Vec<usize> {
    let mut deps = Vec::with_capacity(2);
    if i >= 1000 {
        deps.push(i - 1000);
    }
    if i > 0 && !deps.contains(&(i / 2)) {
        deps.push(i / 2);
    }
    deps
}

/// `n` plain tasks with [`plain_deps`]; `all` needs the last 1,000.
pub(crate) fn plain_task_file(n: usize) -> String {
    let mut s = String::with_capacity(n * 64);
    for i in 0..n {
        let _ = write!(s, "[task.t{i}]\nrun = \"echo {i}\"\n");
        let deps: Vec<String> = plain_deps(i).iter().map(|d| format!("\"t{d}\"")).collect();
        if !deps.is_empty() {
            let _ = writeln!(s, "deps = [{}]", deps.join(", "));
        }
        s.push('\n');
    }
    let last: Vec<String> = (n.saturating_sub(1000)..n)
        .map(|i| format!("\"t{i}\""))
        .collect();
    let _ = write!(
        s,
        "[task.all]\nrun = \"true\"\ndeps = [{}]\n",
        last.join(", ")
    );
    s
}

/// The same graph as phony make targets.
fn plain_makefile(n: usize) -> String {
    let mut m = String::with_capacity(n * 48);
    m.push_str(".PHONY: all");
    for i in 0..n {
        let _ = write!(m, " t{i}");
    }
    m.push('\n');
    for i in 0..n {
        let _ = write!(m, "t{i}:");
        for d in plain_deps(i) {
            let _ = write!(m, " t{d}");
        }
        let _ = write!(m, "\n\techo {i}\n");
    }
    m.push_str("all:");
    for i in n.saturating_sub(1000)..n {
        let _ = write!(m, " t{i}");
    }
    m.push_str("\n\ttrue\n");
    m
}

/// `t::[a]::[b]` with `side` choices each, and `all` needing `t::*::*`.
fn glob_task_file(side: usize) -> String {
    let values: Vec<String> = (0..side).map(|i| i.to_string()).collect();
    let values = values.join(", ");
    format!(
        "[task.\"t::[a]::[b]\"]\nchoices = {{ a = [{values}], b = [{values}] }}\n\
         run = \"echo {{a}} {{b}}\"\n\n[task.all]\nrun = \"true\"\ndeps = [\"t::*::*\"]\n"
    )
}

/// The same instances as prerequisites of `all`, one pattern rule for them.
fn glob_makefile(side: usize) -> String {
    let mut m = String::with_capacity(side * side * 12);
    m.push_str("all:");
    for a in 0..side {
        for b in 0..side {
            let _ = write!(m, " t-{a}-{b}");
        }
    }
    m.push_str("\n\ttrue\nt-%:\n\techo $*\n");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_have_the_same_tasks() {
        assert_eq!(plain_task_file(10).matches("[task.").count(), 11);
        assert_eq!(plain_makefile(10).matches("\techo").count(), 10);
        assert_eq!(glob_makefile(3).matches(" t-").count(), 9);
        assert!(glob_task_file(3).contains("a = [0, 1, 2]"));
        assert_eq!(isqrt(1_000_000), 1000);
        assert_eq!(isqrt(10_000), 100);
    }
}
