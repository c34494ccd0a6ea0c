//! Tuples of closures, of started calls and of outcomes: the typed side of `join`.
//!
//! Rust has no variadic generics, so this module owns the traits that make a tuple of up to 12
//! closures joinable ([`CallTuple`], [`TryCallTuple`]), the tuple of their started calls
//! ([`PendingTuple`]), the tuple of per-call outcomes ([`SettledTuple`]) and [`Append`], which
//! lets the [`Calls`](super::Calls) builder grow one call at a time. Every impl is written once,
//! in a macro, for each arity.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use super::call::{Group, Pending};
use super::error::{Failure, JoinError};
use crate::exec::thread_cache::ThreadCache;

/// Calls `$m!` once per tuple arity from 1 to 12 with `Closure Result binding index` quads.
macro_rules! for_each_tuple {
    ($m:ident) => {
        $m!(F0 R0 r0 0);
        $m!(F0 R0 r0 0, F1 R1 r1 1);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3, F4 R4 r4 4);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3, F4 R4 r4 4, F5 R5 r5 5);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3, F4 R4 r4 4, F5 R5 r5 5, F6 R6 r6 6);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3, F4 R4 r4 4, F5 R5 r5 5, F6 R6 r6 6, F7 R7 r7 7);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3, F4 R4 r4 4, F5 R5 r5 5, F6 R6 r6 6, F7 R7 r7 7, F8 R8 r8 8);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3, F4 R4 r4 4, F5 R5 r5 5, F6 R6 r6 6, F7 R7 r7 7, F8 R8 r8 8, F9 R9 r9 9);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3, F4 R4 r4 4, F5 R5 r5 5, F6 R6 r6 6, F7 R7 r7 7, F8 R8 r8 8, F9 R9 r9 9, F10 R10 r10 10);
        $m!(F0 R0 r0 0, F1 R1 r1 1, F2 R2 r2 2, F3 R3 r3 3, F4 R4 r4 4, F5 R5 r5 5, F6 R6 r6 6, F7 R7 r7 7, F8 R8 r8 8, F9 R9 r9 9, F10 R10 r10 10, F11 R11 r11 11);
    };
}
pub(crate) use for_each_tuple;

/// Where the calls of one tuple start: the cache, the group they report to, the index of the
/// first one. An implementation detail of the tuple traits.
#[doc(hidden)]
pub struct Starter<'a> {
    pub(crate) cache: &'a ThreadCache,
    pub(crate) group: &'a Arc<Group>,
    pub(crate) base: usize,
}

impl Starter<'_> {
    pub(crate) fn call<R, F>(&self, i: usize, f: F) -> Pending<R, Infallible>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        Pending::start(
            self.cache,
            self.group,
            self.base + i,
            drop::<R>,
            move || Ok(f()),
        )
    }

    pub(crate) fn try_call<R, E, F>(&self, i: usize, f: F) -> Pending<R, E>
    where
        F: FnOnce() -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        Pending::start(self.cache, self.group, self.base + i, drop::<R>, f)
    }
}

/// A tuple of 1 to 12 closures returning plain values, which [`join`](super::join) runs in
/// parallel. Each closure is `FnOnce() -> R + Send + 'static` with `R: Send + 'static`.
///
/// ```
/// let (n, s) = parade::join((|| 1 + 1, || "two".to_owned())).unwrap();
/// assert_eq!((n, s.as_str()), (2, "two"));
/// ```
pub trait CallTuple {
    /// The tuple of the values, in call order.
    type Output;
    /// The tuple of per-call outcomes, as [`Join::settle`](super::Join::settle) returns it.
    type Settled: SettledTuple<Infallible, Output = Self::Output>;
    /// The tuple of started calls.
    #[doc(hidden)]
    type Pending: PendingTuple<Infallible, Output = Self::Output, Settled = Self::Settled>;
    /// How many calls.
    const LEN: usize;
    /// Starts every call.
    #[doc(hidden)]
    fn start(self, s: &Starter<'_>) -> Self::Pending;
}

/// A tuple of 1 to 12 closures returning `Result<T, E>` with one error type `E`, which
/// [`try_join`](super::try_join) runs in parallel; an `Err` counts as a failure of that call.
///
/// ```
/// let (a, b) = parade::try_join((|| "1".parse::<i32>(), || "2".parse::<i32>())).unwrap();
/// assert_eq!(a + b, 3);
/// ```
pub trait TryCallTuple<E> {
    /// The tuple of the `Ok` values, in call order.
    type Output;
    /// The tuple of per-call outcomes.
    type Settled: SettledTuple<E, Output = Self::Output>;
    /// The tuple of started calls.
    #[doc(hidden)]
    type Pending: PendingTuple<E, Output = Self::Output, Settled = Self::Settled>;
    /// How many calls.
    const LEN: usize;
    /// Starts every call.
    #[doc(hidden)]
    fn start(self, s: &Starter<'_>) -> Self::Pending;
}

/// A tuple of started calls ([`Pending`]), as a [`Calls`](super::Calls) builder holds them.
///
/// ```
/// let calls = parade::calls().call(|| 1).call(|| 'b');
/// // `calls` holds a `(Pending<i32, Infallible>, Pending<char, Infallible>)`.
/// assert_eq!(calls.join().unwrap(), (1, 'b'));
/// ```
pub trait PendingTuple<E> {
    /// The tuple of values.
    type Output;
    /// The tuple of per-call outcomes.
    type Settled: SettledTuple<E, Output = Self::Output>;
    /// Takes every outcome; calls not done are abandoned and say [`Failure::Unfinished`].
    #[doc(hidden)]
    fn settle(self) -> Self::Settled;
}

/// A tuple of per-call outcomes `(Result<R0, Failure<E>>, ...)`, which can be gathered into
/// the tuple of values or a [`JoinError`] holding every failure.
///
/// ```
/// use parade::join::{Failure, SettledTuple};
/// let settled: (Result<i32, Failure<&str>>, Result<char, Failure<&str>>) =
///     (Ok(1), Err(Failure::Error("no")));
/// let err = settled.gather(None).unwrap_err();
/// assert_eq!(err.failures()[0].index, 1);
/// ```
pub trait SettledTuple<E> {
    /// The tuple of values.
    type Output;
    /// The values if every call succeeded, else every failure in call order.
    fn gather(self, timed_out: Option<Duration>) -> Result<Self::Output, JoinError<E>>;
}

/// A tuple that can grow by one element: how the [`Calls`](super::Calls) builder adds a call.
///
/// ```
/// use parade::join::Append;
/// assert_eq!((1, 'a').append("x"), (1, 'a', "x"));
/// ```
pub trait Append<T> {
    /// The tuple with `T` at the end.
    type Out;
    /// Adds `t` at the end.
    fn append(self, t: T) -> Self::Out;
}

impl<T> Append<T> for () {
    type Out = (T,);
    fn append(self, t: T) -> (T,) {
        (t,)
    }
}

impl<E> PendingTuple<E> for () {
    type Output = ();
    type Settled = ();
    fn settle(self) {}
}

impl<E> SettledTuple<E> for () {
    type Output = ();
    fn gather(self, _timed_out: Option<Duration>) -> Result<(), JoinError<E>> {
        Ok(())
    }
}

/// No calls: `parade::join(())` returns `()` at once, as a join of an empty list does.
impl CallTuple for () {
    type Output = ();
    type Settled = ();
    type Pending = ();
    const LEN: usize = 0;
    fn start(self, _: &Starter<'_>) {}
}

impl<E> TryCallTuple<E> for () {
    type Output = ();
    type Settled = ();
    type Pending = ();
    const LEN: usize = 0;
    fn start(self, _: &Starter<'_>) {}
}

macro_rules! impl_tuples {
    ($($F:ident $R:ident $r:ident $i:tt),+) => {
        impl<$($F, $R),+> CallTuple for ($($F,)+)
        where
            $($F: FnOnce() -> $R + Send + 'static, $R: Send + 'static,)+
        {
            type Output = ($($R,)+);
            type Settled = ($(Result<$R, Failure<Infallible>>,)+);
            type Pending = ($(Pending<$R, Infallible>,)+);
            const LEN: usize = [$($i),+].len();
            fn start(self, s: &Starter<'_>) -> Self::Pending {
                ($(s.call($i, self.$i),)+)
            }
        }

        impl<E: Send + 'static, $($F, $R),+> TryCallTuple<E> for ($($F,)+)
        where
            $($F: FnOnce() -> Result<$R, E> + Send + 'static, $R: Send + 'static,)+
        {
            type Output = ($($R,)+);
            type Settled = ($(Result<$R, Failure<E>>,)+);
            type Pending = ($(Pending<$R, E>,)+);
            const LEN: usize = [$($i),+].len();
            fn start(self, s: &Starter<'_>) -> Self::Pending {
                ($(s.try_call($i, self.$i),)+)
            }
        }

        impl<E, $($R),+> PendingTuple<E> for ($(Pending<$R, E>,)+) {
            type Output = ($($R,)+);
            type Settled = ($(Result<$R, Failure<E>>,)+);
            fn settle(self) -> Self::Settled {
                ($(self.$i.finish(),)+)
            }
        }

        impl<E, $($R),+> SettledTuple<E> for ($(Result<$R, Failure<E>>,)+) {
            type Output = ($($R,)+);
            fn gather(self, timed_out: Option<Duration>) -> Result<Self::Output, JoinError<E>> {
                match self {
                    ($(Ok($r),)+) => Ok(($($r,)+)),
                    ($($r,)+) => {
                        let outcomes = [$(($i, $r.err())),+];
                        Err(JoinError::gather(
                            outcomes.into_iter().filter_map(|(i, f)| f.map(|f| (i, f))),
                            timed_out,
                        ))
                    }
                }
            }
        }

        impl<$($R,)+ T> Append<T> for ($($R,)+) {
            type Out = ($($R,)+ T,);
            fn append(self, t: T) -> Self::Out {
                let ($($r,)+) = self;
                ($($r,)+ t,)
            }
        }
    };
}

for_each_tuple!(impl_tuples);
