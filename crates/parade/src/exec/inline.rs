//! [`Inline`]: jobs run one at a time on the thread that waits for them.

use std::collections::VecDeque;

use parking_lot::Mutex;

use super::{Executor, help_until};
use crate::engine::{Progress, Runnable, Signal};

/// Runs jobs on the thread that waits, one at a time, in the order the engine started them.
///
/// With a capacity of one, the engine starts the next task only when the last one ended, so a
/// run is fully deterministic: the same graph always runs in the same order. Nothing runs
/// until someone waits.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use parade::engine::{Engine, TaskSpec, Outcome};
/// let engine = Engine::inline();
/// let order = Arc::new(Mutex::new(Vec::new()));
/// let ids: Vec<_> = (0..3).map(|i| {
///     let order = order.clone();
///     engine.add(TaskSpec::new(move |_| { order.lock().unwrap().push(i); Outcome::Succeeded })).unwrap()
/// }).collect();
/// engine.want(ids.iter().rev().copied()).unwrap();
/// engine.wait_all().unwrap();
/// assert_eq!(*order.lock().unwrap(), [0, 1, 2]); // oldest first
/// ```
#[derive(Default)]
pub struct Inline {
    queue: Mutex<VecDeque<Runnable>>,
}

impl Inline {
    /// An inline executor.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Executor for Inline {
    fn name(&self) -> &'static str {
        "inline"
    }

    fn capacity(&self) -> usize {
        1
    }

    fn spawn(&self, jobs: Vec<Runnable>) {
        let mut queue = self.queue.lock();
        queue.extend(jobs);
        notify_from(&queue);
    }

    fn spawn_one(&self, job: Runnable) {
        let mut queue = self.queue.lock();
        queue.push_back(job);
        notify_from(&queue);
    }

    fn block_until(&self, check: &mut dyn FnMut() -> Progress, signal: &Signal) -> Progress {
        help_until(check, signal, || self.queue.lock().pop_front())
    }
}

/// Wakes whoever waits on the engine of the job queued last. Called under the queue's lock,
/// so the engine is borrowed from the queue rather than cloned (and dropped) per job; no
/// waiter holds its signal's lock while it takes the queue's, so the order is safe.
fn notify_from(queue: &VecDeque<Runnable>) {
    if let Some(job) = queue.back() {
        job.engine().signal().notify_work();
    }
}
