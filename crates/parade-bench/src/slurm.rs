//! `parade-bench slurm`: trivial tasks on a real Slurm cluster (needs `scripts/slurm-up.sh`,
//! best `--nodes 3`), through pilot jobs and one job per task, beside a shell loop of
//! `sbatch --wait`.
//!
//! * `pilots`: an engine on a [`SlurmExecutor`] with three pilot jobs of two CPUs (one per
//!   node of the test cluster) that pull the tasks: 10,000 of them (1,000 with `--quick`), and
//!   the same 200 as the other two.
//! * `job per task`: the executor without pilots or job arrays, polling every second: one
//!   `sbatch` per task.
//! * `job per task, arrays`: the same with job arrays (the default): the tasks, ready at once
//!   and of one shape, are one `sbatch --array`.
//! * `sbatch --wait (parallel)`: each `sbatch --wait` in its own background shell, then one
//!   `wait`: how a shell script would queue them.
//!
//! Each prints its `sbatch`/`squeue` calls and the wall time per task; the pilots' wall time
//! per task is parade's whole overhead per task (the tasks are `true`).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parade::engine::{Engine, TaskSpec, TaskState};
use parade::exec::slurm::{PilotConfig, SlurmConfig, SlurmExecutor};
use parade::exec::{CommandJob, CommandSpec, ResourceHints};

use crate::report::Report;

/// The address of this machine on the 3-node test cluster's bridge.
const BRIDGE_HOST: &str = "10.199.77.1";

/// Runs the `slurm` benchmark.
pub fn run(out: &mut Report, quick: bool) {
    let many: u64 = if quick { 1_000 } else { 10_000 };
    let few: u64 = if quick { 20 } else { 200 };
    let sinfo = Command::new("sinfo")
        .args(["-h", "-N", "-o", "%N"])
        .output()
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty());
    let Some(sinfo) = sinfo else {
        out.note("no Slurm cluster answers (`sinfo` failed): run scripts/slurm-up.sh as root");
        return;
    };
    // On the 3-node cluster the pilots connect over its bridge; on one node, over loopback.
    let nodes = String::from_utf8_lossy(&sinfo.stdout).to_string();
    let listen = if nodes.contains("node2") {
        BRIDGE_HOST
    } else {
        "127.0.0.1"
    };
    out.note(&format!(
        "cluster: {}; load average {}",
        nodes.split_whitespace().collect::<Vec<_>>().join(" "),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    ));
    let work = std::env::temp_dir().join(format!("parade-bench-slurm-{}", std::process::id()));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let config = |name: &str| {
        SlurmConfig::new(work.join(name))
            .run_id(format!("bench-{name}-{nanos}"))
            .poll_interval(Duration::from_secs(1))
    };
    let pilots = || {
        config("pilots")
            .worker_listen(listen.parse().expect("an address"))
            .pilots(PilotConfig::new(3).resources(ResourceHints {
                cpus: Some(2),
                ..ResourceHints::default()
            }))
    };

    let case_many = format!("{many} trivial tasks");
    run_engine(out, &case_many, "pilots", pilots(), many);

    let case = format!("{few} trivial tasks");
    run_engine(out, &case, "pilots", pilots(), few);
    run_engine(
        out,
        &case,
        "job per task",
        config("jobs").job_arrays(false),
        few,
    );
    run_engine(out, &case, "job per task, arrays", config("arrays"), few);
    let shell_dir = work.join("shell");
    std::fs::create_dir_all(&shell_dir).expect("a temp dir");
    let script = format!(
        "cd {d} && for i in $(seq {few}); do sbatch --wait --quiet -J bench-wait -o /dev/null --wrap true & done; wait",
        d = shell_dir.display()
    );
    let start = Instant::now();
    let shell = Command::new("sh").args(["-c", &script]).status();
    let took = start.elapsed();
    if !shell.is_ok_and(|s| s.success()) {
        out.note("the sbatch --wait loop failed");
    }
    out.record(&case, "sbatch --wait (parallel)", few, took);
    out.note(&format!(
        "sbatch --wait (parallel): {few} sbatch calls, {:.2} ms per task",
        per_task_ms(took, few)
    ));
    out.ratio(&case, "pilots", "job per task");
    out.ratio(&case, "job per task, arrays", "job per task");
    out.ratio(&case, "pilots", "job per task, arrays");
    out.ratio(&case, "pilots", "sbatch --wait (parallel)");
    if let (Some(a), Some(b)) = (
        out.find(&case_many, "pilots"),
        out.find(&case, "job per task"),
    ) {
        #[allow(clippy::cast_precision_loss)] // task counts are far below 2^52
        let speedup = (b / few as f64) / (a / many as f64);
        out.note(&format!(
            "time per task: pilots at {many} tasks are {speedup:.0}x faster than one job per \
             task at {few}"
        ));
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// Runs `n` tasks of `true` on an executor made from `cfg` and records the wall time.
fn run_engine(out: &mut Report, case: &str, name: &str, cfg: SlurmConfig, n: u64) {
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
    out.record(case, name, n, took);
    let stats = slurm.stats();
    out.note(&format!(
        "{name} ({n} tasks): {} sbatch, {} squeue, {} scontrol calls; {:.3} ms per task; \
         {failed} tasks not succeeded",
        stats.sbatch,
        stats.squeue,
        stats.scontrol,
        per_task_ms(took, n)
    ));
    drop(engine);
    drop(slurm);
}

fn per_task_ms(took: Duration, n: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // task counts are far below 2^52
    let n = n.max(1) as f64;
    took.as_secs_f64() * 1000.0 / n
}
