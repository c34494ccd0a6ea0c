//! [`ProcessExecutor`]: each task in a child process started from the same program in worker
//! mode; and [`WorkerJob`], a task that names what the worker should run.

use std::any::Any;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::protocol::{Done, Hello, ToParent, ToWorker, receive, send};
use super::transport::{Conn, Listener};
use super::warm::Pool;

use crate::engine::{
    Engine, Job, JobBox, Outcome, Reason, Runnable, TaskContext, TaskId, TaskScope,
    is_finishing_outermost,
};
use crate::exec::child::{ChildOptions, run_child};
use crate::exec::thread_cache::ThreadCache;
use crate::exec::{CommandSpec, Executor, ResourceHints};

/// Answers what a task running in a worker asks of its parent, and receives its result. A
/// face (the flow) implements it to give procs in workers their context.
pub trait WorkerHost: Send + Sync {
    /// Does `method` for the running task and returns its answer.
    ///
    /// # Errors
    /// A message the worker's call returns as its error.
    fn call(&self, method: &str, args: Value) -> Result<Value, String>;

    /// Receives how the task ended, as the worker reported it (before the engine hears of it).
    fn done(&self, done: &Done) {
        let _ = done;
    }

    /// Receives how the task ended and may refuse it: an `Err` fails the task with that reason
    /// (a face whose value cannot be read back, for instance). By default passes `done` to
    /// [`WorkerHost::done`] and accepts it.
    ///
    /// # Errors
    /// Why the reported end cannot be taken.
    fn receive(&self, done: &Done) -> Result<(), String> {
        self.done(done);
        Ok(())
    }
}

/// What a job's [`remote`](crate::engine::Job::remote) gives when it cannot leave this process
/// although it would have to: the process executor fails the task with this reason.
///
/// ```
/// use parade::exec::process::Refusal;
/// let why = Refusal("the inputs of `square` cannot be serialized".into());
/// assert!(why.0.contains("square"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

/// What a worker process should run: a task name registered in the program, its arguments,
/// and who answers its calls.
#[derive(Clone)]
pub struct WorkerCall {
    /// The registered name.
    pub task: String,
    /// Its arguments.
    pub args: Value,
    /// Who answers the worker's calls and receives its result.
    pub host: Option<Arc<dyn WorkerHost>>,
    /// What the task needs from a cluster: the [Slurm executor](crate::exec::slurm::SlurmExecutor)
    /// passes them to `sbatch`; the process executor ignores them. `None` asks for nothing.
    pub resources: Option<ResourceHints>,
}

impl std::fmt::Debug for WorkerCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerCall")
            .field("task", &self.task)
            .field("args", &self.args)
            .field("resources", &self.resources)
            .finish_non_exhaustive()
    }
}

type LocalFn = Box<dyn FnOnce(&TaskContext) -> Outcome + Send>;

/// A task that runs the registered function `task` in a worker process under a
/// [`ProcessExecutor`], and, if given one, a local closure under in-process executors.
///
/// ```
/// use parade::engine::{Engine, TaskSpec, Outcome, TaskState};
/// use parade::exec::process::{WorkerCall, WorkerJob};
/// let call = WorkerCall {
///     task: "square".into(),
///     args: serde_json::json!(7),
///     host: None,
///     resources: None,
/// };
/// let job = WorkerJob::new(call).with_local(|_ctx| Outcome::Succeeded);
/// let engine = Engine::inline(); // in-process: the local closure runs
/// let t = engine.add(TaskSpec::from_job(job)).unwrap();
/// engine.want([t]).unwrap();
/// assert_eq!(engine.wait([t]).unwrap()[0].state, TaskState::Succeeded);
/// ```
pub struct WorkerJob {
    call: WorkerCall,
    local: Option<LocalFn>,
}

impl WorkerJob {
    /// A job that runs `call` in a worker.
    pub fn new(call: WorkerCall) -> Self {
        Self { call, local: None }
    }

    /// Also runs `local` when an in-process executor takes the job.
    pub fn with_local(
        mut self,
        local: impl FnOnce(&TaskContext) -> Outcome + Send + 'static,
    ) -> Self {
        self.local = Some(Box::new(local));
        self
    }
}

impl Job for WorkerJob {
    fn run(self: Box<Self>, ctx: &TaskContext) -> Outcome {
        match self.local {
            Some(local) => local(ctx),
            None => Outcome::failed(format!(
                "task `{}` only runs in a worker process: use the process executor",
                self.call.task
            )),
        }
    }

    fn remote(&self) -> Option<&(dyn Any + Send + Sync)> {
        Some(&self.call)
    }
}

/// What the executor's tasks share: how workers are started, where their sockets go, and the
/// warm workers.
pub(crate) struct Shared {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) options: ChildOptions,
    pub(crate) dir: PathBuf,
    pub(crate) counter: AtomicU64,
    pool: Pool,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs tasks in child processes: the same program, started in worker mode (it must call
/// [`Registry::serve`](super::Registry::serve) or a face's worker entry at the top of `main`).
/// Named tasks go to warm workers, each serving call after call (see the protocol); commands
/// run in a child of their own. A crash, an abort or a kill fails only the task it ran, with
/// the exit status or signal; a timeout or a cancel ends that worker's whole process group
/// (SIGTERM, then SIGKILL after a grace period), and a fresh worker serves the next call. The
/// worker's stdout and stderr, and what its own subprocesses print, become the task's output
/// lines; its stdin is closed.
///
/// Tasks whose job is a [`WorkerJob`] run by name in a worker; tasks whose job is a
/// [`CommandJob`](crate::exec::CommandJob) run their command; any other task fails with a
/// reason saying it cannot leave this process.
pub struct ProcessExecutor {
    limit: usize,
    shared: Arc<Shared>,
}

impl ProcessExecutor {
    /// Runs at most `limit` children at once, starting this program again with its own
    /// arguments.
    ///
    /// # Errors
    /// The program's path or a private socket directory cannot be had.
    pub fn new(limit: usize) -> std::io::Result<Self> {
        let program = std::env::current_exe()?;
        let args = std::env::args().skip(1).collect();
        Self::with_program(limit, program, args)
    }

    /// Runs at most `limit` children at once, starting `program` with `args` as workers.
    ///
    /// # Errors
    /// A private socket directory cannot be made.
    pub fn with_program(
        limit: usize,
        program: PathBuf,
        args: Vec<String>,
    ) -> std::io::Result<Self> {
        static EXECUTORS: AtomicU64 = AtomicU64::new(0);
        let n = EXECUTORS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("parade-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let limit = limit.max(1);
        Ok(Self {
            limit,
            shared: Arc::new(Shared {
                program,
                args,
                options: ChildOptions::default(),
                dir,
                counter: AtomicU64::new(0),
                pool: Pool::new(limit),
            }),
        })
    }

    /// Sets the time between SIGTERM and SIGKILL when a task's processes must stop.
    ///
    /// # Panics
    /// If the executor is already in use by an engine.
    pub fn grace(mut self, grace: Duration) -> Self {
        Arc::get_mut(&mut self.shared)
            .expect("set the grace before using the executor")
            .options
            .grace = grace;
        self
    }
}

impl Executor for ProcessExecutor {
    fn name(&self) -> &'static str {
        "process"
    }

    fn in_process(&self) -> bool {
        false
    }

    fn capacity(&self) -> usize {
        self.limit
    }

    /// Each child gets a supervising thread at once (from the shared thread cache, never
    /// queued): a worker that waits for tasks it started must not keep them from starting.
    /// A supervisor reporting its task's end keeps the first job that end made ready and
    /// supervises it next, without waking another thread (see
    /// `ThreadCache::execute_next`).
    fn spawn(&self, jobs: Vec<Runnable>) {
        let mut keep = is_finishing_outermost();
        for r in jobs {
            let supervised = Runnable {
                engine: r.engine,
                id: r.id,
                timeout: r.timeout,
                uses: r.uses,
                job: JobBox::Owned(Box::new(Supervised {
                    inner: r.job,
                    shared: self.shared.clone(),
                })),
            };
            if std::mem::take(&mut keep) {
                ThreadCache::global().execute_next(move || supervised.run());
            } else {
                ThreadCache::global().execute(move || supervised.run());
            }
        }
    }
}

/// A job as the process executor runs it: a supervisor thread watching one child.
struct Supervised {
    inner: JobBox,
    shared: Arc<Shared>,
}

impl Job for Supervised {
    fn run(self: Box<Self>, ctx: &TaskContext) -> Outcome {
        let remote = self.inner.as_job().remote();
        if let Some(call) = remote.and_then(|r| r.downcast_ref::<WorkerCall>()) {
            return run_worker(&self.shared, call, ctx);
        }
        if let Some(spec) = remote.and_then(|r| r.downcast_ref::<CommandSpec>()) {
            return run_child(spec, &self.shared.options, ctx);
        }
        if let Some(Refusal(why)) = remote.and_then(|r| r.downcast_ref::<Refusal>()) {
            return Outcome::failed(why.clone());
        }
        Outcome::failed(
            "this task cannot run in a worker process: it is a closure with no registered name \
             (give it a name, or use the thread executor)",
        )
    }
}

fn run_worker(shared: &Shared, call: &WorkerCall, ctx: &TaskContext) -> Outcome {
    shared.pool.run(shared, call, ctx)
}

/// The command that starts `program` with `args` as a worker, with `env` saying where its
/// parent listens.
pub(crate) fn worker_command(
    program: &Path,
    args: &[String],
    env: Vec<(String, String)>,
) -> CommandSpec {
    CommandSpec {
        program: program.to_string_lossy().into_owned(),
        args: args.to_vec(),
        env,
        ..CommandSpec::default()
    }
}

/// How a task run by a worker ended. Unless parade stopped it (`stopped`: a cancel or a
/// timeout, whose outcome `ended` already says), the worker's report `done` decides, once
/// `call`'s host has received and accepted it; without a report, `ended` (how the worker's
/// process or job ended) does, and a worker that exited successfully without a report failed
/// to run the task.
pub(crate) fn worker_outcome(
    call: &WorkerCall,
    done: Option<Done>,
    stopped: bool,
    ended: Outcome,
) -> Outcome {
    if stopped {
        return ended;
    }
    if let (Some(host), Some(done)) = (&call.host, &done)
        && let Err(why) = host.receive(done)
    {
        return Outcome::failed(why);
    }
    match done {
        Some(Done::Ok(_)) => Outcome::Succeeded,
        Some(Done::Err(e)) => Outcome::failed(e),
        Some(Done::Skip(why)) => Outcome::skipped(why),
        Some(Done::UpToDate(_, why)) => Outcome::UpToDate(why),
        Some(Done::Panic(m)) => Outcome::Failed(Reason::Panic(m)),
        None if matches!(ended, Outcome::Succeeded) => Outcome::failed(format!(
            "the worker for `{}` ended without running it (does the program call \
             `parade::worker_entry()` at the top of `main`, and define `{}` in every run?)",
            call.task, call.task
        )),
        None => ended,
    }
}

/// Talks with one worker until it reports its end or goes away: accepts its connection on
/// `listener`, sends it `call`'s task, answers its calls with `call`'s host (as task `id` of
/// `engine`: a wait made for it lends the task's place), and returns its report. A message
/// from the worker that is too long or malformed ends the talk and fails the task with a
/// reason saying so. The Slurm executor serves its workers with it (one task each).
pub(crate) fn serve(
    listener: &Listener,
    call: &WorkerCall,
    engine: &Engine,
    id: TaskId,
) -> Option<Done> {
    let stream = listener.accept().ok()?;
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    let hello = ToWorker::Hello(Hello {
        task: call.task.clone(),
        args: call.args.clone(),
    });
    send(&mut writer, &hello).ok()?;
    // Calls made for the task count as the task's own: a wait lends its place.
    let _scope = TaskScope::enter(engine, id);
    match talk(&mut reader, &mut writer, call) {
        Talked::Done(done, _) | Talked::Last(done) | Talked::Broken(done) => Some(done),
        Talked::Gone => None,
    }
}

/// How a talk with a worker about one call ended.
pub(crate) enum Talked {
    /// The worker reported the call's end (and, if warm, waits for the next), and on which
    /// streams (stdout, stderr) it could not write the call's mark.
    Done(Done, [bool; 2]),
    /// The worker reported the call's end and exits.
    Last(Done),
    /// The worker sent what cannot be read: the call fails with this, the worker must go.
    Broken(Done),
    /// The connection ended without a report (the worker died, or was stopped).
    Gone,
}

/// Answers the worker's calls with `call`'s host until it reports the call's end.
pub(crate) fn talk(reader: &mut BufReader<Conn>, writer: &mut Conn, call: &WorkerCall) -> Talked {
    let mut unmarked = [false; 2];
    loop {
        match receive::<ToParent>(reader) {
            Ok(Some(ToParent::Call { id, method, args })) => {
                let answer = match &call.host {
                    Some(host) => host.call(&method, args),
                    None => Err(format!("`{method}` is not available to this task")),
                };
                let reply = match answer {
                    Ok(ok) => ToWorker::Reply {
                        id,
                        ok: Some(ok),
                        err: None,
                    },
                    Err(err) => ToWorker::Reply {
                        id,
                        ok: None,
                        err: Some(err),
                    },
                };
                if send(writer, &reply).is_err() {
                    return Talked::Gone;
                }
            }
            Ok(Some(ToParent::Unmarked { stdout, stderr })) => unmarked = [stdout, stderr],
            Ok(Some(ToParent::Done(done))) => return Talked::Done(done, unmarked),
            Ok(Some(ToParent::Last(done))) => return Talked::Last(done),
            Err(e) if e.kind() == std::io::ErrorKind::Other => {
                return Talked::Broken(Done::Err(format!(
                    "the worker for `{}` sent {e}; the connection was closed",
                    call.task
                )));
            }
            // The end of the stream, or a connection broken by the worker's end.
            Ok(None) | Err(_) => return Talked::Gone,
        }
    }
}

/// How many worker processes `executor` started so far (warm workers serve many calls each).
#[doc(hidden)]
pub fn workers_started(executor: &ProcessExecutor) -> u64 {
    executor.shared.pool.started()
}

/// How many calls to warm workers of `executor` waited in vain for the marks that end their
/// output (a task that closed its stdout without its worker noticing).
#[doc(hidden)]
pub fn mark_waits_timed_out(executor: &ProcessExecutor) -> u64 {
    executor.shared.pool.mark_timeouts()
}

/// The path of a worker socket directory, for tests that check nothing is left behind.
#[doc(hidden)]
pub fn socket_dir(executor: &ProcessExecutor) -> &Path {
    &executor.shared.dir
}
