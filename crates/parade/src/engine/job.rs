//! What a task runs: a [`Job`], the [`Outcome`] it reports, and the [`TaskContext`] it gets.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Engine, Reason, TaskId};

/// How a job ended, as the job itself reports it.
///
/// ```
/// use parade::engine::Outcome;
/// let ok = Outcome::Succeeded;
/// let no = Outcome::failed("cannot open config");
/// let skip = Outcome::skipped("up to date");
/// assert!(matches!(no, Outcome::Failed(_)));
/// # let _ = (ok, skip);
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// The job did its work.
    Succeeded,
    /// The job had nothing to do; dependents run as after a success.
    Skipped(String),
    /// The job failed, for this reason.
    Failed(Reason),
    /// The job's result from an earlier run still holds, saying why; dependents run as after a
    /// success.
    UpToDate(String),
}

impl Outcome {
    /// A failure with an error message.
    pub fn failed(message: impl Into<String>) -> Self {
        Outcome::Failed(Reason::Error(message.into()))
    }

    /// A skip, saying why.
    pub fn skipped(why: impl Into<String>) -> Self {
        Outcome::Skipped(why.into())
    }
}

/// Turns a panic payload into the message it carries (`&str` and `String` payloads), or a
/// placeholder for other payload types.
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
/// assert_eq!(parade::engine::panic_message(payload.as_ref()), "boom 1");
/// ```
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// The work of one task. Any `FnOnce(&TaskContext) -> Outcome + Send + 'static` is a job.
///
/// Executors that run jobs outside this process look at [`Job::remote`] to learn what to run
/// there; in-process executors call [`Job::run`].
///
/// ```
/// use parade::engine::{Job, Outcome, TaskContext};
/// struct Hello;
/// impl Job for Hello {
///     fn run(self: Box<Self>, ctx: &TaskContext) -> Outcome {
///         ctx.emit(format!("hello from {}", ctx.id()));
///         Outcome::Succeeded
///     }
/// }
/// ```
pub trait Job: Send + 'static {
    /// Runs the job on the current thread.
    fn run(self: Box<Self>, ctx: &TaskContext) -> Outcome;

    /// A description of this job that an out-of-process executor can run (for instance a task
    /// name and serialized arguments); `None` for jobs that only run in this process.
    fn remote(&self) -> Option<&(dyn Any + Send + Sync)> {
        None
    }
}

impl<F> Job for F
where
    F: FnOnce(&TaskContext) -> Outcome + Send + 'static,
{
    fn run(self: Box<Self>, ctx: &TaskContext) -> Outcome {
        (*self)(ctx)
    }
}

/// A job that shares its allocation with what its face keeps of the task (the graph's value
/// slot): the engine holds it by reference count, so such a task costs one allocation, not a
/// boxed job beside a shared slot.
pub(crate) trait SharedJob: Send + Sync + 'static {
    /// Runs the job on the current thread (at most once: the engine hands each task's job to
    /// one run).
    fn run_shared(self: Arc<Self>, ctx: &TaskContext) -> Outcome;

    /// The engine drops the job without running it (the task was cancelled, dep-failed, or
    /// the engine went away): let go of what only the run needed, as dropping a boxed job
    /// would, although the face still holds the allocation.
    fn abandon(&self);
}

impl Job for Arc<dyn SharedJob> {
    fn run(self: Box<Self>, ctx: &TaskContext) -> Outcome {
        (*self).run_shared(ctx)
    }
}

/// The engine's hold on a shared job: dropped unrun, it abandons the job.
pub(crate) struct SharedHold(Option<Arc<dyn SharedJob>>);

impl Drop for SharedHold {
    fn drop(&mut self) {
        if let Some(job) = self.0.take() {
            job.abandon();
        }
    }
}

/// A job as the engine keeps it until it runs: boxed, or shared with its face.
pub(crate) enum JobBox {
    Owned(Box<dyn Job>),
    Shared(SharedHold),
}

impl JobBox {
    /// A shared job.
    pub(crate) fn shared(job: Arc<dyn SharedJob>) -> Self {
        JobBox::Shared(SharedHold(Some(job)))
    }

    /// Runs the job on the current thread.
    pub(crate) fn run(self, ctx: &TaskContext) -> Outcome {
        match self {
            JobBox::Owned(job) => job.run(ctx),
            JobBox::Shared(mut hold) => match hold.0.take() {
                Some(job) => job.run_shared(ctx),
                None => Outcome::failed("its job was taken before it ran"),
            },
        }
    }

    /// The job, for executors that look at [`Job::remote`].
    pub(crate) fn as_job(&self) -> &dyn Job {
        match self {
            JobBox::Owned(job) => &**job,
            JobBox::Shared(SharedHold(Some(job))) => job,
            JobBox::Shared(SharedHold(None)) => &NoJob,
        }
    }
}

/// What a shared job that has been taken looks like to an executor: nothing to run elsewhere.
struct NoJob;

impl Job for NoJob {
    fn run(self: Box<Self>, _: &TaskContext) -> Outcome {
        Outcome::failed("its job was taken before it ran")
    }
}

/// Which stream an output line came from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Stream {
    /// Standard output, or lines a job emits itself.
    Stdout,
    /// Standard error.
    Stderr,
}

/// What a running job can see and do: its id, its engine, output, cancellation and deadline.
///
/// ```
/// use parade::engine::{Engine, TaskSpec, Outcome};
/// let engine = Engine::inline();
/// let t = engine.add(TaskSpec::new(|ctx| {
///     // A running task can grow the graph and wait for what it added.
///     let child = ctx.engine().add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
///     ctx.engine().want([child]).unwrap();
///     let done = ctx.engine().wait([child]).unwrap();
///     assert!(done[0].state.is_success());
///     Outcome::Succeeded
/// })).unwrap();
/// engine.want([t]).unwrap();
/// assert!(engine.wait([t]).unwrap()[0].state.is_success());
/// ```
pub struct TaskContext {
    pub(crate) id: TaskId,
    pub(crate) engine: Engine,
    pub(crate) started: Instant,
    pub(crate) timeout: Option<Duration>,
}

impl TaskContext {
    /// The running task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The engine the task runs in: add tasks, want them, wait for them.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Emits one line of output for observers (a log file, the terminal display).
    pub fn emit(&self, line: impl Into<String>) {
        self.engine
            .emit_output(self.id, Stream::Stdout, line.into());
    }

    /// Emits one line of output, saying which stream it came from.
    pub fn emit_from(&self, stream: Stream, line: impl Into<String>) {
        self.engine.emit_output(self.id, stream, line.into());
    }

    /// Emits many lines from one stream at once, in order.
    pub(crate) fn emit_lines_from(&self, stream: Stream, lines: Vec<String>) {
        self.engine.emit_output_lines(self.id, stream, lines);
    }

    /// Whether the task was asked to stop (a cancel, or its deadline passed). Long jobs that run
    /// in this process should check it now and then: threads cannot be stopped from outside.
    pub fn is_cancelled(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
            || self.engine.cancel_requested(self.id)
    }

    /// Runs `hook` (on the cancelling thread) if the task is cancelled while it runs, or at once
    /// if it was cancelled already. Jobs that wait on something outside the process use it to
    /// stop that thing, e.g. to terminate a child process.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use parade::engine::{Engine, TaskSpec, Outcome, TaskState};
    /// let engine = Engine::new();
    /// let (started_tx, started) = mpsc::channel();
    /// let t = engine.add(TaskSpec::new(move |ctx| {
    ///     let (stop_tx, stop) = mpsc::channel();
    ///     ctx.on_cancel(move || { let _ = stop_tx.send(()); });
    ///     started_tx.send(()).unwrap();
    ///     stop.recv().unwrap(); // blocks until cancelled: no polling
    ///     Outcome::Succeeded
    /// })).unwrap();
    /// engine.want([t]).unwrap();
    /// started.recv().unwrap();
    /// engine.cancel(t).unwrap();
    /// assert_eq!(engine.wait([t]).unwrap()[0].state, TaskState::Cancelled);
    /// ```
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) {
        self.engine.on_cancel(self.id, Box::new(hook));
    }

    /// The task's time limit, if it has one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// When the task's time runs out, if it has a timeout.
    pub fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|t| self.started + t)
    }
}
