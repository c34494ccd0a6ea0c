//! Fake Slurm commands in a directory of their own, for the Slurm suites that run everywhere
//! (`slurm_arrays`, `slurm_pilots`, `slurm_faults`): the directory ([`Fake`]: its files
//! written and read, a [`SlurmConfig`] pointing at it), the jobs it lists, and the small steps
//! those suites share (a shell command, a task of one, waiting on a condition).
//!
//! [`Fake::new`] installs the fake of `fake-slurm/` (shared with the CLI's pilot tests):
//! `sbatch` starts the script in a session of its own, in the background, and lists the job
//! RUNNING (`jobs/<id>`: `id|name|STATE|reason|comment`, its pid in `pids/<id>`; each element
//! of `--array=0-K` as `<id>_<index>`); `squeue` lists a job whose script has ended as
//! COMPLETED; `scancel` sends SIGTERM to every process of the job (its session) and lists it
//! CANCELLED. [`Fake::with`] installs other scripts (`slurm_faults`' fakes of faults).
//! Every call is logged in `<command>.log`. It knows nothing of what a suite asserts.
//! Included with `#[path]` by the suites that use it and by the CLI's `cli_slurm_pilots` (the other users of `common` start no
//! Slurm job).

#![allow(dead_code)] // each suite uses part of it

use std::path::{Path, PathBuf};
use std::time::Duration;

use parade::engine::{Engine, TaskId, TaskSpec, TaskStatus};
use parade::exec::slurm::SlurmConfig;
use parade::exec::{CommandJob, CommandSpec};

/// The commands of `fake-slurm/`, by name.
pub const BACKGROUND: [(&str, &str); 4] = [
    ("sbatch", include_str!("../fake-slurm/sbatch")),
    ("squeue", include_str!("../fake-slurm/squeue")),
    ("scontrol", include_str!("../fake-slurm/scontrol")),
    ("scancel", include_str!("../fake-slurm/scancel")),
];

/// A temporary directory holding fake Slurm commands, their logs and the jobs they list.
pub struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    /// The fake of `fake-slurm/`, with its `jobs/` and `pids/` and an `out/` for the tasks'
    /// files.
    pub fn new() -> Self {
        Self::with(&BACKGROUND, &["jobs", "pids", "out"])
    }

    /// The commands `scripts` (name, text), executable, with the directories `dirs`.
    pub fn with(scripts: &[(&str, &str)], dirs: &[&str]) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in scripts {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for d in dirs {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        Self { dir }
    }

    /// A path in the fake's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the file `name` of the fake (a setting its scripts read, a job's line).
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    /// The text of the file `name` of the fake; empty when it does not exist (a command never
    /// called has no log).
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Run `run`'s configuration on these commands: the work directory `work/` of the fake,
    /// polled every 50 ms.
    pub fn config(&self, run: &str) -> SlurmConfig {
        SlurmConfig::new(self.path("work"))
            .bin_dir(self.dir.path())
            .run_id(run)
            .poll_interval(Duration::from_millis(50))
    }

    /// The `sbatch` calls that submitted an array.
    pub fn arrays(&self) -> Vec<String> {
        self.read("sbatch.log")
            .lines()
            .filter(|l| l.contains("--array="))
            .map(str::to_owned)
            .collect()
    }

    /// The lines of the jobs the fake lists as running.
    pub fn running(&self) -> Vec<String> {
        std::fs::read_dir(self.path("jobs"))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .filter(|l| l.contains("|RUNNING|"))
            .collect()
    }

    /// Whether the process of job `id` still runs (`pids/<id>`; a zombie does not).
    pub fn alive(&self, id: &str) -> bool {
        let pid = self.read(&format!("pids/{id}"));
        Path::new(&format!("/proc/{}", pid.trim())).exists()
            && !std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                .unwrap_or_default()
                .contains(") Z ")
    }

    /// Waits until the fake's `squeue` lists no job as running (every element's process
    /// has ended).
    pub fn wait_idle(&self) {
        wait_for("every job to end", || {
            let out = std::process::Command::new(self.path("squeue"))
                .output()
                .unwrap();
            !String::from_utf8_lossy(&out.stdout).contains("|RUNNING|")
        });
    }

    /// Waits until no job is listed as running and every job's process is gone (`pids/`).
    pub fn wait_all_gone(&self) {
        wait_for("every job to end", || self.running().is_empty());
        for entry in std::fs::read_dir(self.path("pids")).unwrap().flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            wait_for("the job's process to end", || !self.alive(&id));
        }
    }
}

/// `sh -c script`.
pub fn sh(script: &str) -> CommandSpec {
    CommandSpec::shell(&["sh", "-c"], script)
}

/// A task running `sh -c script`.
pub fn task(script: &str) -> TaskSpec {
    TaskSpec::from_job(CommandJob::new(sh(script)))
}

/// Adds a task running `spec` to `engine`.
pub fn add(engine: &Engine, spec: CommandSpec) -> TaskId {
    engine
        .add(TaskSpec::from_job(CommandJob::new(spec)))
        .unwrap()
}

/// Adds `spec`, wants it and waits for its end.
pub fn run_one(engine: &Engine, spec: TaskSpec) -> TaskStatus {
    let t = engine.add(spec).unwrap();
    engine.want([t]).unwrap();
    engine.wait([t]).unwrap().remove(0)
}

/// Waits until `cond` holds, checking every 50 ms, for at most 30 s (a bound, not a timing);
/// panics naming `what` past it.
#[track_caller]
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..600 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}
