//! The polling thread of a [`SlurmExecutor`](super::SlurmExecutor): it takes submissions
//! and cancels as they come; when the poll interval has passed, it reads the exit-status files
//! the jobs write, lists the jobs with one `squeue` call (per cluster), asks `scontrol show job`
//! only about jobs missing from the listing, and ends the jobs that ended. Cancels and parade's
//! own timeouts are gathered and sent with one `scancel` call.
//!
//! Submissions that arrive together (and those that follow within [`GATHER_QUIET`] of each
//! other, for at most [`GATHER_MAX`]) are submitted together: with
//! [`SlurmConfig::job_arrays`](super::SlurmConfig::job_arrays), those of one shape (the same
//! resources, the same dependencies, both command or both worker jobs) become one job array,
//! whose elements are then polled, timed out and cancelled one by one (`<id>_<index>`; a
//! cancel of every element in flight cancels the array by its id).
//!
//! How a job ended does not depend on the order in which parade learns things: an exit status
//! of 0 is a success at once; any other status waits for Slurm's final state, because a command
//! ended by Slurm's time limit (or by someone's `scancel`) exits 143 like one that failed, and
//! only the state (`TIMEOUT`, `CANCELLED`, `OUT_OF_MEMORY`, ...) says which.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::arrays::{Element, MAX_ARRAY, read_manifest, sbatch_array, shapes, whole_arrays};
use super::client::{CommandError, JobId, JobRef, JobState, identity_comment};
use super::names::{array_identity, array_name, is_job_of_run};
use super::script::JobFiles;
use super::shared::Shared;
use super::sink::{Sink, end};
use super::submit::{Submission, Target, parse_slurm_time, sbatch};
use crate::engine::{Outcome, Reason};

pub(crate) enum Msg {
    Submit(Vec<Submission>),
    Cancel(Target),
    CancelNamed(String),
}

/// How long the thread waits for a further submission before it submits what it has, when
/// job arrays are on: tasks handed over one by one (each task of a task file submits its own)
/// still make one array.
const GATHER_QUIET: Duration = Duration::from_millis(20);

/// The longest it gathers submissions before it submits them.
const GATHER_MAX: Duration = Duration::from_millis(200);

/// A job array's elements as its manifest lists them: index, job name, identity.
type Manifest = Vec<(u32, String, String)>;

/// A queued or running job of an earlier run (found on a restart), for the task whose job
/// name it is listed under.
struct Live {
    job: JobRef,
    /// Its comment: the task's identity (an element: the element's, from the manifest).
    comment: String,
    files: JobFiles,
}

/// A job (or an element of a job array) in flight.
struct InFlight {
    job: JobRef,
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

impl InFlight {
    /// `sub`, submitted (or adopted) as `job`, with the files it writes.
    fn new(
        sub: Submission,
        job: JobRef,
        cluster: Option<String>,
        files: JobFiles,
        adopted: bool,
    ) -> Self {
        let time_limit = sub
            .spec
            .resources
            .time
            .as_deref()
            .and_then(parse_slurm_time);
        Self {
            job,
            cluster,
            adopted,
            name: sub.name,
            files,
            sink: sub.sink,
            submitted: Instant::now(),
            timeout: sub.timeout,
            time_limit,
            target: sub.target,
            stopping: None,
            misses: 0,
        }
    }
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    in_flight: Vec<InFlight>,
    /// Queued or running jobs of this run found when the first job was submitted (a
    /// restart), by the job names of their tasks.
    live_by_name: Option<HashMap<String, Vec<Live>>>,
    failed_polls: u32,
    to_cancel: Vec<(JobRef, Option<String>)>,
}

/// Starts the polling thread of `shared`'s executor, taking its messages from `rx`.
pub(crate) fn start(shared: Arc<Shared>, rx: Receiver<Msg>) {
    let worker = Worker {
        shared,
        in_flight: Vec::new(),
        live_by_name: None,
        failed_polls: 0,
        to_cancel: Vec::new(),
    };
    std::thread::Builder::new()
        .name("parade-slurm".into())
        .spawn(move || worker.run(&rx))
        .expect("the Slurm polling thread starts");
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
                Ok(Msg::Submit(subs)) => {
                    let (subs, next) = self.gather(subs, rx);
                    self.submit(subs);
                    if let Some(msg) = next {
                        self.handle(msg);
                    }
                }
                Ok(msg) => self.handle(msg),
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

    /// Handles a cancel (or a submission).
    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Submit(subs) => self.submit(subs),
            Msg::Cancel(target) => self.cancel(|j| j.target == Some(target)),
            Msg::CancelNamed(name) => self.cancel(|j| j.name == name),
        }
    }

    /// `subs` and the submissions that follow them closely (see [`GATHER_QUIET`]), as one
    /// submission (later ones' `after` renumbered), and the first other message, which comes
    /// after them. Without job arrays, `subs` alone.
    fn gather(
        &self,
        mut subs: Vec<Submission>,
        rx: &Receiver<Msg>,
    ) -> (Vec<Submission>, Option<Msg>) {
        if !self.shared.cfg.job_arrays {
            return (subs, None);
        }
        let until = Instant::now() + GATHER_MAX;
        loop {
            let wait = GATHER_QUIET.min(until.saturating_duration_since(Instant::now()));
            match rx.recv_timeout(wait) {
                Ok(Msg::Submit(more)) => {
                    let base = subs.len();
                    subs.extend(more.into_iter().map(|mut s| {
                        for a in &mut s.after {
                            *a += base;
                        }
                        s
                    }));
                }
                Ok(other) => return (subs, Some(other)),
                Err(_) => return (subs, None),
            }
        }
    }

    /// Submits `subs` (in order: each one's `after` names earlier ones): first it adopts
    /// what a restart finds queued or running, then submits the rest, same-shaped ones as job
    /// arrays when [`SlurmConfig::job_arrays`](super::SlurmConfig::job_arrays) says so.
    fn submit(&mut self, subs: Vec<Submission>) {
        let mut ids: Vec<Option<JobRef>> = vec![None; subs.len()];
        let mut todo = Vec::with_capacity(subs.len());
        for (i, sub) in subs.into_iter().enumerate() {
            match self.adoptable(&sub) {
                Some(live) => {
                    ids[i] = Some(live.job);
                    self.in_flight
                        .push(InFlight::new(sub, live.job, None, live.files, true));
                }
                None => todo.push((i, sub)),
            }
        }
        // The size of each array submitted now, to name a dependency on all of one by its id.
        let mut arrays: HashMap<JobId, usize> = HashMap::new();
        for group in shapes(todo, self.shared.cfg.job_arrays) {
            // A group's members share their dependencies, all earlier than its first member.
            let deps: Option<Vec<JobRef>> = group[0].1.after.iter().map(|&i| ids[i]).collect();
            let Some(deps) = deps else {
                for (_, sub) in group {
                    let why = format!(
                        "{} was not submitted: a job it depends on was not",
                        sub.label
                    );
                    fail_unsubmitted(sub.sink, why);
                }
                continue;
            };
            let deps = whole_arrays(deps, &arrays);
            if group.len() == 1 {
                let (i, sub) = group.into_iter().next().expect("a group has a member");
                ids[i] = self.submit_one(sub, &deps);
                continue;
            }
            let mut group = group.into_iter().peekable();
            while group.peek().is_some() {
                let chunk: Vec<(usize, Submission)> = group.by_ref().take(MAX_ARRAY).collect();
                let len = chunk.len();
                for (i, job) in self.submit_array(chunk, &deps) {
                    ids[i] = job;
                    if let Some(job) = job {
                        arrays.insert(job.job, len);
                    }
                }
            }
        }
    }

    /// The queued or running job of an earlier run (a restart) that may stand for `sub`: one
    /// of its name and identity. Jobs of its name that may not (an earlier run's worker jobs,
    /// whose socket is gone) are cancelled.
    fn adoptable(&mut self, sub: &Submission) -> Option<Live> {
        let comment = identity_comment(&sub.identity);
        let found = self.live_by_name().remove(&sub.name).unwrap_or_default();
        let mut adopted = None;
        for live in found {
            if sub.adopt && adopted.is_none() && live.comment == comment {
                adopted = Some(live);
            } else if !sub.adopt {
                // A worker job of an earlier run talks to a socket that is gone.
                self.to_cancel.push((live.job, None));
            }
        }
        adopted
    }

    fn submit_one(&mut self, sub: Submission, deps: &[JobRef]) -> Option<JobRef> {
        for f in &sub.stale {
            let _ = std::fs::remove_file(f);
        }
        match sbatch(
            &self.shared,
            (&sub.name, &sub.identity, &sub.label),
            &sub.spec,
            deps,
        ) {
            Ok(s) => {
                let files = JobFiles::new(&self.shared.work_dir, &sub.name, s.id);
                let job = JobRef::job(s.id);
                self.in_flight
                    .push(InFlight::new(sub, job, s.cluster, files, false));
                Some(job)
            }
            Err(why) => {
                fail_unsubmitted(sub.sink, why);
                None
            }
        }
    }

    /// Submits `chunk` (same-shaped, at most [`MAX_ARRAY`]) as one job array held until
    /// `deps` succeeded; each member's index in the submission and its element.
    fn submit_array(
        &mut self,
        chunk: Vec<(usize, Submission)>,
        deps: &[JobRef],
    ) -> Vec<(usize, Option<JobRef>)> {
        let name = array_name(&chunk[0].1.name, chunk.len());
        let identity = array_identity(
            chunk
                .iter()
                .map(|(_, s)| (s.name.as_str(), s.identity.as_str())),
        );
        for (_, sub) in &chunk {
            for f in &sub.stale {
                let _ = std::fs::remove_file(f);
            }
        }
        let elements: Vec<Element<'_>> = chunk
            .iter()
            .map(|(_, s)| Element {
                name: &s.name,
                identity: &s.identity,
                label: &s.label,
                spec: &s.spec,
            })
            .collect();
        let submitted = sbatch_array(&self.shared, (&name, &identity), &elements, deps);
        drop(elements);
        match submitted {
            Ok(s) => (0u32..)
                .zip(chunk)
                .map(|(index, (i, sub))| {
                    let files =
                        JobFiles::element(&self.shared.work_dir, &name, &identity, s.id, index);
                    let job = JobRef::element(s.id, index);
                    self.in_flight
                        .push(InFlight::new(sub, job, s.cluster.clone(), files, false));
                    (i, Some(job))
                })
                .collect(),
            Err(why) => chunk
                .into_iter()
                .map(|(i, sub)| {
                    fail_unsubmitted(sub.sink, why.clone());
                    (i, None)
                })
                .collect(),
        }
    }

    /// The queued and running jobs of this run (a restart), by their tasks' job names: an
    /// element of an earlier run's job array is found through the array's manifest.
    fn live_by_name(&mut self) -> &mut HashMap<String, Vec<Live>> {
        self.live_by_name.get_or_insert_with(|| {
            let run = &self.shared.cfg.run_id;
            let dir = &self.shared.work_dir;
            let mut found: HashMap<String, Vec<Live>> = HashMap::new();
            let jobs = self.shared.client.list_elements(None).unwrap_or_default();
            let mut jobs: Vec<(JobRef, JobState)> = jobs
                .into_iter()
                .filter(|(_, st)| st.is_live() && is_job_of_run(&st.name, run))
                .collect();
            jobs.sort_by_key(|(id, _)| *id);
            let mut manifests: HashMap<(String, String), Manifest> = HashMap::new();
            for (job, st) in jobs {
                let Some(index) = job.element else {
                    let files = JobFiles::new(dir, &st.name, job.job);
                    found.entry(st.name).or_default().push(Live {
                        job,
                        comment: st.comment,
                        files,
                    });
                    continue;
                };
                let Some(array) = st.comment.strip_prefix("parade:") else {
                    continue;
                };
                let manifest = manifests
                    .entry((st.name.clone(), array.to_owned()))
                    .or_insert_with(|| read_manifest(dir, &st.name, array));
                if let Some((_, task, identity)) = manifest.iter().find(|(i, ..)| *i == index) {
                    found.entry(task.clone()).or_default().push(Live {
                        job,
                        comment: identity_comment(identity),
                        files: JobFiles::element(dir, &st.name, array, job.job, index),
                    });
                }
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
        let mut by_cluster: BTreeMap<Option<String>, Vec<JobRef>> = BTreeMap::new();
        for (id, cluster) in std::mem::take(&mut self.to_cancel) {
            by_cluster.entry(cluster).or_default().push(id);
        }
        for (cluster, ids) in by_cluster {
            // An array all of whose elements in flight are stopping (more than one of them
            // now) is cancelled by its id.
            let mut now: HashMap<JobId, usize> = HashMap::new();
            for id in ids.iter().filter(|id| id.element.is_some()) {
                *now.entry(id.job).or_default() += 1;
            }
            let whole = |array: JobId| {
                now[&array] > 1
                    && self
                        .in_flight
                        .iter()
                        .all(|j| j.job.job != array || j.cluster != cluster || j.stopping.is_some())
            };
            let mut ids: Vec<JobRef> = ids
                .into_iter()
                .map(|id| match id.element {
                    Some(_) if whole(id.job) => JobRef::job(id.job),
                    _ => id,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
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
    fn list_all(&self) -> Result<HashMap<(Option<String>, JobRef), JobState>, CommandError> {
        let mut clusters: Vec<Option<&str>> = self
            .in_flight
            .iter()
            .map(|j| j.cluster.as_deref())
            .collect();
        clusters.sort_unstable();
        clusters.dedup();
        let mut all = HashMap::new();
        for cluster in clusters {
            for (id, st) in self.shared.client.list_elements(cluster)? {
                all.insert((cluster.map(str::to_owned), id), st);
            }
        }
        Ok(all)
    }

    /// How `job` ended, or `None` while it may still run.
    fn decide(
        &self,
        job: &mut InFlight,
        listing: Option<&HashMap<(Option<String>, JobRef), JobState>>,
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
                // An element of an array that parade stopped may be neither listed nor
                // shown once cancelled (Slurm folds a cancelled pending element back into
                // its array's record): its own status, or why parade stopped it, ends it.
                Err(_) if job.job.element.is_some() && job.stopping.is_some() => {
                    let status = status.or_else(|| job.files.read_status());
                    return Some(match status {
                        Some(code) => outcome_of_code(code, job.stopping.as_ref()),
                        None => Outcome::Failed(job.stopping.clone().unwrap_or(Reason::Cancelled)),
                    });
                }
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
        Some(job.job.job),
        Some(job.files),
        duration,
        (stopped, job.adopted),
    );
}

/// Ends the task of a job that was not submitted, saying why.
fn fail_unsubmitted(sink: Sink, why: String) {
    end(
        sink,
        Outcome::failed(why),
        None,
        None,
        Duration::ZERO,
        (false, false),
    );
}
