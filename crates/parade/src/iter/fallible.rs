//! Fallible stages: `try_map` makes items that are `Result`s, and the `try_` consumers stop at
//! the first error in order and return it.
//!
//! Stopping is the consumer's job: on the first `Err` it stops reading and drops its end of the
//! window, which tells the workers to take no new batch. At most the in-flight bound of items
//! past the error are processed.

use super::pipeline::Pipeline;
use super::source::Source;
use super::stage::Stage;

impl<Src, St> Pipeline<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    /// Applies a fallible `f` to every item; the items become `Result`s, to be consumed with
    /// [`try_collect`](Self::try_collect), [`try_fold`](Self::try_fold) or
    /// [`try_for_each`](Self::try_for_each), which stop at the first error.
    ///
    /// ```
    /// let ok: Result<Vec<u8>, _> = parade::iter(["1", "2"]).try_map(|s| s.parse::<u8>()).try_collect();
    /// assert_eq!(ok, Ok(vec![1, 2]));
    /// let bad: Result<Vec<u8>, _> = parade::iter(["1", "x", "3"]).try_map(|s| s.parse::<u8>()).try_collect();
    /// assert!(bad.is_err());
    /// ```
    pub fn try_map<U, E, F>(self, f: F) -> Pipeline<Src, impl Stage<Src::Item, Out = Result<U, E>>>
    where
        F: Fn(St::Out) -> Result<U, E> + Send + Sync,
        U: Send,
        E: Send,
    {
        self.map(f)
    }

    /// Keeps the items for which a fallible `keep` says `Ok(true)`; an error becomes an `Err`
    /// item, for the `try_` consumers to stop at.
    ///
    /// ```
    /// let r: Result<Vec<u32>, String> = parade::iter(1..=6u32)
    ///     .try_filter(|&x| if x < 5 { Ok(x % 2 == 0) } else { Err(format!("{x} is too big")) })
    ///     .try_collect();
    /// assert_eq!(r, Err("5 is too big".to_string()));
    /// ```
    pub fn try_filter<E, F>(
        self,
        keep: F,
    ) -> Pipeline<Src, impl Stage<Src::Item, Out = Result<St::Out, E>>>
    where
        F: Fn(&St::Out) -> Result<bool, E> + Send + Sync,
        E: Send,
    {
        self.filter_map(move |x| match keep(&x) {
            Ok(true) => Some(Ok(x)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        })
    }

    /// Calls a fallible `f` on every item on the workers; returns the first error in input
    /// order, after which no new batch is started.
    ///
    /// ```
    /// let r = parade::iter(0..100).try_for_each(|x| if x == 42 { Err(x) } else { Ok(()) });
    /// assert_eq!(r, Err(42));
    /// ```
    pub fn try_for_each<E, F>(self, f: F) -> Result<(), E>
    where
        F: Fn(St::Out) -> Result<(), E> + Send + Sync,
        E: Send,
    {
        self.map(f)
            .filter(Result::is_err)
            .try_collect::<(), (), E>()
    }

    /// Collects `Ok` values in order into any collection, or returns the first error.
    ///
    /// ```
    /// let r: Result<Vec<i32>, String> = parade::iter(vec![Ok(1), Err("no".to_string()), Ok(3)]).try_collect();
    /// assert_eq!(r, Err("no".to_string()));
    /// ```
    pub fn try_collect<C, T, E>(self) -> Result<C, E>
    where
        St: Stage<Src::Item, Out = Result<T, E>>,
        C: FromIterator<T>,
    {
        self.drain(|items| items.collect())
    }

    /// Folds `Ok` values in order on the calling thread with a fallible `f`; returns the first
    /// error, from an item or from `f`.
    ///
    /// ```
    /// let r = parade::iter(["1", "2", "3"])
    ///     .try_map(|s| s.parse::<u32>())
    ///     .try_fold(0, |acc, x| Ok(acc + x));
    /// assert_eq!(r, Ok(6));
    /// ```
    pub fn try_fold<A, T, E, F>(self, init: A, mut f: F) -> Result<A, E>
    where
        St: Stage<Src::Item, Out = Result<T, E>>,
        F: FnMut(A, T) -> Result<A, E>,
    {
        self.drain(|items| items.try_fold(init, |acc, item| f(acc, item?)))
    }
}
