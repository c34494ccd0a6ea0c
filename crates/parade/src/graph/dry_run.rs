//! The dry run's report: a [`Plan`] of every task (description, dependencies, resource hints,
//! whether it has a mock, its state) and the problems the workflow would hit before any work
//! ran. A plan can be taken of any graph, dry or not.

use super::hints::Resources;
use super::{Graph, GraphError};
use crate::engine::{TaskId, TaskState};

/// One task of a [`Plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTask {
    /// The task's id.
    pub id: TaskId,
    /// Its description, or its id if it has none.
    pub name: String,
    /// The tasks it runs after, in the order given.
    pub deps: Vec<TaskId>,
    /// Its resource hints.
    pub resources: Resources,
    /// Whether it has a mock value (dry runs only).
    pub has_mock: bool,
    /// Its state when the plan was taken (idle in a dry run).
    pub state: TaskState,
    /// For a cached task ([`TaskBuilder::cache`](super::TaskBuilder::cache)): whether its
    /// stored result is (or would be) reused.
    pub cache: Option<super::CacheUse>,
}

/// What a graph holds: its tasks in submission order and the problems found while building it.
///
/// ```
/// use parade::graph::Graph;
/// let g = Graph::dry_run();
/// let a = g.task("boot").mock(vec![1, 2]).submit(|| vec![1, 2]);
/// let parts = a.split_vec(2);
/// let b = g.task("sum").submit_after(&parts, |v| v.iter().sum::<i32>());
/// let plan = g.plan();
/// assert!(plan.check().is_ok());
/// assert_eq!(plan.to_string(), "\
/// dry run on the threads executor: 2 tasks
/// #0 boot (mock)
/// #1 sum <- #0
/// ");
/// # let _ = b;
/// ```
#[derive(Clone, Debug)]
pub struct Plan {
    /// The executor the graph runs (or would run) on.
    pub executor: &'static str,
    /// Whether the graph is a dry run.
    pub dry_run: bool,
    /// Every task, in submission order.
    pub tasks: Vec<PlannedTask>,
    /// What would fail before any work ran: values read without a mock, splits whose mock has
    /// another length, tasks the executor cannot take, cycles.
    pub problems: Vec<GraphError>,
}

impl Plan {
    /// `Ok` if the plan has no problem; else the problem, or all of them.
    ///
    /// ```
    /// use parade::graph::{Graph, GraphError};
    /// use std::sync::Arc;
    /// let g = Graph::dry_run_for(Arc::new(parade::exec::ThreadPool::new(2)));
    /// g.task("big").cores(8).submit(|| ());
    /// let err = g.plan().check().unwrap_err();
    /// assert!(matches!(err, GraphError::Resources { needs: 8, has: 2, .. }));
    /// ```
    pub fn check(&self) -> Result<(), GraphError> {
        match self.problems.len() {
            0 => Ok(()),
            1 => Err(self.problems[0].clone()),
            _ => Err(GraphError::Many(self.problems.clone())),
        }
    }
}

impl Graph {
    /// A plan of the graph as it is now: its tasks, their dependencies and descriptions, and,
    /// for a dry run, the problems found.
    pub fn plan(&self) -> Plan {
        let infos: Vec<(TaskId, String, crate::graph::Resources, bool)> = {
            let tasks = self.inner.tasks.lock();
            tasks
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let t = t.as_ref()?;
                    let id = TaskId::from_index(i);
                    let name = t
                        .description()
                        .map(|d| &**d)
                        .map_or_else(|| id.to_string(), str::to_owned);
                    Some((
                        id,
                        name,
                        t.resources().cloned().unwrap_or_default(),
                        t.has_mock(),
                    ))
                })
                .collect()
        };
        let engine = &self.inner.engine;
        let tasks = infos
            .into_iter()
            .map(|(id, name, resources, has_mock)| PlannedTask {
                id,
                name,
                deps: engine.deps(id).unwrap_or_default(),
                resources,
                has_mock,
                state: engine.state(id).unwrap_or(TaskState::Idle),
                cache: self.cache_use(id),
            })
            .collect();
        Plan {
            executor: self.inner.executor,
            dry_run: self.inner.dry,
            tasks,
            problems: self.inner.problems.lock().clone(),
        }
    }
}
