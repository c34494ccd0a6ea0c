//! What can be a task's inputs ([`Inputs`]): handles (`&Handle<T>` or `Handle<T>`, giving a
//! `T`), `Vec`s and slices of handles of one type (giving a `Vec<T>`), `()` and tuples of up to
//! 12 inputs (giving a tuple of their values); tuples nest. The closure receives the values by
//! value (cloned from the slots). This module owns how inputs name their tasks and read their
//! values; it does not know how a task is submitted or run.

use std::sync::Arc;

use smallvec::SmallVec;

use super::handle::{Source, Unavailable};
use super::{Graph, GraphError, Handle};
use crate::engine::TaskId;

pub(crate) mod sealed {
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
    /// The same inputs owned (`Handle<T>` for `&Handle<T>`, ...): a `'static` type whose
    /// `read` a task's job can name without a borrow (an implementation detail).
    #[doc(hidden)]
    type Owned: Inputs<Values = Self::Values, Readers = Self::Readers> + 'static;
    /// Pushes the ids of the tasks these inputs come from.
    #[doc(hidden)]
    fn collect(&self, graph: &Graph, deps: &mut DepList);
    /// The readers the job keeps.
    #[doc(hidden)]
    fn readers(&self) -> Self::Readers;
    /// Reads the values (the tasks have succeeded), or says which task's value is missing.
    #[doc(hidden)]
    fn read(readers: &Self::Readers) -> Result<Self::Values, (TaskId, Unavailable)>;
    /// What a settling wait gives ([`Graph::wait_settled`]): the values, with `None` for a
    /// handle whose task was cancelled.
    type Settled: Send + 'static;
    /// Reads the values once every task has ended: `None` for a cancelled one, the first
    /// failure (in argument order) otherwise.
    #[doc(hidden)]
    fn settle(readers: &Self::Readers, graph: &Graph) -> Result<Self::Settled, GraphError>;
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
    type Owned = Handle<T>;
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
    type Settled = Option<T>;
    fn settle(r: &Reader<T>, graph: &Graph) -> Result<Option<T>, GraphError> {
        graph.settle_one(r.id, || r.source.get().cloned())
    }
}

impl<T: Clone + Send + Sync + 'static> sealed::Sealed for Handle<T> {}
impl<T: Clone + Send + Sync + 'static> Inputs for Handle<T> {
    type Values = T;
    type Readers = Reader<T>;
    type Owned = Handle<T>;
    fn collect(&self, graph: &Graph, deps: &mut DepList) {
        (&self).collect(graph, deps);
    }
    fn readers(&self) -> Reader<T> {
        (&self).readers()
    }
    fn read(r: &Reader<T>) -> Result<T, (TaskId, Unavailable)> {
        <&Handle<T>>::read(r)
    }
    type Settled = Option<T>;
    fn settle(r: &Reader<T>, graph: &Graph) -> Result<Option<T>, GraphError> {
        <&Handle<T>>::settle(r, graph)
    }
}

impl<T: Clone + Send + Sync + 'static> sealed::Sealed for &[Handle<T>] {}
impl<T: Clone + Send + Sync + 'static> Inputs for &[Handle<T>] {
    type Values = Vec<T>;
    type Readers = Vec<Reader<T>>;
    type Owned = Vec<Handle<T>>;
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
    type Settled = Vec<Option<T>>;
    fn settle(rs: &Vec<Reader<T>>, graph: &Graph) -> Result<Vec<Option<T>>, GraphError> {
        rs.iter().map(|r| <&Handle<T>>::settle(r, graph)).collect()
    }
}

/// A vector of handles reads as the slice it holds (owned or borrowed).
macro_rules! vec_inputs {
    ($($vec:ty),+) => {$(
        impl<T: Clone + Send + Sync + 'static> sealed::Sealed for $vec {}
        impl<T: Clone + Send + Sync + 'static> Inputs for $vec {
            type Values = Vec<T>;
            type Readers = Vec<Reader<T>>;
            type Owned = Vec<Handle<T>>;
            fn collect(&self, graph: &Graph, deps: &mut DepList) {
                self.as_slice().collect(graph, deps);
            }
            fn readers(&self) -> Vec<Reader<T>> {
                self.as_slice().readers()
            }
            fn read(rs: &Vec<Reader<T>>) -> Result<Vec<T>, (TaskId, Unavailable)> {
                <&[Handle<T>]>::read(rs)
            }
            type Settled = Vec<Option<T>>;
            fn settle(rs: &Vec<Reader<T>>, graph: &Graph) -> Result<Vec<Option<T>>, GraphError> {
                <&[Handle<T>]>::settle(rs, graph)
            }
        }
    )+};
}

vec_inputs!(&Vec<Handle<T>>, Vec<Handle<T>>);

impl sealed::Sealed for () {}
impl Inputs for () {
    type Values = ();
    type Readers = ();
    type Owned = ();
    fn collect(&self, _: &Graph, _: &mut DepList) {}
    fn readers(&self) {}
    fn read((): &()) -> Result<(), (TaskId, Unavailable)> {
        Ok(())
    }
    type Settled = ();
    fn settle((): &(), _: &Graph) -> Result<(), GraphError> {
        Ok(())
    }
}

/// Inputs that only order: the task waits for these tasks and reads nothing.
pub(crate) struct OrderOnly(pub(crate) Vec<TaskId>);

impl sealed::Sealed for OrderOnly {}
impl Inputs for OrderOnly {
    type Values = ();
    type Readers = ();
    type Owned = OrderOnly;
    fn collect(&self, _: &Graph, deps: &mut DepList) {
        deps.extend_from_slice(&self.0);
    }
    fn readers(&self) {}
    fn read(none: &()) -> Result<(), (TaskId, Unavailable)> {
        <()>::read(none)
    }
    type Settled = ();
    fn settle(none: &(), graph: &Graph) -> Result<(), GraphError> {
        <()>::settle(none, graph)
    }
}

/// Calls `$mac!` for every tuple arity inputs and splits take (1 to 12), with each element's
/// type parameter and index: one list for both.
macro_rules! for_tuples {
    ($mac:ident) => {
        $mac!(A.0);
        $mac!(A.0, B.1);
        $mac!(A.0, B.1, C.2);
        $mac!(A.0, B.1, C.2, D.3);
        $mac!(A.0, B.1, C.2, D.3, E.4);
        $mac!(A.0, B.1, C.2, D.3, E.4, F.5);
        $mac!(A.0, B.1, C.2, D.3, E.4, F.5, G.6);
        $mac!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7);
        $mac!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8);
        $mac!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9);
        $mac!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9, K.10);
        $mac!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9, K.10, L.11);
    };
}
pub(crate) use for_tuples;

macro_rules! tuple_inputs {
    ($($name:ident . $idx:tt),+) => {
        impl<$($name: Inputs),+> sealed::Sealed for ($($name,)+) {}
        impl<$($name: Inputs),+> Inputs for ($($name,)+) {
            type Values = ($($name::Values,)+);
            type Readers = ($($name::Readers,)+);
            type Owned = ($($name::Owned,)+);
            fn collect(&self, graph: &Graph, deps: &mut DepList) {
                $(self.$idx.collect(graph, deps);)+
            }
            fn readers(&self) -> Self::Readers {
                ($(self.$idx.readers(),)+)
            }
            fn read(r: &Self::Readers) -> Result<Self::Values, (TaskId, Unavailable)> {
                Ok(($($name::read(&r.$idx)?,)+))
            }
            type Settled = ($($name::Settled,)+);
            fn settle(r: &Self::Readers, graph: &Graph) -> Result<Self::Settled, GraphError> {
                Ok(($($name::settle(&r.$idx, graph)?,)+))
            }
        }
    };
}

for_tuples!(tuple_inputs);

pub(crate) fn input_error(id: TaskId, why: Unavailable) -> String {
    match why {
        Unavailable::NotReady => format!("the value of input {id} is missing"),
        Unavailable::Shape { expected, len } => {
            format!("input {id} returned {len} items, but was split into {expected}")
        }
    }
}
