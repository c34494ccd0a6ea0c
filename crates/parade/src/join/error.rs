//! How joined calls fail: one [`Failure`] per call, gathered in a [`JoinError`].
//!
//! This module owns the error values of the `join` face and their messages. A join never hides a
//! failure behind another: [`JoinError`] keeps every failed call with its index, in call order,
//! with the original panic payload, plus the calls that had not finished when the join stopped
//! waiting (after a timeout or at the first failure).

use std::any::Any;
use std::fmt;
use std::time::Duration;

/// The payload of a panic (what `std::thread::JoinHandle::join` returns), kept so that a
/// [`JoinError`] is `Send + Sync` and converts with `?` into `anyhow::Error` or
/// `Box<dyn Error + Send + Sync>`: the payload sits behind a mutex, its message (when it is a
/// string) is read once.
///
/// ```
/// use parade::join::PanicPayload;
/// let p = PanicPayload::new(Box::new(42_u32));
/// assert_eq!(p.message(), None);
/// assert_eq!(p.into_inner().downcast_ref::<u32>(), Some(&42));
/// assert_eq!(PanicPayload::new(Box::new("boom")).message(), Some("boom"));
/// ```
pub struct PanicPayload {
    message: Option<String>,
    payload: std::sync::Mutex<Box<dyn Any + Send + 'static>>,
}

impl PanicPayload {
    /// Keeps `payload`.
    pub fn new(payload: Box<dyn Any + Send + 'static>) -> Self {
        Self {
            message: payload_message(payload.as_ref()).map(str::to_owned),
            payload: std::sync::Mutex::new(payload),
        }
    }

    /// The panic message when the payload is a string.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Runs `f` on the payload (to `downcast_ref` it in place).
    ///
    /// ```
    /// let p = parade::join::PanicPayload::new(Box::new(7_u8));
    /// assert_eq!(p.with(|any| any.downcast_ref::<u8>().copied()), Some(7));
    /// ```
    pub fn with<R>(&self, f: impl FnOnce(&(dyn Any + Send)) -> R) -> R {
        let payload = self
            .payload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(payload.as_ref())
    }

    /// The original payload, for [`std::panic::resume_unwind`] or `downcast`.
    pub fn into_inner(self) -> Box<dyn Any + Send + 'static> {
        self.payload
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl From<Box<dyn Any + Send + 'static>> for PanicPayload {
    fn from(payload: Box<dyn Any + Send + 'static>) -> Self {
        Self::new(payload)
    }
}

/// Why one call did not produce a value.
///
/// ```
/// use parade::join::Failure;
/// let f: Failure<&str> = Failure::Error("disk full");
/// assert_eq!(f.to_string(), "returned an error: disk full");
/// ```
pub enum Failure<E> {
    /// The call returned `Err(e)` (only calls of the `try_` forms can).
    Error(E),
    /// The call panicked; this is the original payload, ready for
    /// [`std::panic::resume_unwind`].
    Panic(PanicPayload),
    /// The call had not finished when the join stopped waiting (timeout or first failure). It
    /// keeps running on its thread; its value is dropped (a resource is released) when it ends.
    Unfinished,
}

impl<E> Failure<E> {
    /// Whether this is a panic.
    ///
    /// ```
    /// let f: parade::join::Failure<()> = parade::join::Failure::Panic(parade::join::PanicPayload::new(Box::new("boom")));
    /// assert!(f.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, Self::Panic(_))
    }

    /// The panic message when the payload is a string (what `panic!` with a message produces).
    ///
    /// ```
    /// let f: parade::join::Failure<()> = parade::join::Failure::Panic(parade::join::PanicPayload::new(Box::new("boom")));
    /// assert_eq!(f.panic_message(), Some("boom"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            Self::Panic(payload) => payload.message(),
            _ => None,
        }
    }

    /// The error value, if the call returned `Err`.
    ///
    /// ```
    /// let f = parade::join::Failure::Error(7);
    /// assert_eq!(f.into_error().ok(), Some(7));
    /// ```
    pub fn into_error(self) -> Result<E, Self> {
        match self {
            Self::Error(e) => Ok(e),
            other => Err(other),
        }
    }

    /// Re-raises a panic with its original payload; for an error or an unfinished call, panics
    /// with this failure's message.
    ///
    /// ```should_panic
    /// let f: parade::join::Failure<String> = parade::join::Failure::Panic(parade::join::PanicPayload::new(Box::new("boom")));
    /// f.resume_unwind();
    /// ```
    pub fn resume_unwind(self) -> !
    where
        E: fmt::Display,
    {
        match self {
            Self::Panic(payload) => std::panic::resume_unwind(payload.into_inner()),
            other => panic!("{other}"),
        }
    }
}

/// The text of a panic payload, when it is a `&str` or a `String`.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(e) => write!(f, "returned an error: {e}"),
            Self::Panic(p) => match p.message() {
                Some(msg) => write!(f, "panicked: {msg}"),
                None => f.write_str("panicked (with a non-string payload)"),
            },
            Self::Unfinished => f.write_str("had not finished"),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(e) => f.debug_tuple("Error").field(e).finish(),
            Self::Panic(p) => match p.message() {
                Some(msg) => f.debug_tuple("Panic").field(&msg).finish(),
                None => f.write_str("Panic(<non-string payload>)"),
            },
            Self::Unfinished => f.write_str("Unfinished"),
        }
    }
}

/// One failed call of a join: its index in call order and how it failed.
///
/// ```
/// use parade::join::{CallFailure, Failure};
/// let f = CallFailure { index: 2, failure: Failure::Error("no such file") };
/// assert_eq!(f.to_string(), "call 2 returned an error: no such file");
/// ```
#[derive(Debug)]
pub struct CallFailure<E> {
    /// Position of the call: 0 for the first closure given.
    pub index: usize,
    /// How it failed: never [`Failure::Unfinished`] inside a [`JoinError`] (those are listed in
    /// [`JoinError::unfinished`]).
    pub failure: Failure<E>,
}

impl<E: fmt::Display> fmt::Display for CallFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call {} {}", self.index, self.failure)
    }
}

/// An error whenever the call's error can be shown (see [`JoinError`]'s impl for why there is
/// no source).
impl<E: fmt::Display + fmt::Debug> std::error::Error for CallFailure<E> {}

/// Every way a join went wrong: the failed calls, in call order, and the calls that had not
/// finished when it stopped waiting.
///
/// `E` is the error type of the calls (`std::convert::Infallible` for calls that return plain
/// values, whose only failures are panics).
///
/// ```
/// let err = parade::join((|| 1, || -> i32 { panic!("boom") }, || -> i32 { panic!("bang") }))
///     .unwrap_err();
/// let indices: Vec<usize> = err.failures().iter().map(|f| f.index).collect();
/// assert_eq!(indices, [1, 2]);
/// assert_eq!(err.to_string(), "2 calls failed: call 1 panicked: boom; call 2 panicked: bang");
/// ```
pub struct JoinError<E = std::convert::Infallible> {
    pub(crate) failures: Vec<CallFailure<E>>,
    pub(crate) unfinished: Vec<usize>,
    pub(crate) timed_out: Option<Duration>,
    /// Under fail-fast: the other calls, whose outcome the join did not collect.
    pub(crate) not_collected: Vec<usize>,
}

impl<E> JoinError<E> {
    /// The failed calls, sorted by call index.
    ///
    /// ```
    /// let err = parade::try_join((|| Ok(1), || Err::<i32, _>("bad"))).unwrap_err();
    /// assert_eq!(err.failures()[0].index, 1);
    /// ```
    pub fn failures(&self) -> &[CallFailure<E>] {
        &self.failures
    }

    /// The failed calls, by value (to take panic payloads or error values out).
    ///
    /// ```
    /// let err = parade::try_join((|| Err::<(), _>(1), || Err::<(), _>(2))).unwrap_err();
    /// let errors: Vec<i32> = err.into_failures().into_iter()
    ///     .filter_map(|f| f.failure.into_error().ok()).collect();
    /// assert_eq!(errors, [1, 2]);
    /// ```
    pub fn into_failures(self) -> Vec<CallFailure<E>> {
        self.failures
    }

    /// Indices of the calls still running when the join stopped waiting, in call order. They
    /// keep running; what they return is dropped (resources are released) when they end.
    ///
    /// ```
    /// use parade::join::Join;
    /// use std::time::Duration;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let err = Join::new()
    ///     .timeout(Duration::from_millis(1))
    ///     .join((move || rx.recv().is_ok(), || 2))
    ///     .unwrap_err();
    /// assert!(err.unfinished().contains(&0)); // call 1 may or may not have ended by then
    /// drop(tx); // lets the abandoned call end
    /// ```
    pub fn unfinished(&self) -> &[usize] {
        &self.unfinished
    }

    /// The timeout that expired, if the join stopped because of one.
    ///
    /// ```
    /// let err = parade::join((|| -> () { panic!("x") },)).unwrap_err();
    /// assert_eq!(err.timed_out(), None);
    /// ```
    pub fn timed_out(&self) -> Option<Duration> {
        self.timed_out
    }

    /// Whether any call panicked.
    ///
    /// ```
    /// let err = parade::join((|| -> () { panic!("x") },)).unwrap_err();
    /// assert!(err.has_panics());
    /// ```
    pub fn has_panics(&self) -> bool {
        self.failures.iter().any(|f| f.failure.is_panic())
    }

    /// The one failure, as itself, when exactly one call failed and nothing timed out or was
    /// left unfinished; otherwise the whole error back.
    ///
    /// ```
    /// use parade::join::Failure;
    /// let err = parade::try_join((|| Ok(1), || Err::<i32, _>("bad"))).unwrap_err();
    /// let one = err.into_single().unwrap();
    /// assert_eq!(one.index, 1);
    /// assert!(matches!(one.failure, Failure::Error("bad")));
    /// ```
    pub fn into_single(mut self) -> Result<CallFailure<E>, Self> {
        if self.failures.len() == 1 && self.unfinished.is_empty() && self.timed_out.is_none() {
            Ok(self.failures.remove(0))
        } else {
            Err(self)
        }
    }

    /// The error value of the one failed call, when it is the only failure and it returned
    /// `Err`; otherwise the whole error back. Handy with `?` on a single error type.
    ///
    /// ```
    /// let err = parade::try_join((|| Ok(1), || Err::<i32, _>("bad"))).unwrap_err();
    /// assert_eq!(err.into_error().ok(), Some("bad"));
    /// ```
    pub fn into_error(self) -> Result<E, Self> {
        match self.into_single() {
            Ok(CallFailure {
                failure: Failure::Error(e),
                ..
            }) => Ok(e),
            Ok(single) => Err(JoinError {
                failures: vec![single],
                unfinished: Vec::new(),
                timed_out: None,
                not_collected: Vec::new(),
            }),
            Err(all) => Err(all),
        }
    }

    /// Re-raises the panic of the first call that panicked, with its original payload, the way
    /// `std::thread::scope` would; without panics, panics with this error's message.
    ///
    /// ```should_panic
    /// let err = parade::join((|| 1, || -> i32 { panic!("boom") })).unwrap_err();
    /// err.resume_unwind();
    /// ```
    pub fn resume_unwind(mut self) -> !
    where
        E: fmt::Display,
    {
        if let Some(pos) = self.failures.iter().position(|f| f.failure.is_panic()) {
            self.failures.swap_remove(pos).failure.resume_unwind()
        }
        panic!("{self}")
    }

    /// Builds an error from parts; used by the forms that gather per-call outcomes.
    pub(crate) fn gather(
        outcomes: impl IntoIterator<Item = (usize, Failure<E>)>,
        timed_out: Option<Duration>,
    ) -> Self {
        let mut failures = Vec::new();
        let mut unfinished = Vec::new();
        for (index, failure) in outcomes {
            match failure {
                Failure::Unfinished => unfinished.push(index),
                failure => failures.push(CallFailure { index, failure }),
            }
        }
        failures.sort_by_key(|f| f.index);
        unfinished.sort_unstable();
        Self {
            failures,
            unfinished,
            timed_out,
            not_collected: Vec::new(),
        }
    }

    /// python-parallel's `FIRST_EXCEPTION` (what [`Join::fail_fast`](super::Join::fail_fast)
    /// gives): exactly one failure, a panic preferred over an error, the lowest call index
    /// among those; every other call, failed, finished or running, is listed as not collected.
    pub(crate) fn first_exception(mut self, len: usize) -> Self {
        if self.failures.is_empty() {
            return self;
        }
        let pos = self
            .failures
            .iter()
            .position(|f| f.failure.is_panic())
            .unwrap_or(0);
        let kept = self.failures.swap_remove(pos);
        self.not_collected = (0..len).filter(|&i| i != kept.index).collect();
        self.failures = vec![kept];
        self.unfinished.clear();
        self
    }

    /// Under [`Join::fail_fast`](super::Join::fail_fast): the calls other than the one failure
    /// reported, whose outcomes the join did not collect (some may have failed too, some may
    /// still be running), in call order. Empty otherwise.
    ///
    /// ```
    /// use parade::join::Join;
    /// let err = Join::new()
    ///     .fail_fast()
    ///     .try_join((|| Ok(()), || Err::<(), _>("b"), || Ok(())))
    ///     .unwrap_err();
    /// assert_eq!(err.failures().len(), 1);
    /// assert_eq!(err.not_collected(), [0, 2]);
    /// ```
    pub fn not_collected(&self) -> &[usize] {
        &self.not_collected
    }
}

impl<E: fmt::Display> fmt::Display for JoinError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(t) = self.timed_out {
            write!(f, "join timed out after {t:?}")?;
            sep = "; ";
        }
        match self.failures.as_slice() {
            [] => {}
            [one] => {
                write!(f, "{sep}{one}")?;
                sep = "; ";
            }
            many => {
                write!(f, "{sep}{} calls failed: ", many.len())?;
                for (i, one) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{one}")?;
                }
                sep = "; ";
            }
        }
        if !self.unfinished.is_empty() {
            let list: Vec<String> = self.unfinished.iter().map(ToString::to_string).collect();
            let noun = if list.len() == 1 { "call" } else { "calls" };
            write!(f, "{sep}{noun} {} still running", list.join(", "))?;
            sep = "; ";
        }
        if !self.not_collected.is_empty() {
            let list: Vec<String> = self.not_collected.iter().map(ToString::to_string).collect();
            let noun = if list.len() == 1 { "call" } else { "calls" };
            write!(f, "{sep}{noun} {} not collected", list.join(", "))?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug> fmt::Debug for JoinError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinError")
            .field("failures", &self.failures)
            .field("unfinished", &self.unfinished)
            .field("timed_out", &self.timed_out)
            .field("not_collected", &self.not_collected)
            .finish()
    }
}

/// A [`JoinError`] is an error whenever its calls' errors can be shown, so `?` turns it into
/// `anyhow::Error` or `Box<dyn Error + Send + Sync>` whatever the calls return: `io::Error`,
/// `String`, or those two themselves (neither implements [`std::error::Error`], which is why
/// the bound is `Display + Debug`). Its message names every failed call with its own message
/// (`call 1 returned an error: disk full`); it has no [`source`](std::error::Error::source),
/// because Rust cannot give one for `E: Error` and none for the others in a single impl: the
/// calls' errors themselves are in [`JoinError::failures`] and [`JoinError::into_error`].
///
/// ```
/// fn load() -> anyhow::Result<(String, u32)> {
///     let (text, n) = parade::try_join((
///         || -> anyhow::Result<String> { Ok("config".into()) },
///         || -> anyhow::Result<u32> { anyhow::bail!("port not set") },
///     ))?;
///     Ok((text, n))
/// }
/// assert_eq!(load().unwrap_err().to_string(), "call 1 returned an error: port not set");
///
/// type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// fn parse() -> Result<u8, BoxError> {
///     let (n,) = parade::try_join((|| -> Result<u8, BoxError> { Ok("7".parse()?) },))?;
///     Ok(n)
/// }
/// assert_eq!(parse().unwrap(), 7);
/// ```
impl<E: fmt::Display + fmt::Debug> std::error::Error for JoinError<E> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_every_part() {
        let err: JoinError<&str> = JoinError::gather(
            [
                (3, Failure::Unfinished),
                (2, Failure::Error("e")),
                (
                    0,
                    Failure::Panic(PanicPayload::new(Box::new(String::from("p")))),
                ),
                (4, Failure::Unfinished),
            ],
            Some(Duration::from_millis(5)),
        );
        assert_eq!(
            err.to_string(),
            "join timed out after 5ms; 2 calls failed: call 0 panicked: p; \
             call 2 returned an error: e; calls 3, 4 still running"
        );
        assert_eq!(err.unfinished(), [3, 4]);
        assert!(err.into_single().is_err());
    }

    #[test]
    fn non_string_payload_is_described() {
        let f: Failure<String> = Failure::Panic(PanicPayload::new(Box::new(5_u8)));
        assert_eq!(f.to_string(), "panicked (with a non-string payload)");
        assert_eq!(format!("{f:?}"), "Panic(<non-string payload>)");
    }
}
