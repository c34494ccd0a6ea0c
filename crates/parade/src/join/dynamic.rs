//! The dynamic form: any number of closures of one type, known only at run time.
//!
//! This module owns [`join_all`], [`try_join_all`] and the `Vec` entry points of
//! [`Join`]: per-call results ([`Join::settle_all`]) and the first call to end
//! ([`Join::first_completed`]). Values come back in call order, like the tuple form.

use std::convert::Infallible;

use super::call::{Group, Pending, Until};
use super::error::{Failure, JoinError};
use super::options::Join;

/// Runs every closure in parallel, each on a thread of its own, and returns their values in
/// call order, or every panic.
///
/// ```
/// let squares = parade::join_all((0..10_u64).map(|i| move || i * i)).unwrap();
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
/// ```
pub fn join_all<R, F>(calls: impl IntoIterator<Item = F>) -> Result<Vec<R>, JoinError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Join::new().join_all(calls)
}

/// Runs every `Result`-returning closure in parallel and returns the `Ok` values in call
/// order, or every `Err` and panic.
///
/// ```
/// let inputs = ["1", "x", "3", "y"];
/// let err = parade::try_join_all(inputs.map(|s| move || s.parse::<i32>())).unwrap_err();
/// let failed: Vec<usize> = err.failures().iter().map(|f| f.index).collect();
/// assert_eq!(failed, [1, 3]);
/// ```
pub fn try_join_all<T, E, F>(calls: impl IntoIterator<Item = F>) -> Result<Vec<T>, JoinError<E>>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    Join::new().try_join_all(calls)
}

impl Join {
    /// [`join_all`] with these options.
    ///
    /// ```
    /// use parade::join::Join;
    /// let v = Join::new().fail_fast().join_all(vec![|| 1, || 2]).unwrap();
    /// assert_eq!(v, [1, 2]);
    /// ```
    pub fn join_all<R, F>(&self, calls: impl IntoIterator<Item = F>) -> Result<Vec<R>, JoinError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.try_join_all(calls.into_iter().map(|f| move || Ok::<R, Infallible>(f())))
    }

    /// [`try_join_all`] with these options.
    ///
    /// ```
    /// use parade::join::Join;
    /// let v = Join::new().try_join_all([|| Ok::<_, String>(1), || Ok(2)]).unwrap();
    /// assert_eq!(v, [1, 2]);
    /// ```
    pub fn try_join_all<T, E, F>(
        &self,
        calls: impl IntoIterator<Item = F>,
    ) -> Result<Vec<T>, JoinError<E>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (pending, timed_out) = self.start_all(calls, self.until);
        let mut values = Vec::with_capacity(pending.len());
        let mut failures = Vec::new();
        for (index, call) in pending.iter().enumerate() {
            match call.finish() {
                Ok(v) => values.push(v),
                Err(f) => failures.push((index, f)),
            }
        }
        if failures.is_empty() {
            Ok(values)
        } else {
            Err(self.policy(JoinError::gather(failures, timed_out), pending.len()))
        }
    }

    /// Runs every closure in parallel and returns one `Result` per call, in call order, instead
    /// of failing as a whole.
    ///
    /// ```
    /// use parade::join::{Failure, Join};
    /// let out = Join::new().settle_all((0..3).map(|i| move || if i == 1 { panic!("odd") } else { i }));
    /// assert!(matches!(out[0], Ok(0)));
    /// assert!(matches!(&out[1], Err(f) if f.panic_message() == Some("odd")));
    /// assert!(matches!(out[2], Ok(2)));
    /// ```
    pub fn settle_all<R, F>(
        &self,
        calls: impl IntoIterator<Item = F>,
    ) -> Vec<Result<R, Failure<Infallible>>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let calls = calls.into_iter().map(|f| move || Ok::<R, Infallible>(f()));
        let (pending, _) = self.start_all(calls, self.until);
        pending.iter().map(Pending::finish).collect()
    }

    /// Runs every closure in parallel and returns the index and value of the first call to
    /// end; the others keep running and their values are dropped. If that first call panicked,
    /// or none ended before the timeout, returns an error (the others listed as unfinished).
    ///
    /// ```
    /// use parade::join::Join;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let slow = move || { let _ = rx.recv(); "slow" };
    /// let fast = || "fast";
    /// let calls: Vec<Box<dyn FnOnce() -> &'static str + Send>> = vec![Box::new(slow), Box::new(fast)];
    /// assert_eq!(Join::new().first_completed(calls).unwrap(), (1, "fast"));
    /// drop(tx);
    /// ```
    pub fn first_completed<R, F>(
        &self,
        calls: impl IntoIterator<Item = F>,
    ) -> Result<(usize, R), JoinError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let calls = calls.into_iter().map(|f| move || Ok::<R, Infallible>(f()));
        let group = Group::new();
        let cache = self.cache_ref();
        let pending: Vec<_> = calls
            .enumerate()
            .map(|(i, f)| Pending::start(cache, &group, i, drop::<R>, f))
            .collect();
        let (timed_out, first) = self.wait_first(&group, pending.len(), Until::FirstCompletion);
        let mut failures = Vec::new();
        for (index, call) in pending.iter().enumerate() {
            if Some(index) == first {
                match call.finish() {
                    Ok(v) => return Ok((index, v)),
                    Err(f) => failures.push((index, f)),
                }
            } else {
                failures.push((index, Failure::Unfinished));
            }
        }
        Err(JoinError::gather(failures, timed_out))
    }

    /// Starts every call and waits as `until` says.
    fn start_all<T, E, F>(
        &self,
        calls: impl IntoIterator<Item = F>,
        until: Until,
    ) -> (Vec<Pending<T, E>>, Option<std::time::Duration>)
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let group = Group::new();
        let cache = self.cache_ref();
        let pending: Vec<_> = calls
            .into_iter()
            .enumerate()
            .map(|(i, f)| Pending::start(cache, &group, i, drop::<T>, f))
            .collect();
        let timed_out = self.wait(&group, pending.len(), until);
        (pending, timed_out)
    }
}
