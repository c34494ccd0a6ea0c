//! Waiting on several handles the way parman's `WaitFuture` does: once every input has ended,
//! in list order. [`Graph::wait_settled`] gives `None` for a cancelled input and the others'
//! values (parman's `(2.0, None)`); the failure a dependent reports is the first failed input
//! in list order, not the first in time; [`Graph::as_completed`] yields handles as they end.
//! Scheduling belongs to the engine; this module only decides what a finished set means.

use std::collections::VecDeque;

use super::inputs::{DepList, Inputs};
use super::{Graph, GraphError, Handle};
use crate::engine::{TaskId, TaskState};

impl Graph {
    /// Blocks until every handle in `inputs` has ended and returns their values, `None` for
    /// a handle whose task was cancelled (or did not run because an input was cancelled). A
    /// failed input is an error: the first in argument order. [`Graph::wait_for`] is the
    /// strict form, for which a cancelled input is an error too.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::inline();
    /// let a = g.submit(|| 2.0);
    /// let b = g.submit(|| 3.0);
    /// b.cancel();
    /// assert_eq!(g.wait_settled((&a, &b)).unwrap(), (Some(2.0), None));
    /// ```
    #[allow(clippy::needless_pass_by_value)] // like `after`
    pub fn wait_settled<I: Inputs>(&self, inputs: I) -> Result<I::Settled, GraphError> {
        let mut deps = DepList::new();
        inputs.collect(self, &mut deps);
        if !self.inner.dry {
            self.wait_ids(&deps)?;
        }
        I::settle(&inputs.readers(), self)
    }

    /// The handles of `handles`, each as soon as its task has ended (well or not), in the
    /// order they end; a task that had ended already comes first, in the order given. Ask a
    /// yielded handle for its value or error. On an inline graph, waiting for the next one
    /// runs the tasks, in submission order. In a dry run, the order given.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::new();
    /// let slow = g.submit(|| { std::thread::sleep(std::time::Duration::from_millis(200)); 2 });
    /// let fast = g.submit(|| 1);
    /// let both = g.after((&slow, &fast));
    /// let order: Vec<_> = g.as_completed([slow.clone(), fast.clone()]).map(|h| h.value().unwrap()).collect();
    /// assert_eq!(order.len(), 2);
    /// assert_eq!(g.as_completed([both]).count(), 1);
    /// ```
    pub fn as_completed<T: Send + Sync + 'static>(
        &self,
        handles: impl IntoIterator<Item = Handle<T>>,
    ) -> AsCompleted<T> {
        let handles: VecDeque<Handle<T>> = handles.into_iter().collect();
        for h in &handles {
            assert!(
                self.same(&h.graph),
                "a handle ({}) belongs to another graph; pass handles of this graph",
                h.id
            );
        }
        AsCompleted {
            graph: self.clone(),
            pending: handles.into(),
        }
    }

    /// What a settled input gives: its value, `None` if it was cancelled, else its error.
    pub(crate) fn settle_one<T>(
        &self,
        id: TaskId,
        value: impl FnOnce() -> Result<T, super::handle::Unavailable>,
    ) -> Result<Option<T>, GraphError> {
        if !self.inner.dry {
            let status = self.inner.engine.status(id)?;
            if !status.state.is_success() {
                return match self.error_for(&status) {
                    GraphError::Cancelled { .. } | GraphError::DepCancelled { .. } => Ok(None),
                    other => Err(other),
                };
            }
        }
        value().map(Some).map_err(|u| self.unavailable(id, u))
    }

    /// Where the failure of dep-failed task `id` started, by parman's rule: once its inputs
    /// have all ended (`settle`: waiting for them; else only if they have), the first one in
    /// list order that has no value, followed up the graph. `None` if that cannot be known
    /// (an input nothing wants, or, without `settle`, one still running).
    pub(crate) fn first_failed_root(&self, id: TaskId, settle: bool) -> Option<TaskId> {
        let engine = &self.inner.engine;
        let mut at = id;
        loop {
            let deps = engine.deps(at).ok()?;
            let statuses = if settle {
                engine.wait(deps).ok()?
            } else {
                deps.into_iter()
                    .map(|d| engine.status(d))
                    .collect::<Result<Vec<_>, _>>()
                    .ok()?
            };
            let first = statuses
                .into_iter()
                .find(|s| !s.state.is_final() || !s.state.is_success())?;
            if !first.state.is_final() {
                return None;
            }
            if first.state == TaskState::DepFailed {
                at = first.id;
            } else {
                return Some(first.id);
            }
        }
    }
}

/// The iterator of [`Graph::as_completed`].
pub struct AsCompleted<T> {
    graph: Graph,
    pending: Vec<Handle<T>>,
}

impl<T: Send + Sync + 'static> Iterator for AsCompleted<T> {
    type Item = Handle<T>;

    fn next(&mut self) -> Option<Handle<T>> {
        if self.pending.is_empty() {
            return None;
        }
        let at = if self.graph.inner.dry {
            0
        } else {
            let ids: Vec<TaskId> = self.pending.iter().map(|h| h.id).collect();
            // A task nothing can run any more (a deadlock) ends the iteration's wait: yield
            // the first, whose value then says why.
            self.graph
                .inner
                .engine
                .wait_any(&ids)
                .ok()
                .flatten()
                .unwrap_or(0)
        };
        Some(self.pending.remove(at))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.pending.len(), Some(self.pending.len()))
    }
}

impl<T: Send + Sync + 'static> ExactSizeIterator for AsCompleted<T> {}
