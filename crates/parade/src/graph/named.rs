//! Named tasks: a graph task that can also run by name in a worker process ([`Named`]).
//!
//! On an in-process executor a named task runs its closure like any other. On the
//! [`ProcessExecutor`](crate::exec::process::ProcessExecutor) the worker runs the function
//! registered under that name in a [`Functions`](super::Functions) registry (see
//! [`wire`](super::wire) for how it crosses).

use std::fmt::Display;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Handle;
use super::builder::TaskBuilder;
use super::functions::Signature;
use super::inputs::Inputs;
use super::mock::MockFor;
use super::serde_submit::serde_submitters;
use super::wire::{Wire, args, value};

/// A task with a name, about to be submitted: on an executor that runs tasks in other
/// processes, a worker runs the function registered under that name in a
/// [`Functions`](super::Functions) registry; elsewhere the closure given here runs. Its inputs
/// and value must be serde values. Made by [`TaskBuilder::named`].
///
/// ```
/// use parade::graph::Graph;
/// fn square(n: u64) -> u64 {
///     n * n
/// }
/// let g = Graph::new(); // in-process: the closure runs here
/// let n = g.task("n").named("seven").submit(|| 7_u64);
/// let sq = g.task("square it").named("square").submit_after(&n, square);
/// assert_eq!(sq.value().unwrap(), 49);
/// ```
#[must_use = "a task builder does nothing until submitted"]
pub struct Named<'g, M> {
    builder: TaskBuilder<'g, M>,
    name: Arc<str>,
}

impl<'g, M> TaskBuilder<'g, M> {
    /// Names the task's function, so a worker process can run it (see [`Named`]). Its inputs
    /// and value must then be serializable and deserializable.
    pub fn named(self, name: impl Into<String>) -> Named<'g, M> {
        Named {
            builder: self,
            name: Arc::from(name.into()),
        }
    }
}

impl<M> Named<'_, M> {
    fn wire<I, R>(&self) -> Wire<I, R>
    where
        I: Inputs,
        I::Values: Serialize,
        R: DeserializeOwned + 'static,
    {
        Wire {
            name: self.name.clone(),
            args: args::<I>,
            value: value::<R>,
            signature: Signature::of::<I::Values, R>(),
        }
    }

    serde_submitters! {
        "named function (registered as taking its inputs' values)",
        /// Submits the named function, which may fail, to run after `inputs`, on their values; an
        /// `Err` fails the task with its message (register it with
        /// [`Functions::try_add`](super::Functions::try_add)).
        ///
        /// ```
        /// use parade::graph::Graph;
        /// let g = Graph::inline();
        /// let text = g.task("text").named("text").submit(|| "42".to_owned());
        /// let n = g.task("parse").named("parse").try_submit_after(&text, |s| s.parse::<i32>());
        /// assert_eq!(n.value().unwrap(), 42);
        /// ```
        fn try_submit_after(self, inputs, f) {
            let wire = self.wire::<I, R>();
            let graph = self.builder.graph();
            let (description, resources, mock) = self.builder.into_parts();
            graph.submit_wired(description, resources, mock, inputs, Some(wire), f)
        }
    }
}
