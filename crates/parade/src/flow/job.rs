//! The job a proc's engine task runs: the proc's body with its context, its result stored, and
//! how it ended told to the engine; and engine errors turned into errors that name procs.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Weak};

use serde_json::Value;

use crate::engine::{EngineError, Job, Outcome, Reason, TaskContext, TaskId, panic_message};
use crate::exec::process::refuse_pending;

use super::handle::Inner;
use super::incremental::{Check, Incremental};
use super::ops::Local;
use super::table::Table;
use super::{ArgList, Body, Context, Decl, Flow, FlowError, ProcError};

/// How a proc's body ended: the value to store, the outcome, and whether it said "no change".
pub(crate) struct Ending {
    pub(crate) value: Value,
    pub(crate) outcome: Outcome,
    pub(crate) no_change: bool,
}

/// Runs `body` with `ctx`, catching a panic, and says how it ended (a failure's message is
/// emitted first, for the proc's log).
pub(crate) fn run_body(body: &Body, ctx: &Context<'_>) -> Ending {
    let end = |value, outcome, no_change| Ending {
        value,
        outcome,
        no_change,
    };
    match catch_unwind(AssertUnwindSafe(|| body(ctx))) {
        Ok(Ok(v)) => end(v, Outcome::Succeeded, false),
        Ok(Err(ProcError::Failed(m))) => {
            ctx.emit(format!("error: {m}"));
            end(Value::Null, Outcome::failed(m), false)
        }
        Ok(Err(ProcError::Skipped(m))) => end(Value::Null, Outcome::skipped(m), false),
        Ok(Err(ProcError::UpToDate { result, why })) => end(result, Outcome::UpToDate(why), false),
        Ok(Err(ProcError::NoChange)) => end(Value::Null, Outcome::skipped(NO_CHANGE), true),
        Ok(Err(ProcError::Exit(code))) => {
            end(Value::Null, Outcome::Failed(Reason::Exit(code)), false)
        }
        Ok(Err(ProcError::Signal(sig))) => {
            end(Value::Null, Outcome::Failed(Reason::Signal(sig)), false)
        }
        Ok(Err(ProcError::Stopped)) => {
            let reason = match (ctx.deadline(), ctx.task().and_then(|t| t.timeout)) {
                (Some(d), Some(limit)) if std::time::Instant::now() >= d => Reason::Timeout(limit),
                _ => Reason::Cancelled,
            };
            end(Value::Null, Outcome::Failed(reason), false)
        }
        Err(p) => end(
            Value::Null,
            Outcome::Failed(Reason::Panic(panic_message(p.as_ref()))),
            false,
        ),
    }
}

/// The skip reason of a proc that reported "no change".
pub(crate) const NO_CHANGE: &str = "no change";

/// The engine job of a proc: its body, run here, and what an executor outside this process
/// runs instead (a worker call naming the proc, or the proc's command). One allocation a
/// proc: the body and what decides up to date are its definition's, shared, and a glob's
/// instance holds its place in the glob's span for arguments.
pub(crate) struct ProcJob {
    flow: Weak<Inner>,
    body: Body,
    incremental: Arc<Incremental>,
    args: ArgList,
    remote: Option<Box<dyn Any + Send + Sync>>,
}

impl Job for ProcJob {
    fn run(self: Box<Self>, task: &TaskContext) -> Outcome {
        self.run_here(task)
    }

    fn remote(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.remote.as_deref()
    }
}

impl ProcJob {
    /// Runs the body on this thread: unless up to date, with its result stored.
    fn run_here(&self, task: &TaskContext) -> Outcome {
        // A worker process runs only the proc it was started for.
        refuse_pending("ran other tasks");
        let Some(inner) = self.flow.upgrade() else {
            return Outcome::failed("the flow was dropped before this proc ran");
        };
        let flow = Flow { inner };
        let id = task.id();
        let Some(name) = flow.inner.names.get(id) else {
            return Outcome::failed("the flow has no name for this task");
        };
        let ops = Local { flow: &flow, task };
        // A glob's instance has its arguments made here, when it runs.
        let args = self.args.as_slice();
        let ctx = Context {
            ops: &ops,
            task: Some(task),
            flow: &flow,
            name: &name,
            args: &args,
        };
        if let Some(outcome) = flow.kept(&name) {
            return outcome;
        }
        let deps = if flow.has_store() {
            flow.deps_of(&name)
        } else {
            Vec::new()
        };
        let incremental = &*self.incremental;
        let key = match flow.check(&name, &args, incremental, &deps) {
            Ok(Check::UpToDate(value, why)) => {
                flow.store(id, value, false);
                return Outcome::UpToDate(why);
            }
            Ok(Check::Run(key)) => Some(key),
            Ok(Check::Untracked) => None,
            Err(why) => {
                flow.store(id, Value::Null, false);
                return Outcome::failed(why);
            }
        };
        let mut ending = run_body(&self.body, &ctx);
        match (&key, &ending.outcome) {
            (Some(key), Outcome::Succeeded) => {
                if let Err(why) = flow.finished_ok(&name, key, incremental, &ending.value) {
                    ctx.emit(format!("error: {why}"));
                    ending.outcome = Outcome::failed(why);
                }
            }
            (Some(key), Outcome::Skipped(_)) => flow.finished_skipped(&name, key),
            _ => {}
        }
        flow.store(id, ending.value, ending.no_change);
        ending.outcome
    }
}

impl Flow {
    /// The job the engine runs for proc `name`, defined by `decl`, with arguments `args`.
    pub(crate) fn job(&self, name: &str, args: ArgList, decl: &Decl) -> ProcJob {
        // With a store, the parent decides and records procs that run elsewhere; a watch
        // watches every proc's files. Without either, nothing is kept.
        let tracked = ((self.runs_remote() && self.has_store()) || self.is_watching())
            .then(|| self.track(name, args.to_shared(), &decl.incremental));
        let remote: Option<Box<dyn Any + Send + Sync>> = match (&decl.command, self.runs_remote()) {
            (Some(spec), true) => Some(Box::new(spec.clone())),
            (None, true) => Some(Box::new(self.worker_call(
                name,
                decl,
                &args.to_shared(),
                tracked,
            ))),
            (_, false) => None,
        };
        ProcJob {
            flow: Arc::downgrade(&self.inner),
            body: decl.body.clone(),
            incremental: Arc::clone(&decl.incremental),
            args,
            remote,
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
            EngineError::NotWanted(id) => FlowError::NotStarted(name(id)),
            other => FlowError::Engine(other),
        }
    }

    pub(crate) fn translate_unlocked(&self, e: EngineError) -> FlowError {
        let t = self.inner.table.lock();
        self.translate(&t, e, "")
    }
}
