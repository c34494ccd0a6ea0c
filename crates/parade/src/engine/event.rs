//! Events: the only way news leaves the engine, and the observers that receive them.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

use super::{Reason, Stream, TaskId, TaskState};

/// Something that happened to a task. Observers get events in the order they happened.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    /// The task went from idle to wanted.
    Wanted {
        /// Which task.
        id: TaskId,
    },
    /// The engine started the task: its job went to the executor. Emitted under the same lock
    /// as the decision, so the order of events is the order of the engine's decisions.
    Started {
        /// Which task.
        id: TaskId,
    },
    /// The running task printed a line.
    Output {
        /// Which task.
        id: TaskId,
        /// Where the line came from.
        stream: Stream,
        /// The line, without its line ending.
        line: String,
    },
    /// The task reached a final state.
    Finished {
        /// Which task.
        id: TaskId,
        /// The final state.
        state: TaskState,
        /// How long it ran (zero if it never ran).
        duration: Duration,
        /// Why it ended there, for every final state but a plain success.
        reason: Option<Reason>,
    },
}

impl Event {
    /// The task the event is about.
    ///
    /// ```
    /// use parade::engine::{Event, TaskId};
    /// assert_eq!(Event::Started { id: TaskId::from_index(3) }.id().index(), 3);
    /// ```
    pub fn id(&self) -> TaskId {
        match self {
            Event::Wanted { id }
            | Event::Started { id }
            | Event::Output { id, .. }
            | Event::Finished { id, .. } => *id,
        }
    }

    /// A [`Event::Finished`]'s task, final state, duration and reason; `None` for any other
    /// event.
    ///
    /// ```
    /// use std::time::Duration;
    /// use parade::engine::{Event, TaskId, TaskState};
    /// let id = TaskId::from_index(1);
    /// let e = Event::Finished { id, state: TaskState::Succeeded, duration: Duration::ZERO, reason: None };
    /// assert_eq!(e.finished(), Some((id, TaskState::Succeeded, Duration::ZERO, None)));
    /// assert_eq!(Event::Started { id }.finished(), None);
    /// ```
    pub fn finished(&self) -> Option<(TaskId, TaskState, Duration, Option<&Reason>)> {
        match self {
            Event::Finished {
                id,
                state,
                duration,
                reason,
            } => Some((*id, *state, *duration, reason.as_ref())),
            _ => None,
        }
    }
}

/// Receives events. Any `Fn(&Event) + Send + Sync` is an observer.
///
/// Observers are called outside the engine's scheduling decisions, in order, a batch of events
/// at a time ([`Observer::on_events`], which by default gives each to [`Observer::on_event`]).
/// They should be quick: a slow observer slows the threads that deliver to it.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use parade::engine::{Engine, Event, TaskSpec, Outcome};
/// let engine = Engine::inline();
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// engine.subscribe(move |e: &Event| log.lock().unwrap().push(e.clone()));
/// let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// engine.want([t]).unwrap();
/// engine.wait_all().unwrap();
/// assert_eq!(seen.lock().unwrap().len(), 3); // wanted, started, finished
/// ```
pub trait Observer: Send + Sync {
    /// Called once for each event, in order, on the engine's own observer thread (a slow
    /// observer does not slow scheduling; a wait returns once its events were delivered),
    /// by [`Observer::on_events`] unless an observer overrides that.
    fn on_event(&self, event: &Event);

    /// Called once for each batch of events, in order, instead of [`Observer::on_event`] for
    /// each: an observer that keeps state behind a lock overrides it to take its lock once per
    /// batch rather than once per event. The default gives each event to `on_event`.
    /// While an event is being taken from `events`, [`event_time`] answers when it happened.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use parade::engine::{Event, Events, Observer, TaskId};
    /// #[derive(Default)]
    /// struct Count(Mutex<usize>);
    /// impl Observer for Count {
    ///     fn on_event(&self, event: &Event) {
    ///         self.on_events(Events::from_slice(std::slice::from_ref(event)));
    ///     }
    ///     fn on_events(&self, events: Events<'_>) {
    ///         let mut n = self.0.lock().unwrap(); // once per batch
    ///         *n += events.count();
    ///     }
    /// }
    /// let count = Count::default();
    /// let batch = [Event::Wanted { id: TaskId::from_index(0) }, Event::Started { id: TaskId::from_index(0) }];
    /// count.on_events(Events::from_slice(&batch));
    /// assert_eq!(*count.0.lock().unwrap(), 2);
    /// ```
    fn on_events(&self, events: Events<'_>) {
        for event in events {
            self.on_event(event);
        }
    }
}

/// A batch of events given to [`Observer::on_events`], in order. Iterating it sets
/// [`event_time`] to the time of the event just taken (for a batch the engine delivers);
/// cheap to clone, so that one observer can hand the same batch to several.
#[derive(Clone, Debug)]
pub struct Events<'a> {
    inner: Batch<'a>,
}

#[derive(Clone, Debug)]
enum Batch<'a> {
    /// Events the engine queued, each with when it was queued.
    Timed(std::slice::Iter<'a, (Event, Instant)>),
    /// Events without a time of their own: [`event_time`] answers as it does around them.
    Plain(std::slice::Iter<'a, Event>),
}

impl<'a> Events<'a> {
    /// The events of `events`, in order, with no time of their own.
    ///
    /// ```
    /// use parade::engine::{Event, Events, TaskId};
    /// let batch = [Event::Wanted { id: TaskId::from_index(4) }];
    /// assert_eq!(Events::from_slice(&batch).map(Event::id).collect::<Vec<_>>(), [TaskId::from_index(4)]);
    /// ```
    pub fn from_slice(events: &'a [Event]) -> Self {
        Self {
            inner: Batch::Plain(events.iter()),
        }
    }

    /// Events with the moments they were queued at (the delivering thread's batches).
    pub(crate) fn timed(events: &'a [(Event, Instant)]) -> Self {
        Self {
            inner: Batch::Timed(events.iter()),
        }
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = &'a Event;

    fn next(&mut self) -> Option<&'a Event> {
        match &mut self.inner {
            Batch::Timed(it) => {
                let (event, at) = it.next()?;
                HAPPENED.with(|h| h.set(Some(*at)));
                Some(event)
            }
            Batch::Plain(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            Batch::Timed(it) => it.size_hint(),
            Batch::Plain(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for Events<'_> {}

thread_local! {
    /// When the event being delivered on this thread happened (set by the delivering thread).
    static HAPPENED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// When the event an observer is being given happened: the moment the engine queued it, not
/// the moment it is delivered (events reach observers from a thread of their own, later when
/// an observer is slow). Outside an observer's call, now. Observers that keep times (the run
/// store's recorder, the report, the displays' elapsed times) read their clock here.
///
/// A function rather than a field of [`Event`] so that every observer, also one that another
/// observer wraps and calls, sees the same time without a change of signature.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Instant;
/// use parade::engine::{Engine, Event, Outcome, TaskSpec, event_time};
/// let engine = Engine::inline();
/// let times = Arc::new(Mutex::new(Vec::new()));
/// let keep = times.clone();
/// engine.subscribe(move |_: &Event| keep.lock().unwrap().push(event_time()));
/// let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// engine.want([t]).unwrap();
/// engine.wait_all().unwrap();
/// let times = times.lock().unwrap();
/// assert!(times.windows(2).all(|w| w[0] <= w[1]) && times[2] <= Instant::now());
/// ```
pub fn event_time() -> Instant {
    HAPPENED.with(Cell::get).unwrap_or_else(Instant::now)
}

/// [`event_time`] on the wall clock.
///
/// ```
/// assert!(parade::engine::event_system_time() <= std::time::SystemTime::now());
/// ```
pub fn event_system_time() -> SystemTime {
    let ago = event_time().elapsed();
    SystemTime::now()
        .checked_sub(ago)
        .unwrap_or_else(SystemTime::now)
}

/// Runs `deliver`, which hands a batch of [`Events`] to an observer, and clears
/// [`event_time`] after it, also when the observer panics.
pub(crate) fn delivering(deliver: impl FnOnce()) {
    /// Clears the time again, also when the observer panics.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            HAPPENED.with(|h| h.set(None));
        }
    }
    let _reset = Reset;
    deliver();
}

impl<F: Fn(&Event) + Send + Sync> Observer for F {
    fn on_event(&self, event: &Event) {
        self(event);
    }
}
