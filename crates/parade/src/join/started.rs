//! Calls started now and collected later (python-parallel's "start a long calculation early
//! and call `.results()` when ready"): [`Join::start`] gives a [`Started`] at once, the calls
//! run meanwhile, and the caller collects them when it wants, with a policy: every result
//! ([`Started::results`]), the first exception ([`Started::first_exception`]) or one outcome
//! per call ([`Started::settle`]). It adds no machinery of its own: it is [`Join`]'s start
//! and wait, split in two.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;

use super::call::{Group, Until};
use super::error::JoinError;
use super::options::Join;
use super::tuple::{CallTuple, PendingTuple, SettledTuple, Starter, TryCallTuple};

/// Calls running on their threads, to be collected later. Dropping it abandons them: they
/// keep running and their values are dropped when they end.
///
/// ```
/// use parade::join::Join;
/// let started = Join::new().start((|| (1..=1000u64).sum::<u64>(), || "meanwhile"));
/// // ... the caller goes on; the calls run ...
/// let (sum, text) = started.results().unwrap();
/// assert_eq!((sum, text), (500_500, "meanwhile"));
/// ```
#[must_use = "started calls are collected with `results`, `first_exception` or `settle`"]
pub struct Started<P, E = Infallible> {
    pending: P,
    group: Arc<Group>,
    len: usize,
    options: Join,
    _error: PhantomData<fn() -> E>,
}

impl Join {
    /// Starts every closure of a tuple now, each on a thread of its own, and returns at once;
    /// collect them later from the [`Started`]. These options' timeout counts from when the
    /// collecting begins.
    pub fn start<C: CallTuple>(&self, calls: C) -> Started<C::Pending> {
        self.begin(C::LEN, |s| calls.start(s))
    }

    /// [`Join::start`] for closures returning `Result<T, E>`.
    ///
    /// ```
    /// use parade::join::Join;
    /// let started = Join::new().try_start((|| Ok(1), || Err::<i32, _>("bad")));
    /// assert_eq!(started.results().unwrap_err().to_string(), "call 1 returned an error: bad");
    /// ```
    pub fn try_start<E, C: TryCallTuple<E>>(&self, calls: C) -> Started<C::Pending, E> {
        self.begin(C::LEN, |s| calls.start(s))
    }

    fn begin<P, E>(&self, len: usize, start: impl FnOnce(&Starter<'_>) -> P) -> Started<P, E> {
        let group = Group::new();
        let pending = start(&Starter {
            cache: self.cache_ref(),
            group: &group,
            base: 0,
        });
        Started {
            pending,
            group,
            len,
            options: self.clone(),
            _error: PhantomData,
        }
    }
}

impl<P: PendingTuple<E>, E> Started<P, E> {
    /// Whether every call has ended (never blocks).
    ///
    /// ```
    /// let started = parade::join::Join::new().start((|| 1,));
    /// let _ = started.is_done(); // true once the call ended
    /// assert_eq!(started.results().unwrap(), (1,));
    /// ```
    pub fn is_done(&self) -> bool {
        self.group.done_count() >= self.len
    }

    /// Waits for every call and returns their values in call order, or every failure
    /// (python-parallel's `ALL_COMPLETED`).
    pub fn results(self) -> Result<P::Output, JoinError<E>> {
        let timed_out = self.options.wait(&self.group, self.len, Until::AllDone);
        self.pending.settle().gather(timed_out)
    }

    /// Waits until a call fails or all have ended: exactly one failure (a panic preferred),
    /// the other calls listed as not collected (python-parallel's `FIRST_EXCEPTION`).
    ///
    /// ```
    /// use parade::join::Join;
    /// let started = Join::new().try_start((|| Err::<(), _>("a"), || Ok(())));
    /// let err = started.first_exception().unwrap_err();
    /// assert_eq!(err.failures().len(), 1);
    /// assert_eq!(err.not_collected(), [1]);
    /// ```
    pub fn first_exception(self) -> Result<P::Output, JoinError<E>> {
        let timed_out = self
            .options
            .wait(&self.group, self.len, Until::FirstFailure);
        let len = self.len;
        self.pending
            .settle()
            .gather(timed_out)
            .map_err(|e| e.first_exception(len))
    }

    /// Waits for every call and returns one outcome per call (per-call results).
    ///
    /// ```
    /// let started = parade::join::Join::new().start((|| 1, || -> i32 { panic!("two") }));
    /// let (a, b) = started.settle();
    /// assert_eq!(a.unwrap(), 1);
    /// assert_eq!(b.unwrap_err().panic_message(), Some("two"));
    /// ```
    pub fn settle(self) -> P::Settled {
        let _ = self.options.wait(&self.group, self.len, Until::AllDone);
        self.pending.settle()
    }
}
