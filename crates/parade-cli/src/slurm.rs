//! `--executor slurm`: a task's command as a Slurm job, through the library's
//! [`SlurmExecutor`] (`sbatch`, polling, exit status files), with the task's resources.
//!
//! The flow runs procs on threads; each task's proc submits its command with
//! [`SlurmExecutor::run_one`] and waits for it, so the flow's parallel limit is the number of
//! jobs in flight. A cancel (Ctrl-C) cancels the task's job (by id, through the executor: jobs
//! of other runs that share its name are left alone). When the job has ended, its output files
//! become the task's output lines (logs, display).
//!
//! A job is named after the task file (the run id) and the task's full name ([`job_name`]
//! keeps distinct names apart), and carries the hash of its command, environment and
//! resources ([`job_identity`](parade::exec::slurm::job_identity)): a run started again after
//! an interruption adopts a queued or running job only when both match.

use std::path::PathBuf;
use std::sync::Arc;

use parade::engine::{Outcome, Stream, TaskContext};
use parade::exec::CommandSpec;
use parade::exec::slurm::{SlurmConfig, SlurmExecutor, job_name};

/// The Slurm side of a run: the executor. A task's job is named after the task file and the
/// task, so a run started again after an interruption finds a job of the same task that is
/// still queued or running and waits for it instead of submitting it twice.
pub struct Slurm {
    executor: Arc<SlurmExecutor>,
}

impl Slurm {
    /// Jobs of run `run_id`, their files under `work_dir` (on a file system the nodes share).
    pub fn new(config: SlurmConfig) -> Self {
        Self {
            executor: Arc::new(SlurmExecutor::new(config)),
        }
    }

    /// The executor, for template jobs (`TemplateJob::on_slurm`).
    pub fn executor(&self) -> Arc<SlurmExecutor> {
        self.executor.clone()
    }

    /// Runs `spec` for task `name` as one Slurm job and waits for it.
    /// A task's timeout becomes the job's `--time` (whole minutes, rounded up) unless its
    /// resources give one. The result file the task writes (`PARADE_RESULT`) is removed when
    /// its job is submitted, and kept when a job of an earlier run (same task, same command)
    /// is adopted, so that a result that job wrote before the restart is read.
    pub fn run(&self, name: &str, mut spec: CommandSpec, ctx: &TaskContext) -> Outcome {
        if spec.resources.time.is_none()
            && let Some(limit) = ctx.timeout()
        {
            spec.resources.time = Some(limit.as_secs().div_ceil(60).max(1).to_string());
        }
        let config = self.executor.config();
        let job = job_name(&config.run_id, name);
        let executor = self.executor.clone();
        ctx.on_cancel(move || executor.cancel_named(&job));
        let stale: Vec<PathBuf> = spec
            .env
            .iter()
            .filter(|(k, _)| k == "PARADE_RESULT")
            .map(|(_, v)| PathBuf::from(v))
            .collect();
        let end = self.executor.run_one_with_stale(name, spec, stale);
        if let Some(files) = &end.files {
            for (path, stream) in [
                (&files.stdout, Stream::Stdout),
                (&files.stderr, Stream::Stderr),
            ] {
                if let Ok(text) = std::fs::read_to_string(path) {
                    for line in text.lines() {
                        ctx.emit_from(stream, line);
                    }
                }
            }
        }
        end.outcome
    }
}
