//! Slurm, the cluster executor: tasks become Slurm jobs.
//!
//! * [`SlurmExecutor`] runs the command jobs an [`Engine`](crate::engine::Engine) starts as
//!   `sbatch --parsable` jobs named after the run ([`job_name`]) and marked with what they do
//!   ([`job_identity`]), polls all of them with one
//!   `squeue` call per interval (`scontrol show job` for jobs missing from the listing), and
//!   stops them with `scancel` on a cancel, [`Engine::stop`](crate::engine::Engine::stop) or
//!   a timeout. Each job writes its own exit status to a file ([`JobFiles`]), because clusters
//!   often have no accounting database; a job that vanishes without one ends as lost.
//! * Tasks in worker mode (flow procs, named graph tasks) run as jobs that start the program
//!   again as a worker, served with the process executor's protocol over a Unix socket (jobs
//!   on this machine) or over TCP with a per-run secret ([`SlurmConfig::worker_listen`], jobs
//!   on other nodes); see [`SlurmExecutor`].
//! * With [`SlurmConfig::pilots`], tasks run on a few long-lived pilot jobs instead
//!   ([`PilotConfig`]): each connects back over TCP with the run's secret and pulls tasks that
//!   fit its resources until the run ends (the pilot program calls [`pilot_entry`], which
//!   [`worker_entry`](crate::worker_entry) does).
//! * Same-shaped jobs handed over together become one job array ([`SlurmConfig::job_arrays`]).
//! * [`SlurmBatch`] hands a whole graph to Slurm at once with `--dependency=afterok`.
//! * [`TemplateJob`] runs a directory template once per job directory (locally or on Slurm),
//!   reusing a finished job whose parameters and input hashes match; [`clean_jobs`] removes
//!   unfinished ones.
//! * The Slurm commands' paths, the poll interval and retries are set in [`SlurmConfig`]; tests
//!   point [`SlurmConfig::bin_dir`] at fake scripts.
//!
//! This module knows Slurm's commands and states; it does not know task names, task files or
//! terminals. Its batch script runs a [`CommandSpec`](crate::exec::CommandSpec) and nothing
//! else.

mod arrays;
mod batch;
mod client;
mod config;
mod executor;
mod job_path;
mod jobdir;
mod names;
mod pilot;
mod poll;
mod script;
mod shared;
mod sink;
mod submit;
mod template;
mod workers;

pub use arrays::MAX_ARRAY;
pub use batch::{BatchNode, BatchRun, JobOptions, SlurmBatch};
pub use client::{
    CommandError, JobId, JobRef, JobState, SlurmStats, Submitted, parse_sbatch, parse_scontrol,
    parse_squeue, parse_squeue_elements,
};
pub use config::SlurmConfig;
pub use executor::SlurmExecutor;
pub use job_path::JobPath;
pub use names::{job_identity, job_name};
pub use pilot::{PILOT_ENV, PilotConfig, pilot_entry};
pub use script::{JobFiles, batch_script, shell_quote};
pub use sink::JobEnd;
pub use submit::parse_slurm_time;
pub use template::{Cleaned, JobError, TemplateJob, clean_jobs, clean_jobs_report};
