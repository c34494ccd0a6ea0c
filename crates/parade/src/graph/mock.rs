//! Mocks: a task's value during a dry run ([`NoMock`], [`Mock`], [`MockWith`], and the
//! [`MockFor`] bound that makes a mock of another type fail to build).

use super::inputs::sealed;

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
