//! [`Runnable`]: a started task on its way through an executor, and the thread-local record
//! of which task the current thread is running.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use super::{Engine, Job, JobBox, Outcome, Reason, Stream, TaskContext, TaskId, panic_message};

thread_local! {
    /// The tasks this thread is running, innermost last (a waiting task may run others).
    static CURRENT: RefCell<Vec<(usize, TaskId)>> = const { RefCell::new(Vec::new()) };
    /// Set while this thread reports the end of a job it ran: jobs made ready by that report
    /// may stay on this thread (see [`is_finishing`]).
    static FINISHING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is reporting the end of a job it just ran. An executor may then
/// keep one newly ready job for this thread, which is about to be free.
pub(crate) fn is_finishing() -> bool {
    FINISHING.with(Cell::get)
}

/// Whether the current thread is reporting the end of a job it ran as its outermost task (no
/// task of any engine is running further out on this thread), so the thread is free as soon
/// as the report returns. An executor whose threads run one call each (the process executor
/// on the thread cache) keeps a newly ready job for this thread only then: a thread still
/// inside another task might wait for the kept job and never reach it.
pub(crate) fn is_finishing_outermost() -> bool {
    is_finishing() && CURRENT.with(|c| c.borrow().is_empty())
}

/// Marks the current thread as working for task `id` of `engine` until the guard drops, so
/// that waits made on this thread lend the task's place under the parallel limit (threads that
/// serve a task running elsewhere, such as in a worker process, use it).
pub(crate) struct TaskScope;

impl TaskScope {
    pub(crate) fn enter(engine: &Engine, id: TaskId) -> Self {
        let key = engine.key();
        CURRENT.with(|c| c.borrow_mut().push((key, id)));
        TaskScope
    }
}

impl Drop for TaskScope {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
}

/// The task the current thread is running for `engine`, if any.
pub(crate) fn current_task(engine: &Engine) -> Option<TaskId> {
    let key = engine.key();
    CURRENT.with(|c| {
        c.borrow()
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|&(_, id)| id)
    })
}

/// A task the engine has started and handed to an executor. The executor must end it exactly
/// once: in this process with [`Runnable::run`], or, for jobs run elsewhere, with
/// [`Runnable::finish`] once it knows how the job ended.
///
/// ```
/// use parade::engine::{Engine, TaskSpec, Outcome, TaskState};
/// use parade::exec::Inline;
/// let engine = Engine::inline();
/// let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// engine.want([t]).unwrap();
/// assert_eq!(engine.wait([t]).unwrap()[0].state, TaskState::Succeeded);
/// ```
pub struct Runnable {
    pub(crate) engine: Engine,
    pub(crate) id: TaskId,
    pub(crate) job: JobBox,
    pub(crate) timeout: Option<Duration>,
    pub(crate) uses: Vec<(String, u32)>,
}

impl Runnable {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The job, for executors that look at [`Job::remote`].
    pub fn job(&self) -> &dyn Job {
        self.job.as_job()
    }

    /// The engine the task belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The task's time limit, if it has one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The counted resources the task uses while it runs, by name, with their amounts (see
    /// [`TaskSpec::uses`](super::TaskSpec::uses); locks are not listed). An executor that
    /// packs tasks into slots of its own (Slurm pilots) fits them by these.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use parade::engine::{Engine, Outcome, Runnable, TaskSpec};
    /// use parade::exec::Executor;
    ///
    /// /// Records what each task uses, then runs it here.
    /// #[derive(Default)]
    /// struct Recorder(Mutex<Vec<Vec<(String, u32)>>>);
    /// impl Executor for Recorder {
    ///     fn name(&self) -> &'static str { "recorder" }
    ///     fn capacity(&self) -> usize { 1 }
    ///     fn spawn(&self, jobs: Vec<Runnable>) {
    ///         for job in jobs {
    ///             self.0.lock().unwrap().push(job.uses().to_vec());
    ///             job.run();
    ///         }
    ///     }
    /// }
    /// let recorder = Arc::new(Recorder::default());
    /// let engine = Engine::with_executor(recorder.clone());
    /// let gpu = engine.resource("gpu", 2);
    /// let db = engine.lock("db");
    /// let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded).uses(gpu, 2).lock(db)).unwrap();
    /// engine.want([t]).unwrap();
    /// engine.wait_all().unwrap();
    /// assert_eq!(*recorder.0.lock().unwrap(), [vec![("gpu".to_owned(), 2)]]);
    /// ```
    pub fn uses(&self) -> &[(String, u32)] {
        &self.uses
    }

    /// Emits one line of the task's output for observers, as [`TaskContext::emit_from`] does
    /// for jobs that run in this process. Executors that run jobs elsewhere use it to forward
    /// what the job printed (for instance, read back from a Slurm job's output file).
    pub fn emit(&self, stream: Stream, line: impl Into<String>) {
        self.engine.emit_output(self.id, stream, line.into());
    }

    /// Runs the job on this thread, catching a panic as a failure, and reports how it ended.
    /// A task cancelled while it waited in the executor's queue ends as cancelled without
    /// running its job.
    pub fn run(self) {
        self.run_from(None);
    }

    /// [`Runnable::run`] for a job this thread takes straight after reporting the end of the
    /// one before, which ended at `previous_end`: a task without a time limit counts its time
    /// from there, so a chain of jobs on one thread reads the clock once per job, not twice.
    /// Its duration then also holds the previous job's report (the engine's lock): that can
    /// only make it look longer, and without a limit no length can fail it. A task with a
    /// limit reads the clock itself, so a slow report never times it out. Returns when this
    /// job ended, for the next.
    pub(crate) fn run_from(self, previous_end: Option<Instant>) -> Option<Instant> {
        let Runnable {
            engine,
            id,
            job,
            timeout,
            uses: _,
        } = self;
        if engine.cancel_requested(id) {
            drop(job);
            engine.finish(id, Outcome::Failed(Reason::Cancelled), Duration::ZERO);
            return None;
        }
        let started = match previous_end {
            Some(end) if timeout.is_none() => end,
            _ => Instant::now(),
        };
        let ctx = TaskContext {
            id,
            engine,
            started,
            timeout,
        };
        let scope = TaskScope::enter(&ctx.engine, id);
        let outcome = catch_unwind(AssertUnwindSafe(|| job.run(&ctx))).unwrap_or_else(|payload| {
            Outcome::Failed(Reason::Panic(panic_message(payload.as_ref())))
        });
        drop(scope);
        let ended = Instant::now();
        let was = FINISHING.with(|f| f.replace(true));
        ctx.engine.finish(id, outcome, ended - started);
        FINISHING.with(|f| f.set(was));
        Some(ended)
    }

    /// Reports how a job that ran elsewhere ended, without running it here.
    pub fn finish(self, outcome: Outcome, duration: Duration) {
        self.engine.finish(self.id, outcome, duration);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::engine::{Executor, TaskSpec, TaskState};

    /// Keeps the jobs it is given, for the test to run.
    #[derive(Default)]
    struct Keep(Mutex<Vec<Runnable>>);

    impl Executor for Keep {
        fn name(&self) -> &'static str {
            "keep"
        }
        fn capacity(&self) -> usize {
            2
        }
        fn spawn(&self, jobs: Vec<Runnable>) {
            self.0.lock().unwrap().extend(jobs);
        }
    }

    #[test]
    fn a_continued_job_counts_from_the_last_end_only_without_a_time_limit() {
        let keep = Arc::new(Keep::default());
        let engine = Engine::with_executor(keep.clone());
        let free = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
        let limited = engine
            .add(TaskSpec::new(|_| Outcome::Succeeded).timeout(Duration::from_secs(5)))
            .unwrap();
        engine.want([free, limited]).unwrap();
        let jobs: Vec<Runnable> = std::mem::take(&mut *keep.0.lock().unwrap());
        assert_eq!(jobs.len(), 2);
        // As if the job before had ended a minute ago (a hand-off that took that long).
        let long_ago = Instant::now().checked_sub(Duration::from_secs(60));
        for job in jobs {
            job.run_from(long_ago);
        }
        let free = engine.status(free).unwrap();
        assert_eq!(free.state, TaskState::Succeeded, "no limit: no timeout");
        assert!(free.duration >= Duration::from_secs(60), "{free:?}");
        // A task with a limit reads the clock itself: the slow hand-off does not time it out.
        let limited = engine.status(limited).unwrap();
        assert_eq!(limited.state, TaskState::Succeeded, "{limited:?}");
        assert!(limited.duration < Duration::from_secs(5), "{limited:?}");
    }
}
