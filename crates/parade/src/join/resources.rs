//! Parallel resources: acquire several in parallel, hold them in one typed guard, release them
//! in reverse order (or in parallel).
//!
//! This module owns [`acquire`], [`acquire_releasable`], the [`Acquire`] options and the
//! [`AcquireError`]; the [`Acquired`] guard is in `guard.rs`, releasing (the [`Release`](super::Release)
//! trait, [`ReleaseError`](super::ReleaseError)) in `release.rs`. The rules:
//!
//! * every acquisition starts at once on a thread of its own (like a join);
//! * if any fails, those that succeeded are released **in reverse call order**, sequentially,
//!   and the error holds every acquisition failure plus every failure of those releases;
//! * with a timeout, acquisitions still running are abandoned, and a resource that arrives later
//!   is **released on its own thread** as soon as it arrives, never leaked;
//! * dropping the guard releases in reverse order (or all at once with
//!   [`Acquire::parallel_release`]); errors are only visible through [`Acquired::release`].
//!
//! Resources must be `Send`: they are acquired on one thread and used and released on another.
//! A thread-affine guard is therefore rejected at compile time:
//!
//! ```compile_fail
//! use std::rc::Rc;
//! // Rc is not Send: it cannot be acquired on another thread.
//! let r = parade::acquire((|| Ok::<_, ()>(Rc::new(1)),));
//! ```

use std::fmt;
use std::time::Duration;

use super::call::{Group, Pending, Until};
use super::error::{CallFailure, Failure, JoinError};
use super::guard::Acquired;
use super::options::Join;
use super::release::{
    BoxError, ByDrop, ByRelease, ReleaseBy, ReleaseJobBox, Releaser, ResourceTuple, release_all,
    release_late, write_release_failures,
};
use super::tuple::{PendingTuple, Starter, for_each_tuple};
use crate::exec::thread_cache::ThreadCache;

/// What a failed acquisition leaves: the failures, and the release jobs of the resources that
/// were acquired (an implementation detail of [`AcquireTuple`]).
#[doc(hidden)]
pub type Unwind<E> = (Vec<(usize, Failure<E>)>, Vec<(usize, ReleaseJobBox)>);

/// A tuple of 1 to 12 closures returning `Result<R, E>`, each acquiring one resource; `K`
/// says how the resources are released.
pub trait AcquireTuple<E, K> {
    /// The tuple of resources.
    type Resources: ResourceTuple;
    /// The started acquisitions.
    #[doc(hidden)]
    type Pending: PendingTuple<E>;
    /// How many resources.
    const LEN: usize;
    /// Starts every acquisition.
    #[doc(hidden)]
    fn start(self, s: &Starter<'_>) -> Self::Pending;
    /// The resources if all were acquired, else the failures and the release jobs of those
    /// that were.
    #[doc(hidden)]
    fn split(
        settled: <Self::Pending as PendingTuple<E>>::Settled,
    ) -> Result<Self::Resources, Unwind<E>>;
    /// One release function per resource.
    #[doc(hidden)]
    fn releasers() -> <Self::Resources as ResourceTuple>::Releasers;
}

macro_rules! impl_resources {
    ($($F:ident $R:ident $r:ident $i:tt),+) => {
        impl<$($R: Send + 'static),+> ResourceTuple for ($($R,)+) {
            type Releasers = ($(Releaser<$R>,)+);
            fn into_jobs(self, releasers: Self::Releasers) -> Vec<(usize, ReleaseJobBox)> {
                let ($($r,)+) = self;
                vec![$(($i, ReleaseJobBox(Box::new(move || (releasers.$i)($r))))),+]
            }
        }

        impl<E: Send + 'static, K, $($F, $R),+> AcquireTuple<E, K> for ($($F,)+)
        where
            $($F: FnOnce() -> Result<$R, E> + Send + 'static, $R: Send + 'static,)+
            $(K: ReleaseBy<$R>,)+
        {
            type Resources = ($($R,)+);
            type Pending = ($(Pending<$R, E>,)+);
            const LEN: usize = [$($i),+].len();
            fn start(self, s: &Starter<'_>) -> Self::Pending {
                ($(Pending::start(s.cache, s.group, $i, release_late::<K, $R>, self.$i),)+)
            }
            fn split(
                settled: <Self::Pending as PendingTuple<E>>::Settled,
            ) -> Result<Self::Resources, Unwind<E>> {
                match settled {
                    ($(Ok($r),)+) => Ok(($($r,)+)),
                    ($($r,)+) => {
                        let mut failures = Vec::new();
                        let mut jobs = Vec::new();
                        $(
                            match $r {
                                Ok(v) => {
                                    let release = <K as ReleaseBy<$R>>::releaser();
                                    jobs.push(($i, ReleaseJobBox(Box::new(move || release(v)))));
                                }
                                Err(f) => failures.push(($i, f)),
                            }
                        )+
                        Err((failures, jobs))
                    }
                }
            }
            fn releasers() -> <Self::Resources as ResourceTuple>::Releasers {
                ($(<K as ReleaseBy<$R>>::releaser(),)+)
            }
        }
    };
}

for_each_tuple!(impl_resources);

/// Options for acquiring resources: a timeout, parallel release, the thread cache.
///
/// ```
/// use parade::join::Acquire;
/// use std::time::Duration;
/// let guard = Acquire::new()
///     .timeout(Duration::from_secs(10))
///     .parallel_release()
///     .acquire((|| Ok::<_, std::io::Error>(vec![1]), || Ok(String::from("x"))))
///     .unwrap();
/// let (v, s) = &*guard;
/// assert_eq!((v.len(), s.as_str()), (1, "x"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Acquire {
    join: Join,
    parallel_release: bool,
}

impl Acquire {
    /// Default options: no timeout, release in reverse order, the global [`ThreadCache`].
    ///
    /// ```
    /// let g = parade::join::Acquire::new().acquire((|| Ok::<_, ()>(1),)).unwrap();
    /// assert_eq!(g.0, 1);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops waiting for acquisitions after `timeout`. Those already acquired are released in
    /// reverse order; each one still running is released by its own thread when it arrives.
    ///
    /// ```
    /// use parade::join::Acquire;
    /// use std::time::Duration;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let err = Acquire::new()
    ///     .timeout(Duration::from_millis(1))
    ///     .acquire((move || rx.recv().map_err(|_| "gone"),))
    ///     .unwrap_err();
    /// assert_eq!(err.join_error().unfinished(), [0]);
    /// drop(tx);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.join = self.join.timeout(timeout);
        self
    }

    /// Releases all resources of the guard at once, each on a thread of its own, instead of in
    /// reverse order.
    ///
    /// ```
    /// let g = parade::join::Acquire::new().parallel_release().acquire((|| Ok::<_, ()>(1),));
    /// g.unwrap().release().unwrap();
    /// ```
    pub fn parallel_release(mut self) -> Self {
        self.parallel_release = true;
        self
    }

    /// Runs acquisitions (and parallel releases) on `cache`.
    ///
    /// ```
    /// let cache = parade::exec::thread_cache::ThreadCache::new();
    /// let g = parade::join::Acquire::new().cache(&cache).acquire((|| Ok::<_, ()>(1),));
    /// assert_eq!(g.unwrap().0, 1);
    /// ```
    pub fn cache(mut self, cache: &ThreadCache) -> Self {
        self.join = self.join.cache(cache);
        self
    }

    /// [`acquire`] with these options.
    ///
    /// ```
    /// let g = parade::join::Acquire::new().acquire((|| Ok::<_, ()>('a'), || Ok(2))).unwrap();
    /// assert_eq!(*g, ('a', 2));
    /// ```
    pub fn acquire<E, C>(&self, calls: C) -> Result<Acquired<C::Resources>, AcquireError<E>>
    where
        C: AcquireTuple<E, ByDrop>,
    {
        self.acquire_by::<E, ByDrop, C>(calls)
    }

    /// [`acquire_releasable`] with these options.
    ///
    /// ```
    /// use parade::join::{Acquire, Release};
    /// struct Tmp;
    /// impl Release for Tmp {
    ///     type Error = std::io::Error;
    ///     fn release(self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let g = Acquire::new().acquire_releasable((|| Ok::<_, ()>(Tmp),)).unwrap();
    /// g.release().unwrap();
    /// ```
    pub fn acquire_releasable<E, C>(
        &self,
        calls: C,
    ) -> Result<Acquired<C::Resources>, AcquireError<E>>
    where
        C: AcquireTuple<E, ByRelease>,
    {
        self.acquire_by::<E, ByRelease, C>(calls)
    }

    fn acquire_by<E, K, C>(&self, calls: C) -> Result<Acquired<C::Resources>, AcquireError<E>>
    where
        C: AcquireTuple<E, K>,
    {
        let cache = self.join.cache_ref();
        let group = Group::new();
        let pending = calls.start(&Starter {
            cache,
            group: &group,
            base: 0,
        });
        let timed_out = self.join.wait(&group, C::LEN, Until::AllDone);
        match C::split(pending.settle()) {
            Ok(held) => Ok(Acquired {
                held: Some(held),
                releasers: C::releasers(),
                parallel: self.parallel_release.then(|| cache.clone()),
            }),
            Err((failures, acquired)) => {
                let release_failures = release_all(acquired, None);
                Err(AcquireError {
                    join: JoinError::gather(failures, timed_out),
                    release_failures,
                })
            }
        }
    }
}

/// Acquires every resource of a tuple in parallel, each closure on a thread of its own, and
/// returns a guard holding them all, typed, in call order. Resources are released by `Drop`,
/// in reverse order, when the guard is dropped.
///
/// If any acquisition fails, the ones that succeeded are released in reverse order and the
/// error holds every failure.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let log = Arc::new(Mutex::new(Vec::new()));
/// struct Noisy(&'static str, Arc<Mutex<Vec<&'static str>>>);
/// impl Drop for Noisy {
///     fn drop(&mut self) { self.1.lock().unwrap().push(self.0); }
/// }
/// let (l1, l2) = (log.clone(), log.clone());
/// let guard = parade::acquire((
///     move || Ok::<_, std::io::Error>(Noisy("db", l1)),
///     move || Ok(Noisy("cache", l2)),
/// )).unwrap();
/// let (db, cache) = &*guard;
/// assert_eq!((db.0, cache.0), ("db", "cache"));
/// drop(guard);
/// assert_eq!(*log.lock().unwrap(), ["cache", "db"]); // reverse order
/// ```
pub fn acquire<E, C>(calls: C) -> Result<Acquired<C::Resources>, AcquireError<E>>
where
    C: AcquireTuple<E, ByDrop>,
{
    Acquire::new().acquire(calls)
}

/// Like [`acquire`], for resources whose release can fail: each implements [`Release`](super::Release), and
/// [`Acquired::release`] reports every release error.
///
/// ```
/// use parade::join::Release;
/// struct Lease(u8);
/// impl Release for Lease {
///     type Error = String;
///     fn release(self) -> Result<(), String> { Err(format!("lease {} expired", self.0)) }
/// }
/// let guard = parade::acquire_releasable((|| Ok::<_, ()>(Lease(1)), || Ok(Lease(2)))).unwrap();
/// let err = guard.release().unwrap_err();
/// let order: Vec<usize> = err.failures().iter().map(|f| f.index).collect();
/// assert_eq!(order, [1, 0]); // released, and reported, in reverse order
/// ```
pub fn acquire_releasable<E, C>(calls: C) -> Result<Acquired<C::Resources>, AcquireError<E>>
where
    C: AcquireTuple<E, ByRelease>,
{
    Acquire::new().acquire_releasable(calls)
}

/// Why acquiring resources failed: every acquisition failure (and those unfinished at a
/// timeout), plus every failure while releasing the resources that had been acquired.
///
/// ```
/// let err = parade::acquire((|| Ok::<_, &str>(1), || Err::<u8, _>("refused"), || Err::<u8, _>("down"))).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "2 calls failed: call 1 returned an error: refused; call 2 returned an error: down"
/// );
/// ```
pub struct AcquireError<E> {
    join: JoinError<E>,
    release_failures: Vec<CallFailure<BoxError>>,
}

impl<E> AcquireError<E> {
    /// The acquisition failures, as a [`JoinError`].
    ///
    /// ```
    /// let err = parade::acquire((|| Err::<u8, _>("no"),)).unwrap_err();
    /// assert_eq!(err.join_error().failures().len(), 1);
    /// ```
    pub fn join_error(&self) -> &JoinError<E> {
        &self.join
    }

    /// The acquisition failures, by value.
    ///
    /// ```
    /// let err = parade::acquire((|| Err::<u8, _>("no"),)).unwrap_err();
    /// assert_eq!(err.into_join_error().into_error().ok(), Some("no"));
    /// ```
    pub fn into_join_error(self) -> JoinError<E> {
        self.join
    }

    /// Failures while releasing the resources that were acquired, in release order.
    ///
    /// ```
    /// let err = parade::acquire((|| Err::<u8, _>("no"),)).unwrap_err();
    /// assert!(err.release_failures().is_empty());
    /// ```
    pub fn release_failures(&self) -> &[CallFailure<BoxError>] {
        &self.release_failures
    }
}

impl<E: fmt::Display> fmt::Display for AcquireError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.join)?;
        if !self.release_failures.is_empty() {
            f.write_str("; then, releasing what was acquired: ")?;
            write_release_failures(f, &self.release_failures)?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug> fmt::Debug for AcquireError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireError")
            .field("join", &self.join)
            .field("release_failures", &self.release_failures)
            .finish()
    }
}

impl<E: std::error::Error + 'static> std::error::Error for AcquireError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.join)
    }
}
