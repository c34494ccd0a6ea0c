//! The worker side: a process started by the [`ProcessExecutor`](super::ProcessExecutor) finds
//! out which task to run, asks its parent for what it needs while it runs, and reports the end.

use std::collections::HashMap;
use std::io::BufReader;
use std::os::fd::AsFd;

use parking_lot::Mutex;
use serde_json::Value;

use super::protocol::{Done, Hello, ToParent, ToWorker, receive, send};
use super::transport::{self, Conn};

/// The environment variable that makes a process a worker: the path of its parent's socket,
/// or `tcp://HOST:PORT` (then the worker proves the run's secret, read from the file named by
/// [`WORKER_SECRET_FILE_ENV`](super::WORKER_SECRET_FILE_ENV), before anything else).
///
/// Children that parade starts (commands, tasks, Slurm jobs) never inherit it. A worker that
/// starts processes of its own with `std::process::Command` should remove it
/// (`.env_remove(WORKER_SOCKET_ENV)`), or a child that is itself a parade program would take
/// itself for a worker.
pub const WORKER_SOCKET_ENV: &str = "PARADE_WORKER_SOCKET";

/// The request of this worker process, kept by [`worker_entry`] until the face that defines
/// its task takes it.
static PENDING: Mutex<Option<WorkerSession>> = Mutex::new(None);

/// Call at the top of `main` in a program whose tasks may run on a
/// [`ProcessExecutor`](super::ProcessExecutor). In a process started as a worker, it connects
/// to the parent and keeps the request for the code that defines the task: a
/// [`Flow`](crate::flow::Flow) runs the requested proc (and exits) when the program defines
/// it, a [`Registry`] when it serves. In any other process it does nothing. Calling it again
/// does nothing more.
///
/// ```
/// fn main() {
///     parade::worker_entry();
///     let flow = parade::flow::Flow::inline();
///     flow.proc("hello", |_| Ok("hi")).add().unwrap(); // a worker asked for it runs it here
///     flow.run("hello").unwrap();
///     flow.wait_all().unwrap();
/// }
/// # main();
/// ```
pub fn worker_entry() {
    static ENTERED: std::sync::Once = std::sync::Once::new();
    ENTERED.call_once(|| {
        if let Some(session) = WorkerSession::from_env() {
            let session = session.unwrap_or_else(|e| {
                eprintln!("parade worker: cannot reach the parent: {e}");
                std::process::exit(70)
            });
            *PENDING.lock() = Some(session);
        }
    });
}

/// Whether this process is a worker whose task has not been taken yet.
pub(crate) fn is_pending_worker() -> bool {
    worker_entry();
    PENDING.lock().is_some()
}

/// Makes `session` the pending request again (a warm worker's next call, for a task its
/// program defines further on).
pub(crate) fn set_pending(session: WorkerSession) {
    *PENDING.lock() = Some(session);
}

/// The pending request, if `wanted` says its task name is one the caller defines.
pub(crate) fn take_pending(wanted: impl FnOnce(&str) -> bool) -> Option<WorkerSession> {
    let mut pending = PENDING.lock();
    if pending.as_ref().is_some_and(|s| wanted(s.task())) {
        pending.take()
    } else {
        None
    }
}

/// Ends a worker whose program did `what` before defining the requested task: its task fails
/// with a reason saying so.
pub(crate) fn refuse_pending(what: &str) {
    if let Some(session) = take_pending(|_| true) {
        let reason = format!(
            "the worker for `{}` {what} before defining it: a worker runs its task when the \
             program defines it, so a program on the process executor defines its tasks the \
             same way in every run, before it runs any",
            session.task()
        );
        session.finish(Done::Err(reason));
    }
}

/// A worker's connection to its parent, for the one task it runs.
///
/// Most programs do not use it directly: they call [`Registry::serve`] (or a face's own entry,
/// such as the flow's) at the top of `main`.
pub struct WorkerSession {
    hello: Hello,
    link: Mutex<Link>,
    /// Set in a warm worker: the line that ends each call's output.
    mark: Option<String>,
}

struct Link {
    writer: Conn,
    reader: BufReader<Conn>,
    next_id: u64,
}

impl WorkerSession {
    /// The session of this process if it was started as a worker, `None` otherwise.
    ///
    /// # Errors
    /// The parent's socket cannot be reached or sent no task.
    pub fn from_env() -> Option<std::io::Result<Self>> {
        let target = std::env::var_os(WORKER_SOCKET_ENV)?;
        Some(Self::connect(&target))
    }

    fn connect(target: &std::ffi::OsStr) -> std::io::Result<Self> {
        let writer = transport::connect(target)?;
        let mut reader = BufReader::new(writer.try_clone()?);
        let (hello, mark) = match receive::<ToWorker>(&mut reader)? {
            Some(ToWorker::Hello(hello)) => (hello, None),
            Some(ToWorker::Call { hello, mark }) => (hello, Some(mark)),
            other => {
                return Err(std::io::Error::other(format!(
                    "expected the task from the parent, got {other:?}"
                )));
            }
        };
        Ok(Self {
            hello,
            link: Mutex::new(Link {
                writer,
                reader,
                next_id: 1,
            }),
            mark,
        })
    }

    /// The name of the task to run.
    pub fn task(&self) -> &str {
        &self.hello.task
    }

    /// The task's arguments.
    pub fn args(&self) -> &Value {
        &self.hello.args
    }

    /// Asks the parent to do `method` for the running task (for instance, a flow's context
    /// asking for results or starting other tasks) and waits for the answer.
    ///
    /// # Errors
    /// The parent refused, with its reason, or the connection broke.
    pub fn call(&self, method: &str, args: Value) -> Result<Value, String> {
        let mut link = self.link.lock();
        let id = link.next_id;
        link.next_id += 1;
        send(
            &mut link.writer,
            &ToParent::Call {
                id,
                method: method.to_owned(),
                args,
            },
        )
        .map_err(|e| format!("lost the parent: {e}"))?;
        match receive::<ToWorker>(&mut link.reader) {
            Ok(Some(ToWorker::Reply { id: got, ok, err })) if got == id => match (ok, err) {
                (_, Some(err)) => Err(err),
                (ok, None) => Ok(ok.unwrap_or(Value::Null)),
            },
            Ok(other) => Err(format!("unexpected answer from the parent: {other:?}")),
            Err(e) => Err(format!("lost the parent: {e}")),
        }
    }

    /// Reports how the task ended and ends this process (exit status 0: the parent reads the
    /// outcome from the report, and a crash before it shows as the exit status).
    pub fn finish(self, done: Done) -> ! {
        let warm = self.mark.is_some();
        let (mut link, _) = self.end_output();
        let message = if warm {
            ToParent::Last(done)
        } else {
            ToParent::Done(done)
        };
        let code = i32::from(send(&mut link.writer, &message).is_err());
        std::process::exit(code)
    }

    /// Reports how the task ended and, in a warm worker, waits for the parent's next call:
    /// its session, or (at the end of the stream) the end of this process with exit status 0.
    /// A worker started for one task ends here as [`finish`](Self::finish) does.
    pub(crate) fn next(self, done: Done) -> Self {
        if self.mark.is_none() {
            self.finish(done)
        }
        let (mut link, written) = self.end_output();
        if written != [true; 2] {
            let unmarked = ToParent::Unmarked {
                stdout: !written[0],
                stderr: !written[1],
            };
            if send(&mut link.writer, &unmarked).is_err() {
                std::process::exit(1)
            }
        }
        if send(&mut link.writer, &ToParent::Done(done)).is_err() {
            std::process::exit(1)
        }
        match receive::<ToWorker>(&mut link.reader) {
            Ok(Some(ToWorker::Call { hello, mark })) => {
                link.next_id = 1;
                Self {
                    hello,
                    link: Mutex::new(link),
                    mark: Some(mark),
                }
            }
            Ok(None) => std::process::exit(0),
            Ok(Some(other)) => {
                eprintln!("parade worker: expected a call from the parent, got {other:?}");
                std::process::exit(70)
            }
            Err(e) => {
                eprintln!("parade worker: lost the parent: {e}");
                std::process::exit(70)
            }
        }
    }

    /// Flushes what the task printed and, in a warm worker, ends the call's output with the
    /// mark on stdout and on stderr (the parent reads up to it before it ends the call).
    /// Returns the link and whether each mark (stdout, stderr) was written: one written to a
    /// stream the task closed is not (the marks are written to the file descriptors, since
    /// the standard library quietly drops what goes to a closed stdout).
    fn end_output(self) -> (Link, [bool; 2]) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let mut written = [true; 2];
        if let Some(mark) = &self.mark {
            let line = format!("{mark}\n");
            let _out = std::io::stdout().lock();
            let _err = std::io::stderr().lock();
            written = [
                write_fd(std::io::stdout().as_fd(), line.as_bytes()),
                write_fd(std::io::stderr().as_fd(), line.as_bytes()),
            ];
        }
        (self.link.into_inner(), written)
    }
}

/// A function a worker can run by name: it gets the arguments and the session, and returns
/// the result value or an error message.
pub type WorkerFn = Box<dyn Fn(&Value, &WorkerSession) -> Result<Value, String> + Send + Sync>;

/// Tasks a worker process can run, by name.
///
/// ```no_run
/// use parade::exec::process::Registry;
/// fn main() {
///     let mut registry = Registry::new();
///     registry.register("square", |args, _session| {
///         let n = args.as_u64().ok_or("expected a number")?;
///         Ok(serde_json::json!(n * n))
///     });
///     registry.serve(); // in a worker: runs the task and exits; otherwise returns
///     // ... the program itself: build an engine on a ProcessExecutor ...
/// }
/// ```
#[derive(Default)]
pub struct Registry {
    tasks: HashMap<String, WorkerFn>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `f` under `name`.
    pub fn register(
        &mut self,
        name: impl Into<String>,
        f: impl Fn(&Value, &WorkerSession) -> Result<Value, String> + Send + Sync + 'static,
    ) -> &mut Self {
        self.tasks.insert(name.into(), Box::new(f));
        self
    }

    /// In a worker process: runs the requested task, reports its end and exits (a warm worker
    /// of the process executor first serves every further call its parent sends). In any other
    /// process: returns at once. Call it at the top of `main`.
    pub fn serve(&self) {
        worker_entry();
        let Some(mut session) = take_pending(|_| true) else {
            return;
        };
        // A warm worker serves call after call until its parent is done with it.
        loop {
            let done = self.run(&session);
            session = session.next(done);
        }
    }

    fn run(&self, session: &WorkerSession) -> Done {
        if let Some(f) = self.tasks.get(session.task()) {
            match f(session.args(), session) {
                Ok(value) => Done::Ok(value),
                Err(e) => Done::Err(e),
            }
        } else {
            let mut known: Vec<&String> = self.tasks.keys().collect();
            known.sort();
            Done::Err(format!(
                "no task named `{}` in this program (it has: {known:?})",
                session.task()
            ))
        }
    }
}

/// Writes all of `bytes` to `fd`; whether it could.
fn write_fd(fd: std::os::fd::BorrowedFd<'_>, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
    true
}
