//! The job a proc's engine task runs: the proc's body with its context, its result stored, and
//! how it ended told to the engine; and engine errors turned into errors that name procs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use serde_json::Value;

use crate::engine::{EngineError, Outcome, Reason, TaskContext, TaskId, panic_message};

use super::table::Table;
use super::{Context, Decl, Flow, FlowError, ProcError};

impl Flow {
    /// The job the engine runs for proc `id`.
    pub(crate) fn job(
        &self,
        args: Arc<[(String, String)]>,
        decl: &Decl,
    ) -> impl FnOnce(&TaskContext) -> Outcome + Send + 'static {
        let weak = Arc::downgrade(&self.inner);
        let body = decl.body.clone();
        move |task: &TaskContext| {
            let Some(inner) = weak.upgrade() else {
                return Outcome::failed("the flow was dropped before this proc ran");
            };
            let flow = Flow { inner };
            let id = task.id();
            let Some(name) = flow.inner.names.get(id) else {
                return Outcome::failed("the flow has no name for this task");
            };
            let ctx = Context {
                task,
                flow: &flow,
                name: &name,
                args: &args,
            };
            let (value, outcome, no_change) = match catch_unwind(AssertUnwindSafe(|| body(&ctx))) {
                Ok(Ok(v)) => (v, Outcome::Succeeded, false),
                Ok(Err(ProcError::Failed(m))) => {
                    task.emit(format!("error: {m}"));
                    (Value::Null, Outcome::failed(m), false)
                }
                Ok(Err(ProcError::Skipped(m))) => (Value::Null, Outcome::skipped(m), false),
                Ok(Err(ProcError::NoChange)) => (Value::Null, Outcome::skipped("no change"), true),
                Ok(Err(ProcError::Exit(code))) => {
                    (Value::Null, Outcome::Failed(Reason::Exit(code)), false)
                }
                Ok(Err(ProcError::Signal(sig))) => {
                    (Value::Null, Outcome::Failed(Reason::Signal(sig)), false)
                }
                Ok(Err(ProcError::Stopped)) => {
                    let reason = match (task.deadline(), task.timeout) {
                        (Some(d), Some(limit)) if std::time::Instant::now() >= d => {
                            Reason::Timeout(limit)
                        }
                        _ => Reason::Cancelled,
                    };
                    (Value::Null, Outcome::Failed(reason), false)
                }
                Err(p) => (
                    Value::Null,
                    Outcome::Failed(Reason::Panic(panic_message(p.as_ref()))),
                    false,
                ),
            };
            flow.store(id, value, no_change);
            outcome
        }
    }

    /// Turns an engine error into one that names procs.
    #[allow(clippy::unused_self)] // kept a method so every translation reads the same
    pub(crate) fn translate(&self, t: &Table, e: EngineError, adding: &str) -> FlowError {
        let name = |id: TaskId| {
            if t.procs.get(id.index()).is_some_and(Option::is_some) {
                t.name(id)
            } else {
                adding.to_owned()
            }
        };
        match e {
            EngineError::Cycle(ids) => FlowError::Cycle(ids.into_iter().map(name).collect()),
            EngineError::WaveOrder {
                task,
                task_wave,
                dep,
                dep_wave,
            } => FlowError::WaveOrder {
                proc: name(task),
                wave: task_wave,
                dep: name(dep),
                dep_wave,
            },
            EngineError::Deadlock(ids) => FlowError::Deadlock(ids.into_iter().map(name).collect()),
            EngineError::UnknownTask(id) => FlowError::UnknownProc(name(id)),
            other => FlowError::Engine(other),
        }
    }

    pub(crate) fn translate_unlocked(&self, e: EngineError) -> FlowError {
        let t = self.inner.table.lock();
        self.translate(&t, e, "")
    }
}
