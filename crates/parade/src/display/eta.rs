//! Expected remaining time for the live display: each running task's (its expected duration,
//! from a lookup such as the run store's weighted mean of recent successful runs, less its
//! time so far) and the whole run's (the work left spread over the slots seen running).
//!
//! It owns the arithmetic and the bookkeeping of which tasks wait and run; it must not know
//! where expectations come from (the lookup is a closure).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::TaskNames;
use crate::engine::{Event, TaskId};

/// How long a task is expected to take, by name (`None`: no history).
pub type Expected = Arc<dyn Fn(&str) -> Option<Duration> + Send + Sync>;

/// Tracks waiting and running tasks and answers "how long still".
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use parade::display::eta::Eta;
/// use parade::engine::{Event, TaskId};
/// let eta = Eta::new(Arc::new(|_: &str| Some(Duration::from_secs(10))));
/// let names = |id: TaskId| Some(format!("t{}", id.index()));
/// eta.on_event(&Event::Wanted { id: TaskId::from_index(0) });
/// eta.on_event(&Event::Wanted { id: TaskId::from_index(1) });
/// eta.on_event(&Event::Started { id: TaskId::from_index(0) });
/// let left = eta.remaining(TaskId::from_index(0), Duration::from_secs(4), &names).unwrap();
/// assert_eq!(left, Duration::from_secs(6));
/// // 6 s of t0 and 10 s of t1 on the one slot seen running.
/// assert_eq!(eta.run_eta(&names, |_| Duration::from_secs(4)), Some(Duration::from_secs(16)));
/// ```
pub struct Eta {
    expected: Expected,
    state: Mutex<EtaState>,
}

#[derive(Default)]
struct EtaState {
    waiting: HashSet<TaskId>,
    running: HashSet<TaskId>,
    slots: usize,
    known: HashMap<TaskId, Option<Duration>>,
}

impl Eta {
    /// Looks expectations up with `expected`.
    pub fn new(expected: Expected) -> Self {
        Eta {
            expected,
            state: Mutex::default(),
        }
    }

    /// Follows the run: wanted tasks wait, started ones run, finished ones are done.
    pub fn on_event(&self, event: &Event) {
        if matches!(event, Event::Output { .. }) {
            // A line changes nothing here: not even the lock (this runs on every line).
            return;
        }
        let mut st = self.state.lock();
        match event {
            Event::Wanted { id } => {
                st.waiting.insert(*id);
            }
            Event::Started { id } => {
                st.waiting.remove(id);
                st.running.insert(*id);
                st.slots = st.slots.max(st.running.len());
            }
            Event::Finished { id, .. } => {
                st.waiting.remove(id);
                st.running.remove(id);
            }
            Event::Output { .. } => {}
        }
    }

    fn expected(&self, st: &mut EtaState, id: TaskId, names: &dyn TaskNames) -> Option<Duration> {
        *st.known
            .entry(id)
            .or_insert_with(|| names.name(id).and_then(|n| (self.expected)(&n)))
    }

    /// How much longer task `id`, running for `elapsed`, is expected to take (zero once it is
    /// past its expectation), or `None` without history.
    pub fn remaining(
        &self,
        id: TaskId,
        elapsed: Duration,
        names: &dyn TaskNames,
    ) -> Option<Duration> {
        let mut st = self.state.lock();
        self.expected(&mut st, id, names)
            .map(|e| e.saturating_sub(elapsed))
    }

    /// The run's expected remaining time: what the running tasks have left plus what the
    /// waiting ones take, over the most slots seen running at once; never less than the
    /// longest remainder of a running task. `None` when no task has history. `elapsed` gives a
    /// running task's time so far.
    pub fn run_eta(
        &self,
        names: &dyn TaskNames,
        elapsed: impl Fn(TaskId) -> Duration,
    ) -> Option<Duration> {
        let mut st = self.state.lock();
        let running: Vec<TaskId> = st.running.iter().copied().collect();
        let waiting: Vec<TaskId> = st.waiting.iter().copied().collect();
        let (mut work, mut longest, mut any) = (Duration::ZERO, Duration::ZERO, false);
        for id in running {
            if let Some(e) = self.expected(&mut st, id, names) {
                let left = e.saturating_sub(elapsed(id));
                work += left;
                longest = longest.max(left);
                any = true;
            }
        }
        for id in waiting {
            if let Some(e) = self.expected(&mut st, id, names) {
                work += e;
                any = true;
            }
        }
        let slots = u32::try_from(st.slots.max(1)).unwrap_or(u32::MAX);
        any.then(|| (work / slots).max(longest))
    }
}

/// `~3.2s left`, `~4m10s left`.
pub fn left(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("~{secs:.1}s left")
    } else {
        let whole = d.as_secs();
        format!("~{}m{:02}s left", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: usize) -> TaskId {
        TaskId::from_index(i)
    }

    #[test]
    fn the_run_eta_spreads_work_over_the_slots_and_skips_tasks_without_history() {
        let eta = Eta::new(Arc::new(|n: &str| {
            (n != "new").then(|| Duration::from_secs(if n == "t0" { 8 } else { 4 }))
        }));
        let names = |i: TaskId| {
            Some(match i.index() {
                0 => "t0".to_owned(),
                1 => "t1".to_owned(),
                2 => "t2".to_owned(),
                _ => "new".to_owned(),
            })
        };
        for i in 0..4 {
            eta.on_event(&Event::Wanted { id: id(i) });
        }
        assert_eq!(
            eta.run_eta(&names, |_| Duration::ZERO),
            Some(Duration::from_secs(16))
        );
        eta.on_event(&Event::Started { id: id(0) });
        eta.on_event(&Event::Started { id: id(1) });
        // Two slots: (8-2) + (4-2) + 4 = 12 s of work → 6 s, not less than t0's 6 s left.
        assert_eq!(
            eta.run_eta(&names, |_| Duration::from_secs(2)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(
            eta.remaining(id(1), Duration::from_secs(9), &names),
            Some(Duration::ZERO)
        );
        assert_eq!(eta.remaining(id(3), Duration::ZERO, &names), None);
        assert_eq!(left(Duration::from_secs(250)), "~4m10s left");
    }
}
