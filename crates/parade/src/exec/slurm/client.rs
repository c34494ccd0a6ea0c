//! The Slurm commands parade calls, and what it reads from their answers: `sbatch --parsable`,
//! one `squeue` listing for all jobs, `scontrol show job` as a fallback, and `scancel`.
//! Every call has a time limit ([`SlurmConfig::command_timeout`]); a call that passes it is
//! killed and counts as a transient failure. Transient failures (the controller busy or
//! unreachable) are retried with a doubling backoff. A job submitted to a named cluster
//! (`sbatch --parsable` answering `ID;CLUSTER`) is asked about and cancelled on that cluster
//! (`--clusters=CLUSTER`).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::SlurmConfig;

/// A Slurm job id, as `sbatch --parsable` printed it (without a cluster suffix).
pub type JobId = u64;

/// A job, or one element of a job array (`sbatch --array`): Slurm names an element
/// `<array job id>_<index>` in `squeue`, `scontrol`, `scancel` and `--dependency`.
///
/// ```
/// use parade::exec::slurm::JobRef;
/// assert_eq!(JobRef::job(42).to_string(), "42");
/// assert_eq!(JobRef::element(42, 3).to_string(), "42_3");
/// assert_eq!("42_3".parse::<JobRef>(), Ok(JobRef::element(42, 3)));
/// assert_eq!("42".parse::<JobRef>(), Ok(JobRef::job(42)));
/// assert_eq!("42_[3]".parse::<JobRef>(), Ok(JobRef::element(42, 3)));
/// assert!("42_[0-3]".parse::<JobRef>().is_err(), "a range of pending elements is not one");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobRef {
    /// The job id (of the whole array, for an element).
    pub job: JobId,
    /// The element's index (`$SLURM_ARRAY_TASK_ID`), for an element of an array.
    pub element: Option<u32>,
}

impl JobRef {
    /// A job of its own (or a whole array).
    pub fn job(job: JobId) -> Self {
        Self { job, element: None }
    }

    /// Element `index` of array `job`.
    pub fn element(job: JobId, index: u32) -> Self {
        Self {
            job,
            element: Some(index),
        }
    }
}

impl std::fmt::Display for JobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.element {
            Some(i) => write!(f, "{}_{i}", self.job),
            None => write!(f, "{}", self.job),
        }
    }
}

impl std::str::FromStr for JobRef {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('_') {
            // One pending element may be shown as a range of one: `42_[3]`.
            Some((job, index)) => {
                let index = index
                    .strip_prefix('[')
                    .and_then(|i| i.strip_suffix(']'))
                    .unwrap_or(index);
                Ok(Self::element(job.parse()?, index.parse()?))
            }
            None => Ok(Self::job(s.parse()?)),
        }
    }
}

/// What `sbatch --parsable` answered: the job id and, on a multi-cluster setup, the cluster
/// that took the job (later calls about the job name it with `--clusters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// The job id.
    pub id: JobId,
    /// The cluster, when `sbatch` named one (`ID;CLUSTER`).
    pub cluster: Option<String>,
}

/// A job's state as Slurm reports it, with the reason Slurm gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobState {
    /// The job's name.
    pub name: String,
    /// The state in capitals, e.g. `PENDING`, `RUNNING`, `COMPLETED`, `TIMEOUT`.
    pub state: String,
    /// Slurm's reason, e.g. `None`, `Dependency`, `NonZeroExitCode`.
    pub reason: String,
    /// The job's comment (`sbatch --comment`): parade's jobs carry their identity there
    /// (`parade:<identity>`, see [`job_identity`](super::job_identity)).
    pub comment: String,
}

impl JobState {
    /// Whether the job may still run or is running (every state but the final ones).
    ///
    /// ```
    /// use parade::exec::slurm::JobState;
    /// let st = |s: &str| JobState {
    ///     name: "j".into(), state: s.into(), reason: "None".into(), comment: String::new(),
    /// };
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

    /// Runs `name args` once, within the command time limit; its standard output, or the error.
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
        let child = Command::new(self.cfg.command(name))
            .args(args)
            .env_remove(crate::exec::process::WORKER_SOCKET_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CommandError {
                command: command(),
                message: format!("cannot run {}: {e}", self.cfg.command(name).display()),
                transient: false,
            })?;
        let Some((status, stdout, stderr)) = wait_within(child, self.cfg.command_timeout) else {
            return Err(CommandError {
                command: command(),
                message: format!(
                    "no answer within {:?} (killed; the controller may be overloaded)",
                    self.cfg.command_timeout
                ),
                transient: true,
            });
        };
        if status.success() {
            return Ok(stdout);
        }
        let stderr = stderr.trim().to_owned();
        let message = if stderr.is_empty() {
            format!("{status} with no message")
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

    /// Submits `script` as job `name` with `args`, its identity in its comment; the job id and
    /// cluster.
    pub(crate) fn sbatch(
        &self,
        name: &str,
        identity: &str,
        args: &[String],
        script: &Path,
    ) -> Result<Submitted, CommandError> {
        let comment = identity_comment(identity);
        let mut all = vec![
            "--parsable".to_owned(),
            format!("--job-name={name}"),
            format!("--comment={comment}"),
        ];
        all.extend(args.iter().cloned());
        all.push(script.to_string_lossy().into_owned());
        let out = self.call("sbatch", &all, || {
            // The controller may have taken the job and lost only its answer (or sbatch hung
            // after submitting). Only a job of this identity counts.
            let live = self.list(None).ok()?;
            live.into_iter()
                .find(|(_, st)| st.name == name && st.comment == comment && st.is_live())
                .map(|(id, _)| id.to_string())
        })?;
        parse_sbatch(&out).ok_or_else(|| CommandError {
            command: format!("sbatch --job-name={name}"),
            message: format!("unexpected answer {:?}", out.trim()),
            transient: false,
        })
    }

    /// One `squeue` listing of this user's jobs in every state Slurm still remembers, on the
    /// default cluster or on `cluster` (jobs of their own only; see
    /// [`list_elements`](Self::list_elements)).
    pub(crate) fn list(
        &self,
        cluster: Option<&str>,
    ) -> Result<HashMap<JobId, JobState>, CommandError> {
        Ok(plain_jobs(self.list_elements(cluster)?))
    }

    /// One `squeue` listing like [`list`](Self::list), with every element of a job array on a
    /// line of its own (`--array`: pending elements too, as `<id>_<index>`).
    pub(crate) fn list_elements(
        &self,
        cluster: Option<&str>,
    ) -> Result<HashMap<JobRef, JobState>, CommandError> {
        let mut args: Vec<String> = [
            "--me",
            "--noheader",
            "--array",
            "--states=all",
            "--format=%i|%j|%T|%r|%k",
        ]
        .map(String::from)
        .into();
        args.extend(clusters_arg(cluster));
        let out = self.call("squeue", &args, || None)?;
        Ok(parse_squeue_elements(&out))
    }

    /// `scontrol show job ID` (or `ID_INDEX`, an array's element): the job's state, or `None`
    /// when Slurm does not know the job.
    pub(crate) fn show(
        &self,
        id: JobRef,
        cluster: Option<&str>,
    ) -> Result<Option<JobState>, CommandError> {
        let mut args: Vec<String> = clusters_arg(cluster).collect();
        args.extend(["show".to_owned(), "job".to_owned(), id.to_string()]);
        match self.call("scontrol", &args, || None) {
            Ok(out) => {
                let mut jobs = parse_scontrol(&out);
                Ok(match id.element {
                    None => jobs.remove(&id.job),
                    // An element has a job id of its own; asked by name, Slurm shows it alone.
                    Some(_) if jobs.len() == 1 => jobs.into_values().next(),
                    Some(_) => None,
                })
            }
            Err(e) if is_invalid_job(&e.message) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Cancels the jobs (whole arrays, elements) `ids` of `cluster` with one `scancel` call.
    pub(crate) fn scancel<I: std::fmt::Display>(
        &self,
        ids: &[I],
        cluster: Option<&str>,
    ) -> Result<(), CommandError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut args: Vec<String> = clusters_arg(cluster).collect();
        args.extend(ids.iter().map(ToString::to_string));
        match self.call("scancel", &args, || None) {
            // Jobs that ended meanwhile are not an error.
            Err(e) if is_invalid_job(&e.message) => Ok(()),
            other => other.map(drop),
        }
    }
}

/// The comment a job of identity `identity` carries.
pub(crate) fn identity_comment(identity: &str) -> String {
    format!("parade:{identity}")
}

/// `--clusters=NAME` when a cluster is named.
fn clusters_arg(cluster: Option<&str>) -> impl Iterator<Item = String> {
    cluster.map(|c| format!("--clusters={c}")).into_iter()
}

/// Waits for `child` at most `limit`, reading its output meanwhile; its status and output, or
/// `None` (after killing it) when it did not end in time.
fn wait_within(mut child: Child, limit: Duration) -> Option<(ExitStatus, String, String)> {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => {
                sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    // A killed command's descendants may hold its pipes open: do not wait for them.
    let status = status?;
    Some((
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}

/// The job id and cluster in `sbatch --parsable` output: `ID` or `ID;CLUSTER`.
///
/// ```
/// use parade::exec::slurm::{Submitted, parse_sbatch};
/// assert_eq!(parse_sbatch("42\n"), Some(Submitted { id: 42, cluster: None }));
/// assert_eq!(
///     parse_sbatch("42;west\n"),
///     Some(Submitted { id: 42, cluster: Some("west".into()) })
/// );
/// assert_eq!(parse_sbatch("Submitted batch job 42"), None);
/// ```
pub fn parse_sbatch(out: &str) -> Option<Submitted> {
    let line = out.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let (id, cluster) = match line.split_once(';') {
        Some((id, cluster)) => (id, Some(cluster.trim()).filter(|c| !c.is_empty())),
        None => (line, None),
    };
    Some(Submitted {
        id: id.trim().parse().ok()?,
        cluster: cluster.map(str::to_owned),
    })
}

/// Parses `squeue --format=%i|%j|%T|%r|%k` lines into states by job id (the comment field may
/// be missing). Lines that do not parse (array or het-job ids, `CLUSTER:` headers, messages)
/// are left out; [`parse_squeue_elements`] keeps arrays' elements.
///
/// ```
/// use parade::exec::slurm::parse_squeue;
/// let jobs = parse_squeue("7|parade-r-0|RUNNING|None|parade:ab\n8|parade-r-1|PENDING|Dependency\n");
/// assert_eq!(jobs[&8].state, "PENDING");
/// assert_eq!(jobs[&7].name, "parade-r-0");
/// assert_eq!(jobs[&7].comment, "parade:ab");
/// ```
pub fn parse_squeue(out: &str) -> HashMap<JobId, JobState> {
    plain_jobs(parse_squeue_elements(out))
}

/// The jobs of their own in a listing of jobs and elements.
fn plain_jobs(all: HashMap<JobRef, JobState>) -> HashMap<JobId, JobState> {
    all.into_iter()
        .filter_map(|(r, st)| r.element.is_none().then_some((r.job, st)))
        .collect()
}

/// [`parse_squeue`], keeping the elements of job arrays (`squeue --array` lists each as
/// `<id>_<index>`); a range of pending elements (`7_[2-5]`, listed without `--array`) and
/// het-job parts are left out.
///
/// ```
/// use parade::exec::slurm::{JobRef, parse_squeue_elements};
/// let jobs = parse_squeue_elements("7_0|a|RUNNING|None|parade:ab\n7_1|a|PENDING|Priority\n8|b|RUNNING|None\n7_[2-5]|a|PENDING|None\n");
/// assert_eq!(jobs.len(), 3);
/// assert_eq!(jobs[&JobRef::element(7, 1)].state, "PENDING");
/// assert_eq!(jobs[&JobRef::job(8)].name, "b");
/// ```
pub fn parse_squeue_elements(out: &str) -> HashMap<JobRef, JobState> {
    out.lines()
        .filter_map(|line| {
            let mut f = line.trim().splitn(5, '|');
            let id = f.next()?.trim().parse().ok()?;
            let name = f.next()?.trim().to_owned();
            let state = f.next()?.trim().to_owned();
            let reason = f.next().unwrap_or("").trim().to_owned();
            let comment = f.next().unwrap_or("").trim().to_owned();
            let comment = if comment == "(null)" {
                String::new()
            } else {
                comment
            };
            Some((
                id,
                JobState {
                    name,
                    state,
                    reason,
                    comment,
                },
            ))
        })
        .collect()
}

/// The jobs in `scontrol show job` output, by id: it lists one job or several (an array, a
/// `scontrol show job` without an id), each starting at its `JobId=`, and each job's fields
/// are read from its own record only.
///
/// ```
/// use parade::exec::slurm::parse_scontrol;
/// let out = "JobId=4 JobName=x\n   JobState=FAILED Reason=NonZeroExitCode Dependency=(null)\n\
///            \n\
///            JobId=5 JobName=y\n   JobState=RUNNING Reason=None Comment=parade:ab\n";
/// let jobs = parse_scontrol(out);
/// let st = &jobs[&4];
/// assert_eq!((st.name.as_str(), st.state.as_str(), st.reason.as_str()), ("x", "FAILED", "NonZeroExitCode"));
/// assert_eq!((jobs[&5].state.as_str(), jobs[&5].comment.as_str()), ("RUNNING", "parade:ab"));
/// ```
pub fn parse_scontrol(out: &str) -> HashMap<JobId, JobState> {
    let mut jobs = HashMap::new();
    let mut words = out.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let Some(id) = w.strip_prefix("JobId=") else {
            continue;
        };
        let mut record = Vec::new();
        while let Some(next) = words.next_if(|n| !n.starts_with("JobId=")) {
            record.push(next);
        }
        let field = |key: &str| {
            record
                .iter()
                .find_map(|w| w.strip_prefix(key))
                .map(str::to_owned)
        };
        let (Ok(id), Some(state)) = (id.parse::<JobId>(), field("JobState=")) else {
            continue;
        };
        let comment = field("Comment=")
            .filter(|c| c != "(null)")
            .unwrap_or_default();
        jobs.insert(
            id,
            JobState {
                name: field("JobName=").unwrap_or_default(),
                state,
                reason: field("Reason=").unwrap_or_default(),
                comment,
            },
        );
    }
    jobs
}
