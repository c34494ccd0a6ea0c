//! The [`Acquired`] guard: a tuple of acquired resources, dereferencing to the tuple and
//! releasing them when dropped (or through [`Acquired::release`], which reports errors).

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::error::CallFailure;
use super::release::{BoxError, ReleaseError, ResourceTuple, release_all};
use crate::exec::thread_cache::ThreadCache;

/// A guard holding a tuple of acquired resources. Dereferences to the tuple; releases them
/// when dropped (reverse order, or in parallel when asked), discarding release errors; call
/// [`Acquired::release`] to see them.
///
/// ```
/// let mut guard = parade::acquire((|| Ok::<_, ()>(vec![1]), || Ok(0_u8))).unwrap();
/// guard.0.push(2);
/// let (v, n) = &*guard;
/// assert_eq!((v.as_slice(), *n), (&[1, 2][..], 0));
/// ```
pub struct Acquired<T: ResourceTuple> {
    pub(crate) held: Option<T>,
    pub(crate) releasers: T::Releasers,
    pub(crate) parallel: Option<ThreadCache>,
}

impl<T: ResourceTuple> Acquired<T> {
    /// Releases every resource now (reverse order, or in parallel) and reports every failure.
    ///
    /// ```
    /// let guard = parade::acquire((|| Ok::<_, ()>(1),)).unwrap();
    /// assert!(guard.release().is_ok());
    /// ```
    pub fn release(mut self) -> Result<(), ReleaseError> {
        let failures = self.release_now();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ReleaseError { failures })
        }
    }

    /// Takes the resources out of the guard without releasing them.
    ///
    /// ```
    /// let guard = parade::acquire((|| Ok::<_, ()>(1), || Ok('x'))).unwrap();
    /// assert_eq!(guard.into_inner(), (1, 'x'));
    /// ```
    pub fn into_inner(mut self) -> T {
        self.held
            .take()
            .expect("a guard holds its resources until released")
    }

    fn release_now(&mut self) -> Vec<CallFailure<BoxError>> {
        match self.held.take() {
            Some(held) => release_all(held.into_jobs(self.releasers), self.parallel.as_ref()),
            None => Vec::new(),
        }
    }
}

impl<T: ResourceTuple> Deref for Acquired<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.held
            .as_ref()
            .expect("a guard holds its resources until released")
    }
}

impl<T: ResourceTuple> DerefMut for Acquired<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.held
            .as_mut()
            .expect("a guard holds its resources until released")
    }
}

impl<T: ResourceTuple> Drop for Acquired<T> {
    fn drop(&mut self) {
        drop(self.release_now());
    }
}

impl<T: ResourceTuple + fmt::Debug> fmt::Debug for Acquired<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Acquired").field(&self.held).finish()
    }
}
