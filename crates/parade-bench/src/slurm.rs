//! `parade-bench slurm`: 200 trivial tasks on a real Slurm cluster (needs `scripts/slurm-up.sh`),
//! parade's executor against a shell loop of `sbatch --wait`.
//!
//! * `parade`: an engine on a [`SlurmExecutor`] polling every second; the time from the first
//!   `want` to every task final, and how many `squeue` calls the run made (one per poll).
//! * `sbatch --wait (parallel)`: the same jobs, each `sbatch --wait` in its own background
//!   shell (`&`), then one `wait` for all of them: how a shell script would queue them.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parade::engine::{Engine, TaskSpec, TaskState};
use parade::exec::slurm::{SlurmConfig, SlurmExecutor};
use parade::exec::{CommandJob, CommandSpec};

use crate::report::Report;

/// Runs the `slurm` benchmark.
pub fn run(out: &mut Report, quick: bool) {
    let n: u64 = if quick { 20 } else { 200 };
    let ok = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !ok {
        out.note("no Slurm cluster answers (`sinfo` failed): run scripts/slurm-up.sh as root");
        return;
    }
    let work = std::env::temp_dir().join(format!("parade-bench-slurm-{}", std::process::id()));
    let case = format!("{n} trivial jobs");

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let cfg = SlurmConfig::new(work.join("parade"))
        .run_id(format!("bench-{nanos}"))
        .poll_interval(Duration::from_secs(1));
    let slurm = Arc::new(SlurmExecutor::new(cfg));
    let engine = Engine::with_executor(slurm.clone());
    let ids: Vec<_> = (0..n)
        .map(|_| {
            let job = CommandJob::new(CommandSpec::new("true", [""; 0]));
            engine
                .add(TaskSpec::from_job(job))
                .expect("no deps, no error")
        })
        .collect();
    let start = Instant::now();
    engine.want(ids.iter().copied()).expect("known tasks");
    let ends = engine.wait(ids).expect("no deadlock");
    let took = start.elapsed();
    let failed = ends
        .iter()
        .filter(|s| s.state != TaskState::Succeeded)
        .count();
    out.record(&case, "parade", n, took);
    let stats = slurm.stats();
    out.note(&format!(
        "parade: {} squeue calls, {} sbatch, {} scontrol, {failed} tasks not succeeded",
        stats.squeue, stats.sbatch, stats.scontrol
    ));

    let shell_dir = work.join("shell");
    std::fs::create_dir_all(&shell_dir).expect("a temp dir");
    let script = format!(
        "cd {d} && for i in $(seq {n}); do sbatch --wait --quiet -J bench-wait -o /dev/null --wrap true & done; wait",
        d = shell_dir.display()
    );
    let start = Instant::now();
    let shell = Command::new("sh").args(["-c", &script]).status();
    let took = start.elapsed();
    if !shell.is_ok_and(|s| s.success()) {
        out.note("the sbatch --wait loop failed");
    }
    out.record(&case, "sbatch --wait (parallel)", n, took);
    out.ratio(&case, "parade", "sbatch --wait (parallel)");
    let _ = std::fs::remove_dir_all(&work);
}
