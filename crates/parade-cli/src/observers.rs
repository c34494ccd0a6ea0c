//! The observers of one `parade run` (run store, logs, report, display), as one list that
//! gets both the engine's events and the events of tasks decided before the engine: an
//! up-to-date task that no task of the run needs never becomes an engine job
//! ([`crate::ahead`]), and yet every observer sees it as before (wanted, started, finished
//! `up-to-date`), in order, ahead of the engine's first event.
//!
//! It owns the fan-out and [`Subscribe`], what a face subscribes to; it knows nothing of how
//! tasks are decided or shown.

use std::sync::{Arc, PoisonError, RwLock};

use parade::engine::{Engine, Event, Events, Observer};

/// Something observers are subscribed to: an [`Engine`], or a run's [`Observers`].
pub trait Subscribe {
    /// Adds `observer`: it gets every event from now on, in order.
    fn subscribe(&self, observer: impl Observer + 'static);
}

impl Subscribe for Engine {
    fn subscribe(&self, observer: impl Observer + 'static) {
        Engine::subscribe(self, observer);
    }
}

/// The observers of a run: one [`Observer`] handing each event (each batch of events) to each
/// of them in the order they were added. Subscribe it to the engine once;
/// [`Observers::deliver`] gives them events that do not come from the engine. Cheap to clone; clones share the list.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use parade::engine::{Event, TaskId};
/// use parade_cli::observers::{Observers, Subscribe};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let observers = Observers::default();
/// let keep = seen.clone();
/// observers.subscribe(move |e: &Event| keep.lock().unwrap().push(e.id().index()));
/// observers.deliver(&Event::Wanted { id: TaskId::from_index(7) });
/// assert_eq!(*seen.lock().unwrap(), [7]);
/// ```
#[derive(Clone, Default)]
pub struct Observers {
    list: Arc<RwLock<Vec<Arc<dyn Observer>>>>,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("len", &self.len())
            .finish()
    }
}

impl Observers {
    /// Hands `event` to every observer, on this thread, now.
    pub fn deliver(&self, event: &Event) {
        let list = self.list.read().unwrap_or_else(PoisonError::into_inner);
        for o in list.iter() {
            o.on_event(event);
        }
    }

    /// How many observers there are.
    pub fn len(&self) -> usize {
        self.list
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Subscribe for Observers {
    fn subscribe(&self, observer: impl Observer + 'static) {
        self.list
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(observer));
    }
}

impl Observer for Observers {
    fn on_event(&self, event: &Event) {
        self.deliver(event);
    }

    /// Hands the whole batch to each observer in turn (each takes its lock once per batch);
    /// the list is read once per batch.
    fn on_events(&self, events: Events<'_>) {
        let list = self.list.read().unwrap_or_else(PoisonError::into_inner);
        for o in list.iter() {
            o.on_events(events.clone());
        }
    }
}
