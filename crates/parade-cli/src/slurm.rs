//! `--executor slurm`: a task's command as a Slurm job, through the library's
//! [`SlurmExecutor`] (`sbatch`, polling, exit status files), with the task's resources.
//!
//! The flow runs procs on threads; each task's proc submits its command with
//! [`SlurmExecutor::run_one`] and waits for it, so the flow's parallel limit is the number of
//! jobs in flight. A cancel (Ctrl-C) runs `scancel --name` for the task's job. When the job
//! has ended, its output files become the task's output lines (logs, display).

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
    /// resources give one.
    pub fn run(&self, name: &str, mut spec: CommandSpec, ctx: &TaskContext) -> Outcome {
        if spec.resources.time.is_none()
            && let Some(limit) = ctx.timeout()
        {
            spec.resources.time = Some(limit.as_secs().div_ceil(60).max(1).to_string());
        }
        let key: String = name
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect();
        let config = self.executor.config();
        let job = job_name(&config.run_id, &key);
        let scancel = config.command("scancel");
        ctx.on_cancel(move || {
            let _ = std::process::Command::new(&scancel)
                .arg(format!("--name={job}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        });
        let end = self.executor.run_one(&key, spec);
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
