//! The parent's up-to-date gate for procs that run outside this process: an [`Executor`] in
//! front of the flow's own (the process executor, Slurm's, any custom one) that, for a flow
//! with a run store, decides each proc whose body runs in a worker before it is dispatched.
//! Only the parent knows the dependencies' states, so the decision cannot be the worker's. An
//! up-to-date proc ends here with its stored result and no worker starts; the others go on to
//! the executor in the batch they came in (so a cluster executor still sees its batches).
//!
//! The decision reads the flow's tables and hashes input files, and `spawn` may be called
//! while the flow holds its own lock: it is made on a thread of the
//! [`ThreadCache`](crate::exec::thread_cache::ThreadCache), never in `spawn` itself. Flows
//! without a store pass every job straight through.
//!
//! It owns when the decision is made; what it decides is [`incremental`](super::incremental)'s.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use crate::engine::{Engine, Executor, Outcome, Progress, Runnable, Signal, TaskId};
use crate::exec::thread_cache::ThreadCache;

use super::Flow;
use super::handle::Inner;

/// The flow's executor behind its up-to-date gate.
pub(crate) struct Gate {
    inner: Arc<dyn Executor>,
    flow: OnceLock<Weak<Inner>>,
}

impl Gate {
    /// `inner` behind a gate, bound to its flow with [`Gate::bind`].
    pub(crate) fn new(inner: Arc<dyn Executor>) -> Arc<Gate> {
        Arc::new(Gate {
            inner,
            flow: OnceLock::new(),
        })
    }

    /// Binds the gate to the flow whose procs it decides.
    pub(crate) fn bind(&self, flow: &Flow) {
        let _ = self.flow.set(Arc::downgrade(&flow.inner));
        let _ = flow.inner.memory.base.set(self.inner.clone());
    }

    /// The bound flow, if `r` is one of its tasks and the flow has a store.
    fn flow_of(&self, r: &Runnable) -> Option<Flow> {
        let inner = self.flow.get()?.upgrade()?;
        let flow = Flow { inner };
        (flow.inner.engine.key() == r.engine().key() && flow.has_store()).then_some(flow)
    }
}

impl Executor for Gate {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    fn in_process(&self) -> bool {
        self.inner.in_process()
    }

    fn spawn(&self, jobs: Vec<Runnable>) {
        let Some(flow) = jobs.first().and_then(|r| self.flow_of(r)) else {
            self.inner.spawn(jobs);
            return;
        };
        let inner = self.inner.clone();
        ThreadCache::global().execute(move || {
            let mut dispatched = Vec::with_capacity(jobs.len());
            let mut ended = Vec::new();
            for r in jobs {
                match decide(&flow, r.id()) {
                    Some(outcome) => ended.push((r, outcome)),
                    None => dispatched.push(r),
                }
            }
            if !dispatched.is_empty() {
                inner.spawn(dispatched);
            }
            for (r, outcome) in ended {
                r.finish(outcome, Duration::ZERO);
            }
        });
    }

    fn block_until(&self, check: &mut dyn FnMut() -> Progress, signal: &Signal) -> Progress {
        self.inner.block_until(check, signal)
    }

    fn cancel(&self, engine: &Engine, id: TaskId) {
        self.inner.cancel(engine, id);
    }
}

/// How task `id` ends without a worker, or `None` to dispatch it (a proc not tracked, a
/// command, or a check that panicked: the executor runs it as it would without the gate).
fn decide(flow: &Flow, id: TaskId) -> Option<Outcome> {
    let name = flow.inner.names.get(id)?;
    let tracked = flow.tracked(&name)?;
    catch_unwind(AssertUnwindSafe(|| flow.decide_remote(&name, &tracked))).unwrap_or(None)
}
