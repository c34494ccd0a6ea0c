//! The [`TaskBuilder`]: a task about to be submitted, with its description, resource hints and
//! mock. Submitting goes through [`submit`](super::submit)'s one path.

use std::fmt::Display;
use std::sync::Arc;

use super::hints::Resources;
use super::inputs::Inputs;
use super::mock::{Mock, MockFor, MockWith, NoMock};
use super::{Graph, Handle};

/// A task about to be submitted, with its description, resource hints and mock.
///
/// ```
/// use parade::graph::Graph;
/// # use std::sync::Arc;
/// let g = Graph::with_executor(Arc::new(parade::exec::ThreadPool::new(2)));
/// let h = g.task("train model 3").cores(2).hint("gpu", "none").mock(0.0).submit(|| 0.93);
/// assert_eq!(h.value().unwrap(), 0.93);
/// assert_eq!(g.plan().tasks[0].resources.to_string(), "cores=2, gpu=none");
/// ```
#[must_use = "a task builder does nothing until submitted"]
pub struct TaskBuilder<'g, M = NoMock> {
    graph: &'g Graph,
    description: Option<Arc<str>>,
    resources: Resources,
    mock: M,
}

impl Graph {
    /// Starts a task with a description, shown in logs, errors and the dry run.
    pub fn task(&self, description: impl Into<String>) -> TaskBuilder<'_> {
        TaskBuilder {
            graph: self,
            description: Some(Arc::from(description.into())),
            resources: Resources::default(),
            mock: NoMock,
        }
    }
}

impl<'g> TaskBuilder<'g, NoMock> {
    /// Gives the task a mock value: its value during a dry run. Its type is the task's.
    pub fn mock<T>(self, value: T) -> TaskBuilder<'g, Mock<T>> {
        TaskBuilder {
            graph: self.graph,
            description: self.description,
            resources: self.resources,
            mock: Mock(value),
        }
    }

    /// Gives the task a mock computed from its inputs' mock values during a dry run (used only
    /// when every input has one).
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::dry_run();
    /// let n = g.task("n").mock(3_usize).submit(|| 3);
    /// let v = g.task("v").mock_with(|n: &usize| vec![0; *n]).submit_after(&n, |n| vec![1; n]);
    /// assert_eq!(v.value().unwrap().len(), 3);
    /// ```
    pub fn mock_with<F>(self, f: F) -> TaskBuilder<'g, MockWith<F>> {
        TaskBuilder {
            graph: self.graph,
            description: self.description,
            resources: self.resources,
            mock: MockWith(f),
        }
    }
}

impl<'g, M> TaskBuilder<'g, M> {
    /// The graph it submits to.
    pub(crate) fn graph(&self) -> &'g Graph {
        self.graph
    }

    /// The same builder with its mock wrapped (a cached task's dry-run value).
    pub(crate) fn map_mock<N>(self, f: impl FnOnce(M) -> N) -> TaskBuilder<'g, N> {
        TaskBuilder {
            graph: self.graph,
            description: self.description,
            resources: self.resources,
            mock: f(self.mock),
        }
    }

    /// Its description, hints and mock, for a submission that takes them apart (a named one).
    pub(crate) fn into_parts(self) -> (Option<Arc<str>>, Resources, M) {
        (self.description, self.resources, self.mock)
    }

    /// Says how many cores the task uses (a hint, checked against the executor's capacity).
    /// A named task run by the Slurm executor asks `sbatch` for as many CPUs
    /// (`--cpus-per-task`).
    pub fn cores(mut self, cores: usize) -> Self {
        self.resources.cores = Some(cores);
        self
    }

    /// Adds a free-form resource hint, shown in logs and in the dry run. A named task run by
    /// the Slurm executor passes `mem`, `time`, `partition` and `account` to `sbatch` as those
    /// options, and a hint named `sbatch:OPTION` as `--OPTION=value`; other hints only
    /// describe the task.
    pub fn hint(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resources.hints.push((key.into(), value.into()));
        self
    }

    /// Uses `amount` of the counted resource `resource` while the task runs: the tasks running
    /// at one time never use more of it than the capacity set with
    /// [`Graph::resource`](super::Graph::resource). A resource with no capacity, or a use above
    /// it, fails the task (it could never start).
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::new();
    /// g.resource("licence", 1);
    /// let h = g.task("solve").uses("licence", 1).submit(|| 42);
    /// assert_eq!(h.value().unwrap(), 42);
    /// assert!(g.task("greedy").uses("licence", 2).submit(|| 0).value().is_err());
    /// ```
    pub fn uses(mut self, resource: impl Into<String>, amount: u32) -> Self {
        self.resources.uses.push((resource.into(), amount));
        self
    }

    /// Submits a closure without inputs.
    pub fn submit<R, F>(self, f: F) -> Handle<R>
    where
        R: Send + Sync + 'static,
        F: FnOnce() -> R + Send + 'static,
        M: MockFor<(), R>,
    {
        self.try_submit_after((), move |()| Ok::<R, std::convert::Infallible>(f()))
    }

    /// Submits a closure without inputs that may fail; an `Err` fails the task with its message.
    pub fn try_submit<R, E, F>(self, f: F) -> Handle<R>
    where
        R: Send + Sync + 'static,
        E: Display,
        F: FnOnce() -> Result<R, E> + Send + 'static,
        M: MockFor<(), R>,
    {
        self.try_submit_after((), move |()| f())
    }

    /// Submits a closure that runs after `inputs` and receives their values.
    pub fn submit_after<I, R, F>(self, inputs: I, f: F) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        F: FnOnce(I::Values) -> R + Send + 'static,
        M: MockFor<I::Values, R>,
    {
        self.try_submit_after(inputs, move |v| Ok::<R, std::convert::Infallible>(f(v)))
    }

    /// Submits a closure that runs after `inputs`, receives their values, and may fail.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::inline();
    /// let text = g.submit(|| "42".to_owned());
    /// let n = g.task("parse").try_submit_after(&text, |s| s.parse::<i32>());
    /// assert_eq!(n.value().unwrap(), 42);
    /// ```
    pub fn try_submit_after<I, R, E, F>(self, inputs: I, f: F) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        E: Display,
        F: FnOnce(I::Values) -> Result<R, E> + Send + 'static,
        M: MockFor<I::Values, R>,
    {
        self.graph
            .submit_wired(self.description, self.resources, self.mock, inputs, None, f)
    }
}
