//! [`SlurmConfig`]: where the Slurm commands are, where job files go, how often to poll.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a [`SlurmExecutor`](super::SlurmExecutor) talks to the cluster.
///
/// ```
/// use std::time::Duration;
/// use parade::exec::slurm::SlurmConfig;
/// let cfg = SlurmConfig::new("/shared/run-1")
///     .run_id("nightly")
///     .poll_interval(Duration::from_millis(500))
///     .sbatch_arg("--partition=short");
/// assert_eq!(cfg.command("squeue"), std::path::PathBuf::from("squeue"));
/// let faked = cfg.bin_dir("/tmp/fake-slurm");
/// assert_eq!(faked.command("squeue"), std::path::PathBuf::from("/tmp/fake-slurm/squeue"));
/// ```
#[derive(Clone, Debug)]
pub struct SlurmConfig {
    /// The directory holding `sbatch`, `squeue`, `scontrol` and `scancel`; `None` looks them up
    /// on `PATH`. Tests point it at fake scripts.
    pub bin_dir: Option<PathBuf>,
    /// Where batch scripts, output files and exit-status files go. Jobs run on other machines,
    /// so on a real cluster it must be on a file system they share.
    pub work_dir: PathBuf,
    /// Names this run: every job name starts with `parade-<run_id>-`, which is how a restarted
    /// run finds its queued and running jobs again instead of submitting copies.
    pub run_id: String,
    /// Time between two polls; each poll makes one `squeue` call for all jobs in flight.
    pub poll_interval: Duration,
    /// How many times a failed Slurm command is tried again before the failure counts.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each further try.
    pub retry_backoff: Duration,
    /// How long one call of a Slurm command may take; a call that takes longer is killed and
    /// counts as a transient failure (retried).
    pub command_timeout: Duration,
    /// After this many polls in a row in which `squeue` failed (retries included), the jobs in
    /// flight end as lost.
    pub max_failed_polls: u32,
    /// Arguments given to every `sbatch` call, before the task's own resources.
    pub sbatch_args: Vec<String>,
    /// How many jobs the executor takes at once (the engine's parallel limit starts here).
    pub capacity: usize,
    /// Where the Unix sockets for tasks that run in worker mode go (`<job name>.sock`; default:
    /// the work directory). The parent listens there and the job's worker connects to it, so it
    /// must be reachable from where the job runs: true when jobs run on this machine (a
    /// single-node cluster); on a multi-node cluster set
    /// [`worker_listen`](SlurmConfig::worker_listen) instead. A socket's path must stay under
    /// about 100 bytes.
    pub worker_socket_dir: Option<PathBuf>,
    /// The address on which the parent listens for workers over TCP, one port per worker task
    /// (chosen by the system); `None` uses Unix sockets in
    /// [`worker_socket_dir`](SlurmConfig::worker_socket_dir), which only jobs on this machine
    /// reach. On a cluster, give the address of this machine that the compute nodes reach
    /// (never `0.0.0.0` unless every network that reaches it may try to connect: every
    /// connection must still prove the run's secret, which goes to jobs in a file under the
    /// work directory readable only by the user).
    pub worker_listen: Option<std::net::IpAddr>,
    /// The program (and its arguments) a task in worker mode runs as its job; `None` starts this
    /// program again with its own arguments, as the
    /// [`ProcessExecutor`](crate::exec::process::ProcessExecutor) does. It must call
    /// [`worker_entry`](crate::worker_entry) at the top of `main`.
    pub worker_program: Option<(PathBuf, Vec<String>)>,
    /// Pilot jobs: with `Some`, tasks do not become Slurm jobs of their own but run on a few
    /// long-lived pilot jobs that connect back over TCP on
    /// [`worker_listen`](SlurmConfig::worker_listen) (default `127.0.0.1`: pilots on this
    /// machine only), proving the run's secret, and pull tasks until the run ends. Jobs held
    /// for others in a [`SlurmBatch`](super::SlurmBatch) still get jobs of their own.
    pub pilots: Option<super::PilotConfig>,
    /// Whether same-shaped jobs submitted together become one Slurm job array (default: yes).
    /// Tasks handed over at once (a wave of ready tasks, a [`SlurmBatch`](super::SlurmBatch)'s
    /// nodes, submissions following each other within 20 ms) that ask for the same resources
    /// and depend on the same jobs are submitted with one `sbatch --array=0-K` (up to
    /// [`MAX_ARRAY`](super::MAX_ARRAY) elements); each element runs its own task's script and is
    /// polled, cancelled, timed out and reported for its task alone (Slurm names it
    /// `<id>_<index>`). A job depending on some elements waits for `afterok:<id>_<index>`, one
    /// depending on the whole array for `afterok:<id>`. `false` submits one job per task.
    pub job_arrays: bool,
}

impl SlurmConfig {
    /// A configuration writing job files under `work_dir`, with defaults for the rest: commands
    /// from `PATH`, run id `run`, a poll every second, 3 retries from 200 ms, 60 s per command
    /// call, 30 failed polls.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            bin_dir: None,
            work_dir: work_dir.into(),
            run_id: "run".to_owned(),
            poll_interval: Duration::from_secs(1),
            retries: 3,
            retry_backoff: Duration::from_millis(200),
            command_timeout: Duration::from_secs(60),
            max_failed_polls: 30,
            sbatch_args: Vec::new(),
            capacity: 1000,
            worker_socket_dir: None,
            worker_listen: None,
            worker_program: None,
            pilots: None,
            job_arrays: true,
        }
    }

    /// Submits same-shaped jobs handed over together as one job array, or not (see
    /// [`job_arrays`](SlurmConfig::job_arrays)).
    ///
    /// ```
    /// let cfg = parade::exec::slurm::SlurmConfig::new("/shared/w");
    /// assert!(cfg.job_arrays);
    /// assert!(!cfg.job_arrays(false).job_arrays);
    /// ```
    pub fn job_arrays(mut self, on: bool) -> Self {
        self.job_arrays = on;
        self
    }

    /// Uses the Slurm commands in `dir` instead of those on `PATH`.
    pub fn bin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bin_dir = Some(dir.into());
        self
    }

    /// Sets the run id (letters, digits, `-`, `_` and `.`; anything else becomes `_`).
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = super::names::sanitize(&id.into());
        self
    }

    /// Sets the time between polls.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// Sets how many times a failed command is retried, and the first wait.
    pub fn retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.retry_backoff = backoff;
        self
    }

    /// Sets how long one call of a Slurm command may take before it is killed and retried.
    pub fn command_timeout(mut self, limit: Duration) -> Self {
        self.command_timeout = limit;
        self
    }

    /// Sets after how many failed polls in a row the jobs in flight end as lost.
    pub fn max_failed_polls(mut self, polls: u32) -> Self {
        self.max_failed_polls = polls.max(1);
        self
    }

    /// Adds an argument for every `sbatch` call (e.g. `--partition=short`).
    pub fn sbatch_arg(mut self, arg: impl Into<String>) -> Self {
        self.sbatch_args.push(arg.into());
        self
    }

    /// Sets how many jobs the executor takes at once.
    pub fn capacity(mut self, jobs: usize) -> Self {
        self.capacity = jobs.max(1);
        self
    }

    /// Puts the sockets of tasks in worker mode in `dir` (see
    /// [`worker_socket_dir`](SlurmConfig::worker_socket_dir)).
    pub fn worker_socket_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.worker_socket_dir = Some(dir.into());
        self
    }

    /// Serves tasks in worker mode over TCP on `ip` (see
    /// [`worker_listen`](SlurmConfig::worker_listen)).
    ///
    /// ```
    /// let cfg = parade::exec::slurm::SlurmConfig::new("/shared/w")
    ///     .worker_listen("10.199.77.1".parse().unwrap());
    /// assert_eq!(cfg.worker_listen.unwrap().to_string(), "10.199.77.1");
    /// ```
    pub fn worker_listen(mut self, ip: std::net::IpAddr) -> Self {
        self.worker_listen = Some(ip);
        self
    }

    /// Runs tasks in worker mode as `program` with `args` (see
    /// [`worker_program`](SlurmConfig::worker_program)).
    pub fn worker_program(mut self, program: impl Into<PathBuf>, args: Vec<String>) -> Self {
        self.worker_program = Some((program.into(), args));
        self
    }

    /// Runs tasks on pilot jobs (see [`pilots`](SlurmConfig::pilots)).
    pub fn pilots(mut self, pilots: super::PilotConfig) -> Self {
        self.pilots = Some(pilots);
        self
    }

    /// The path used to run the Slurm command `name`.
    pub fn command(&self, name: &str) -> PathBuf {
        match &self.bin_dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        }
    }

    /// The work directory made absolute (jobs do not start in this process's directory).
    pub(crate) fn absolute_work_dir(&self) -> PathBuf {
        absolute(&self.work_dir)
    }
}

/// `path` joined to the current directory when relative.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_owned(), |cwd| cwd.join(path))
    }
}
