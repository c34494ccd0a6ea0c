//! Submitting: what can be a task's inputs ([`Inputs`]), the [`TaskBuilder`] that carries a
//! description, resource hints and a mock, and the one path every submission takes.
//!
//! Inputs are handles (`&Handle<T>` or `Handle<T>`, giving a `T`), `Vec`s and slices of handles
//! of one type (giving a `Vec<T>`), `()` and tuples of up to 12 inputs (giving a tuple of their
//! values); tuples nest. The closure receives the values by value (cloned from the slots).

use std::fmt::{self, Display};
use std::sync::Arc;

use smallvec::SmallVec;

use super::handle::{Slot, Source, Unavailable};
use super::named::{Wire, named_job, run_here};
use super::{Graph, GraphError, Handle, TaskInfo};
use crate::engine::{Outcome, TaskId, TaskSpec};

mod sealed {
    pub trait Sealed {}
}

/// The dependencies a submission collects (an implementation detail of [`Inputs`]).
#[doc(hidden)]
pub type DepList = SmallVec<[TaskId; 4]>;

/// What a task can take as inputs: handles, collections and tuples of them. The task runs
/// after every handle in its inputs and receives their values as [`Inputs::Values`].
///
/// ```
/// use parade::graph::Graph;
/// let g = Graph::inline();
/// let a = g.submit(|| 1);
/// let b = g.submit(|| "two".to_owned());
/// let v = vec![g.submit(|| 3.0), g.submit(|| 4.0)];
/// // a tuple of a handle, a handle and a Vec of handles gives (i32, String, Vec<f64>)
/// let s = g.submit_after((&a, &b, &v), |(a, b, v)| format!("{a} {b} {v:?}"));
/// assert_eq!(s.value().unwrap(), "1 two [3.0, 4.0]");
/// ```
///
/// The closure's argument must match the inputs' values:
///
/// ```compile_fail
/// use parade::graph::Graph;
/// let g = Graph::inline();
/// let a = g.submit(|| 1_i64);
/// let b = g.submit(|| 2_i64);
/// let s = g.submit_after((&a, &b), |(x, y): (i64, String)| x); // b gives an i64
/// ```
pub trait Inputs: sealed::Sealed {
    /// What the task's closure receives.
    type Values: Send + 'static;
    /// How the job reads the values once they exist (an implementation detail).
    #[doc(hidden)]
    type Readers: Send + Sync + 'static;
    /// Pushes the ids of the tasks these inputs come from.
    #[doc(hidden)]
    fn collect(&self, graph: &Graph, deps: &mut DepList);
    /// The readers the job keeps.
    #[doc(hidden)]
    fn readers(&self) -> Self::Readers;
    /// Reads the values (the tasks have succeeded), or says which task's value is missing.
    #[doc(hidden)]
    fn read(readers: &Self::Readers) -> Result<Self::Values, (TaskId, Unavailable)>;
}

/// Reads one input's value inside a job (an implementation detail of [`Inputs`]).
pub struct Reader<T> {
    id: TaskId,
    source: Arc<dyn Source<T>>,
}

fn check_graph<T>(graph: &Graph, handle: &Handle<T>) {
    assert!(
        graph.same(&handle.graph),
        "an input handle ({}) belongs to another graph; pass handles of the graph you submit to",
        handle.id
    );
}

impl<T: Clone + Send + Sync + 'static> sealed::Sealed for &Handle<T> {}
impl<T: Clone + Send + Sync + 'static> Inputs for &Handle<T> {
    type Values = T;
    type Readers = Reader<T>;
    fn collect(&self, graph: &Graph, deps: &mut DepList) {
        check_graph(graph, self);
        deps.push(self.id);
    }
    fn readers(&self) -> Reader<T> {
        Reader {
            id: self.id,
            source: self.source.clone(),
        }
    }
    fn read(r: &Reader<T>) -> Result<T, (TaskId, Unavailable)> {
        r.source.get().cloned().map_err(|u| (r.id, u))
    }
}

impl<T: Clone + Send + Sync + 'static> sealed::Sealed for Handle<T> {}
impl<T: Clone + Send + Sync + 'static> Inputs for Handle<T> {
    type Values = T;
    type Readers = Reader<T>;
    fn collect(&self, graph: &Graph, deps: &mut DepList) {
        (&self).collect(graph, deps);
    }
    fn readers(&self) -> Reader<T> {
        (&self).readers()
    }
    fn read(r: &Reader<T>) -> Result<T, (TaskId, Unavailable)> {
        <&Handle<T>>::read(r)
    }
}

impl<T: Clone + Send + Sync + 'static> sealed::Sealed for &[Handle<T>] {}
impl<T: Clone + Send + Sync + 'static> Inputs for &[Handle<T>] {
    type Values = Vec<T>;
    type Readers = Vec<Reader<T>>;
    fn collect(&self, graph: &Graph, deps: &mut DepList) {
        for h in *self {
            h.collect(graph, deps);
        }
    }
    fn readers(&self) -> Vec<Reader<T>> {
        self.iter().map(|h| (&h).readers()).collect()
    }
    fn read(rs: &Vec<Reader<T>>) -> Result<Vec<T>, (TaskId, Unavailable)> {
        rs.iter().map(<&Handle<T>>::read).collect()
    }
}

impl<T: Clone + Send + Sync + 'static> sealed::Sealed for &Vec<Handle<T>> {}
impl<T: Clone + Send + Sync + 'static> Inputs for &Vec<Handle<T>> {
    type Values = Vec<T>;
    type Readers = Vec<Reader<T>>;
    fn collect(&self, graph: &Graph, deps: &mut DepList) {
        self.as_slice().collect(graph, deps);
    }
    fn readers(&self) -> Vec<Reader<T>> {
        self.as_slice().readers()
    }
    fn read(rs: &Vec<Reader<T>>) -> Result<Vec<T>, (TaskId, Unavailable)> {
        <&[Handle<T>]>::read(rs)
    }
}

impl<T: Clone + Send + Sync + 'static> sealed::Sealed for Vec<Handle<T>> {}
impl<T: Clone + Send + Sync + 'static> Inputs for Vec<Handle<T>> {
    type Values = Vec<T>;
    type Readers = Vec<Reader<T>>;
    fn collect(&self, graph: &Graph, deps: &mut DepList) {
        self.as_slice().collect(graph, deps);
    }
    fn readers(&self) -> Vec<Reader<T>> {
        self.as_slice().readers()
    }
    fn read(rs: &Vec<Reader<T>>) -> Result<Vec<T>, (TaskId, Unavailable)> {
        <&[Handle<T>]>::read(rs)
    }
}

impl sealed::Sealed for () {}
impl Inputs for () {
    type Values = ();
    type Readers = ();
    fn collect(&self, _: &Graph, _: &mut DepList) {}
    fn readers(&self) {}
    fn read((): &()) -> Result<(), (TaskId, Unavailable)> {
        Ok(())
    }
}

/// Inputs that only order: the task waits for these tasks and reads nothing.
pub(crate) struct OrderOnly(pub(crate) Vec<TaskId>);

impl sealed::Sealed for OrderOnly {}
impl Inputs for OrderOnly {
    type Values = ();
    type Readers = ();
    fn collect(&self, _: &Graph, deps: &mut DepList) {
        deps.extend_from_slice(&self.0);
    }
    fn readers(&self) {}
    fn read((): &()) -> Result<(), (TaskId, Unavailable)> {
        Ok(())
    }
}

macro_rules! tuple_inputs {
    ($($name:ident . $idx:tt),+) => {
        impl<$($name: Inputs),+> sealed::Sealed for ($($name,)+) {}
        impl<$($name: Inputs),+> Inputs for ($($name,)+) {
            type Values = ($($name::Values,)+);
            type Readers = ($($name::Readers,)+);
            fn collect(&self, graph: &Graph, deps: &mut DepList) {
                $(self.$idx.collect(graph, deps);)+
            }
            fn readers(&self) -> Self::Readers {
                ($(self.$idx.readers(),)+)
            }
            fn read(r: &Self::Readers) -> Result<Self::Values, (TaskId, Unavailable)> {
                Ok(($($name::read(&r.$idx)?,)+))
            }
        }
    };
}

tuple_inputs!(A.0);
tuple_inputs!(A.0, B.1);
tuple_inputs!(A.0, B.1, C.2);
tuple_inputs!(A.0, B.1, C.2, D.3);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5, G.6);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9, K.10);
tuple_inputs!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9, K.10, L.11);

/// Resource hints of a task: cores it needs and free-form `key=value` hints. Shown in logs and
/// in the dry run; cores are checked against the executor's capacity.
///
/// ```
/// use parade::graph::Resources;
/// let r = Resources { cores: Some(4), hints: vec![("mem".into(), "2G".into())] };
/// assert_eq!(r.to_string(), "cores=4, mem=2G");
/// ```
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct Resources {
    /// How many cores the task uses.
    pub cores: Option<usize>,
    /// Other hints, in the order given.
    pub hints: Vec<(String, String)>,
}

impl Resources {
    /// Whether there is no hint at all.
    pub fn is_empty(&self) -> bool {
        self.cores.is_none() && self.hints.is_empty()
    }
}

impl Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if let Some(c) = self.cores {
            write!(f, "cores={c}")?;
            first = false;
        }
        for (k, v) in &self.hints {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v}")?;
            first = false;
        }
        Ok(())
    }
}

/// No mock: the task's value is unknown during a dry run.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMock;

/// A fixed mock value, used for the task's value during a dry run.
#[derive(Clone, Debug)]
pub struct Mock<T>(pub T);

/// A mock computed from the inputs' (mock) values during a dry run.
#[derive(Clone, Debug)]
pub struct MockWith<F>(pub F);

/// A mock for a task with input values `V` and value `R`. The types must match: a mock of
/// another type does not build.
///
/// ```compile_fail
/// use parade::graph::Graph;
/// let g = Graph::dry_run();
/// let h = g.task("n").mock("three").submit(|| 3_u32); // a &str mock for a u32 task
/// ```
pub trait MockFor<V, R>: sealed::Sealed {
    /// The mock, given the inputs' mock values if they all have one.
    #[doc(hidden)]
    fn make(self, inputs: Option<&V>) -> Option<R>;
}

impl sealed::Sealed for NoMock {}
impl<V, R> MockFor<V, R> for NoMock {
    fn make(self, _: Option<&V>) -> Option<R> {
        None
    }
}
impl<T> sealed::Sealed for Mock<T> {}
impl<V, R> MockFor<V, R> for Mock<R> {
    fn make(self, _: Option<&V>) -> Option<R> {
        Some(self.0)
    }
}
impl<F> sealed::Sealed for MockWith<F> {}
impl<V, R, F: FnOnce(&V) -> R> MockFor<V, R> for MockWith<F> {
    fn make(self, inputs: Option<&V>) -> Option<R> {
        inputs.map(self.0)
    }
}

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

    /// Submits a closure without inputs; returns its handle at once.
    pub fn submit<R, F>(&self, f: F) -> Handle<R>
    where
        R: Send + Sync + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        self.submit_with(None, Resources::default(), NoMock, (), move |()| {
            Ok::<R, std::convert::Infallible>(f())
        })
    }

    /// Submits a closure that runs after `inputs` and receives their values; returns its handle
    /// at once, without waiting for the inputs.
    pub fn submit_after<I, R, F>(&self, inputs: I, f: F) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        F: FnOnce(I::Values) -> R + Send + 'static,
    {
        self.submit_with(None, Resources::default(), NoMock, inputs, move |v| {
            Ok::<R, std::convert::Infallible>(f(v))
        })
    }

    /// Submission without a name (see [`Graph::submit_wired`]).
    pub(crate) fn submit_with<I, R, E, F, M>(
        &self,
        description: Option<Arc<str>>,
        resources: Resources,
        mock: M,
        inputs: I,
        f: F,
    ) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        E: Display,
        F: FnOnce(I::Values) -> Result<R, E> + Send + 'static,
        M: MockFor<I::Values, R>,
    {
        self.submit_wired(description, resources, mock, inputs, None, f)
    }

    /// The one submission path: record the task, add it to the engine, want it. A task with a
    /// `wire` (a named task) can also run in a worker process.
    #[allow(clippy::needless_pass_by_value)] // inputs are kept only as readers
    pub(crate) fn submit_wired<I, R, E, F, M>(
        &self,
        description: Option<Arc<str>>,
        resources: Resources,
        mock: M,
        inputs: I,
        wire: Option<Wire<I, R>>,
        f: F,
    ) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        E: Display,
        F: FnOnce(I::Values) -> Result<R, E> + Send + 'static,
        M: MockFor<I::Values, R>,
    {
        let mut deps = DepList::new();
        inputs.collect(self, &mut deps);
        if deps.len() > 8 {
            deps.sort_unstable();
            deps.dedup();
        }
        let readers = inputs.readers();
        let slot = Arc::new(Slot::<R>::new());
        let too_big = resources.cores.filter(|&c| c > self.inner.capacity);
        let refusal = match &wire {
            Some(w) => w.refusal(self),
            None if !self.inner.in_process => Some(UNNAMED.to_owned()),
            None => None,
        };
        let engine = &self.inner.engine;
        let (id, has_mock) = if self.inner.dry {
            let values = I::read(&readers).ok();
            let has_mock = match mock.make(values.as_ref()) {
                Some(m) => slot.cell.set(m).is_ok(),
                None => false,
            };
            let id = engine
                .add(Graph::dry_spec(&deps))
                .expect("a graph task's inputs exist in its engine");
            (id, has_mock)
        } else {
            drop(mock);
            let spec = if let Some(needs) = too_big {
                let (has, executor) = (self.inner.capacity, self.inner.executor);
                TaskSpec::new(move |_| {
                    Outcome::failed(format!(
                        "asks for {needs} cores, but the {executor} executor has {has}; lower the hint or use a bigger executor"
                    ))
                })
            } else if let Some(wire) = wire {
                TaskSpec::from_job(named_job(
                    wire,
                    refusal.clone(),
                    &resources,
                    readers,
                    slot.clone(),
                    f,
                ))
            } else {
                let out = slot.clone();
                TaskSpec::new(move |_| run_here::<I, R, E, F>(readers, &out, f))
            };
            let id = engine
                .add(spec.deps(deps))
                .expect("a graph task's inputs exist in its engine");
            (id, false)
        };
        self.register(
            id,
            TaskInfo {
                description,
                resources: (!resources.is_empty()).then(|| Box::new(resources)),
                has_mock,
                slot: Arc::downgrade(&slot) as std::sync::Weak<dyn std::any::Any + Send + Sync>,
            },
        );
        if self.inner.dry {
            if let Some(needs) = too_big {
                self.problem(GraphError::Resources {
                    task: self.task_ref(id),
                    needs,
                    has: self.inner.capacity,
                    executor: self.inner.executor,
                });
            }
            if let Some(message) = refusal {
                self.problem(GraphError::Executor {
                    task: self.task_ref(id),
                    executor: self.inner.executor,
                    message,
                });
            }
        } else {
            engine
                .want([id])
                .expect("a graph task exists in its engine");
        }
        Handle {
            graph: self.clone(),
            id,
            source: slot,
        }
    }
}

/// Why an executor that runs tasks in other processes cannot take a task without a name.
const UNNAMED: &str = "it is a closure without a name; give it one with `.named(...)` and \
                       register the function with `Functions::add` at the top of `main`, or \
                       use an in-process executor";

pub(crate) fn input_error(id: TaskId, why: Unavailable) -> String {
    match why {
        Unavailable::NotReady => format!("the value of input {id} is missing"),
        Unavailable::Shape { expected, len } => {
            format!("input {id} returned {len} items, but was split into {expected}")
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

impl<M> TaskBuilder<'_, M> {
    /// Submits with this builder's description, hints and mock (and a name, for named tasks).
    pub(crate) fn submit_wired<I, R, E, F>(
        self,
        inputs: I,
        wire: Option<Wire<I, R>>,
        f: F,
    ) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        E: Display,
        F: FnOnce(I::Values) -> Result<R, E> + Send + 'static,
        M: MockFor<I::Values, R>,
    {
        self.graph
            .submit_wired(self.description, self.resources, self.mock, inputs, wire, f)
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

    /// Submits a closure without inputs.
    pub fn submit<R, F>(self, f: F) -> Handle<R>
    where
        R: Send + Sync + 'static,
        F: FnOnce() -> R + Send + 'static,
        M: MockFor<(), R>,
    {
        self.graph
            .submit_with(self.description, self.resources, self.mock, (), move |()| {
                Ok::<R, std::convert::Infallible>(f())
            })
    }

    /// Submits a closure without inputs that may fail; an `Err` fails the task with its message.
    pub fn try_submit<R, E, F>(self, f: F) -> Handle<R>
    where
        R: Send + Sync + 'static,
        E: Display,
        F: FnOnce() -> Result<R, E> + Send + 'static,
        M: MockFor<(), R>,
    {
        self.graph
            .submit_with(self.description, self.resources, self.mock, (), move |()| {
                f()
            })
    }

    /// Submits a closure that runs after `inputs` and receives their values.
    pub fn submit_after<I, R, F>(self, inputs: I, f: F) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        F: FnOnce(I::Values) -> R + Send + 'static,
        M: MockFor<I::Values, R>,
    {
        self.graph.submit_with(
            self.description,
            self.resources,
            self.mock,
            inputs,
            move |v| Ok::<R, std::convert::Infallible>(f(v)),
        )
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
            .submit_with(self.description, self.resources, self.mock, inputs, f)
    }
}
