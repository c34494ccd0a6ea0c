//! [`Handle`]: a typed promise of a task's value, and the value slots behind it.
//!
//! A task's value lives in an `Arc`'d slot (a `OnceLock`) that its job fills once. A handle
//! reads the slot through a [`Source`]: the slot itself, or a projection of a parent's slot
//! for the parts a [split](super::split) made, so parts cost no engine task and no copy.
//! Values are read by reference inside the graph and cloned only where a closure takes them by
//! value: return an `Arc<T>` from a task whose value is big and read by many.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use super::{Graph, GraphError, TaskRef};
use crate::engine::{TaskId, TaskState};

/// Why a source has no value to give (an implementation detail of
/// [`Inputs`](super::Inputs)).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The task has not produced it (not run yet, failed, or, in a dry run, has no mock).
    NotReady,
    /// A split promised `expected` items and the value has `len`.
    Shape { expected: usize, len: usize },
}

/// Where a handle reads its value from.
pub(crate) trait Source<T>: Send + Sync {
    fn get(&self) -> Result<&T, Unavailable>;
}

/// The slot a task's job fills with its value.
pub(crate) struct Slot<T> {
    pub(crate) cell: OnceLock<T>,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Self {
            cell: OnceLock::new(),
        }
    }
}

impl<T: Send + Sync> Source<T> for Slot<T> {
    fn get(&self) -> Result<&T, Unavailable> {
        self.cell.get().ok_or(Unavailable::NotReady)
    }
}

/// A part of a parent's value, found by a projection.
pub(crate) struct Proj<P, T, F> {
    pub(crate) parent: Arc<dyn Source<P>>,
    pub(crate) project: F,
    pub(crate) _part: PhantomData<fn() -> T>,
}

impl<P, T, F> Source<T> for Proj<P, T, F>
where
    P: 'static,
    T: 'static,
    F: Fn(&P) -> Result<&T, Unavailable> + Send + Sync,
{
    fn get(&self) -> Result<&T, Unavailable> {
        (self.project)(self.parent.get()?)
    }
}

/// A typed handle to the value a graph task will produce (a future without async).
///
/// Submitting returns a handle at once. Pass handles as the inputs of later tasks to make
/// them run after it and receive its value; wait for the value with [`Handle::value`], check
/// without blocking with [`Handle::try_value`]. Handles are cheap to clone; clones are the
/// same promise. A handle made by a split or a projection names the task that produces the
/// whole value ([`Handle::id`]).
///
/// ```
/// use parade::graph::Graph;
/// let g = Graph::new();
/// let a = g.submit(|| 20);
/// let b = g.submit_after(&a, |x| x + 1);
/// let c = g.submit_after((&a, &b), |(x, y)| x + y);
/// assert_eq!(c.value().unwrap(), 41);
/// assert!(a.is_done());
/// ```
///
/// A handle carries its type: wiring it into a closure that expects another type does not
/// build.
///
/// ```compile_fail
/// use parade::graph::Graph;
/// let g = Graph::inline();
/// let n = g.submit(|| 3_u32);
/// let s = g.submit_after(&n, |s: String| s.len()); // a u32 is not a String
/// ```
pub struct Handle<T> {
    pub(crate) graph: Graph,
    pub(crate) id: TaskId,
    pub(crate) source: Arc<dyn Source<T>>,
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Self {
            graph: self.graph.clone(),
            id: self.id,
            source: self.source.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("task", &self.graph.task_ref(self.id))
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> Handle<T> {
    /// The id of the engine task that produces the value (for a part: the whole value).
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The producing task as errors name it: id and description.
    pub fn task(&self) -> TaskRef {
        self.graph.task_ref(self.id)
    }

    /// The graph the handle belongs to.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The producing task's state now (never blocks). In a dry run, tasks stay idle.
    pub fn state(&self) -> TaskState {
        self.graph
            .inner
            .engine
            .state(self.id)
            .expect("a handle's task exists in its graph")
    }

    /// Whether the producing task has ended, well or not (never blocks). On an inline graph
    /// nothing runs until someone waits. In a dry run, true when the handle has a mock value.
    pub fn is_done(&self) -> bool {
        if self.graph.is_dry_run() {
            self.source.get().is_ok()
        } else {
            self.state().is_final()
        }
    }

    /// Blocks until the task has ended; `Ok` if its value is there.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::new();
    /// let h = g.submit(|| vec![1, 2, 3]);
    /// h.wait().unwrap();
    /// assert_eq!(h.with(|v| v.len()).unwrap(), 3);
    /// ```
    pub fn wait(&self) -> Result<(), GraphError> {
        self.with(|_| ())
    }

    /// Blocks until the value exists and gives `f` a reference to it (no clone).
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, GraphError> {
        if !self.graph.is_dry_run() {
            let status = self.graph.wait_ids(&[self.id])?.remove(0);
            if !status.state.is_success() {
                return Err(self.graph.error_for(&status));
            }
        }
        self.source
            .get()
            .map(f)
            .map_err(|u| self.graph.unavailable(self.id, u))
    }

    /// Blocks until the value exists and returns a clone of it. In a dry run, returns the
    /// task's mock, or [`GraphError::NoMock`] if it has none.
    pub fn value(&self) -> Result<T, GraphError>
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    /// The value if the task has ended (never blocks): `None` while it has not.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::inline(); // inline: nothing runs until someone waits
    /// let h = g.submit(|| 5);
    /// assert!(h.try_value().is_none());
    /// g.wait_all().unwrap();
    /// assert_eq!(h.try_value().unwrap().unwrap(), 5);
    /// ```
    pub fn try_value(&self) -> Option<Result<T, GraphError>>
    where
        T: Clone,
    {
        if self.is_done() {
            Some(self.value())
        } else {
            None
        }
    }

    /// Cancels the producing task (for a part: the whole task), then every task that only it
    /// needed: inputs that nothing else can read any more, no other task waits for, and no
    /// handle outside the graph can reach. Tasks that wait for it end with
    /// [`GraphError::DepCancelled`]. A task that already runs is asked to stop (see
    /// [`TaskContext::is_cancelled`](crate::engine::TaskContext::is_cancelled)).
    ///
    /// ```
    /// use parade::graph::{Graph, GraphError};
    /// let g = Graph::inline();
    /// let a = g.submit(|| 1);
    /// let b = g.submit_after(&a, |x| x + 1);
    /// let c = g.submit_after(&b, |x| x + 1);
    /// b.cancel();
    /// assert!(matches!(c.value(), Err(GraphError::DepCancelled { .. })));
    /// assert_eq!(a.value().unwrap(), 1); // `a` is still held here, so it was not cancelled
    /// ```
    pub fn cancel(&self) {
        self.graph.cancel_task(self.id);
    }

    /// Makes this task also wait for `other`, without taking its value: an ordering only.
    /// It must not have started.
    ///
    /// Errors: [`GraphError::Cycle`] if `other` already waits for this task (the error names
    /// the path); an engine error if this task has started.
    ///
    /// ```
    /// use parade::graph::{Graph, GraphError};
    /// let g = Graph::dry_run();
    /// let a = g.task("a").submit(|| ());
    /// let b = g.task("b").submit_after(&a, |()| ());
    /// let err = a.depend_on(&b).unwrap_err();
    /// assert!(matches!(err, GraphError::Cycle(_)));
    /// ```
    pub fn depend_on<U: Send + Sync + 'static>(&self, other: &Handle<U>) -> Result<(), GraphError> {
        self.graph.add_order(self.id, other.id)
    }
}
