//! Shutting a graph down (parman's `Scheduler.shutdown` and its `with` block): nothing can be
//! submitted any more, and [`Graph::shutdown`] returns once everything submitted has ended,
//! with the first failure in submission order. [`Graph::scope`] is the `with` block.

use std::sync::atomic::Ordering;

use super::{Graph, GraphError};

/// What a task submitted after [`Graph::shutdown`] fails with.
pub(crate) const SHUT_DOWN: &str = "cannot submit to the graph after it was shut down";

impl Graph {
    /// Shuts the graph down: a task submitted from now on fails at once with "cannot submit to
    /// the graph after it was shut down"; then blocks until everything submitted before has
    /// ended and reports like [`Graph::wait_all`] (every task that failed on its own, in
    /// submission order). Calling it again only waits again.
    ///
    /// ```
    /// use parade::graph::{Graph, GraphError};
    /// let g = Graph::new();
    /// let a = g.submit(|| 1);
    /// g.shutdown().unwrap();
    /// assert_eq!(a.value().unwrap(), 1);
    /// let late = g.submit(|| 2);
    /// let err = late.value().unwrap_err();
    /// assert!(err.to_string().contains("cannot submit to the graph after it was shut down"));
    /// ```
    pub fn shutdown(&self) -> Result<(), GraphError> {
        self.inner.shut.store(true, Ordering::SeqCst);
        self.wait_all()
    }

    /// Whether [`Graph::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shut.load(Ordering::SeqCst)
    }

    /// Runs `f` on a new graph on the thread pool, then shuts it down (parman's
    /// `with Scheduler(...)`): returns `f`'s value once every task it submitted has ended, or
    /// the failure [`Graph::shutdown`] reports.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let total = Graph::scope(|g| {
    ///     let parts: Vec<_> = (1..=3).map(|i| g.submit(move || i * 10)).collect();
    ///     g.submit_after(parts, |v: Vec<i32>| v.iter().sum::<i32>())
    /// })
    /// .unwrap();
    /// assert!(total.is_done());
    /// assert_eq!(total.value().unwrap(), 60);
    /// ```
    pub fn scope<R>(f: impl FnOnce(&Graph) -> R) -> Result<R, GraphError> {
        Self::new().scoped(f)
    }

    /// Like [`Graph::scope`] on this graph: runs `f`, then shuts this graph down.
    pub fn scoped<R>(&self, f: impl FnOnce(&Graph) -> R) -> Result<R, GraphError> {
        let value = f(self);
        self.shutdown()?;
        Ok(value)
    }
}
