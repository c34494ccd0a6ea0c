//! [`SlurmExecutor`]: each started task becomes a Slurm job; one thread submits them and polls
//! all jobs in flight with one `squeue` call per interval.
//!
//! The thread's loop: take submissions and cancels as they come; when the poll interval has
//! passed, read the exit-status files the jobs write, list the jobs with one `squeue` call (per
//! cluster), ask `scontrol show job` only about jobs missing from the listing, and end the jobs
//! that ended. Cancels and parade's own timeouts are gathered and sent with one `scancel` call.
//!
//! How a job ended does not depend on the order in which parade learns things: an exit status
//! of 0 is a success at once; any other status waits for Slurm's final state, because a command
//! ended by Slurm's time limit (or by someone's `scancel`) exits 143 like one that failed, and
//! only the state (`TIMEOUT`, `CANCELLED`, `OUT_OF_MEMORY`, ...) says which.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};

use super::SlurmConfig;
use super::client::{Client, CommandError, JobId, JobState, SlurmStats, identity_comment};
use super::names::{is_job_of_run, job_identity, job_name};
use super::script::{JobFiles, batch_script};
use super::shared::Shared;
use super::sink::{Sink, end};
use super::workers;
use crate::engine::{Engine, Outcome, Reason, Runnable, TaskId};
use crate::exec::process::{Refusal, WorkerCall};
use crate::exec::{CommandSpec, Executor};

/// Which engine task a job runs: the engine's key and the task's id.
type Target = (usize, TaskId);

/// One job to submit.
pub(crate) struct Submission {
    /// The Slurm job name (also names its files).
    pub name: String,
    /// What the job does, as a hash ([`job_identity`]): a job left by an earlier run is
    /// adopted only when its identity is this one.
    pub identity: String,
    /// Files the job writes that must not be found from an earlier job: removed when the job is
    /// submitted, kept when a running job is adopted (they may hold what it wrote already).
    pub stale: Vec<PathBuf>,
    /// How messages name it, e.g. `task #3`.
    pub label: String,
    pub spec: CommandSpec,
    /// Earlier submissions of the same message that must succeed first (`afterok`).
    pub after: Vec<usize>,
    pub sink: Sink,
    pub timeout: Option<Duration>,
    pub target: Option<Target>,
    /// Whether a queued or running job of the same name left by an earlier run may stand for
    /// it (a command job: yes; a worker job: no, its worker talks to a socket that is gone).
    pub adopt: bool,
}

enum Msg {
    Submit(Vec<Submission>),
    Cancel(Target),
    CancelNamed(String),
}

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
/// `scancel`. A job that Slurm ends at its time limit fails with [`Reason::Timeout`]. A job that
/// vanishes from Slurm without writing its status ends as failed with [`Reason::Lost`].
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
        let worker = Worker {
            shared: shared.clone(),
            in_flight: Vec::new(),
            live_by_name: None,
            failed_polls: 0,
            to_cancel: Vec::new(),
        };
        std::thread::Builder::new()
            .name("parade-slurm".into())
            .spawn(move || worker.run(&rx))
            .expect("the Slurm polling thread starts");
        Self { shared, tx }
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
        let _ = self.tx.send(Msg::CancelNamed(name.to_owned()));
    }

    /// One `squeue` listing of this user's jobs.
    pub(crate) fn list(&self) -> Result<HashMap<JobId, JobState>, CommandError> {
        self.shared.client.list(None)
    }

    pub(crate) fn submit(&self, subs: Vec<Submission>) {
        if subs.is_empty() {
            return;
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
        let _ = self.tx.send(Msg::Cancel((engine.key(), id)));
    }
}

/// A job in flight.
struct InFlight {
    job: JobId,
    /// The cluster that took it, when `sbatch` named one.
    cluster: Option<String>,
    adopted: bool,
    name: String,
    files: JobFiles,
    sink: Sink,
    submitted: Instant,
    timeout: Option<Duration>,
    /// Slurm's own time limit for it, if its resources give one.
    time_limit: Option<Duration>,
    target: Option<Target>,
    /// Set once parade asked Slurm to stop it, and why.
    stopping: Option<Reason>,
    /// Polls in a row in which its state could not be learned.
    misses: u32,
}

struct Worker {
    shared: Arc<Shared>,
    in_flight: Vec<InFlight>,
    /// Queued or running jobs of this run found when the first job was submitted (a
    /// restart), by name: their ids and comments.
    live_by_name: Option<HashMap<String, Vec<(JobId, String)>>>,
    failed_polls: u32,
    to_cancel: Vec<(JobId, Option<String>)>,
}

impl Worker {
    fn run(mut self, rx: &Receiver<Msg>) {
        let every = self.shared.cfg.poll_interval;
        let mut next_poll = Instant::now() + every;
        loop {
            if Instant::now() >= next_poll {
                self.poll();
                next_poll = Instant::now() + every;
            }
            match rx.recv_deadline(next_poll) {
                Ok(Msg::Submit(subs)) => self.submit(subs),
                Ok(Msg::Cancel(target)) => self.cancel(|j| j.target == Some(target)),
                Ok(Msg::CancelNamed(name)) => self.cancel(|j| j.name == name),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The executor is gone; jobs of batches still in flight are seen to the end.
                    if self.in_flight.is_empty() {
                        return;
                    }
                    std::thread::sleep(next_poll.saturating_duration_since(Instant::now()));
                }
            }
            if rx.is_empty() {
                self.flush_cancels();
            }
        }
    }

    fn submit(&mut self, subs: Vec<Submission>) {
        let mut ids: Vec<Option<JobId>> = Vec::with_capacity(subs.len());
        for sub in subs {
            let deps: Option<Vec<JobId>> = sub.after.iter().map(|&i| ids[i]).collect();
            let Some(deps) = deps else {
                let why = format!(
                    "{} was not submitted: a job it depends on was not",
                    sub.label
                );
                end(
                    sub.sink,
                    Outcome::failed(why),
                    None,
                    None,
                    Duration::ZERO,
                    (false, false),
                );
                ids.push(None);
                continue;
            };
            ids.push(self.submit_one(sub, &deps));
        }
    }

    fn submit_one(&mut self, sub: Submission, deps: &[JobId]) -> Option<JobId> {
        let time_limit = sub
            .spec
            .resources
            .time
            .as_deref()
            .and_then(parse_slurm_time);
        let comment = identity_comment(&sub.identity);
        let found = self.live_by_name().remove(&sub.name).unwrap_or_default();
        let mut adopted = None;
        for (id, their_comment) in found {
            if sub.adopt && adopted.is_none() && their_comment == comment {
                adopted = Some(id);
            } else if !sub.adopt {
                // A worker job of an earlier run talks to a socket that is gone.
                self.to_cancel.push((id, None));
            }
        }
        let (job, cluster) = if let Some(job) = adopted {
            (job, None)
        } else {
            for f in &sub.stale {
                let _ = std::fs::remove_file(f);
            }
            match self.sbatch(&sub, deps) {
                Ok(s) => (s.id, s.cluster),
                Err(why) => {
                    end(
                        sub.sink,
                        Outcome::failed(why),
                        None,
                        None,
                        Duration::ZERO,
                        (false, false),
                    );
                    return None;
                }
            }
        };
        self.in_flight.push(InFlight {
            job,
            cluster,
            adopted: adopted.is_some(),
            files: JobFiles::new(&self.shared.work_dir, &sub.name, job),
            name: sub.name,
            sink: sub.sink,
            submitted: Instant::now(),
            timeout: sub.timeout,
            time_limit,
            target: sub.target,
            stopping: None,
            misses: 0,
        });
        Some(job)
    }

    /// Writes the batch script and submits it; the job or a message naming the task.
    fn sbatch(&self, sub: &Submission, deps: &[JobId]) -> Result<super::Submitted, String> {
        let dir = &self.shared.work_dir;
        let cwd = match &sub.spec.cwd {
            Some(dir) => super::config::absolute(dir),
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        };
        // Named after the identity too: two runs submitting jobs of one name at once never
        // write each other's script.
        let script = dir.join(format!("{}.{}.sh", sub.name, &sub.identity));
        let prepared = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&script, batch_script(&sub.spec, &cwd, dir, &sub.name)));
        if let Err(e) = prepared {
            return Err(format!(
                "cannot write the batch script of {} to {}: {e}",
                sub.label,
                script.display()
            ));
        }
        let (stdout, stderr) = JobFiles::output_patterns(dir, &sub.name);
        let mut args = self.shared.cfg.sbatch_args.clone();
        args.push(format!("--output={}", stdout.display()));
        args.push(format!("--error={}", stderr.display()));
        if !deps.is_empty() {
            let ids: Vec<String> = deps.iter().map(ToString::to_string).collect();
            args.push(format!("--dependency=afterok:{}", ids.join(":")));
            args.push("--kill-on-invalid-dep=yes".to_owned());
        }
        args.extend(sub.spec.resources.sbatch_args());
        self.shared
            .client
            .sbatch(&sub.name, &sub.identity, &args, &script)
            .map_err(|e: CommandError| {
                format!(
                    "sbatch refused {} (job {}): {}",
                    sub.label, sub.name, e.message
                )
            })
    }

    fn live_by_name(&mut self) -> &mut HashMap<String, Vec<(JobId, String)>> {
        self.live_by_name.get_or_insert_with(|| {
            let run = &self.shared.cfg.run_id;
            let mut found: HashMap<String, Vec<(JobId, String)>> = HashMap::new();
            let jobs = self.shared.client.list(None).unwrap_or_default();
            let mut jobs: Vec<(JobId, JobState)> = jobs
                .into_iter()
                .filter(|(_, st)| st.is_live() && is_job_of_run(&st.name, run))
                .collect();
            jobs.sort_by_key(|(id, _)| *id);
            for (id, st) in jobs {
                found.entry(st.name).or_default().push((id, st.comment));
            }
            found
        })
    }

    /// Asks Slurm to stop the jobs in flight that `which` picks (and not stopping already).
    fn cancel(&mut self, which: impl Fn(&InFlight) -> bool) {
        for job in &mut self.in_flight {
            if job.stopping.is_none() && which(job) {
                job.stopping = Some(Reason::Cancelled);
                self.to_cancel.push((job.job, job.cluster.clone()));
            }
        }
    }

    fn flush_cancels(&mut self) {
        if self.to_cancel.is_empty() {
            return;
        }
        let mut by_cluster: BTreeMap<Option<String>, Vec<JobId>> = BTreeMap::new();
        for (id, cluster) in std::mem::take(&mut self.to_cancel) {
            by_cluster.entry(cluster).or_default().push(id);
        }
        for (cluster, ids) in by_cluster {
            if self
                .shared
                .client
                .scancel(&ids, cluster.as_deref())
                .is_err()
            {
                // Try again at the next poll; the jobs stay in flight until Slurm ends them.
                self.to_cancel
                    .extend(ids.into_iter().map(|id| (id, cluster.clone())));
            }
        }
    }

    /// Learns which jobs ended, ends them, and stops the ones past their timeout.
    fn poll(&mut self) {
        if self.in_flight.is_empty() {
            return;
        }
        let began = Instant::now();
        let listing = self.list_all();
        let listing = match listing {
            Ok(l) => {
                self.failed_polls = 0;
                Some(l)
            }
            Err(e) => {
                self.failed_polls += 1;
                if self.failed_polls >= self.shared.cfg.max_failed_polls {
                    let why = format!(
                        "squeue failed {} polls in a row ({e}); the job's state is unknown",
                        self.failed_polls
                    );
                    for job in std::mem::take(&mut self.in_flight) {
                        let outcome = match job.files.read_status() {
                            Some(code) => outcome_of_code(code, job.stopping.as_ref()),
                            None => Outcome::Failed(Reason::Lost(why.clone())),
                        };
                        finish(job, outcome);
                    }
                    return;
                }
                None
            }
        };
        let mut still = Vec::with_capacity(self.in_flight.len());
        for mut job in std::mem::take(&mut self.in_flight) {
            match self.decide(&mut job, listing.as_ref(), began) {
                Some(outcome) => finish(job, outcome),
                None => still.push(job),
            }
        }
        self.in_flight = still;
        for job in &mut self.in_flight {
            if let Some(limit) = job.timeout
                && job.stopping.is_none()
                && job.submitted.elapsed() > limit
            {
                job.stopping = Some(Reason::Timeout(limit));
                self.to_cancel.push((job.job, job.cluster.clone()));
            }
        }
        // Cancels that failed before are tried again now.
        self.flush_cancels();
    }

    /// One listing of the jobs in flight: one `squeue` call per cluster they were submitted to.
    fn list_all(&self) -> Result<HashMap<(Option<String>, JobId), JobState>, CommandError> {
        let mut clusters: Vec<Option<&str>> = self
            .in_flight
            .iter()
            .map(|j| j.cluster.as_deref())
            .collect();
        clusters.sort_unstable();
        clusters.dedup();
        let mut all = HashMap::new();
        for cluster in clusters {
            for (id, st) in self.shared.client.list(cluster)? {
                all.insert((cluster.map(str::to_owned), id), st);
            }
        }
        Ok(all)
    }

    /// How `job` ended, or `None` while it may still run.
    fn decide(
        &self,
        job: &mut InFlight,
        listing: Option<&HashMap<(Option<String>, JobId), JobState>>,
        began: Instant,
    ) -> Option<Outcome> {
        let status = job.files.read_status();
        if status == Some(0) {
            return Some(Outcome::Succeeded);
        }
        // Any other status waits for Slurm's final state, which says why the command ended.
        let listing = listing?;
        if job.submitted > began {
            return None; // submitted after the listing was asked for
        }
        let state = match listing.get(&(job.cluster.clone(), job.job)) {
            Some(st) => Some(st.clone()),
            None => match self.shared.client.show(job.job, job.cluster.as_deref()) {
                Ok(st) => st,
                Err(e) => {
                    job.misses += 1;
                    if job.misses >= self.shared.cfg.max_failed_polls {
                        return Some(Outcome::Failed(Reason::Lost(format!(
                            "Slurm job {} ({}) is not listed by squeue and scontrol fails: {}",
                            job.job, job.name, e.message
                        ))));
                    }
                    return None;
                }
            },
        };
        job.misses = 0;
        // Read the status again: the job may have written it since the first look.
        let status = status.or_else(|| job.files.read_status());
        match state {
            Some(st) if st.is_live() => None,
            Some(st) => Some(final_outcome(job, &st, status)),
            None => Some(match (status, &job.stopping) {
                (Some(code), stopping) => outcome_of_code(code, stopping.as_ref()),
                (None, Some(why)) => Outcome::Failed(why.clone()),
                (None, None) => Outcome::Failed(Reason::Lost(format!(
                    "Slurm job {} ({}) vanished without recording an exit status in {}",
                    job.job,
                    job.name,
                    job.files.status.display()
                ))),
            }),
        }
    }
}

/// The outcome of an exit status the job recorded.
fn outcome_of_code(code: i32, stopping: Option<&Reason>) -> Outcome {
    match (code, stopping) {
        (0, _) => Outcome::Succeeded,
        (_, Some(why)) => Outcome::Failed(why.clone()),
        (code, None) => Outcome::Failed(Reason::Exit(code)),
    }
}

/// The outcome of a job Slurm reports in the final state `st`, having recorded exit status
/// `status` (if it did). The state decides over the status: a command that Slurm's time limit
/// or someone's `scancel` ended exits 143 like a command that failed.
fn final_outcome(job: &InFlight, st: &JobState, status: Option<i32>) -> Outcome {
    if status == Some(0) {
        return Outcome::Succeeded;
    }
    if let Some(why) = &job.stopping {
        return Outcome::Failed(why.clone());
    }
    let slurm = format!("Slurm job {} ({})", job.job, job.name);
    let exit = status.map_or_else(String::new, |c| format!(", exit status {c}"));
    let why = match st.state.as_str() {
        "TIMEOUT" | "DEADLINE" => {
            let limit = job.time_limit.unwrap_or_else(|| job.submitted.elapsed());
            return Outcome::Failed(Reason::Timeout(limit));
        }
        "CANCELLED" if st.reason.contains("Dependency") => format!(
            "{slurm} never ran: a job it depends on failed (Slurm: {})",
            st.reason
        ),
        "CANCELLED" => return Outcome::Failed(Reason::Cancelled),
        "OUT_OF_MEMORY" => format!(
            "{slurm} ran out of memory (Slurm: OUT_OF_MEMORY{exit}); ask for more with `mem`"
        ),
        "NODE_FAIL" | "BOOT_FAIL" | "PREEMPTED" => {
            return Outcome::Failed(Reason::Lost(format!(
                "{slurm} ended {} ({}{exit})",
                st.state, st.reason
            )));
        }
        _ if status.is_some() => {
            return outcome_of_code(status.unwrap_or_default(), None);
        }
        "COMPLETED" => {
            return Outcome::Failed(Reason::Lost(format!(
                "{slurm} completed without recording an exit status in {}",
                job.files.status.display()
            )));
        }
        "FAILED" => format!(
            "{slurm} failed ({}) before it recorded an exit status; see {}",
            st.reason,
            job.files.stderr.display()
        ),
        other => format!("{slurm} ended {other} ({})", st.reason),
    };
    Outcome::failed(why)
}

/// Reports how `job` ended to its sink.
fn finish(job: InFlight, outcome: Outcome) {
    let duration = job.submitted.elapsed();
    let stopped = job.stopping.is_some();
    end(
        job.sink,
        outcome,
        Some(job.job),
        Some(job.files),
        duration,
        (stopped, job.adopted),
    );
}

/// A Slurm time limit (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) as a duration.
///
/// ```
/// use std::time::Duration;
/// use parade::exec::slurm::parse_slurm_time;
/// assert_eq!(parse_slurm_time("30"), Some(Duration::from_secs(30 * 60)));
/// assert_eq!(parse_slurm_time("1:30"), Some(Duration::from_secs(90)));
/// assert_eq!(parse_slurm_time("1:00:00"), Some(Duration::from_secs(3600)));
/// assert_eq!(parse_slurm_time("2-1"), Some(Duration::from_secs(49 * 3600)));
/// assert_eq!(parse_slurm_time("soon"), None);
/// ```
pub fn parse_slurm_time(s: &str) -> Option<Duration> {
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (d.trim().parse::<u64>().ok()?, r),
        None => (0, s),
    };
    let parts: Vec<u64> = rest
        .split(':')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    let secs = match (s.contains('-'), parts.as_slice()) {
        (false, [m]) => m * 60,
        (false, [m, sec]) => m * 60 + sec,
        (_, [h, m, sec]) => h * 3600 + m * 60 + sec,
        (true, [h]) => h * 3600,
        (true, [h, m]) => h * 3600 + m * 60,
        _ => return None,
    };
    Some(Duration::from_secs(days * 86_400 + secs))
}
