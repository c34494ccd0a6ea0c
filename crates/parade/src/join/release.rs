//! Releasing resources: the [`Release`] trait for resources whose release can fail, how a
//! guard's resources are released ([`ReleaseBy`]: by `Drop` or by [`Release`]), running the
//! releases (in reverse call order, or all at once) and the [`ReleaseError`] that reports
//! them. It does not know how resources are acquired.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::call::{Group, Pending, Until};
use super::error::{CallFailure, Failure};
use crate::exec::thread_cache::ThreadCache;

/// The error type of a failed release.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How one resource is released.
pub type Releaser<R> = fn(R) -> Result<(), BoxError>;

type ReleaseJob = Box<dyn FnOnce() -> Result<(), BoxError> + Send + 'static>;

/// A resource whose release can fail (a connection that must be closed, a lock file to
/// remove). Resources acquired with [`acquire_releasable`](super::acquire_releasable) are released through this trait,
/// and [`Acquired::release`](super::Acquired::release) reports its errors.
///
/// ```
/// use parade::join::Release;
/// struct Conn(u32);
/// impl Release for Conn {
///     type Error = String;
///     fn release(self) -> Result<(), String> {
///         if self.0 == 0 { Err("connection 0 was already closed".into()) } else { Ok(()) }
///     }
/// }
/// let guard = parade::acquire_releasable((|| Ok::<_, ()>(Conn(1)), || Ok(Conn(0)))).unwrap();
/// let err = guard.release().unwrap_err();
/// assert_eq!(err.to_string(), "release of resource 1 returned an error: connection 0 was already closed");
/// ```
pub trait Release: Send + Sized + 'static {
    /// Why a release failed.
    type Error: Into<BoxError>;
    /// Releases the resource.
    fn release(self) -> Result<(), Self::Error>;
}

/// How the resources of a tuple are released: by dropping them, or through [`Release`].
#[doc(hidden)]
pub trait ReleaseBy<R> {
    fn releaser() -> Releaser<R>;
}

/// Resources released by `Drop` ([`acquire`](super::acquire)).
#[doc(hidden)]
#[derive(Debug)]
pub enum ByDrop {}

/// Resources released through [`Release`] ([`acquire_releasable`](super::acquire_releasable)).
#[doc(hidden)]
#[derive(Debug)]
pub enum ByRelease {}

#[allow(clippy::unnecessary_wraps)] // must have the shape of a `Releaser`
fn drop_release<R>(r: R) -> Result<(), BoxError> {
    drop(r);
    Ok(())
}

fn trait_release<R: Release>(r: R) -> Result<(), BoxError> {
    r.release().map_err(Into::into)
}

/// What a late resource (one that arrives after a timeout) goes through: released, errors
/// discarded since nobody is left to see them.
pub(crate) fn release_late<K: ReleaseBy<R>, R>(r: R) {
    drop(K::releaser()(r));
}

impl<R: Send + 'static> ReleaseBy<R> for ByDrop {
    fn releaser() -> Releaser<R> {
        drop_release::<R>
    }
}

impl<R: Release> ReleaseBy<R> for ByRelease {
    fn releaser() -> Releaser<R> {
        trait_release::<R>
    }
}

/// A tuple of 1 to 12 resources held by an [`Acquired`](super::Acquired) guard.
pub trait ResourceTuple: Send + Sized + 'static {
    /// One release function per resource.
    #[doc(hidden)]
    type Releasers: Copy + Send + 'static;
    /// One release job per resource, in call order.
    #[doc(hidden)]
    fn into_jobs(self, releasers: Self::Releasers) -> Vec<(usize, ReleaseJobBox)>;
}

/// A boxed release of one resource (an implementation detail of [`ResourceTuple`]).
#[doc(hidden)]
pub struct ReleaseJobBox(pub(crate) ReleaseJob);

/// Runs release jobs: in reverse order on this thread, or all at once on `parallel`. Returns
/// every failure: in release order when sequential, in call order when parallel.
pub(crate) fn release_all(
    jobs: Vec<(usize, ReleaseJobBox)>,
    parallel: Option<&ThreadCache>,
) -> Vec<CallFailure<BoxError>> {
    let mut failures = Vec::new();
    match parallel {
        None => {
            for (index, ReleaseJobBox(job)) in jobs.into_iter().rev() {
                let failure = match catch_unwind(AssertUnwindSafe(job)) {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => Failure::Error(e),
                    Err(payload) => Failure::Panic(payload.into()),
                };
                failures.push(CallFailure { index, failure });
            }
        }
        Some(cache) => {
            let group = Group::new();
            let pending: Vec<(usize, Pending<(), BoxError>)> = jobs
                .into_iter()
                .enumerate()
                .map(|(n, (index, ReleaseJobBox(job)))| {
                    (index, Pending::start(cache, &group, n, drop::<()>, job))
                })
                .collect();
            group.wait(pending.len(), Until::AllDone, None);
            for (index, p) in pending {
                if let Err(failure) = p.finish() {
                    failures.push(CallFailure { index, failure });
                }
            }
        }
    }
    failures
}

/// Every release of a guard that failed, with the resource's index.
///
/// ```
/// use parade::join::Release;
/// struct Bad;
/// impl Release for Bad {
///     type Error = &'static str;
///     fn release(self) -> Result<(), &'static str> { Err("stuck") }
/// }
/// let err = parade::acquire_releasable((|| Ok::<_, ()>(Bad),)).unwrap().release().unwrap_err();
/// assert_eq!(err.failures()[0].index, 0);
/// ```
#[derive(Debug)]
pub struct ReleaseError {
    pub(crate) failures: Vec<CallFailure<BoxError>>,
}

impl ReleaseError {
    /// The failed releases, in the order they were released (reverse call order, unless the
    /// guard released in parallel: then call order).
    ///
    /// ```
    /// # use parade::join::Release;
    /// # struct Bad;
    /// # impl Release for Bad { type Error = String; fn release(self) -> Result<(), String> { Err("x".into()) } }
    /// let err = parade::acquire_releasable((|| Ok::<_, ()>(Bad),)).unwrap().release().unwrap_err();
    /// assert_eq!(err.failures().len(), 1);
    /// ```
    pub fn failures(&self) -> &[CallFailure<BoxError>] {
        &self.failures
    }
}

pub(crate) fn write_release_failures(
    f: &mut fmt::Formatter<'_>,
    failures: &[CallFailure<BoxError>],
) -> fmt::Result {
    for (i, one) in failures.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        write!(f, "release of resource {} {}", one.index, one.failure)?;
    }
    Ok(())
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_release_failures(f, &self.failures)
    }
}

impl std::error::Error for ReleaseError {}
