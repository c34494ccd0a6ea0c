//! [`SlurmExecutor`]: each started task becomes a Slurm job (its submission in `submit`, its
//! polling in `poll`, a task in worker mode served in `workers`), or, with pilots
//! ([`SlurmConfig::pilots`]), a task handed to one of a few long-lived pilot jobs
//! (`pilot`). This file is the handle: what the engine and the faces call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Sender, unbounded};

use super::SlurmConfig;
use super::client::{Client, CommandError, JobId, JobState, SlurmStats};
use super::names::{job_identity, job_name};
use super::pilot::pool::Pool;
use super::poll::{self, Msg};
use super::script::JobFiles;
use super::shared::Shared;
use super::sink::{Sink, end};
use super::submit::Submission;
use super::workers;
use crate::engine::{Engine, Outcome, Runnable, TaskId};
use crate::exec::process::{Refusal, WorkerCall};
use crate::exec::{CommandSpec, Executor};

/// Runs each task it is given as a Slurm job.
///
/// A task's job must carry a [`CommandSpec`] in [`Job::remote`](crate::engine::Job::remote)
/// (as [`CommandJob`](crate::exec::CommandJob) does), or a [`WorkerCall`] (flow procs, named
/// graph tasks and [`WorkerJob`](crate::exec::process::WorkerJob)s do): such a task runs in
/// worker mode, as under the [`ProcessExecutor`](crate::exec::process::ProcessExecutor): its job
/// starts this program (or [`SlurmConfig::worker_program`]) with
/// [`WORKER_SOCKET_ENV`](crate::exec::process::WORKER_SOCKET_ENV) naming where this process
/// listens, a thread here answers the worker's calls, and the worker's report (its result, its
/// error) ends the task, or, without one, the job's exit status or Slurm state. By default the
/// worker connects to a Unix socket in [`SlurmConfig::worker_socket_dir`] (jobs on this
/// machine); with [`SlurmConfig::worker_listen`], to a TCP port on that address, proving the
/// run's secret first (jobs on the cluster's nodes). The command's or the call's
/// [`ResourceHints`](crate::exec::ResourceHints) become `sbatch` options. The job is named
/// `parade-<run id>-<task index>` ([`job_name`]) and carries its identity
/// ([`job_identity`]) in its comment; it writes its output to `<name>.<job id>.out`/`.err` in
/// the work directory (forwarded to the task's output events when it ends) and its exit status
/// to `<name>.<job id>.status` ([`JobFiles`]), because clusters often have no accounting
/// database. A task's timeout and a cancel (including [`Engine::stop`]) end its job with
/// `scancel`. A job that Slurm ends at its time limit fails with [`Reason::Timeout`](crate::engine::Reason::Timeout). A job that
/// vanishes from Slurm without writing its status ends as failed with [`Reason::Lost`](crate::engine::Reason::Lost).
///
/// Tasks handed over together (a wave of ready tasks) that ask for the same resources are
/// submitted as one job array (`sbatch --array=0-K`, see [`SlurmConfig::job_arrays`]); each
/// element runs its own task's script, writes `<array name>.<id>_<index>.status` and is
/// polled, timed out, cancelled and reported for its task alone, and a restarted run adopts
/// an element still queued or running as it adopts a plain job.
///
/// The engine starts a task only once its dependencies have finished, so through the engine
/// parade releases each job as its inputs finish. To hand a whole chain to Slurm at once
/// (`--dependency=afterok`), use [`SlurmBatch`](super::SlurmBatch).
///
/// A run started again with the same [`run_id`](SlurmConfig::run_id) and work directory does
/// not submit a second copy of a command job that is still queued or running: it finds it by
/// name and identity (the same command, arguments, environment, directory and resources) and
/// waits for it; a job of the same name that does something else is left alone. A worker job is submitted again (the old one is cancelled): its
/// worker talked to a socket that went with the earlier run.
///
/// ```no_run
/// use std::sync::Arc;
/// use parade::engine::{Engine, TaskSpec};
/// use parade::exec::{CommandJob, CommandSpec};
/// use parade::exec::slurm::{SlurmConfig, SlurmExecutor};
/// let slurm = SlurmExecutor::new(SlurmConfig::new("/shared/parade").run_id("demo"));
/// let engine = Engine::with_executor(Arc::new(slurm));
/// let hello = CommandSpec::shell(&["sh", "-c"], "echo hello from $(hostname)");
/// let t = engine.add(TaskSpec::from_job(CommandJob::new(hello))).unwrap();
/// engine.want([t]).unwrap();
/// assert!(engine.wait([t]).unwrap()[0].state.is_success());
/// ```
pub struct SlurmExecutor {
    shared: Arc<Shared>,
    tx: Sender<Msg>,
    /// The pilot jobs' pool, when [`SlurmConfig::pilots`] asks for pilots (or why it could
    /// not start).
    pilots: Option<Result<Pool, String>>,
}

impl SlurmExecutor {
    /// An executor talking to Slurm as `cfg` says. It starts its polling thread at once.
    pub fn new(cfg: SlurmConfig) -> Self {
        let shared = Arc::new(Shared {
            work_dir: cfg.absolute_work_dir(),
            client: Client::new(cfg.clone()),
            secret: std::sync::Mutex::new(None),
            cfg,
        });
        let (tx, rx) = unbounded();
        poll::start(shared.clone(), rx);
        let pilots = shared.cfg.pilots.clone().map(|pilots| {
            let ip = shared.listen_ip();
            Pool::start(shared.clone(), pilots, ip)
        });
        Self { shared, tx, pilots }
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &SlurmConfig {
        &self.shared.cfg
    }

    /// How many times it called each Slurm command so far.
    pub fn stats(&self) -> SlurmStats {
        self.shared.client.stats()
    }

    /// The files of job `job`, named `name` (see [`job_name`]).
    pub fn files(&self, name: &str, job: JobId) -> JobFiles {
        JobFiles::new(&self.shared.work_dir, name, job)
    }

    /// Cancels this executor's jobs named `name` that are in flight (with `scancel` by job id:
    /// jobs of other runs that share the name are left alone). They end as cancelled.
    pub fn cancel_named(&self, name: &str) {
        if let Some(Ok(pool)) = &self.pilots {
            pool.cancel(|s| s.name == name);
        }
        let _ = self.tx.send(Msg::CancelNamed(name.to_owned()));
    }

    /// How many pilot jobs are connected now (0 without [`SlurmConfig::pilots`]).
    pub fn pilots_connected(&self) -> usize {
        match &self.pilots {
            Some(Ok(pool)) => pool.connected(),
            _ => 0,
        }
    }

    /// Stops the pilot jobs (see [`SlurmConfig::pilots`]): tasks still queued or running on
    /// them end as cancelled, connected pilots are told to stop, and every pilot job Slurm may
    /// still hold is cancelled. Dropping the executor does it too; later tasks fail.
    pub fn stop_pilots(&self) {
        if let Some(Ok(pool)) = &self.pilots {
            pool.shutdown();
        }
    }

    /// One `squeue` listing of this user's jobs.
    pub(crate) fn list(&self) -> Result<HashMap<JobId, JobState>, CommandError> {
        self.shared.client.list(None)
    }

    pub(crate) fn submit(&self, mut subs: Vec<Submission>) {
        if subs.is_empty() {
            return;
        }
        if let Some(pilots) = &self.pilots {
            // Jobs held for others (a batch's `afterok`) stay Slurm jobs of their own.
            let (mine, held): (Vec<Submission>, Vec<Submission>) =
                subs.into_iter().partition(|s| s.after.is_empty());
            subs = held;
            match pilots {
                Ok(pool) => pool.submit(mine),
                Err(why) => {
                    for s in mine {
                        let why = format!("{} cannot run on pilots: {why}", s.label);
                        end(
                            s.sink,
                            Outcome::failed(why),
                            None,
                            None,
                            Duration::ZERO,
                            (false, false),
                        );
                    }
                }
            }
            if subs.is_empty() {
                return;
            }
        }
        if let Err(e) = self.tx.send(Msg::Submit(subs)) {
            // The thread is gone (it panicked): end the jobs here rather than never.
            let Msg::Submit(subs) = e.into_inner() else {
                unreachable!()
            };
            for s in subs {
                end(
                    s.sink,
                    Outcome::failed("the Slurm polling thread has stopped"),
                    None,
                    None,
                    Duration::ZERO,
                    (false, false),
                );
            }
        }
    }
}

impl Executor for SlurmExecutor {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn in_process(&self) -> bool {
        false
    }

    fn capacity(&self) -> usize {
        self.shared.cfg.capacity
    }

    fn spawn(&self, jobs: Vec<Runnable>) {
        let mut subs = Vec::with_capacity(jobs.len());
        for job in jobs {
            let id = job.id();
            let name = job_name(&self.shared.cfg.run_id, &id.index().to_string());
            let (timeout, target) = (job.timeout(), Some((job.engine().key(), id)));
            let uses = job.uses().to_vec();
            let remote = job.job().remote();
            let spec = remote
                .and_then(|r| r.downcast_ref::<CommandSpec>())
                .cloned();
            let call = remote.and_then(|r| r.downcast_ref::<WorkerCall>()).cloned();
            let refusal = remote.and_then(|r| r.downcast_ref::<Refusal>()).cloned();
            let (spec, sink, adopt) = match (spec, call, refusal) {
                (Some(spec), _, _) => (spec, Sink::Task(job), true),
                (None, Some(call), _) => match workers::start(&self.shared, &name, call, job) {
                    Ok((spec, sink)) => (spec, sink, false),
                    Err((job, why)) => {
                        job.finish(Outcome::failed(why), Duration::ZERO);
                        continue;
                    }
                },
                (None, None, Some(Refusal(why))) => {
                    job.finish(Outcome::failed(why), Duration::ZERO);
                    continue;
                }
                (None, None, None) => {
                    let why = format!(
                        "{id} has no command to run on Slurm (the Slurm executor runs command jobs, \
                         such as CommandJob, and tasks in worker mode: flow procs, named graph \
                         tasks, WorkerJob)"
                    );
                    job.finish(Outcome::failed(why), Duration::ZERO);
                    continue;
                }
            };
            subs.push(Submission {
                identity: job_identity(&id.index().to_string(), &spec),
                stale: Vec::new(),
                uses,
                name,
                label: id.to_string(),
                spec,
                after: Vec::new(),
                timeout,
                target,
                sink,
                adopt,
            });
        }
        self.submit(subs);
    }

    fn cancel(&self, engine: &Engine, id: TaskId) {
        let target = (engine.key(), id);
        if let Some(Ok(pool)) = &self.pilots {
            pool.cancel(|s| s.target == Some(target));
        }
        let _ = self.tx.send(Msg::Cancel(target));
    }
}

impl Drop for SlurmExecutor {
    fn drop(&mut self) {
        self.stop_pilots();
    }
}
