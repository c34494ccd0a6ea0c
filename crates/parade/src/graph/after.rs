//! Waiting on several handles: [`Graph::after`] (parman's `WaitGraph`), which completes when all
//! of them have, [`Graph::after_with`], which also combines their values, and
//! [`Graph::wait_for`], which blocks for several at once.

use std::sync::Arc;

use super::hints::Resources;
use super::inputs::{DepList, Inputs, OrderOnly};
use super::mock::NoMock;
use super::{Graph, GraphError, Handle};

impl Graph {
    /// A handle that completes when every handle in `inputs` has. It fails with the root failure
    /// of the first input in list order that failed (and never completes well if one does); a
    /// cancelled input makes it [`GraphError::DepCancelled`]. With no inputs it is done as soon
    /// as it is made (parman's `WaitGraph.submit([])`; on an inline graph, tasks submitted
    /// before it that are ready run first).
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::new();
    /// let a = g.submit(|| 1);
    /// let b = g.submit(|| 2);
    /// let both = g.after((&a, &b));
    /// both.wait().unwrap();
    /// assert!(a.is_done() && b.is_done());
    /// ```
    #[allow(clippy::needless_pass_by_value)] // `g.after((&a, &b))` reads better than a reference
    pub fn after<I: Inputs>(&self, inputs: I) -> Handle<()> {
        let mut deps = DepList::new();
        inputs.collect(self, &mut deps);
        let none = deps.is_empty();
        let handle = self.submit_wired(
            Some(Arc::from("after")),
            Resources::default(),
            super::Mock(()),
            OrderOnly(deps.to_vec()),
            None,
            |()| Ok::<(), std::convert::Infallible>(()),
        );
        if none && !self.inner.dry {
            // Nothing to wait for: done now, not when someone first waits.
            let _ = self.wait_ids(&[handle.id]);
        }
        handle
    }

    /// A handle to `combine` applied to the values of `inputs` once they all exist (parman's
    /// `WaitGraph.submit` with a digest). A panic in `combine` fails the handle.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::new();
    /// let parts = vec![g.submit(|| 1.5), g.submit(|| 2.5)];
    /// let sum = g.after_with(&parts, |v| v.iter().sum::<f64>());
    /// assert_eq!(sum.value().unwrap(), 4.0);
    /// ```
    pub fn after_with<I, R, F>(&self, inputs: I, combine: F) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        F: FnOnce(I::Values) -> R + Send + 'static,
    {
        self.submit_wired(
            Some(Arc::from("after")),
            Resources::default(),
            NoMock,
            inputs,
            None,
            move |v| Ok::<R, std::convert::Infallible>(combine(v)),
        )
    }

    /// Blocks until every handle in `inputs` has a value and returns the values, or the error
    /// of the first one (in argument order) that has none.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::new();
    /// let a = g.submit(|| 1);
    /// let b = g.submit(|| "b");
    /// assert_eq!(g.wait_for((&a, &b)).unwrap(), (1, "b"));
    /// ```
    #[allow(clippy::needless_pass_by_value)] // like `after`
    pub fn wait_for<I: Inputs>(&self, inputs: I) -> Result<I::Values, GraphError> {
        let mut deps = DepList::new();
        inputs.collect(self, &mut deps);
        if !self.inner.dry {
            for status in self.wait_ids(&deps)? {
                if !status.state.is_success() {
                    return Err(self.error_for(&status));
                }
            }
        }
        I::read(&inputs.readers()).map_err(|(id, why)| self.unavailable(id, why))
    }
}
