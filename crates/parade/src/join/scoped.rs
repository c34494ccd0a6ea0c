//! Scoped joins: calls that borrow from the caller's stack.
//!
//! This module owns [`join`], [`try_join`] and [`join_all`] for closures that are not
//! `'static`. They stand on [`std::thread::scope`], so they cannot reuse cached threads (each
//! call gets a fresh OS thread; [`join_all`] runs its last call on the caller's thread, after the
//! others have started) and they have **no timeout**: a scope cannot return before its threads
//! end. Failures are gathered exactly like the other forms: every panic, with its payload, in
//! call order.
//!
//! ```
//! let data = vec![3, 1, 4, 1, 5];
//! let (sum, max) = parade::join::scoped::join((|| data.iter().sum::<i32>(), || data.iter().max())).unwrap();
//! assert_eq!((sum, max), (14, Some(&5)));
//! ```

use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use super::error::{Failure, JoinError};
use super::tuple::{SettledTuple, for_each_tuple};

/// A tuple of 1 to 12 borrowing closures that [`join`] runs in parallel.
pub trait ScopedCallTuple {
    /// The tuple of values.
    type Output;
    /// The tuple of per-call outcomes.
    #[doc(hidden)]
    type Settled: SettledTuple<Infallible, Output = Self::Output>;
    /// Runs every call and waits for all.
    #[doc(hidden)]
    fn run(self) -> Self::Settled;
}

/// A tuple of 1 to 12 borrowing closures returning `Result<T, E>`, run by [`try_join`].
pub trait TryScopedCallTuple<E> {
    /// The tuple of `Ok` values.
    type Output;
    /// The tuple of per-call outcomes.
    #[doc(hidden)]
    type Settled: SettledTuple<E, Output = Self::Output>;
    /// Runs every call and waits for all.
    #[doc(hidden)]
    fn run(self) -> Self::Settled;
}

fn outcome<R, E>(r: thread::Result<Result<R, E>>) -> Result<R, Failure<E>> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::Error(e)),
        Err(payload) => Err(Failure::Panic(payload.into())),
    }
}

macro_rules! impl_scoped {
    ($($F:ident $R:ident $r:ident $i:tt),+) => {
        impl<$($F, $R),+> ScopedCallTuple for ($($F,)+)
        where
            $($F: FnOnce() -> $R + Send, $R: Send,)+
        {
            type Output = ($($R,)+);
            type Settled = ($(Result<$R, Failure<Infallible>>,)+);
            fn run(self) -> Self::Settled {
                let ($($r,)+) = self;
                TryScopedCallTuple::<Infallible>::run(($(move || Ok::<$R, Infallible>($r()),)+))
            }
        }

        impl<E: Send, $($F, $R),+> TryScopedCallTuple<E> for ($($F,)+)
        where
            $($F: FnOnce() -> Result<$R, E> + Send, $R: Send,)+
        {
            type Output = ($($R,)+);
            type Settled = ($(Result<$R, Failure<E>>,)+);
            fn run(self) -> Self::Settled {
                let ($($r,)+) = self;
                thread::scope(|s| {
                    let ($($r,)+) = ($(s.spawn($r),)+);
                    ($(outcome($r.join()),)+)
                })
            }
        }
    };
}

for_each_tuple!(impl_scoped);

/// Runs every closure of a tuple in parallel, each on a scoped thread, and returns their values
/// in call order, or every panic. The closures may borrow from the caller.
///
/// ```
/// let mut left = vec![2, 1];
/// let mut right = vec![4, 3];
/// parade::join::scoped::join((|| left.sort(), || right.sort())).unwrap();
/// assert_eq!((left, right), (vec![1, 2], vec![3, 4]));
/// ```
pub fn join<C: ScopedCallTuple>(calls: C) -> Result<C::Output, JoinError> {
    calls.run().gather(None)
}

/// Runs every `Result`-returning closure of a tuple in parallel on scoped threads; returns the
/// `Ok` values in call order, or every `Err` and panic.
///
/// ```
/// let text = String::from("12 x");
/// let words: Vec<&str> = text.split(' ').collect();
/// let err = parade::join::scoped::try_join((|| words[0].parse::<u8>(), || words[1].parse::<u8>()))
///     .unwrap_err();
/// assert_eq!(err.failures()[0].index, 1);
/// ```
pub fn try_join<E, C: TryScopedCallTuple<E>>(calls: C) -> Result<C::Output, JoinError<E>> {
    calls.run().gather(None)
}

/// Runs every closure in parallel on scoped threads (the last one on the caller's thread, once
/// the others have started) and returns their values in call order, or every panic.
///
/// ```
/// let chunks = vec![vec![1, 2], vec![3], vec![4, 5, 6]];
/// let sums = parade::join::scoped::join_all(chunks.iter().map(|c| move || c.iter().sum::<i32>()))
///     .unwrap();
/// assert_eq!(sums, [3, 3, 15]);
/// ```
pub fn join_all<R, F>(calls: impl IntoIterator<Item = F>) -> Result<Vec<R>, JoinError>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let mut calls: Vec<F> = calls.into_iter().collect();
    let last = calls.pop();
    let outcomes: Vec<thread::Result<R>> = thread::scope(|s| {
        let handles: Vec<_> = calls.into_iter().map(|f| s.spawn(f)).collect();
        let last = last.map(|f| catch_unwind(AssertUnwindSafe(f)));
        let mut all: Vec<_> = handles
            .into_iter()
            .map(thread::ScopedJoinHandle::join)
            .collect();
        all.extend(last);
        all
    });
    let mut values = Vec::with_capacity(outcomes.len());
    let mut failures = Vec::new();
    for (index, r) in outcomes.into_iter().enumerate() {
        match r {
            Ok(v) => values.push(v),
            Err(payload) => failures.push((index, Failure::Panic(payload.into()))),
        }
    }
    if failures.is_empty() {
        Ok(values)
    } else {
        Err(JoinError::gather(failures, None))
    }
}
