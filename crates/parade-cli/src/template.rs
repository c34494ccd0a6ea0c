//! A task-file task that is a template job (`template = "DIR"`): the library's
//! [`TemplateJob`] with the task's job directory, kwargs, inputs and script, `{fields}` filled
//! as they are; its `result.json` is the task's result. With `--executor slurm` the script runs
//! as a Slurm job with the task's resources.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parade::display::sanitize_file_name;
use parade::engine::{Outcome, TaskContext};
use parade::exec::slurm::{SlurmExecutor, TemplateJob};
use serde_json::Value;

use crate::shell;
use crate::task::TaskRun;
use crate::taskfile::TemplateSpec;

impl TaskRun<'_> {
    pub(crate) fn fill(&self, text: &str) -> String {
        shell::fill(text, |f| self.field_value(f))
    }

    /// A path with its fields filled; a value may not take it out of where the file points.
    fn fill_path(&self, text: &str) -> Result<String, String> {
        shell::fill_path(text, |f| self.field_value(f))
    }

    /// The template job of this task as the library runs it, and its kwargs, fields filled.
    /// Relative paths are taken from the task file's directory; the job directory defaults to
    /// `.parade/jobs/<task name>`.
    ///
    /// Errors: a value that would take a path out of its directory (`..`, absolute), or the
    /// task's environment cannot be made.
    pub fn template_job(&self, spec: &TemplateSpec) -> Result<(TemplateJob, Value), String> {
        let dir = self.file.dir();
        let base = |rel: &str| -> PathBuf {
            if dir == Path::new(".") {
                PathBuf::from(rel)
            } else {
                dir.join(rel)
            }
        };
        let job_dir = match &spec.job_dir {
            Some(d) => base(&self.fill_path(d)?),
            None => base(".parade/jobs").join(sanitize_file_name(self.name)),
        };
        let mut job = TemplateJob::new(base(&self.fill_path(&spec.dir)?), job_dir)
            .can_resume(spec.can_resume)
            .resources(self.task.resources.clone());
        if let Some(script) = &spec.script {
            job = job.script(self.fill_path(script)?);
        }
        for input in &spec.inputs {
            job = job.input(base(&self.fill_path(input)?));
        }
        // The environment a command would see, but for PARADE_RESULT: the result is result.json.
        for (k, v) in self.command()?.env {
            if k != "PARADE_RESULT" {
                job = job.env(k, v);
            }
        }
        let mut kwargs = spec.kwargs.clone();
        self.fill_value(&mut kwargs);
        Ok((job, kwargs))
    }

    fn fill_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.fill(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.fill_value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.fill_value(v)),
            _ => {}
        }
    }
}

/// Runs the template job of `run` (or reuses its finished result), through `slurm` when given.
/// Returns how it ended and its `result.json` value, kept as the task's result; a job error
/// fails the task with its message.
pub fn run_template(
    run: &TaskRun<'_>,
    spec: &TemplateSpec,
    slurm: Option<Arc<SlurmExecutor>>,
    ctx: &TaskContext,
) -> (Outcome, Option<Value>) {
    let (mut job, kwargs) = match run.template_job(spec) {
        Ok(made) => made,
        Err(e) => return (Outcome::failed(e), None),
    };
    if let Some(slurm) = slurm {
        job = job.on_slurm(slurm);
    }
    let dir: PathBuf = job.dir().to_path_buf();
    let finished = dir.join("result.json").exists();
    ctx.emit(format!(
        "template job in {}{}",
        dir.display(),
        if finished { " (finished before)" } else { "" }
    ));
    match job.run_in::<Value, Value>(&kwargs, ctx) {
        Ok(value) => {
            let _ = std::fs::create_dir_all(run.results.path());
            let text = serde_json::to_string_pretty(&value).expect("a JSON value prints");
            let _ = std::fs::write(run.result_path(), text);
            let outcome = if finished {
                Outcome::UpToDate(format!("template job in {} finished before", dir.display()))
            } else {
                Outcome::Succeeded
            };
            (outcome, Some(value))
        }
        Err(e) => (Outcome::failed(e.to_string()), None),
    }
}
