//! [`Calls`]: a join built one call at a time, each call starting as soon as it is added.
//!
//! This module owns the chainable builder. `calls().call(f)` starts `f` at once and returns a
//! builder whose type remembers `f`'s result type, so a long computation can be started early,
//! more calls added later, and every value taken, typed and in call order, at the end. Adding a
//! call consumes the builder, so a builder can never be used after it was extended.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use super::call::{Group, Pending, Until};
use super::error::JoinError;
use super::options::Join;
use super::tuple::{Append, PendingTuple, SettledTuple};

/// Calls started one by one and joined at the end.
///
/// `P` is the tuple of started calls ([`Pending`]), `E` the error type of the calls added with
/// [`Calls::try_call`] ([`Infallible`] for [`calls`]). Up to 12 calls can be joined.
/// Dropping a builder without joining abandons its calls: they finish on their threads and their
/// values are dropped.
///
/// ```
/// use parade::calls;
/// let early = calls().call(|| (1..=100).sum::<u32>()); // starts now
/// let name = String::from("parade");                  // ...the caller goes on...
/// let (sum, len) = early.call(move || name.len()).join().unwrap();
/// assert_eq!((sum, len), (5050, 6));
/// ```
pub struct Calls<P = (), E = Infallible> {
    pending: P,
    group: Arc<Group>,
    options: Join,
    len: usize,
    errors: PhantomData<fn() -> E>,
}

/// Starts a builder of calls that return plain values (their only failures are panics).
///
/// ```
/// let (a, b) = parade::calls().call(|| 1).call(|| "b").join().unwrap();
/// assert_eq!((a, b), (1, "b"));
/// ```
pub fn calls() -> Calls<(), Infallible> {
    Calls::new()
}

/// Starts a builder whose calls may return `Result<T, E>` (added with [`Calls::try_call`]).
///
/// ```
/// let (a, b) = parade::try_calls()
///     .try_call(|| "1".parse::<i32>())
///     .call(|| 2)
///     .join()
///     .unwrap();
/// assert_eq!(a + b, 3);
/// ```
pub fn try_calls<E: Send + 'static>() -> Calls<(), E> {
    Calls::new()
}

impl<E: Send + 'static> Calls<(), E> {
    /// An empty builder with default options.
    ///
    /// ```
    /// let empty: parade::join::Calls = parade::join::Calls::new();
    /// assert_eq!(empty.join().unwrap(), ());
    /// ```
    pub fn new() -> Self {
        Self::with_options(Join::new())
    }

    /// An empty builder with `options` (timeout, fail-fast, thread cache). The timeout counts
    /// from the [`Calls::join`] call, not from when the calls started.
    ///
    /// ```
    /// use parade::join::{Calls, Join};
    /// use std::time::Duration;
    /// let calls: Calls = Calls::with_options(Join::new().timeout(Duration::from_secs(5)));
    /// assert_eq!(calls.call(|| 1).join().unwrap(), (1,));
    /// ```
    pub fn with_options(options: Join) -> Self {
        Self {
            pending: (),
            group: Group::new(),
            options,
            len: 0,
            errors: PhantomData,
        }
    }
}

impl<E: Send + 'static> Default for Calls<(), E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P, E: Send + 'static> Calls<P, E> {
    /// Starts `f` now on a thread of its own and adds it as the next call.
    ///
    /// ```
    /// let calls = parade::calls().call(|| 40);
    /// let calls = calls.call(|| 2);
    /// let (a, b) = calls.join().unwrap();
    /// assert_eq!(a + b, 42);
    /// ```
    pub fn call<R, F>(self, f: F) -> Calls<P::Out, E>
    where
        P: Append<Pending<R, E>>,
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.try_call(move || Ok(f()))
    }

    /// Starts `f` now like [`Calls::call`]; an `Err` it returns counts as the failure of this
    /// call, and its `Ok` value is what the join returns for it.
    ///
    /// ```
    /// let err = parade::try_calls()
    ///     .try_call(|| Ok(1))
    ///     .try_call(|| Err::<u8, _>("nope"))
    ///     .join()
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "call 1 returned an error: nope");
    /// ```
    pub fn try_call<R, F>(self, f: F) -> Calls<P::Out, E>
    where
        P: Append<Pending<R, E>>,
        F: FnOnce() -> Result<R, E> + Send + 'static,
        R: Send + 'static,
    {
        let next = Pending::start(
            self.options.cache_ref(),
            &self.group,
            self.len,
            drop::<R>,
            f,
        );
        Calls {
            pending: self.pending.append(next),
            group: self.group,
            options: self.options,
            len: self.len + 1,
            errors: PhantomData,
        }
    }

    /// Sets a timeout for [`Calls::join`], counted from when it starts waiting.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let err = parade::calls()
    ///     .call(move || rx.recv().is_ok())
    ///     .timeout(Duration::from_millis(1))
    ///     .join()
    ///     .unwrap_err();
    /// assert_eq!(err.unfinished(), [0]);
    /// drop(tx);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Makes [`Calls::join`] return at the first failure (see [`Join::fail_fast`]).
    ///
    /// ```
    /// let err = parade::calls().call(|| -> () { panic!("x") }).fail_fast().join().unwrap_err();
    /// assert!(err.has_panics());
    /// ```
    pub fn fail_fast(mut self) -> Self {
        self.options.until = Until::FirstFailure;
        self
    }

    /// How many calls were added.
    ///
    /// ```
    /// assert_eq!(parade::calls().call(|| 1).call(|| 2).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no call was added.
    ///
    /// ```
    /// assert!(parade::calls().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Waits for the calls and returns their values in call order, or every failure.
    ///
    /// ```
    /// let err = parade::calls()
    ///     .call(|| -> u8 { panic!("first") })
    ///     .call(|| -> u8 { panic!("second") })
    ///     .join()
    ///     .unwrap_err();
    /// let messages: Vec<_> = err.failures().iter().map(|f| f.failure.panic_message()).collect();
    /// assert_eq!(messages, [Some("first"), Some("second")]);
    /// ```
    pub fn join(self) -> Result<P::Output, JoinError<E>>
    where
        P: PendingTuple<E>,
    {
        let timed_out = self.options.wait(&self.group, self.len, self.options.until);
        let (options, len) = (self.options, self.len);
        self.pending
            .settle()
            .gather(timed_out)
            .map_err(|e| options.policy(e, len))
    }

    /// Waits for the calls and returns one `Result` per call, in call order.
    ///
    /// ```
    /// let (a, b) = parade::calls().call(|| 1).call(|| -> u8 { panic!("b") }).settle();
    /// assert_eq!(a.unwrap(), 1);
    /// assert!(b.unwrap_err().is_panic());
    /// ```
    pub fn settle(self) -> P::Settled
    where
        P: PendingTuple<E>,
    {
        self.options.wait(&self.group, self.len, self.options.until);
        self.pending.settle()
    }
}

#[allow(clippy::missing_fields_in_debug)] // the started calls have nothing to show
impl<P, E> std::fmt::Debug for Calls<P, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls")
            .field("len", &self.len)
            .field("options", &self.options)
            .finish()
    }
}
