//! `--executor slurm`: a task's command as a Slurm job, through the library's
//! [`SlurmExecutor`] (`sbatch`, polling, exit status files), with the task's resources.
//!
//! The flow runs procs on threads; each task's proc submits its command with
//! [`SlurmExecutor::run_one`] and waits for it, so the flow's parallel limit is the number of
//! jobs in flight. A cancel (Ctrl-C) cancels the task's job (by id, through the executor: jobs
//! of other runs that share its name are left alone). When the job has ended, its output files
//! become the task's output lines (logs, display).
//!
//! A job is named after the task file (the run id) and the task's full name ([`job_name`]
//! keeps distinct names apart), and carries the hash of its command, environment and
//! resources ([`job_identity`]): a run started again after
//! an interruption adopts a queued or running job only when both match.
//!
//! With `--pilots N` ([`PilotRequest`]) the commands run on N pilot jobs instead, each
//! reserving `--pilot-resources`; the `parade` program is the pilot (its `main` calls
//! [`pilot_entry`](parade::exec::slurm::pilot_entry) first).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parade::engine::{Outcome, Stream, TaskContext};
use parade::exec::slurm::{
    JobOptions, PilotConfig, SlurmConfig, SlurmExecutor, job_identity, job_name,
};
use parade::exec::{CommandSpec, ResourceHints};

/// What each pilot job reserves and offers (`--pilot-resources`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PilotResources {
    /// What it asks Slurm for.
    pub hints: ResourceHints,
    /// The counted resources it offers the tasks' `uses` (`uses=gpu:2`).
    pub uses: BTreeMap<String, u32>,
}

/// `--pilots N`, `--pilot-resources` and `--listen`: tasks on pilot jobs.
#[derive(Clone, Debug)]
pub struct PilotRequest {
    /// How many pilot jobs.
    pub count: usize,
    /// What each reserves and offers.
    pub resources: PilotResources,
    /// Where this machine listens for them (default: the loopback address).
    pub listen: Option<std::net::IpAddr>,
}

impl PilotRequest {
    /// `config` with these pilots.
    pub fn configure(&self, config: SlurmConfig) -> SlurmConfig {
        let pilots = PilotConfig::new(self.count).resources(self.resources.hints.clone());
        let pilots = (self.resources.uses.iter()).fold(pilots, |p, (k, n)| p.uses(k, *n));
        let config = config.pilots(pilots);
        match self.listen {
            Some(ip) => config.worker_listen(ip),
            None => config,
        }
    }
}

/// Reads `--pilot-resources`: `cpus=4,mem=8G,time=1:00:00,partition=p,account=a,gres=gpu:1`,
/// and `uses=NAME:COUNT` (repeatable) for the counted resources each pilot offers the tasks'
/// `uses` (see the task file's `uses`).
///
/// # Errors
/// An unknown key, a missing `=`, CPUs that are not a positive number, or a `uses` that is
/// not `NAME:COUNT`, saying which.
///
/// ```
/// let r = parade_cli::slurm::parse_pilot_resources("cpus=4,mem=8G,gres=gpu:2,uses=licence:3").unwrap();
/// assert_eq!(r.hints.cpus, Some(4));
/// assert_eq!(r.hints.mem.as_deref(), Some("8G"));
/// assert_eq!(r.hints.extra, ["--gres=gpu:2"]);
/// assert_eq!(r.uses["licence"], 3);
/// assert!(parade_cli::slurm::parse_pilot_resources("cores=4").is_err());
/// assert!(parade_cli::slurm::parse_pilot_resources("uses=gpu").is_err());
/// ```
pub fn parse_pilot_resources(text: &str) -> Result<PilotResources, String> {
    let mut uses = BTreeMap::new();
    let mut hints = ResourceHints::default();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((key, value)) = item.split_once('=') else {
            return Err(format!("`{item}` is not KEY=VALUE (e.g. cpus=4)"));
        };
        let value = value.trim().to_owned();
        match key.trim() {
            "cpus" => {
                hints.cpus =
                    Some(
                        value.parse().ok().filter(|&n: &u32| n > 0).ok_or_else(|| {
                            format!("cpus must be a positive number, not `{value}`")
                        })?,
                    );
            }
            "mem" => hints.mem = Some(value),
            "time" => hints.time = Some(value),
            "partition" => hints.partition = Some(value),
            "account" => hints.account = Some(value),
            "gres" => hints.extra.push(format!("--gres={value}")),
            "uses" => {
                let counted = value.split_once(':').and_then(|(name, n)| {
                    let n = n.trim().parse::<u32>().ok().filter(|&n| n > 0)?;
                    Some((name.trim(), n)).filter(|(name, _)| !name.is_empty())
                });
                let Some((name, n)) = counted else {
                    return Err(format!(
                        "uses must be NAME:COUNT with a positive count (e.g. uses=gpu:2), not \
                         `{value}`"
                    ));
                };
                uses.insert(name.to_owned(), n);
            }
            other => {
                return Err(format!(
                    "unknown pilot resource `{other}` (known: cpus, mem, time, partition, \
                     account, gres, uses)"
                ));
            }
        }
    }
    Ok(PilotResources { hints, uses })
}

/// [`parse_pilot_resources`], boxed for the command line's arguments (which stay small).
///
/// # Errors
/// As [`parse_pilot_resources`].
pub fn parse_pilot_resources_arg(text: &str) -> Result<Box<PilotResources>, String> {
    parse_pilot_resources(text).map(Box::new)
}

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

    /// A guard that stops the run's pilot jobs (if any) when dropped.
    pub fn stop_pilots_on_drop(&self) -> impl Drop + use<> {
        StopPilots(self.executor.clone())
    }

    /// Runs `spec` for task `name` as one Slurm job and waits for it.
    /// A task's timeout becomes the job's `--time` (whole minutes, rounded up) unless its
    /// resources give one.
    ///
    /// The job's identity leaves out the per-run paths (`PARADE_RESULT`,
    /// `PARADE_RESULTS_DIR`: each run has its own log directory), so a run started again adopts
    /// a job of the same task and command. The job writes its result to a file of its own in
    /// the Slurm work directory (named after the job and its identity), removed when a job is
    /// submitted and kept when one is adopted, and copied to this run's `PARADE_RESULT` when it
    /// ends: a result the job wrote before a restart is read.
    ///
    /// `uses` are the task's counted resources: on pilots, it runs on one that offers them
    /// free (`--pilot-resources uses=NAME:COUNT`).
    pub fn run(
        &self,
        name: &str,
        mut spec: CommandSpec,
        uses: &BTreeMap<String, u32>,
        ctx: &TaskContext,
    ) -> Outcome {
        if spec.resources.time.is_none()
            && let Some(limit) = ctx.timeout()
        {
            spec.resources.time = Some(limit.as_secs().div_ceil(60).max(1).to_string());
        }
        let config = self.executor.config();
        let job = job_name(&config.run_id, name);
        let mut steady = spec.clone();
        steady
            .env
            .retain(|(k, _)| !PER_RUN_ENV.contains(&k.as_str()));
        let identity = job_identity(name, &steady);
        let work =
            std::path::absolute(&config.work_dir).unwrap_or_else(|_| config.work_dir.clone());
        let job_result = work.join(format!("{job}.{identity}.result"));
        let mut run_result = None;
        for (k, v) in &mut spec.env {
            if k == "PARADE_RESULT" {
                run_result = Some(PathBuf::from(std::mem::replace(
                    v,
                    job_result.to_string_lossy().into_owned(),
                )));
            }
        }
        let executor = self.executor.clone();
        let cancelled = job.clone();
        ctx.on_cancel(move || executor.cancel_named(&cancelled));
        let options = JobOptions {
            identity: Some(identity),
            stale: vec![job_result.clone()],
            uses: uses.iter().map(|(k, n)| (k.clone(), *n)).collect(),
        };
        let end = self.executor.run_one_with(name, spec, options);
        if let Some(to) = run_result
            && job_result.exists()
        {
            // Where run_task_with looks for it; a failed copy leaves the task without result
            // and says so in its log.
            if let Err(e) = std::fs::copy(&job_result, &to) {
                ctx.emit_from(
                    Stream::Stderr,
                    format!(
                        "parade: cannot copy the result of job {job} from {}: {e}",
                        job_result.display()
                    ),
                );
            }
        }
        // A task run on a pilot sends its output back instead of writing files.
        for (stream, line) in &end.output {
            ctx.emit_from(*stream, line.as_str());
        }
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

/// Stops an executor's pilot jobs when dropped.
struct StopPilots(Arc<SlurmExecutor>);

impl Drop for StopPilots {
    fn drop(&mut self) {
        self.0.stop_pilots();
    }
}

/// Variables whose values differ from run to run without changing what the task does.
const PER_RUN_ENV: [&str; 2] = ["PARADE_RESULT", "PARADE_RESULTS_DIR"];
