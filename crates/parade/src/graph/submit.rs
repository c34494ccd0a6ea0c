//! Submitting: the one path every graph task takes (record it, add it to the engine, want it),
//! and the plain `Graph::submit` / `Graph::submit_after`. Inputs are in [`inputs`](super::inputs),
//! the builder in [`builder`](super::builder), how a job runs here or elsewhere in
//! [`wire`](super::wire).

use std::any::Any;
use std::fmt::Display;
use std::sync::{Arc, Weak};

use super::cell::TaskCell;
use super::handle::Slot;
use super::hints::Resources;
use super::info::TaskInfo;
use super::inputs::{DepList, Inputs};
use super::mock::{MockFor, NoMock};
use super::wire::{Wire, named_job};
use super::{Graph, GraphError, Handle};
use crate::engine::{Outcome, ResourceId, TaskId, TaskSpec};

impl Graph {
    /// Submits a closure without inputs; returns its handle at once.
    pub fn submit<R, F>(&self, f: F) -> Handle<R>
    where
        R: Send + Sync + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        self.submit_plain((), move |()| Ok::<R, std::convert::Infallible>(f()))
    }

    /// Submits a closure that runs after `inputs` and receives their values; returns its handle
    /// at once, without waiting for the inputs.
    pub fn submit_after<I, R, F>(&self, inputs: I, f: F) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        F: FnOnce(I::Values) -> R + Send + 'static,
    {
        self.submit_plain(inputs, move |v| Ok::<R, std::convert::Infallible>(f(v)))
    }

    /// A task without description, hints or mock: in a live in-process graph that is not shut
    /// down, straight to its cell ([`Graph::submit_cell`]) with nothing else to look at;
    /// otherwise the one path of every task.
    fn submit_plain<I, R, E, F>(&self, inputs: I, f: F) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        E: Display,
        F: FnOnce(I::Values) -> Result<R, E> + Send + 'static,
    {
        if self.inner.dry || !self.inner.in_process || self.is_shut_down() {
            return self.submit_wired(None, Resources::default(), NoMock, inputs, None, f);
        }
        let deps = self.deps_of(&inputs);
        self.submit_cell(deps, &[], &inputs, TaskInfo::plain, f)
    }

    /// The ids the task waits for: its inputs' tasks, each once where there are many (the
    /// first failed input in list order is the one a failure names, see `settle`).
    fn deps_of<I: Inputs>(&self, inputs: &I) -> DepList {
        let mut deps = DepList::new();
        inputs.collect(self, &mut deps);
        if deps.len() > 8 {
            let mut seen = std::collections::HashSet::with_capacity(deps.len());
            deps.retain(|id| seen.insert(*id));
        }
        deps
    }

    /// Records a task, adds it to the engine and wants it, all under one lock of the engine:
    /// recorded before anyone can see it run (observers name it). The dependency list is moved
    /// into the spec (a spec made here has none of its own), and a spec that uses no resource is
    /// not rebuilt: no copy of either per task.
    fn add_task(
        &self,
        mut spec: TaskSpec,
        deps: DepList,
        uses: &[(ResourceId, u32)],
        info: TaskInfo,
    ) -> TaskId {
        if spec.deps.is_empty() {
            spec.deps = deps;
        } else {
            spec.deps.extend_from_slice(&deps);
        }
        if !uses.is_empty() {
            spec = uses.iter().fold(spec, |s, &(r, n)| s.uses(r, n));
        }
        let id = self
            .inner
            .engine
            .add_wanted(spec, |id| self.register(id, info))
            .expect("a graph task's inputs exist in its engine");
        self.sweep_behind(id);
        id
    }

    /// A task that runs here: the value slot is the job (one allocation).
    fn submit_cell<I, R, E, F>(
        &self,
        deps: DepList,
        uses: &[(ResourceId, u32)],
        inputs: &I,
        info: impl FnOnce(Weak<dyn Any + Send + Sync>) -> TaskInfo,
        f: F,
    ) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        E: Display,
        F: FnOnce(I::Values) -> Result<R, E> + Send + 'static,
    {
        let cell = Arc::new(TaskCell::new(
            inputs.readers(),
            <I::Owned as Inputs>::read,
            f,
        ));
        let weak = Arc::downgrade(&cell) as Weak<dyn Any + Send + Sync>;
        let id = self.add_task(TaskSpec::from_shared(cell.clone()), deps, uses, info(weak));
        Handle {
            graph: self.clone(),
            id,
            source: cell,
        }
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
        let deps = self.deps_of(&inputs);
        let too_big = resources.cores.filter(|&c| c > self.inner.capacity);
        let refusal = match &wire {
            Some(w) => w.refusal(self),
            None if !self.inner.in_process => Some(UNNAMED.to_owned()),
            None => None,
        };
        let uses = self.engine_uses(&resources);
        let info = |has_mock, slot| TaskInfo::new(slot, description, &resources, has_mock);
        let shut = self.is_shut_down();
        let plain = !self.inner.dry && wire.is_none() && too_big.is_none() && uses.is_ok() && !shut;
        if plain {
            drop(mock);
            let uses = uses.unwrap_or_default();
            return self.submit_cell(deps, &uses, &inputs, |weak| info(false, weak), f);
        }
        let slot = Arc::new(Slot::<R>::new());
        let weak = Arc::downgrade(&slot) as Weak<dyn Any + Send + Sync>;
        let id = if self.inner.dry {
            let readers = inputs.readers();
            let values = I::read(&readers).ok();
            let has_mock = match mock.make(values.as_ref()) {
                Some(m) => slot.cell.set(m).is_ok(),
                None => false,
            };
            let id = self
                .inner
                .engine
                .add(Graph::dry_spec(&deps))
                .expect("a graph task's inputs exist in its engine");
            self.register(id, info(has_mock, weak));
            id
        } else {
            drop(mock);
            let spec = if shut {
                TaskSpec::new(|_| Outcome::failed(super::scope::SHUT_DOWN))
            } else if let Some(needs) = too_big {
                let (has, executor) = (self.inner.capacity, self.inner.executor);
                TaskSpec::new(move |_| {
                    Outcome::failed(format!(
                        "asks for {needs} cores, but the {executor} executor has {has}; lower the hint or use a bigger executor"
                    ))
                })
            } else if let Err(message) = &uses {
                let message = message.clone();
                TaskSpec::new(move |_| Outcome::failed(message))
            } else if let Some(wire) = wire {
                TaskSpec::from_job(named_job(
                    wire,
                    refusal.clone(),
                    &resources,
                    inputs.readers(),
                    slot.clone(),
                    f,
                ))
            } else {
                unreachable!("a plain task was submitted above")
            };
            let uses = uses.as_deref().unwrap_or_default();
            self.add_task(spec, deps, uses, info(false, weak))
        };
        if self.inner.dry {
            self.dry_problems(id, too_big, refusal);
        }
        Handle {
            graph: self.clone(),
            id,
            source: slot,
        }
    }

    /// A dry run's problems with a task: more cores than the executor has, or an executor
    /// that cannot take it.
    fn dry_problems(&self, id: TaskId, too_big: Option<usize>, refusal: Option<String>) {
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
    }
}

/// Why an executor that runs tasks in other processes cannot take a task without a name.
const UNNAMED: &str = "it is a closure without a name; give it one with `.named(...)` and \
                       register the function with `Functions::add` at the top of `main`, or \
                       use an in-process executor";
