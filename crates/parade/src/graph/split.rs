//! Structured results: handles to the parts of a value that does not exist yet.
//!
//! A handle to a tuple splits into handles of its parts ([`Handle::split`]), a handle to a
//! struct projects into handles of its fields ([`Handle::field`]), a handle to a `Vec` whose
//! length is known when submitting splits into that many handles ([`Handle::split_vec`]), and a
//! handle to an array into an array of handles. Parts are views of the parent's value slot: no
//! engine task, no copy until a dependent takes the part by value. A part names the parent's
//! task ([`Handle::id`]).

use std::marker::PhantomData;
use std::sync::Arc;

use super::handle::{Proj, Source, Unavailable};
use super::inputs::for_tuples;
use super::{GraphError, Handle};

impl<T: Send + Sync + 'static> Handle<T> {
    fn part<U, F>(&self, project: F) -> Handle<U>
    where
        U: Send + Sync + 'static,
        F: Fn(&T) -> Result<&U, Unavailable> + Send + Sync + 'static,
    {
        let source: Arc<dyn Source<U>> = Arc::new(Proj {
            parent: self.source.clone(),
            project,
            _part: PhantomData,
        });
        Handle {
            graph: self.graph.clone(),
            id: self.id,
            source,
        }
    }

    /// A handle to one field (or any part reached by reference) of the value.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// #[derive(Clone)]
    /// struct Fit { slope: f64, intercept: f64 }
    /// let g = Graph::new();
    /// let fit = g.submit(|| Fit { slope: 2.0, intercept: 1.0 });
    /// let slope = fit.field(|f| &f.slope);
    /// let at3 = g.submit_after((&slope, &fit.field(|f| &f.intercept)), |(m, b)| m * 3.0 + b);
    /// assert_eq!(at3.value().unwrap(), 7.0);
    /// ```
    pub fn field<U, F>(&self, project: F) -> Handle<U>
    where
        U: Send + Sync + 'static,
        F: Fn(&T) -> &U + Send + Sync + 'static,
    {
        self.part(move |v| Ok(project(v)))
    }
}

impl<T: Send + Sync + 'static> Handle<Vec<T>> {
    /// Splits a handle to a `Vec` of `len` items into `len` handles, one per item. If the value
    /// turns out to have another length (shorter or longer), every part fails with
    /// [`GraphError::Shape`] naming the expected and actual length; in a dry run, a mock of
    /// another length is reported at once.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::new();
    /// let configs = g.submit(|| vec![10, 20, 30]).split_vec(3);
    /// let doubled: Vec<_> = configs.iter().map(|c| g.submit_after(c, |x| x * 2)).collect();
    /// assert_eq!(doubled[2].value().unwrap(), 60);
    /// ```
    pub fn split_vec(&self, len: usize) -> Vec<Handle<T>> {
        if self.graph.is_dry_run()
            && let Ok(mock) = self.source.get()
            && mock.len() != len
        {
            self.graph.problem(GraphError::Shape {
                task: self.task(),
                expected: len,
                len: mock.len(),
            });
        }
        (0..len)
            .map(|i| {
                self.part(move |v: &Vec<T>| {
                    // A value of another length fails every part: taking the first `len`
                    // items of a longer one would drop the rest without a word.
                    if v.len() != len {
                        return Err(Unavailable::Shape {
                            expected: len,
                            len: v.len(),
                        });
                    }
                    Ok(&v[i])
                })
            })
            .collect()
    }
}

impl<T: Send + Sync + 'static, const N: usize> Handle<[T; N]> {
    /// Splits a handle to an array into an array of handles, one per item.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::inline();
    /// let [lo, hi] = g.submit(|| [1, 9]).split();
    /// assert_eq!(g.submit_after((&lo, &hi), |(a, b)| b - a).value().unwrap(), 8);
    /// ```
    pub fn split(&self) -> [Handle<T>; N] {
        std::array::from_fn(|i| self.part(move |v: &[T; N]| Ok(&v[i])))
    }
}

macro_rules! tuple_split {
    ($($name:ident . $idx:tt),+) => {
        impl<$($name: Send + Sync + 'static),+> Handle<($($name,)+)> {
            /// Splits a handle to a tuple into handles of its parts, before the value exists.
            ///
            /// ```
            /// use parade::graph::Graph;
            /// let g = Graph::inline();
            /// let (n, name) = g.submit(|| (3, "three".to_owned())).split();
            /// assert_eq!(g.submit_after(&name, |s| s.len()).value().unwrap(), 5);
            /// assert_eq!(n.value().unwrap(), 3);
            /// ```
            pub fn split(&self) -> ($(Handle<$name>,)+) {
                ($(self.part(|v| Ok(&v.$idx)),)+)
            }
        }
    };
}

for_tuples!(tuple_split);
