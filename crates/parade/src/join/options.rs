//! How a join waits: [`Join`], the options of the tuple and dynamic forms.
//!
//! This module owns the knobs shared by every non-scoped form: a timeout for the whole join,
//! stopping at the first failure, and which [`ThreadCache`] runs the calls. It also holds the
//! tuple-form entry points that take options ([`Join::join`], [`Join::try_join`],
//! [`Join::settle`]); the dynamic ones live in `dynamic.rs`.
//!
//! # What happens to calls still running when a join stops waiting
//!
//! Threads cannot be killed, so a call that has not finished at the timeout (or when
//! [`Join::fail_fast`] stops at the first failure) **keeps running on its own thread**. The join
//! returns at once, naming that call in [`JoinError::unfinished`]. When the call ends, its value
//! is dropped on its thread (for resources: released), and its error or panic is discarded.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call::{Group, Until};
use super::error::JoinError;
use super::tuple::{CallTuple, PendingTuple, SettledTuple, Starter, TryCallTuple};
use crate::exec::thread_cache::ThreadCache;

/// Options for a join: a timeout, failing fast, the thread cache. Build it, then call one of its
/// entry points.
///
/// ```
/// use parade::join::Join;
/// use std::time::Duration;
///
/// let (a, b) = Join::new()
///     .timeout(Duration::from_secs(10))
///     .join((|| 1, || 2))
///     .unwrap();
/// assert_eq!(a + b, 3);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Join {
    pub(crate) timeout: Option<Duration>,
    pub(crate) until: Until,
    pub(crate) cache: Option<ThreadCache>,
}

impl Join {
    /// Default options: wait for every call, no timeout, the global [`ThreadCache`].
    ///
    /// ```
    /// assert_eq!(parade::join::Join::new().join((|| 5,)).unwrap(), (5,));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops waiting after `timeout` (counted from when the join starts waiting). Calls still
    /// running then keep running on their threads; their values are dropped when they end. The
    /// error lists them in [`JoinError::unfinished`] and carries the failures seen so far.
    ///
    /// ```
    /// use parade::join::Join;
    /// use std::time::Duration;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let err = Join::new()
    ///     .timeout(Duration::from_millis(1))
    ///     .join((move || rx.recv().is_ok(),))
    ///     .unwrap_err();
    /// assert_eq!(err.timed_out(), Some(Duration::from_millis(1)));
    /// drop(tx);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Returns as soon as one call fails, instead of waiting for all: python-parallel's
    /// `FIRST_EXCEPTION`. The error holds exactly one failure (a panic preferred over an
    /// error, if both happened by then); every other call is listed in
    /// [`JoinError::not_collected`] (calls still running keep running).
    ///
    /// ```
    /// use parade::join::Join;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let err = Join::new()
    ///     .fail_fast()
    ///     .try_join((move || rx.recv().map_err(|_| "gone"), || Err::<(), _>("bad")))
    ///     .unwrap_err();
    /// assert_eq!(err.failures()[0].index, 1);
    /// assert_eq!(err.not_collected(), [0]);
    /// drop(tx);
    /// ```
    pub fn fail_fast(mut self) -> Self {
        self.until = Until::FirstFailure;
        self
    }

    /// Runs the calls on `cache` instead of [`ThreadCache::global`].
    ///
    /// ```
    /// use parade::{exec::thread_cache::ThreadCache, join::Join};
    /// let cache = ThreadCache::new();
    /// Join::new().cache(&cache).join((|| (),)).unwrap();
    /// assert_eq!(cache.spawned(), 1);
    /// ```
    pub fn cache(mut self, cache: &ThreadCache) -> Self {
        self.cache = Some(cache.clone());
        self
    }

    /// Runs a tuple of closures in parallel and returns their values in call order, or every
    /// panic (see [`join`](super::join)).
    ///
    /// ```
    /// let (a, b) = parade::join::Join::new().join((|| 'a', || 2)).unwrap();
    /// assert_eq!((a, b), ('a', 2));
    /// ```
    pub fn join<C: CallTuple>(&self, calls: C) -> Result<C::Output, JoinError> {
        let (pending, timed_out) = self.run(C::LEN, |s| calls.start(s));
        pending
            .settle()
            .gather(timed_out)
            .map_err(|e| self.policy(e, C::LEN))
    }

    /// Runs a tuple of `Result`-returning closures in parallel and returns their `Ok` values in
    /// call order, or every failure (see [`try_join`](super::try_join)).
    ///
    /// ```
    /// let err = parade::join::Join::new()
    ///     .try_join((|| Ok(1), || Err::<i32, _>("no")))
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "call 1 returned an error: no");
    /// ```
    pub fn try_join<E, C: TryCallTuple<E>>(&self, calls: C) -> Result<C::Output, JoinError<E>> {
        let (pending, timed_out) = self.run(C::LEN, |s| calls.start(s));
        pending
            .settle()
            .gather(timed_out)
            .map_err(|e| self.policy(e, C::LEN))
    }

    /// The error as these options report it: under [`Join::fail_fast`], exactly one failure.
    pub(crate) fn policy<E>(&self, error: JoinError<E>, len: usize) -> JoinError<E> {
        if self.until == Until::FirstFailure {
            error.first_exception(len)
        } else {
            error
        }
    }

    /// Runs a tuple of closures in parallel and returns one `Result` per call instead of
    /// failing as a whole. A call not finished when the join stopped waiting says
    /// [`Failure::Unfinished`](super::Failure::Unfinished).
    ///
    /// ```
    /// let (a, b) = parade::join::Join::new().settle((|| 1, || -> i32 { panic!("two") }));
    /// assert_eq!(a.unwrap(), 1);
    /// assert_eq!(b.unwrap_err().panic_message(), Some("two"));
    /// ```
    pub fn settle<C: CallTuple>(&self, calls: C) -> C::Settled {
        self.run(C::LEN, |s| calls.start(s)).0.settle()
    }

    pub(crate) fn cache_ref(&self) -> &ThreadCache {
        self.cache.as_ref().unwrap_or_else(|| ThreadCache::global())
    }

    /// Starts `len` calls with `start` and waits on them as these options say. Returns the
    /// started calls and the timeout if it expired.
    fn run<P>(&self, len: usize, start: impl FnOnce(&Starter<'_>) -> P) -> (P, Option<Duration>) {
        let group = Group::new();
        let pending = start(&Starter {
            cache: self.cache_ref(),
            group: &group,
            base: 0,
        });
        let timed_out = self.wait(&group, len, self.until);
        (pending, timed_out)
    }

    /// Waits until `total` calls of `group` are done or `until` is met; returns the timeout if
    /// it expired first.
    pub(crate) fn wait(&self, group: &Arc<Group>, total: usize, until: Until) -> Option<Duration> {
        self.wait_first(group, total, until).0
    }

    /// Like [`Join::wait`], also returning the index of the first call that ended.
    pub(crate) fn wait_first(
        &self,
        group: &Arc<Group>,
        total: usize,
        until: Until,
    ) -> (Option<Duration>, Option<usize>) {
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let (expired, first) = group.wait(total, until, deadline);
        (if expired { self.timeout } else { None }, first)
    }
}

/// Runs every closure of a tuple in parallel, each on a thread of its own, and returns their
/// values in call order.
///
/// Every call starts at once on an idle cached thread or a new one, never queued behind another
/// call, so calls may wait for each other. None runs on the caller's thread. A panicking call
/// does not hide another: the [`JoinError`] keeps every panic with its call index and payload.
///
/// ```
/// let (three, four, five) = parade::join((|| 1 + 2, || 4.to_string(), || 1 + 4)).unwrap();
/// assert_eq!((three, four.as_str(), five), (3, "4", 5));
/// ```
pub fn join<C: CallTuple>(calls: C) -> Result<C::Output, JoinError<Infallible>> {
    let cache = ThreadCache::global();
    let group = Group::new();
    let pending = calls.start(&Starter {
        cache,
        group: &group,
        base: 0,
    });
    group.wait(C::LEN, Until::AllDone, None);
    pending.settle().gather(None)
}

/// Runs every closure of a tuple in parallel like [`join`], for closures returning
/// `Result<T, E>`: returns the `Ok` values in call order, or every `Err` and panic.
///
/// ```
/// use std::num::ParseIntError;
/// let parsed: Result<(u8, u8), _> = parade::try_join((|| "7".parse(), || "x".parse()));
/// let err = parsed.unwrap_err();
/// assert_eq!(err.failures().len(), 1);
/// let e: ParseIntError = err.into_error().unwrap();
/// assert_eq!(e.to_string(), "invalid digit found in string");
/// ```
pub fn try_join<E, C: TryCallTuple<E>>(calls: C) -> Result<C::Output, JoinError<E>> {
    Join::new().try_join(calls)
}
