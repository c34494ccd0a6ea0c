//! Delivering events to observers from a thread of their own, so that a slow observer does not
//! hold up the threads that schedule and run tasks.
//!
//! The engine moves the events its operations recorded into this queue in order (under its
//! core lock); one thread per engine, started with the first observer, hands them to the
//! observers a batch at a time (all that waited), to each observer the whole batch in that
//! order ([`Observer::on_events`]). The queue is bounded: a thread that adds events
//! while more than [`BOUND`] wait blocks until the observers are down to half of that (it is
//! slowed, nothing is dropped, `Finished` events included). Waiting for tasks
//! ([`Engine::wait`](super::Engine::wait) and the others) returns only once the events of
//! what it waited for were delivered, so code after a wait sees what its observers saw.
//!
//! The delivering thread is woken only when it sleeps for want of events: after a batch it
//! looks again by itself after [`PACE`] (or at once when a wait, the bound or the end asks),
//! so that a run of tasks each a few hundred microseconds long wakes it once every few
//! milliseconds, not once per task on the thread that ends one and starts the next (the
//! critical path of a chain). Events reach observers at most [`PACE`] later than they happen.
//!
//! This module knows events and observers; it does not know tasks or executors.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Instant;

use parking_lot::{Condvar, Mutex, RwLock};

use super::event::delivering;
use super::{Event, Events, Observer};

/// How many events may wait for the observers before those adding more wait too.
pub(crate) const BOUND: usize = 64 * 1024;

/// How long the delivering thread waits after a batch before it takes the next one, unless
/// asked sooner: events that come meanwhile wake no thread.
pub(crate) const PACE: std::time::Duration = std::time::Duration::from_millis(4);

/// The events waiting for the observers, and the observers.
pub(crate) struct Delivery {
    queue: Mutex<Queue>,
    /// Wakes the delivering thread.
    ready: Condvar,
    /// Wakes those waiting for room or for the queue to drain.
    drained: Condvar,
    observers: RwLock<Vec<Arc<dyn Observer>>>,
}

#[derive(Default)]
struct Queue {
    /// Each event with the moment it was queued, which observers read as
    /// [`event_time`](super::event_time).
    events: VecDeque<(Event, Instant)>,
    /// Events queued so far, and delivered so far.
    pushed: u64,
    done: u64,
    closed: bool,
    /// The delivering thread, once started.
    thread: Option<ThreadId>,
    /// Whether the delivering thread sleeps until an event comes (then a push wakes it);
    /// between batches it wakes by itself.
    idle: bool,
    /// Threads waiting for the queue to drain ([`Delivery::flush`]): no pause for them.
    flushing: usize,
    /// How many times the delivering thread was woken from sleeping for want of events.
    #[cfg(test)]
    woken: u64,
}

impl Delivery {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            drained: Condvar::new(),
            observers: RwLock::new(Vec::new()),
        })
    }

    /// Adds `observer`, starting the delivering thread with the first one.
    pub(crate) fn subscribe(self: &Arc<Self>, observer: Arc<dyn Observer>) {
        self.observers.write().push(observer);
        let mut queue = self.queue.lock();
        if queue.thread.is_none() {
            let me = self.clone();
            let spawned = std::thread::Builder::new()
                .name("parade-observers".into())
                .spawn(move || me.run());
            match spawned {
                Ok(handle) => queue.thread = Some(handle.thread().id()),
                Err(e) => panic!("parade: cannot start the thread that delivers events: {e}"),
            }
        }
    }

    /// Queues `events` in order (the caller holds the lock that orders them).
    pub(crate) fn push(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let at = Instant::now();
        let mut queue = self.queue.lock();
        queue.pushed += events.len() as u64;
        queue.events.extend(events.into_iter().map(|e| (e, at)));
        if queue.idle {
            queue.idle = false;
            #[cfg(test)]
            {
                queue.woken += 1;
            }
            self.ready.notify_one();
        }
    }

    /// Waits while the queue is over its bound (not on the delivering thread: an observer
    /// that adds events must not wait for itself).
    pub(crate) fn throttle(&self) {
        let mut queue = self.queue.lock();
        if queue.thread == Some(std::thread::current().id()) {
            return;
        }
        if queue.events.len() > BOUND {
            self.ready.notify_one();
            while queue.events.len() > BOUND / 2 && queue.thread.is_some() {
                self.drained.wait(&mut queue);
            }
        }
    }

    /// Waits until every event queued so far was delivered (at once on the delivering thread).
    pub(crate) fn flush(&self) {
        let mut queue = self.queue.lock();
        if queue.thread.is_none() || queue.thread == Some(std::thread::current().id()) {
            return;
        }
        let target = queue.pushed;
        if queue.done < target {
            // Now, not after the pace.
            self.ready.notify_one();
        }
        queue.flushing += 1;
        while queue.done < target {
            self.drained.wait(&mut queue);
        }
        queue.flushing -= 1;
    }

    /// Lets the delivering thread end once it delivered what is queued.
    pub(crate) fn close(&self) {
        self.queue.lock().closed = true;
        self.ready.notify_all();
    }

    fn run(&self) {
        // The batch being delivered; its room is kept for the next one (swapped with the
        // queue's, not copied out of it).
        let mut batch: VecDeque<(Event, Instant)> = VecDeque::new();
        loop {
            {
                let mut queue = self.queue.lock();
                while queue.events.is_empty() && !queue.closed {
                    queue.idle = true;
                    self.ready.wait(&mut queue);
                }
                queue.idle = false;
                if queue.events.is_empty() {
                    return;
                }
                std::mem::swap(&mut queue.events, &mut batch);
            }
            let n = batch.len() as u64;
            self.deliver(batch.make_contiguous());
            // The events (and their lines) are dropped outside the queue's lock.
            batch.clear();
            if batch.capacity() > 2 * BOUND {
                batch = VecDeque::new();
            }
            let mut queue = self.queue.lock();
            queue.done += n;
            self.drained.notify_all();
            // The next batch gathers meanwhile; a wait, the bound or the end cut this short.
            // Over half the bound there is no pause: a pusher held by the bound waits for the
            // queue to be back under half of it.
            if !queue.closed && queue.flushing == 0 && queue.events.len() <= BOUND / 2 {
                let _ = self.ready.wait_for(&mut queue, PACE);
            }
        }
    }

    /// How many times the delivering thread was woken from sleeping for want of events.
    #[cfg(test)]
    pub(crate) fn woken(&self) -> u64 {
        self.queue.lock().woken
    }

    /// Hands `batch` to each observer in turn, whole and in order ([`Observer::on_events`]:
    /// an observer takes its lock once per batch, not once per event). One `catch_unwind`
    /// per observer and batch: an observer that panics is dropped, and the others get the
    /// whole batch, so they miss nothing.
    fn deliver(&self, batch: &[(Event, Instant)]) {
        let observers = self.observers.read().clone();
        for o in &observers {
            let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                delivering(|| o.on_events(Events::timed(batch)));
            }));
            if delivered.is_err() {
                // An observer that panics is dropped; the run and the others go on.
                self.observers.write().retain(|kept| !Arc::ptr_eq(kept, o));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::engine::TaskId;

    /// Counts the events it is given; panics at the `panic_at`-th one (counting from 1).
    struct Counting {
        seen: AtomicUsize,
        panic_at: usize,
    }

    impl Observer for Counting {
        fn on_event(&self, _: &Event) {
            let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(n != self.panic_at, "observer fails on purpose");
        }
    }

    /// Keeps the ids it is given and when each happened, and how many batches it got.
    #[derive(Default)]
    struct Batching {
        seen: parking_lot::Mutex<Vec<(usize, Instant)>>,
        batches: AtomicUsize,
    }

    impl Observer for Batching {
        fn on_event(&self, _: &Event) {
            unreachable!("given batches only");
        }
        fn on_events(&self, events: Events<'_>) {
            self.batches.fetch_add(1, Ordering::SeqCst);
            let mut seen = self.seen.lock();
            for e in events {
                seen.push((e.id().index(), crate::engine::event_time()));
            }
        }
    }

    #[test]
    fn events_coming_every_few_hundred_microseconds_wake_the_delivering_thread_seldom() {
        let delivery = Delivery::new();
        let counting = Arc::new(Counting {
            seen: AtomicUsize::new(0),
            panic_at: 0,
        });
        delivery.subscribe(counting.clone());
        // A chain of short tasks: an end and the next start every 300 µs.
        let pushes = 100;
        // A pause of half the pace or more (a loaded machine oversleeping) may let it sleep
        // and be woken once: those are allowed for.
        let mut long_pauses = 0;
        let mut last = Instant::now();
        for i in 0..pushes {
            std::thread::sleep(std::time::Duration::from_micros(300));
            let now = Instant::now();
            if now - last >= PACE / 2 {
                long_pauses += 1;
            }
            last = now;
            let id = TaskId::from_index(i);
            delivery.push(vec![Event::Started { id }]);
        }
        delivery.flush();
        assert_eq!(counting.seen.load(Ordering::SeqCst), pushes);
        let woken = delivery.woken();
        delivery.close();
        // Each push into an empty queue woke it (100) before it paced itself; now it wakes
        // about once per pause with nothing queued, and otherwise looks by itself.
        assert!(
            woken * 4 <= pushes as u64 + 4 * long_pauses,
            "woken {woken} times for {pushes} pushes ({long_pauses} long pauses)"
        );
    }

    #[test]
    fn a_batch_observer_gets_the_batch_once_in_order_and_a_default_one_every_event() {
        let delivery = Delivery::new();
        let batching = Arc::new(Batching::default());
        let plain = Arc::new(Counting {
            seen: AtomicUsize::new(0),
            panic_at: 0,
        });
        let kept: [Arc<dyn Observer>; 2] = [batching.clone(), plain.clone()];
        delivery.observers.write().extend(kept);
        // Times well before now, so that after the batch `event_time` (now again) is later.
        let before = Instant::now();
        let start = before
            .checked_sub(std::time::Duration::from_secs(10))
            .unwrap_or(before);
        let batch: Vec<(Event, Instant)> = (0..5)
            .map(|i| {
                let id = TaskId::from_index(i);
                let at = start + std::time::Duration::from_millis(i as u64);
                (Event::Started { id }, at)
            })
            .collect();
        delivery.deliver(&batch);
        assert_eq!(batching.batches.load(Ordering::SeqCst), 1);
        let want: Vec<(usize, Instant)> =
            batch.iter().map(|(e, at)| (e.id().index(), *at)).collect();
        assert_eq!(
            *batching.seen.lock(),
            want,
            "in order, each with its own time"
        );
        assert_eq!(
            plain.seen.load(Ordering::SeqCst),
            5,
            "the default gives each event"
        );
        assert!(
            crate::engine::event_time() >= before,
            "no event's time is left after its batch"
        );
    }

    #[test]
    fn an_observer_panicking_inside_a_batch_is_dropped_and_the_others_get_every_event() {
        let delivery = Delivery::new();
        let counting = |panic_at| {
            Arc::new(Counting {
                seen: AtomicUsize::new(0),
                panic_at,
            })
        };
        // Kept ones before, between and after the panicking ones; the last in the list panics.
        let (first, early, middle, fourth, late) = (
            counting(0),
            counting(2),
            counting(0),
            counting(0),
            counting(5),
        );
        let observers: [Arc<dyn Observer>; 5] = [
            first.clone(),
            early.clone(),
            middle.clone(),
            fourth.clone(),
            late.clone(),
        ];
        delivery.observers.write().extend(observers);
        let at = Instant::now();
        let batch: Vec<(Event, Instant)> = (0..7)
            .map(|i| {
                (
                    Event::Started {
                        id: TaskId::from_index(i),
                    },
                    at,
                )
            })
            .collect();
        delivery.deliver(&batch);
        for kept in [&first, &middle, &fourth] {
            assert_eq!(kept.seen.load(Ordering::SeqCst), 7, "{}", kept.panic_at);
        }
        assert_eq!(
            early.seen.load(Ordering::SeqCst),
            2,
            "not called after its panic"
        );
        assert_eq!(
            late.seen.load(Ordering::SeqCst),
            5,
            "not called after its panic"
        );
        assert_eq!(delivery.observers.read().len(), 3, "both dropped for good");
        delivery.deliver(&batch);
        assert_eq!(first.seen.load(Ordering::SeqCst), 14);
        assert_eq!(early.seen.load(Ordering::SeqCst), 2);
    }
}
