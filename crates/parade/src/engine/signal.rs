//! [`Signal`]: how waiters learn that something changed, without polling.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex};

/// A generation counter that waiters sleep on, cheap to notify when nobody sleeps.
///
/// A waiter takes a [`Ticket`] *before* checking its condition, then sleeps on the ticket only
/// if the condition was false; whoever changes what waiters check calls [`Signal::notify`]
/// afterwards. A change made after the ticket was taken always wakes the ticket, so no wake-up
/// is lost.
///
/// It also counts those changes ([`Signal::changes`]): a waiter whose condition was false
/// when the count read `n` need not look again while it still reads `n`, so a thread running
/// job after job looks at its condition only when something it may wait for changed.
/// Executors that only have new work to hand a waiter wake it with
/// [`Signal::notify_work`], which leaves the count alone.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use parade::engine::Signal;
/// let signal = Arc::new(Signal::default());
/// let flag = Arc::new(AtomicBool::new(false));
/// let (s, f) = (signal.clone(), flag.clone());
/// let t = std::thread::spawn(move || { f.store(true, Ordering::SeqCst); s.notify(); });
/// loop {
///     let ticket = signal.ticket();
///     if flag.load(Ordering::SeqCst) { break; }
///     ticket.wait();
/// }
/// t.join().unwrap();
/// ```
#[derive(Default)]
pub struct Signal {
    generation: Mutex<u64>,
    changed: Condvar,
    sleepers: AtomicUsize,
    /// How many times [`Signal::notify`] was called.
    changes: AtomicU64,
}

/// A waiter's registration with a [`Signal`]: taken before checking, waited on after.
#[must_use = "a ticket does nothing unless waited on"]
pub struct Ticket<'a> {
    signal: &'a Signal,
    seen: u64,
}

impl Signal {
    /// Registers a waiter; check your condition after this and [`Ticket::wait`] if it is false.
    pub fn ticket(&self) -> Ticket<'_> {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let seen = *self.generation.lock();
        Ticket { signal: self, seen }
    }

    /// Says that what waiters check may have changed: counts the change and wakes every
    /// ticket taken before this call (cheap when there is none).
    pub fn notify(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.wake();
    }

    /// Wakes every ticket taken before this call without counting a change: there is new work
    /// for a waiter that helps run jobs, but nothing it waits for changed.
    pub fn notify_work(&self) {
        self.wake();
    }

    /// How many changes [`Signal::notify`] announced so far. Read it before checking a
    /// condition: while it reads the same, a condition found false is still false.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    fn wake(&self) {
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            *self.generation.lock() += 1;
            self.changed.notify_all();
        }
    }
}

impl Ticket<'_> {
    /// Sleeps until [`Signal::notify`] or [`Signal::notify_work`] is called after this ticket
    /// was taken.
    pub fn wait(self) {
        let mut generation = self.signal.generation.lock();
        while *generation == self.seen {
            self.signal.changed.wait(&mut generation);
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.signal.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}
