//! One concrete task of a task file, ready to run: its command line with `{fields}` filled
//! (shell-quoted), the environment it sees, and the job that runs it through the library's
//! child-process runner ([`CommandJob`]) and keeps the JSON result it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parade::display::sanitize_file_name;
use parade::engine::{Job, Outcome, TaskContext};
use parade::exec::{CommandJob, CommandSpec};
use serde_json::Value;

use crate::shell;
use crate::taskfile::{Task, TaskFile};

/// One concrete task to run: which task, under which name, with which placeholder values.
#[derive(Clone, Debug)]
pub struct TaskRun<'a> {
    /// The task file.
    pub file: &'a TaskFile,
    /// The task (or pattern) it is an instance of.
    pub task: &'a Task,
    /// The concrete name.
    pub name: &'a str,
    /// Placeholder values.
    pub args: &'a BTreeMap<String, String>,
    /// Params, overrides applied.
    pub params: &'a BTreeMap<String, String>,
    /// Where results of finished tasks are (`<name>.json`).
    pub results_dir: &'a Path,
}

impl TaskRun<'_> {
    /// The command to run: the task file's shell with the task's `run`, fields filled with
    /// quoted values, the environment set, the task's Slurm resources attached.
    ///
    /// The environment holds the task's `env`, `PARADE_TASK` (the name), `PARADE_ARG_<KEY>` per
    /// placeholder, `PARADE_PARAM_<KEY>` per param, `PARADE_RESULT` (a file the task may write
    /// JSON to) and `PARADE_RESULTS_DIR`.
    pub fn command(&self) -> CommandSpec {
        let script = shell::substitute(&self.task.run, |field| {
            match field.strip_prefix("params.") {
                Some(key) => self.params.get(key).cloned(),
                None => self.args.get(field).cloned(),
            }
        });
        let mut spec = CommandSpec::shell(&self.file.settings.shell, script)
            .cwd(match &self.task.cwd {
                Some(dir) => self.file.dir().join(dir),
                None => self.file.dir(),
            })
            .resources(self.task.resources.clone());
        for (k, v) in &self.task.env {
            spec = spec.env(k, v);
        }
        spec = spec.env("PARADE_TASK", self.name);
        for (k, v) in self.args {
            spec = spec.env(format!("PARADE_ARG_{}", shell::env_key(k)), v);
        }
        for (k, v) in self.params {
            spec = spec.env(format!("PARADE_PARAM_{}", shell::env_key(k)), v);
        }
        spec.env("PARADE_RESULT", absolute(&self.partial_result()))
            .env("PARADE_RESULTS_DIR", absolute(self.results_dir))
    }

    /// Where a finished task's result is kept.
    pub fn result_path(&self) -> PathBuf {
        self.results_dir
            .join(format!("{}.json", sanitize_file_name(self.name)))
    }

    fn partial_result(&self) -> PathBuf {
        self.results_dir
            .join(format!(".{}.json.partial", sanitize_file_name(self.name)))
    }
}

/// A path as the task sees it from its own working directory: absolute.
fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Runs one task's command to its end as the engine task `ctx` (its output goes to the
/// task's observers; a timeout or a cancel terminates its process group, SIGKILL after
/// `grace`). Returns how it ended and the JSON result it wrote to `PARADE_RESULT`, if any; a
/// result is kept only when the task succeeds, and an invalid one fails the task.
pub fn run_task(run: &TaskRun<'_>, grace: Duration, ctx: &TaskContext) -> (Outcome, Option<Value>) {
    run_task_with(run, |spec| {
        Box::new(CommandJob::new(spec).grace(grace)).run(ctx)
    })
}

/// [`run_task`], with `execute` running the command (locally, or as a Slurm job).
pub fn run_task_with(
    run: &TaskRun<'_>,
    execute: impl FnOnce(CommandSpec) -> Outcome,
) -> (Outcome, Option<Value>) {
    let partial = run.partial_result();
    let _ = std::fs::create_dir_all(run.results_dir);
    // The results directory is the run's own: nothing is there before the task writes it.
    let outcome = execute(run.command());
    let written = std::fs::read_to_string(&partial).ok();
    if written.is_some() {
        let _ = std::fs::remove_file(&partial);
    }
    if outcome != Outcome::Succeeded {
        return (outcome, None);
    }
    let Some(text) = written else {
        return (outcome, None);
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => {
            let _ = std::fs::write(run.result_path(), &text);
            (outcome, Some(value))
        }
        Err(e) => (
            Outcome::failed(format!("PARADE_RESULT is not JSON: {e}")),
            None,
        ),
    }
}
