//! Template jobs as graph tasks: a [`TemplateJob`] whose parameters come from the values of
//! handles, run (or reused) when they exist, its `result.json` becoming the task's value.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Handle;
use super::builder::TaskBuilder;
use super::inputs::Inputs;
use super::mock::MockFor;
use crate::exec::slurm::TemplateJob;

impl<M> TaskBuilder<'_, M> {
    /// Submits `job` as a task that runs after `inputs`: `kwargs` makes the job's parameters
    /// from their values, then the job runs (or its finished result is reused) on the thread
    /// that runs the task, locally or on Slurm as the job says, and its `result.json` read as
    /// an `R` is the task's value. A job error (a failed script, parameters that changed since
    /// the directory was made, ...) fails the task with its message, naming what to do.
    ///
    /// ```
    /// # use std::os::unix::fs::PermissionsExt;
    /// use parade::exec::slurm::TemplateJob;
    /// use parade::graph::{Graph, Handle};
    /// # let tmp = tempfile::tempdir().unwrap();
    /// # let template = tmp.path().join("template");
    /// # std::fs::create_dir_all(&template).unwrap();
    /// # std::fs::write(template.join("run"), "#!/bin/sh\nn=$(tr -dc 0-9 < kwargs.json)\necho \"$((n * n))\" > result.json\n").unwrap();
    /// # std::fs::set_permissions(template.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    /// // `template/run` reads `n` from kwargs.json and writes n * n to result.json
    /// let job = TemplateJob::new(&template, tmp.path().join("jobs/square"));
    /// let g = Graph::new();
    /// let n = g.task("n").submit(|| 12_u32);
    /// let square: Handle<u32> = g
    ///     .task("square")
    ///     .submit_template(&job, &n, |n| serde_json::json!({ "n": n }));
    /// assert_eq!(square.value().unwrap(), 144);
    /// ```
    pub fn submit_template<I, K, R, F>(self, job: &TemplateJob, inputs: I, kwargs: F) -> Handle<R>
    where
        I: Inputs,
        K: Serialize,
        R: DeserializeOwned + Send + Sync + 'static,
        F: FnOnce(I::Values) -> K + Send + 'static,
        M: MockFor<I::Values, R>,
    {
        let job = job.clone();
        self.try_submit_after(inputs, move |values| job.run::<K, R>(&kwargs(values)))
    }
}
