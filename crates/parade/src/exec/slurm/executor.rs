//! [`SlurmExecutor`]: each started task becomes a Slurm job; one thread submits them and polls
//! all jobs in flight with one `squeue` call per interval.
//!
//! The thread's loop: take submissions and cancels as they come; when the poll interval has
//! passed, read the exit-status files the jobs write, list the jobs with one `squeue` call, ask
//! `scontrol show job` only about jobs missing from the listing, and end the jobs that ended.
//! Cancels and parade's own timeouts are gathered and sent with one `scancel` call.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};

use super::SlurmConfig;
use super::client::{Client, CommandError, JobId, JobState, SlurmStats};
use super::names::job_name;
use super::script::{JobFiles, batch_script};
use super::workers::{self, Ended, WorkerSink};
use crate::engine::{Engine, Outcome, Reason, Runnable, Stream, TaskId};
use crate::exec::process::{Refusal, WorkerCall};
use crate::exec::{CommandSpec, Executor};

/// Which engine task a job runs: the engine's key and the task's id.
type Target = (usize, TaskId);

/// How a job submitted outside an engine ended (see [`SlurmBatch`](super::SlurmBatch)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEnd {
    /// How it ended.
    pub outcome: Outcome,
    /// Its Slurm job id, if it was submitted.
    pub job: Option<JobId>,
    /// Its files (script, output, status), if it was submitted.
    pub files: Option<JobFiles>,
    /// From submission to the moment parade saw it end.
    pub duration: Duration,
}

/// Where the end of a job is reported.
pub(crate) enum Sink {
    /// An engine task: its output is forwarded, then it is finished.
    Task(Runnable),
    /// A batch waiting on a channel, at this index.
    Channel(Sender<(usize, JobEnd)>, usize),
    /// An engine task in worker mode: the thread serving its worker ends it.
    Worker(WorkerSink),
}

/// One job to submit.
pub(crate) struct Submission {
    /// The Slurm job name (also names its files).
    pub name: String,
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
}

/// Runs each task it is given as a Slurm job.
///
/// A task's job must carry a [`CommandSpec`] in [`Job::remote`](crate::engine::Job::remote)
/// (as [`CommandJob`](crate::exec::CommandJob) does), or a [`WorkerCall`] (flow procs, named
/// graph tasks and [`WorkerJob`](crate::exec::process::WorkerJob)s do): such a task runs in
/// worker mode, as under the [`ProcessExecutor`](crate::exec::process::ProcessExecutor): its job
/// starts this program (or [`SlurmConfig::worker_program`]) with
/// [`WORKER_SOCKET_ENV`](crate::exec::process::WORKER_SOCKET_ENV) naming a Unix socket in
/// [`SlurmConfig::worker_socket_dir`], a thread here answers the worker's calls, and the
/// worker's report (its result, its error) ends the task, or, without one, the job's exit status
/// or Slurm state. The socket must be reachable from where the job runs: so far, worker tasks
/// run on clusters whose jobs run on this machine. The command's or the call's
/// [`ResourceHints`](crate::exec::ResourceHints) become `sbatch` options. The job is named `parade-<run id>-<task index>`, writes its output to
/// `<name>.out`/`<name>.err` in the work directory (forwarded to the task's output events when
/// it ends) and its exit status to `<name>.status`, because clusters often have no accounting
/// database. A task's timeout and a cancel (including [`Engine::stop`]) end its job with
/// `scancel`. A job that vanishes from Slurm without writing its status ends as failed with
/// [`Reason::Lost`].
///
/// The engine starts a task only once its dependencies have finished, so through the engine
/// parade releases each job as its inputs finish. To hand a whole chain to Slurm at once
/// (`--dependency=afterok`), use [`SlurmBatch`](super::SlurmBatch).
///
/// A run started again with the same [`run_id`](SlurmConfig::run_id) and work directory does
/// not submit a second copy of a command job that is still queued or running: it finds it by
/// name and waits for it. A worker job is submitted again (the old one is cancelled): its
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

pub(crate) struct Shared {
    pub(crate) cfg: SlurmConfig,
    pub(crate) work_dir: PathBuf,
    client: Client,
}

impl SlurmExecutor {
    /// An executor talking to Slurm as `cfg` says. It starts its polling thread at once.
    pub fn new(cfg: SlurmConfig) -> Self {
        let shared = Arc::new(Shared {
            work_dir: cfg.absolute_work_dir(),
            client: Client::new(cfg.clone()),
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

    /// The files of the job named `name` (see [`job_name`]).
    pub fn files(&self, name: &str) -> JobFiles {
        JobFiles::new(&self.shared.work_dir, name)
    }

    /// One `squeue` listing of this user's jobs.
    pub(crate) fn list(&self) -> Result<HashMap<JobId, JobState>, CommandError> {
        self.shared.client.list()
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
                    false,
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
    /// Queued or running jobs found by name when the first job was submitted (a restart).
    live_by_name: Option<HashMap<String, JobId>>,
    failed_polls: u32,
    to_cancel: Vec<JobId>,
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
                Ok(Msg::Cancel(target)) => self.cancel(target),
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
                    false,
                );
                ids.push(None);
                continue;
            };
            ids.push(self.submit_one(sub, &deps));
        }
    }

    fn submit_one(&mut self, sub: Submission, deps: &[JobId]) -> Option<JobId> {
        let files = JobFiles::new(&self.shared.work_dir, &sub.name);
        let time_limit = sub
            .spec
            .resources
            .time
            .as_deref()
            .and_then(parse_slurm_time);
        let mut adopted = self.live_by_name().remove(&sub.name);
        if !sub.adopt
            && let Some(stale) = adopted.take()
        {
            self.to_cancel.push(stale);
        }
        let job = if let Some(job) = adopted {
            job
        } else {
            match self.sbatch(&sub, &files, deps) {
                Ok(job) => job,
                Err(why) => {
                    end(
                        sub.sink,
                        Outcome::failed(why),
                        None,
                        Some(files),
                        Duration::ZERO,
                        false,
                    );
                    return None;
                }
            }
        };
        self.in_flight.push(InFlight {
            job,
            name: sub.name,
            files,
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

    /// Writes the batch script and submits it; the job id or a message naming the task.
    fn sbatch(&self, sub: &Submission, files: &JobFiles, deps: &[JobId]) -> Result<JobId, String> {
        let cwd = match &sub.spec.cwd {
            Some(dir) => super::config::absolute(dir),
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        };
        let prepared = std::fs::create_dir_all(&self.shared.work_dir).and_then(|()| {
            files.clear();
            std::fs::write(&files.script, batch_script(&sub.spec, &cwd, &files.status))
        });
        if let Err(e) = prepared {
            return Err(format!(
                "cannot write the batch script of {} to {}: {e}",
                sub.label,
                files.script.display()
            ));
        }
        let mut args = self.shared.cfg.sbatch_args.clone();
        args.push(format!("--output={}", files.stdout.display()));
        args.push(format!("--error={}", files.stderr.display()));
        if !deps.is_empty() {
            let ids: Vec<String> = deps.iter().map(ToString::to_string).collect();
            args.push(format!("--dependency=afterok:{}", ids.join(":")));
            args.push("--kill-on-invalid-dep=yes".to_owned());
        }
        args.extend(sub.spec.resources.sbatch_args());
        self.shared
            .client
            .sbatch(&sub.name, &args, &files.script)
            .map_err(|e: CommandError| {
                format!(
                    "sbatch refused {} (job {}): {}",
                    sub.label, sub.name, e.message
                )
            })
    }

    fn live_by_name(&mut self) -> &mut HashMap<String, JobId> {
        self.live_by_name.get_or_insert_with(|| {
            let prefix = format!("parade-{}-", self.shared.cfg.run_id);
            self.shared
                .client
                .list()
                .map(|jobs| {
                    jobs.into_iter()
                        .filter(|(_, st)| st.is_live() && st.name.starts_with(&prefix))
                        .map(|(id, st)| (st.name, id))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    fn cancel(&mut self, target: Target) {
        if let Some(job) = self
            .in_flight
            .iter_mut()
            .find(|j| j.target == Some(target) && j.stopping.is_none())
        {
            job.stopping = Some(Reason::Cancelled);
            self.to_cancel.push(job.job);
        }
    }

    fn flush_cancels(&mut self) {
        if self.to_cancel.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.to_cancel);
        if self.shared.client.scancel(&ids).is_err() {
            // Try again at the next poll; the jobs stay in flight until Slurm ends them.
            self.to_cancel = ids;
        }
    }

    /// Learns which jobs ended, ends them, and stops the ones past their timeout.
    fn poll(&mut self) {
        if self.in_flight.is_empty() {
            return;
        }
        let began = Instant::now();
        let listing = self.shared.client.list();
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
                self.to_cancel.push(job.job);
            }
        }
        // Cancels that failed before are tried again now.
        self.flush_cancels();
    }

    /// How `job` ended, or `None` while it may still run.
    fn decide(
        &self,
        job: &mut InFlight,
        listing: Option<&HashMap<JobId, JobState>>,
        began: Instant,
    ) -> Option<Outcome> {
        let status = job.files.read_status();
        if let (Some(code), None) = (status, &job.stopping) {
            return Some(outcome_of_code(code, None));
        }
        let listing = listing?;
        if job.submitted > began {
            return None; // submitted after the listing was asked for
        }
        let state = match listing.get(&job.job) {
            Some(st) => Some(st.clone()),
            None => match self.shared.client.show(job.job) {
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

/// The outcome of a job Slurm reports in the final state `st`.
fn final_outcome(job: &InFlight, st: &JobState, status: Option<i32>) -> Outcome {
    if let Some(code) = status {
        return outcome_of_code(code, job.stopping.as_ref());
    }
    if let Some(why) = &job.stopping {
        return Outcome::Failed(why.clone());
    }
    let slurm = format!("Slurm job {} ({})", job.job, job.name);
    let why = match st.state.as_str() {
        "TIMEOUT" => {
            let limit = job.time_limit.unwrap_or_else(|| job.submitted.elapsed());
            return Outcome::Failed(Reason::Timeout(limit));
        }
        "CANCELLED" if st.reason.contains("Dependency") => format!(
            "{slurm} never ran: a job it depends on failed (Slurm: {})",
            st.reason
        ),
        "CANCELLED" => return Outcome::Failed(Reason::Cancelled),
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
        stopped,
    );
}

/// Reports to `sink` that its job ended with `outcome` (`stopped`: parade stopped it).
fn end(
    sink: Sink,
    outcome: Outcome,
    job: Option<JobId>,
    files: Option<JobFiles>,
    duration: Duration,
    stopped: bool,
) {
    match sink {
        Sink::Task(runnable) => finish_task(runnable, files.as_ref(), outcome, duration),
        Sink::Worker(worker) => worker.ended(Ended {
            outcome,
            stopped,
            files,
            duration,
        }),
        Sink::Channel(tx, index) => {
            let _ = tx.send((
                index,
                JobEnd {
                    outcome,
                    job,
                    files,
                    duration,
                },
            ));
        }
    }
}

/// Forwards what the job wrote to its output files to the task's output events, then ends the
/// task with `outcome`.
pub(crate) fn finish_task(
    runnable: Runnable,
    files: Option<&JobFiles>,
    outcome: Outcome,
    duration: Duration,
) {
    if let Some(files) = files {
        for (path, stream) in [
            (&files.stdout, Stream::Stdout),
            (&files.stderr, Stream::Stderr),
        ] {
            if let Ok(text) = std::fs::read(path) {
                for line in String::from_utf8_lossy(&text).lines() {
                    runnable.emit(stream, line);
                }
            }
        }
    }
    runnable.finish(outcome, duration);
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
