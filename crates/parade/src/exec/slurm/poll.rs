//! The polling thread of a [`SlurmExecutor`](super::SlurmExecutor): it takes submissions
//! and cancels as they come; when the poll interval has passed, it reads the exit-status files
//! the jobs write, lists the jobs with one `squeue` call (per cluster), asks `scontrol show job`
//! only about jobs missing from the listing, and ends the jobs that ended. Cancels and parade's
//! own timeouts are gathered and sent with one `scancel` call.
//!
//! How a job ended does not depend on the order in which parade learns things: an exit status
//! of 0 is a success at once; any other status waits for Slurm's final state, because a command
//! ended by Slurm's time limit (or by someone's `scancel`) exits 143 like one that failed, and
//! only the state (`TIMEOUT`, `CANCELLED`, `OUT_OF_MEMORY`, ...) says which.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::client::{CommandError, JobId, JobState, identity_comment};
use super::names::is_job_of_run;
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

pub(crate) struct Worker {
    shared: Arc<Shared>,
    in_flight: Vec<InFlight>,
    /// Queued or running jobs of this run found when the first job was submitted (a
    /// restart), by name: their ids and comments.
    live_by_name: Option<HashMap<String, Vec<(JobId, String)>>>,
    failed_polls: u32,
    to_cancel: Vec<(JobId, Option<String>)>,
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
            match sbatch(
                &self.shared,
                (&sub.name, &sub.identity, &sub.label),
                &sub.spec,
                deps,
            ) {
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
