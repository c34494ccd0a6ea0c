//! [`Wrapped`]: a plain function made into one that submits itself (parman's `wrap`), so a
//! serial script becomes a workflow by wrapping its steps.

use std::sync::Arc;

use super::hints::Resources;
use super::inputs::Inputs;
use super::mock::{Mock, MockFor, NoMock};
use super::{Graph, Handle};

/// A function bound to a graph: each [`Wrapped::call`] with handles submits one task that runs
/// the function on their values, and returns its handle at once.
///
/// ```
/// use parade::graph::Graph;
/// fn add((a, b): (i64, i64)) -> i64 { a + b }
/// let g = Graph::new();
/// let add = g.wrap("add", add).mock(0);
/// let one = g.submit(|| 1);
/// let two = add.call((&one, &one));
/// let three = add.call((&two, &one));
/// assert_eq!(three.value().unwrap(), 3);
/// assert_eq!(three.task().description.as_deref(), Some("add"));
/// ```
#[derive(Clone)]
pub struct Wrapped<F, M = NoMock> {
    graph: Graph,
    description: Arc<str>,
    resources: Resources,
    f: F,
    mock: M,
}

impl Graph {
    /// Wraps `f` so that calling it with handles submits it to this graph; `description` names
    /// every task it makes.
    pub fn wrap<F>(&self, description: impl Into<String>, f: F) -> Wrapped<F> {
        Wrapped {
            graph: self.clone(),
            description: Arc::from(description.into()),
            resources: Resources::default(),
            f,
            mock: NoMock,
        }
    }
}

impl<F> Wrapped<F, NoMock> {
    /// Gives every task the wrapper makes this mock value for dry runs.
    pub fn mock<T: Clone>(self, value: T) -> Wrapped<F, Mock<T>> {
        Wrapped {
            graph: self.graph,
            description: self.description,
            resources: self.resources,
            f: self.f,
            mock: Mock(value),
        }
    }
}

impl<F, M> Wrapped<F, M> {
    /// Says how many cores each call's task uses.
    pub fn cores(mut self, cores: usize) -> Self {
        self.resources.cores = Some(cores);
        self
    }

    /// Submits one call of the function on the values of `inputs`; returns its handle at once.
    pub fn call<I, R>(&self, inputs: I) -> Handle<R>
    where
        I: Inputs,
        R: Send + Sync + 'static,
        F: Fn(I::Values) -> R + Clone + Send + 'static,
        M: MockFor<I::Values, R> + Clone,
    {
        let f = self.f.clone();
        self.graph.submit_wired(
            Some(self.description.clone()),
            self.resources.clone(),
            self.mock.clone(),
            inputs,
            None,
            move |v| Ok::<R, std::convert::Infallible>(f(v)),
        )
    }
}
