//! The Slurm commands parade calls, and what it reads from their answers: `sbatch --parsable`,
//! one `squeue` listing for all jobs, `scontrol show job` as a fallback, and `scancel`.
//! Transient failures (the controller busy or unreachable) are retried with a doubling backoff.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;

use super::SlurmConfig;

/// A Slurm job id, as `sbatch --parsable` printed it (without a cluster suffix).
pub type JobId = u64;

/// A job's state as Slurm reports it, with the reason Slurm gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobState {
    /// The job's name.
    pub name: String,
    /// The state in capitals, e.g. `PENDING`, `RUNNING`, `COMPLETED`, `TIMEOUT`.
    pub state: String,
    /// Slurm's reason, e.g. `None`, `Dependency`, `NonZeroExitCode`.
    pub reason: String,
}

impl JobState {
    /// Whether the job may still run or is running (every state but the final ones).
    ///
    /// ```
    /// use parade::exec::slurm::JobState;
    /// let st = |s: &str| JobState { name: "j".into(), state: s.into(), reason: "None".into() };
    /// assert!(st("PENDING").is_live() && st("COMPLETING").is_live());
    /// assert!(!st("COMPLETED").is_live() && !st("OUT_OF_MEMORY").is_live());
    /// ```
    pub fn is_live(&self) -> bool {
        matches!(
            self.state.as_str(),
            "PENDING"
                | "CONFIGURING"
                | "RUNNING"
                | "COMPLETING"
                | "SUSPENDED"
                | "REQUEUED"
                | "REQUEUE_FED"
                | "REQUEUE_HOLD"
                | "RESIZING"
                | "SIGNALING"
                | "STAGE_OUT"
                | "STOPPED"
                | "RESV_DEL_HOLD"
        )
    }
}

/// A Slurm command that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{command}` failed: {message}")]
pub struct CommandError {
    /// The command line, shortened to the command and its first arguments.
    pub command: String,
    /// What it printed on standard error (or why it could not start).
    pub message: String,
    /// Whether trying again may help (the controller was busy or unreachable).
    pub transient: bool,
}

/// How many times each command was called, for benchmarks and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlurmStats {
    /// `sbatch` calls.
    pub sbatch: u64,
    /// `squeue` calls.
    pub squeue: u64,
    /// `scontrol` calls.
    pub scontrol: u64,
    /// `scancel` calls.
    pub scancel: u64,
}

/// Runs the Slurm commands with retries, and counts the calls.
pub(crate) struct Client {
    cfg: SlurmConfig,
    sbatch: AtomicU64,
    squeue: AtomicU64,
    scontrol: AtomicU64,
    scancel: AtomicU64,
}

/// Answers that mean the controller was busy or unreachable, not that the request was wrong.
fn is_transient(stderr: &str) -> bool {
    const MARKS: [&str; 8] = [
        "Socket timed out",
        "Unable to contact",
        "Connection refused",
        "try again",
        "Resource temporarily unavailable",
        "Zero Bytes were transmitted",
        "slurm_persist_conn",
        "Slurm temporarily unable",
    ];
    MARKS.iter().any(|m| stderr.contains(m))
}

/// Whether Slurm said it does not know the job.
pub(crate) fn is_invalid_job(text: &str) -> bool {
    text.contains("Invalid job id")
}

impl Client {
    pub(crate) fn new(cfg: SlurmConfig) -> Self {
        Self {
            cfg,
            sbatch: AtomicU64::new(0),
            squeue: AtomicU64::new(0),
            scontrol: AtomicU64::new(0),
            scancel: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> SlurmStats {
        SlurmStats {
            sbatch: self.sbatch.load(Ordering::Relaxed),
            squeue: self.squeue.load(Ordering::Relaxed),
            scontrol: self.scontrol.load(Ordering::Relaxed),
            scancel: self.scancel.load(Ordering::Relaxed),
        }
    }

    /// Runs `name args` once; its standard output, or the error.
    fn call_once(&self, name: &str, args: &[String]) -> Result<String, CommandError> {
        let counter = match name {
            "sbatch" => &self.sbatch,
            "squeue" => &self.squeue,
            "scontrol" => &self.scontrol,
            _ => &self.scancel,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let command = || {
            let shown: Vec<&str> = args.iter().take(3).map(String::as_str).collect();
            format!("{name} {}", shown.join(" "))
        };
        // Jobs take sbatch's environment: a worker's own socket must not reach them.
        let out = Command::new(self.cfg.command(name))
            .args(args)
            .env_remove(crate::exec::process::WORKER_SOCKET_ENV)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| CommandError {
                command: command(),
                message: format!("cannot run {}: {e}", self.cfg.command(name).display()),
                transient: false,
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            return Ok(stdout);
        }
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let message = if stderr.is_empty() {
            format!("{} with no message", out.status)
        } else {
            stderr
        };
        Err(CommandError {
            command: command(),
            transient: is_transient(&message) || !is_invalid_job(&message) && name != "sbatch",
            message,
        })
    }

    /// Runs `name args`, retrying transient failures with a doubling backoff. `before_retry`
    /// may answer instead of a retry (used to find a job that `sbatch` submitted although its
    /// answer was lost).
    fn call(
        &self,
        name: &str,
        args: &[String],
        mut before_retry: impl FnMut() -> Option<String>,
    ) -> Result<String, CommandError> {
        let mut wait = self.cfg.retry_backoff;
        let mut tries = 0;
        loop {
            match self.call_once(name, args) {
                Err(e) if e.transient && tries < self.cfg.retries => {
                    tries += 1;
                    sleep(wait);
                    wait = wait.saturating_mul(2);
                    if let Some(answer) = before_retry() {
                        return Ok(answer);
                    }
                }
                other => return other,
            }
        }
    }

    /// Submits `script` as job `name` with `args`; the job id.
    pub(crate) fn sbatch(
        &self,
        name: &str,
        args: &[String],
        script: &Path,
    ) -> Result<JobId, CommandError> {
        let mut all = vec!["--parsable".to_owned(), format!("--job-name={name}")];
        all.extend(args.iter().cloned());
        all.push(script.to_string_lossy().into_owned());
        let out = self.call("sbatch", &all, || {
            // The controller may have taken the job and lost only its answer.
            let live = self.list().ok()?;
            live.into_iter()
                .find(|(_, st)| st.name == name && st.is_live())
                .map(|(id, _)| id.to_string())
        })?;
        parse_sbatch(&out).ok_or_else(|| CommandError {
            command: format!("sbatch --job-name={name}"),
            message: format!("unexpected answer {:?}", out.trim()),
            transient: false,
        })
    }

    /// One `squeue` listing of this user's jobs in every state Slurm still remembers.
    pub(crate) fn list(&self) -> Result<HashMap<JobId, JobState>, CommandError> {
        let args: Vec<String> = ["--me", "--noheader", "--states=all", "--format=%i|%j|%T|%r"]
            .map(String::from)
            .into();
        let out = self.call("squeue", &args, || None)?;
        Ok(parse_squeue(&out))
    }

    /// `scontrol show job ID`: the job's state, or `None` when Slurm does not know the job.
    pub(crate) fn show(&self, id: JobId) -> Result<Option<JobState>, CommandError> {
        let args = vec!["show".to_owned(), "job".to_owned(), id.to_string()];
        match self.call("scontrol", &args, || None) {
            Ok(out) => Ok(parse_scontrol(&out)),
            Err(e) if is_invalid_job(&e.message) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Cancels the jobs `ids` with one `scancel` call.
    pub(crate) fn scancel(&self, ids: &[JobId]) -> Result<(), CommandError> {
        if ids.is_empty() {
            return Ok(());
        }
        let args: Vec<String> = ids.iter().map(ToString::to_string).collect();
        match self.call("scancel", &args, || None) {
            // Jobs that ended meanwhile are not an error.
            Err(e) if is_invalid_job(&e.message) => Ok(()),
            other => other.map(drop),
        }
    }
}

/// The job id in `sbatch --parsable` output: `ID` or `ID;CLUSTER`.
///
/// ```
/// use parade::exec::slurm::parse_sbatch;
/// assert_eq!(parse_sbatch("42\n"), Some(42));
/// assert_eq!(parse_sbatch("42;west\n"), Some(42));
/// assert_eq!(parse_sbatch("Submitted batch job 42"), None);
/// ```
pub fn parse_sbatch(out: &str) -> Option<JobId> {
    let line = out.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    line.split(';').next()?.trim().parse().ok()
}

/// Parses `squeue --format=%i|%j|%T|%r` lines into states by job id. Lines that do not parse
/// (array or het-job ids, messages) are left out.
///
/// ```
/// use parade::exec::slurm::parse_squeue;
/// let jobs = parse_squeue("7|parade-r-0|RUNNING|None\n8|parade-r-1|PENDING|Dependency\n");
/// assert_eq!(jobs[&8].state, "PENDING");
/// assert_eq!(jobs[&7].name, "parade-r-0");
/// ```
pub fn parse_squeue(out: &str) -> HashMap<JobId, JobState> {
    out.lines()
        .filter_map(|line| {
            let mut f = line.trim().splitn(4, '|');
            let id = f.next()?.trim().parse().ok()?;
            let name = f.next()?.trim().to_owned();
            let state = f.next()?.trim().to_owned();
            let reason = f.next().unwrap_or("").trim().to_owned();
            Some((
                id,
                JobState {
                    name,
                    state,
                    reason,
                },
            ))
        })
        .collect()
}

/// The job state in `scontrol show job` output.
///
/// ```
/// use parade::exec::slurm::parse_scontrol;
/// let out = "JobId=4 JobName=x\n   JobState=FAILED Reason=NonZeroExitCode Dependency=(null)\n";
/// let st = parse_scontrol(out).unwrap();
/// assert_eq!((st.name.as_str(), st.state.as_str(), st.reason.as_str()), ("x", "FAILED", "NonZeroExitCode"));
/// ```
pub fn parse_scontrol(out: &str) -> Option<JobState> {
    let field = |key: &str| {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .map(str::to_owned)
    };
    Some(JobState {
        name: field("JobName=").unwrap_or_default(),
        state: field("JobState=")?,
        reason: field("Reason=").unwrap_or_default(),
    })
}
