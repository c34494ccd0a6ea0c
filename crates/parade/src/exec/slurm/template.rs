//! Template jobs: a directory template with a run script, run once per job directory with
//! parameters written as `kwargs.json` and input files hashed in `kwargs.sha256`; the script's
//! `result.json` becomes a typed value. A finished job whose parameters and input hashes match
//! is reused without running; a mismatch is an error that says what changed and how to reset.
//!
//! The files of a job directory (the formats parman used, so old trees stay readable):
//!
//! | file | what |
//! |---|---|
//! | `kwargs.json` | the parameters, pretty JSON; `null` means "accept the next parameters" |
//! | `kwargs.sha256` | `<sha256>  <path>` per input file, the path relative to the job directory (`../../input.txt`), sorted by path (`sha256sum` format); recreated when deleted |
//! | `jobenv.sh` | the environment the script ran with: `export NAME="value"` lines |
//! | `<script>`, helpers | copied from the template before each run |
//! | `<script>.out`, `<script>.err` | what the script printed |
//! | `result.json` | written by the script; its presence means the job finished |
//! | `kwargs-new.json`, `kwargs-new.sha256` | written on a mismatch, for comparison |
//! | `result.extra` | written by the script: further files to keep, one a line (temp-dir mode) |
//!
//! Paths in the parameters and the result are [`JobPath`](super::JobPath)s: in `kwargs.json`
//! a parameter path is written relative to the job directory (and hashed as an input), and a
//! relative result path is read as `<job_dir>/<relpath>`, as parman's clerks do.
//!
//! The script sees `PARMAN_WORKDIR` and `PARADE_WORKDIR` (the workflow's directory), so
//! parman's run scripts work unchanged. One run at a time works in a job directory: a run
//! locks it (`flock`), a second run of the same job waits for the first, and
//! [`clean_jobs`] leaves a locked (running) job alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::SlurmExecutor;
use super::config::absolute;
use super::job_path::in_job_dir;
use super::jobdir::{self, DirLock};
use crate::engine::{Outcome, Stream, TaskContext};
use crate::exec::child::{ChildOptions, ChildTask, run_child};
use crate::exec::{CommandSpec, ResourceHints};

/// Why a template job gave no result.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The parameters do not serialize, or a JSON file does not parse.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The job directory was made with other parameters.
    #[error(
        "{} was run with other parameters: {}. The new ones are in kwargs-new.json. To run it again \
         with them, remove the directory; to keep its results and accept the new parameters, \
         write `null` into its kwargs.json",
        dir.display(), changes.join("; ")
    )]
    KwargsChanged {
        /// The job directory.
        dir: PathBuf,
        /// What changed, one entry per parameter.
        changes: Vec<String>,
    },
    /// An input file changed since the job ran.
    #[error(
        "{} was run with other input files: {}. The new hashes are in kwargs-new.sha256. To run it \
         again, remove the directory; to accept the new inputs, delete its kwargs.sha256",
        dir.display(), changes.join("; ")
    )]
    InputsChanged {
        /// The job directory.
        dir: PathBuf,
        /// What changed, one entry per file.
        changes: Vec<String>,
    },
    /// A `result.json` is there but no `kwargs.json`: the directory was not made by a job.
    #[error("{} has result.json but no kwargs.json; remove the directory to run the job", dir.display())]
    ResultWithoutKwargs {
        /// The job directory.
        dir: PathBuf,
    },
    /// An earlier run of the job did not finish, and the job may not resume.
    #[error(
        "{} holds an unfinished job (kwargs.json but no result.json): an earlier run failed or \
         was interrupted, and no run works in it now. Resume it with `can_resume(true)` \
         (`can_resume = true` in a task file), or remove it with `parade jobs clean`",
        dir.display()
    )]
    Unfinished {
        /// The job directory.
        dir: PathBuf,
    },
    /// The script failed.
    #[error("the script of {} failed ({reason}){}", dir.display(), tail_text(stderr_tail))]
    Failed {
        /// The job directory.
        dir: PathBuf,
        /// How it failed (exit status, Slurm state).
        reason: String,
        /// The last lines of the script's standard error.
        stderr_tail: String,
    },
    /// An environment variable for the script has a name the shell cannot take.
    #[error("{}: `{name}` cannot be an environment variable name (letters, digits and `_`, not starting with a digit)", dir.display())]
    BadEnvName {
        /// The job directory.
        dir: PathBuf,
        /// The name.
        name: String,
    },
    /// The task was stopped while another run of the same job worked in its directory.
    #[error("stopped while waiting for another run of {} to finish", dir.display())]
    Stopped {
        /// The job directory.
        dir: PathBuf,
    },
    /// The script succeeded but wrote no `result.json`.
    #[error("no result.json after {} completed", dir.display())]
    NoResult {
        /// The job directory.
        dir: PathBuf,
    },
}

fn tail_text(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; its stderr ends with:\n{tail}")
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JobError + '_ {
    move |source| JobError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A template job: the template directory, the job directory it runs in, and how it runs.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use parade::exec::slurm::TemplateJob;
/// let tmp = tempfile::tempdir()?;
/// let template = tmp.path().join("square");
/// std::fs::create_dir(&template)?;
/// std::fs::write(template.join("run"),
///     "#!/bin/sh\nn=$(sed -n 's/.*\"n\": *\\([0-9]*\\).*/\\1/p' kwargs.json)\necho \"{\\\"square\\\": $((n*n))}\" > result.json\n")?;
/// # use std::os::unix::fs::PermissionsExt;
/// # std::fs::set_permissions(template.join("run"), std::fs::Permissions::from_mode(0o755))?;
/// #[derive(serde::Serialize)] struct Args { n: u32 }
/// #[derive(serde::Deserialize, Debug)] struct Out { square: u32 }
/// let job = TemplateJob::new(&template, tmp.path().join("results/sq7"));
/// let out: Out = job.run(&Args { n: 7 })?;
/// assert_eq!(out.square, 49);
/// let again: Out = job.run(&Args { n: 7 })?; // reused: the script does not run again
/// assert_eq!(again.square, 49);
/// assert!(job.run::<_, Out>(&Args { n: 8 }).unwrap_err().to_string().contains("`n`: 7 -> 8"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TemplateJob {
    template: PathBuf,
    dir: PathBuf,
    script: String,
    env: Vec<(String, String)>,
    inputs: Vec<PathBuf>,
    can_resume: bool,
    slurm: Option<Arc<SlurmExecutor>>,
    resources: ResourceHints,
    temp_root: Option<PathBuf>,
}

impl TemplateJob {
    /// A job that copies `template` into `dir` and runs its `run` script there, locally.
    pub fn new(template: impl AsRef<Path>, dir: impl AsRef<Path>) -> Self {
        Self {
            template: absolute(template.as_ref()),
            dir: absolute(dir.as_ref()),
            script: "run".to_owned(),
            env: Vec::new(),
            inputs: Vec::new(),
            can_resume: false,
            slurm: None,
            resources: ResourceHints::default(),
            temp_root: None,
        }
    }

    /// parman's temp-dir mode (`LocalTempClerk`), for local runs: the script runs in a new
    /// directory under `root`; on success only `kwargs.json`, `kwargs.sha256`, the script, its
    /// `.out`/`.err`, the files `result.extra` lists (one a line, `#` comments) and
    /// `result.json` are kept in the job directory, and the temporary directory is removed;
    /// on failure it is kept (the error names it) and the job directory holds only
    /// `kwargs.sha256`. Ignored on Slurm.
    pub fn temp_dir(mut self, root: impl AsRef<Path>) -> Self {
        self.temp_root = Some(absolute(root.as_ref()));
        self
    }

    /// Runs the script named `name` instead of `run`.
    pub fn script(mut self, name: impl Into<String>) -> Self {
        self.script = name.into();
        self
    }

    /// Sets an environment variable for the script.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Names an input file: its SHA-256 is recorded, and a later run with a different file is
    /// an error rather than a silent reuse.
    pub fn input(mut self, path: impl AsRef<Path>) -> Self {
        self.inputs.push(absolute(path.as_ref()));
        self
    }

    /// Whether an unfinished earlier run may simply be run again (default: no, it is an error).
    pub fn can_resume(mut self, yes: bool) -> Self {
        self.can_resume = yes;
        self
    }

    /// Runs the script as a Slurm job through `slurm` instead of locally. A run started again
    /// while the job is still queued or running waits for that job instead of submitting another.
    pub fn on_slurm(mut self, slurm: Arc<SlurmExecutor>) -> Self {
        self.slurm = Some(slurm);
        self
    }

    /// What its Slurm job reserves (`--cpus-per-task`, `--mem`...; ignored when it runs
    /// locally).
    pub fn resources(mut self, resources: ResourceHints) -> Self {
        self.resources = resources;
        self
    }

    /// The job directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of its Slurm job (`job-<hash of the directory>`), stable across runs.
    fn slurm_key(&self) -> String {
        let hash = Sha256::digest(self.dir.to_string_lossy().as_bytes());
        format!("job-{}", &hex(&hash)[..16])
    }

    /// Runs the job with parameters `kwargs`, or reuses its finished result, and reads its
    /// `result.json` as an `R`. A local script runs in its own process group, and what it left
    /// behind is stopped when it ends.
    pub fn run<K, R>(&self, kwargs: &K) -> Result<R, JobError>
    where
        K: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.run_inner(kwargs, None)
    }

    /// [`TemplateJob::run`] as the work of the running task `ctx`: a cancel of the task (or of
    /// the whole run) and its timeout stop the script's process group (SIGTERM, then SIGKILL),
    /// or `scancel` its Slurm job.
    pub fn run_in<K, R>(&self, kwargs: &K, ctx: &TaskContext) -> Result<R, JobError>
    where
        K: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.run_inner(kwargs, Some(ctx))
    }

    fn run_inner<K, R>(&self, kwargs: &K, ctx: Option<&TaskContext>) -> Result<R, JobError>
    where
        K: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let dir = &self.dir;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        // One run at a time in a job directory; a second one waits for the first, then finds
        // its result.
        let Some(_lock) = self.lock(ctx)? else {
            return Err(JobError::Stopped { dir: dir.clone() });
        };
        // `JobPath`s become relative to the job directory, and inputs.
        let (kwargs, named) = in_job_dir(dir, || serde_json::to_value(kwargs));
        let kwargs = kwargs.map_err(|e| JobError::Json {
            path: dir.join("kwargs.json"),
            message: format!("the parameters do not serialize: {e}"),
        })?;
        let kwargs_text = serde_json::to_string_pretty(&kwargs).expect("a JSON value prints");
        let kwargs_path = dir.join("kwargs.json");
        let result_path = dir.join("result.json");
        let hashes = self.hash_inputs(&named)?;
        let mut started_before = false;
        match read_json(&kwargs_path)? {
            None if result_path.exists() => {
                return Err(JobError::ResultWithoutKwargs { dir: dir.clone() });
            }
            None => {}
            Some(Value::Null) => {
                std::fs::write(&kwargs_path, &kwargs_text).map_err(io(&kwargs_path))?;
                started_before = true;
            }
            Some(old) if old != kwargs => {
                let new = dir.join("kwargs-new.json");
                std::fs::write(&new, &kwargs_text).map_err(io(&new))?;
                return Err(JobError::KwargsChanged {
                    dir: dir.clone(),
                    changes: diff_kwargs(&old, &kwargs),
                });
            }
            Some(_) => started_before = true,
        }
        let hash_path = dir.join("kwargs.sha256");
        if hash_path.exists() {
            let old = std::fs::read_to_string(&hash_path).map_err(io(&hash_path))?;
            let old = self.parse_hashes(&old);
            if old != hashes {
                let new = dir.join("kwargs-new.sha256");
                std::fs::write(&new, format_hashes(&hashes)).map_err(io(&new))?;
                return Err(JobError::InputsChanged {
                    dir: dir.clone(),
                    changes: diff_hashes(&old, &hashes),
                });
            }
        }
        if !(started_before && result_path.exists()) {
            if started_before && !self.can_resume && !self.still_queued() {
                return Err(JobError::Unfinished { dir: dir.clone() });
            }
            self.execute(&kwargs_text, &hashes, ctx)?;
        } else if !hash_path.exists() {
            // Reused with its hashes deleted (parman's "re-bless the inputs"): record the
            // current ones, without running again.
            std::fs::write(&hash_path, format_hashes(&hashes)).map_err(io(&hash_path))?;
        }
        let text = std::fs::read_to_string(&result_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                JobError::NoResult { dir: dir.clone() }
            } else {
                io(&result_path)(e)
            }
        })?;
        // Relative `JobPath`s of the result become `<job_dir>/<relpath>`.
        let (result, _) = in_job_dir(dir, || serde_json::from_str(&text));
        result.map_err(|e| JobError::Json {
            path: result_path,
            message: format!("the result does not have the expected shape: {e}"),
        })
    }

    /// Whether its Slurm job is queued or running (from an interrupted earlier run).
    fn still_queued(&self) -> bool {
        self.slurm
            .as_ref()
            .is_some_and(|s| s.is_live(&self.slurm_key()))
    }

    /// Locks the job directory, waiting (and saying so on the task's output) while another
    /// run holds it; `None` if the task was stopped meanwhile.
    fn lock(&self, ctx: Option<&TaskContext>) -> Result<Option<DirLock>, JobError> {
        let dir = &self.dir;
        jobdir::lock(
            dir,
            || {
                if let Some(ctx) = ctx {
                    ctx.emit_from(
                        Stream::Stderr,
                        format!(
                            "another run of this job works in {}; waiting for it to finish",
                            dir.display()
                        ),
                    );
                }
            },
            || ctx.is_some_and(TaskContext::is_cancelled),
        )
        .map_err(io(dir))
    }

    /// The SHA-256 of each input, by its path relative to the job directory (as parman
    /// writes them, so a moved tree, or one parman wrote, is reused).
    fn hash_inputs(&self, named: &[PathBuf]) -> Result<BTreeMap<String, String>, JobError> {
        self.inputs
            .iter()
            .chain(named)
            .map(|p| {
                let bytes = std::fs::read(p).map_err(io(p))?;
                let rel = jobdir::relative(p, &self.dir);
                Ok((rel.display().to_string(), hex(&Sha256::digest(&bytes))))
            })
            .collect()
    }

    /// A `kwargs.sha256` as a map by path relative to the job directory (an absolute path,
    /// as older parade versions wrote, is made relative).
    fn parse_hashes(&self, text: &str) -> BTreeMap<String, String> {
        parse_hashes(text)
            .into_iter()
            .map(|(path, sha)| {
                let p = Path::new(&path);
                let rel = if p.is_absolute() {
                    jobdir::relative(p, &self.dir).display().to_string()
                } else {
                    path
                };
                (rel, sha)
            })
            .collect()
    }

    /// Copies the template, writes the parameters and hashes, and runs the script.
    fn execute(
        &self,
        kwargs_text: &str,
        hashes: &BTreeMap<String, String>,
        ctx: Option<&TaskContext>,
    ) -> Result<(), JobError> {
        let dir = &self.dir;
        let temp = match (&self.temp_root, &self.slurm) {
            (Some(root), None) => Some(jobdir::make_temp(root, dir).map_err(io(root))?),
            _ => None,
        };
        // Where the script runs: the job directory, or a temporary one.
        let work: &Path = temp.as_deref().unwrap_or(dir);
        copy_tree(&self.template, work)?;
        // The hashes reach the job directory before the script runs (as parman pushes them).
        let hash_path = dir.join("kwargs.sha256");
        std::fs::write(&hash_path, format_hashes(hashes)).map_err(io(&hash_path))?;
        if temp.is_some() {
            let copy = work.join("kwargs.sha256");
            std::fs::write(&copy, format_hashes(hashes)).map_err(io(&copy))?;
        }
        let kwargs_path = work.join("kwargs.json");
        std::fs::write(&kwargs_path, kwargs_text).map_err(io(&kwargs_path))?;
        let s = &self.script;
        let line = format!(
            "./{q} > {o} 2> {e}",
            q = super::shell_quote(s),
            o = super::shell_quote(&format!("{s}.out")),
            e = super::shell_quote(&format!("{s}.err"))
        );
        let workdir = std::env::current_dir().unwrap_or_default();
        let workdir = workdir.to_string_lossy().into_owned();
        // What the script runs with beyond the inherited environment, recorded in jobenv.sh.
        let mut vars = vec![
            ("PARMAN_WORKDIR".to_owned(), workdir.clone()),
            ("PARADE_WORKDIR".to_owned(), workdir),
        ];
        vars.extend(self.env.iter().cloned());
        if let Some((name, _)) = vars.iter().find(|(k, _)| !jobdir::valid_env_name(k)) {
            return Err(JobError::BadEnvName {
                dir: dir.clone(),
                name: name.clone(),
            });
        }
        let env_path = work.join("jobenv.sh");
        std::fs::write(&env_path, jobdir::jobenv(&vars)).map_err(io(&env_path))?;
        let mut spec = CommandSpec::shell(&["sh", "-c"], line).cwd(work);
        spec.env.extend(vars);
        spec.resources = self.resources.clone();
        let outcome = if let Some(slurm) = &self.slurm {
            let key = self.slurm_key();
            if let Some(ctx) = ctx {
                let scancel = slurm.config().command("scancel");
                let name = super::job_name(&slurm.config().run_id, &key);
                ctx.on_cancel(move || {
                    let _ = std::process::Command::new(&scancel)
                        .arg(format!("--name={name}"))
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .status();
                });
            }
            slurm.run_one(&key, spec).outcome
        } else {
            let task: &dyn ChildTask = match ctx {
                Some(ctx) => ctx,
                None => &Detached,
            };
            run_child(&spec, &ChildOptions::default(), task)
        };
        let failure = match outcome {
            Outcome::Succeeded | Outcome::Skipped(_) | Outcome::UpToDate(_) => None,
            Outcome::Failed(reason) => Some(reason.to_string()),
        };
        match failure {
            None => match temp {
                Some(work) => self.keep_results(&work),
                None => Ok(()),
            },
            Some(mut reason) => {
                if temp.is_some() {
                    let _ = write!(
                        reason,
                        "; its temporary directory {} is kept",
                        work.display()
                    );
                }
                let err =
                    std::fs::read_to_string(work.join(format!("{s}.err"))).unwrap_or_default();
                let lines: Vec<&str> = err.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                Err(JobError::Failed {
                    dir: dir.clone(),
                    reason,
                    stderr_tail: tail,
                })
            }
        }
    }
}

impl TemplateJob {
    /// Temp-dir mode after a successful run: copies the files to keep from `work` into the
    /// job directory (`result.json` last, as it marks the job finished), then removes `work`.
    fn keep_results(&self, work: &Path) -> Result<(), JobError> {
        if !work.join("result.json").exists() {
            // No result: the caller says so, and the directory stays to look at.
            return Ok(());
        }
        let s = &self.script;
        let mut keep: Vec<String> = ["kwargs.json", "kwargs.sha256", s.as_str()]
            .iter()
            .map(|n| (*n).to_owned())
            .chain([format!("{s}.out"), format!("{s}.err")])
            .collect();
        let extra = work.join("result.extra");
        if extra.exists() {
            let text = std::fs::read_to_string(&extra).map_err(io(&extra))?;
            keep.extend(jobdir::extra_files(&text));
            keep.push("result.extra".to_owned());
        }
        keep.push("result.json".to_owned());
        for name in &keep {
            let (from, to) = (work.join(name), self.dir.join(name));
            if from.is_dir() {
                copy_tree(&from, &to)?;
            } else if from.exists() {
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                std::fs::copy(&from, &to).map_err(io(&from))?;
            } else if name != "result.json" {
                // `result.json` missing is the caller's "no result" error.
                return Err(JobError::Io {
                    path: from,
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "listed in result.extra (or written by every run), but not there",
                    ),
                });
            }
        }
        let top = work.parent().unwrap_or(work);
        std::fs::remove_dir_all(top).map_err(io(top))
    }
}

/// A script run outside any task: nothing to cancel it, no deadline, and its output already
/// goes to files.
struct Detached;

impl ChildTask for Detached {
    fn emit_from(&self, _: Stream, _: String) {}
    fn on_cancel(&self, _: Box<dyn FnOnce() + Send>) {}
    fn deadline(&self) -> Option<std::time::Instant> {
        None
    }
    fn timeout(&self) -> Option<std::time::Duration> {
        None
    }
}

impl SlurmExecutor {
    /// Whether the job `parade-<run id>-<key>` is queued or running now (one `squeue` call).
    pub fn is_live(&self, key: &str) -> bool {
        let name = super::job_name(&self.config().run_id, key);
        self.list()
            .is_ok_and(|jobs| jobs.values().any(|st| st.name == name && st.is_live()))
    }
}

/// What [`clean_jobs_report`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// The unfinished job directories removed (or, in a dry run, that would be), sorted.
    pub removed: Vec<PathBuf>,
    /// Unfinished job directories left alone because a run works in them (they are locked).
    pub running: Vec<PathBuf>,
}

/// Removes the unfinished job directories under `root` (those with `kwargs.json` and no
/// `result.json`) that no run works in (see [`clean_jobs_report`], which also says which were
/// left alone), or with `dry_run` only lists them. Returns them, sorted.
///
/// ```
/// let root = tempfile::tempdir().unwrap();
/// let done = root.path().join("a");
/// let failed = root.path().join("b/c");
/// for d in [&done, &failed] {
///     std::fs::create_dir_all(d).unwrap();
///     std::fs::write(d.join("kwargs.json"), "{}").unwrap();
/// }
/// std::fs::write(done.join("result.json"), "1").unwrap();
/// let removed = parade::exec::slurm::clean_jobs(root.path(), false).unwrap();
/// assert_eq!(removed, [failed.clone()]);
/// assert!(done.exists() && !failed.exists());
/// ```
pub fn clean_jobs(root: &Path, dry_run: bool) -> std::io::Result<Vec<PathBuf>> {
    clean_jobs_report(root, dry_run).map(|c| c.removed)
}

/// Like [`clean_jobs`], and says which unfinished jobs were left alone because a run holds
/// their directory's lock (a template job running now).
pub fn clean_jobs_report(root: &Path, dry_run: bool) -> std::io::Result<Cleaned> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_owned()];
    while let Some(dir) = todo.pop() {
        if dir.join("kwargs.json").is_file() {
            if !dir.join("result.json").exists() {
                found.push(dir);
            }
            continue;
        }
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                todo.push(entry.path());
            }
        }
    }
    found.sort();
    let mut cleaned = Cleaned::default();
    for dir in found {
        // Held while removing, so no run starts in it meanwhile.
        let Some(lock) = jobdir::try_lock(&dir)? else {
            cleaned.running.push(dir);
            continue;
        };
        if !dry_run {
            std::fs::remove_dir_all(&dir)?;
        }
        drop(lock);
        cleaned.removed.push(dir);
    }
    Ok(cleaned)
}

/// Copies the files of `from` into `to`, following symbolic links, keeping what `to` holds.
fn copy_tree(from: &Path, to: &Path) -> Result<(), JobError> {
    let mut todo = vec![(from.to_owned(), to.to_owned())];
    while let Some((src, dst)) = todo.pop() {
        std::fs::create_dir_all(&dst).map_err(io(&dst))?;
        for entry in std::fs::read_dir(&src).map_err(io(&src))? {
            let entry = entry.map_err(io(&src))?;
            let path = entry.path();
            let target = dst.join(entry.file_name());
            if path.is_dir() {
                todo.push((path, target));
            } else {
                std::fs::copy(&path, &target).map_err(io(&path))?;
            }
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Option<Value>, JobError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| JobError::Json {
                path: path.to_owned(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn format_hashes(hashes: &BTreeMap<String, String>) -> String {
    hashes.iter().fold(String::new(), |mut s, (path, sha)| {
        let _ = writeln!(s, "{sha}  {path}");
        s
    })
}

fn parse_hashes(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sha, path)| (path.to_owned(), sha.to_owned()))
        .collect()
}

fn diff_hashes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, sha) in new {
        match old.get(path) {
            None => out.push(format!("new input {path}")),
            Some(o) if o != sha => out.push(format!("{path} changed")),
            Some(_) => {}
        }
    }
    for path in old.keys().filter(|p| !new.contains_key(*p)) {
        out.push(format!("input {path} is gone"));
    }
    out
}

/// What differs between two parameter objects, one entry per top-level key.
fn diff_kwargs(old: &Value, new: &Value) -> Vec<String> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut out = Vec::new();
            for (k, v) in n {
                match o.get(k) {
                    None => out.push(format!("new `{k}`: {v}")),
                    Some(ov) if ov != v => out.push(format!("`{k}`: {ov} -> {v}")),
                    Some(_) => {}
                }
            }
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                out.push(format!("`{k}` is gone"));
            }
            out
        }
        _ => vec![format!("{old} -> {new}")],
    }
}
