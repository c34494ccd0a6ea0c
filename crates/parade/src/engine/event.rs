//! Events: the only way news leaves the engine, and the observers that receive them.

use std::time::Duration;

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
}

/// Receives events. Any `Fn(&Event) + Send + Sync` is an observer.
///
/// Observers are called outside the engine's scheduling decisions, one event at a time, in order.
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
    /// observer does not slow scheduling; a wait returns once its events were delivered).
    fn on_event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> Observer for F {
    fn on_event(&self, event: &Event) {
        self(event);
    }
}
