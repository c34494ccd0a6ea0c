//! Warm workers: the process executor's worker processes, each serving call after call of
//! named tasks ([`WorkerCall`]s), so that a call costs a message each way instead of a process
//! start.
//!
//! A worker is started as before (this program again, in worker mode, supervised like any
//! child: its own process group, output read line by line, nothing left behind), but is sent
//! `call` messages instead of one `hello` (see the [protocol](super::protocol)). Between its
//! calls it waits in the pool's idle list; the pool keeps at most as many idle workers as the
//! executor runs at once, and more are started when every worker is busy (a worker that waits
//! for tasks it started lends its place, so more calls than that may run).
//!
//! What a task changes in its worker process (the working directory, the environment,
//! statics) stays for the calls that worker serves next: tasks that must not share a process
//! are commands, which run in a child of their own.
//!
//! What one worker prints goes to the task of its current call. The call ends only once the
//! worker's mark line has been read from its stdout and its stderr (the worker writes it after
//! the task and before its report), so no line of one call reaches another. A task that closed
//! its stdout or stderr leaves its worker unable to write the mark there: the worker says so
//! in its report, the call does not wait for that mark, and the worker serves no more calls.
//!
//! A hard timeout or a cancel stops the worker of that call (SIGTERM to its group, SIGKILL
//! after the grace period) and only it: the next call starts a fresh one. A worker that
//! crashes fails only the call it was serving, with its exit status or signal as the reason.
//! Dropping the executor closes the idle workers' connections; they exit at the end of the
//! stream.
//!
//! This module knows worker processes and their calls; what a call's messages mean is the
//! executor's ([`talk`](super::executor)), how a child is supervised is
//! [`child`](crate::exec::child)'s.

use std::io::BufReader;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::WorkerCall;
use super::executor::{Shared, Talked, talk, worker_command, worker_outcome};
use super::protocol::{Hello, ToWorker, send};
use super::transport::{Conn, Listener};

use crate::engine::{Engine, Outcome, Reason, Stream, TaskContext, TaskId, TaskScope};
use crate::exec::child::{ChildEnd, ChildTask, run_child_with};
use crate::exec::thread_cache::ThreadCache;

/// How long a call that has reported its end waits for its worker's mark lines at most (a
/// task that closed its own stdout cannot print the mark).
const MARK_WAIT: Duration = Duration::from_secs(2);

/// How long dropping the pool waits for its idle workers to exit.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// The warm workers of one process executor.
pub(crate) struct Pool {
    idle: Mutex<Vec<Worker>>,
    /// The most idle workers kept.
    keep: usize,
    /// Worker processes started so far.
    started: AtomicU64,
    /// Calls whose worker's marks did not come within [`MARK_WAIT`].
    mark_timeouts: Arc<AtomicU64>,
}

/// One warm worker, between calls or serving one.
struct Worker {
    route: Arc<Route>,
    reader: BufReader<Conn>,
    writer: Conn,
}

impl Pool {
    pub(crate) fn new(keep: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            keep: keep.max(1),
            started: AtomicU64::new(0),
            mark_timeouts: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many calls waited [`MARK_WAIT`] in vain for their worker's marks.
    pub(crate) fn mark_timeouts(&self) -> u64 {
        self.mark_timeouts.load(Ordering::Relaxed)
    }

    /// How many worker processes were started so far.
    pub(crate) fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Runs `call` for the task `ctx` on an idle worker, or on a new one if none is idle.
    pub(crate) fn run(&self, shared: &Shared, call: &WorkerCall, ctx: &TaskContext) -> Outcome {
        let mut worker = loop {
            let idle = self.idle.lock().pop();
            match idle {
                Some(w) if !w.route.is_gone() => break w,
                Some(_) => {}
                None => match self.start(shared) {
                    Ok(w) => break w,
                    Err(failed) => return failed,
                },
            }
        };
        let route = worker.route.clone();
        let (key, id) = (ctx.engine().key(), ctx.id());
        route.begin(ctx.engine().clone(), id);
        let stop = route.clone();
        ctx.on_cancel(move || stop.stop_call(key, id, Reason::Cancelled));
        let alarm = ctx
            .deadline()
            .map(|at| alarms().set(at, &route, key, id, ctx.timeout().unwrap_or_default()));
        let message = ToWorker::Call {
            hello: Hello {
                task: call.task.clone(),
                args: call.args.clone(),
            },
            mark: route.mark.clone(),
        };
        let talked = if send(&mut worker.writer, &message).is_ok() {
            // Calls made for the task count as the task's own: a wait lends its place.
            let _scope = TaskScope::enter(ctx.engine(), id);
            talk(&mut worker.reader, &mut worker.writer, call)
        } else {
            Talked::Gone
        };
        // The alarm stays set until the worker has ended too: a worker that went quiet (it
        // closed the connection, say) still ends at the call's deadline.
        let outcome = self.end(worker, talked, call);
        if let Some(token) = alarm {
            alarms().clear(token);
        }
        outcome
    }

    /// Ends the call `worker` served, as `talked` says, and keeps the worker for the next
    /// call if it may serve again.
    fn end(&self, worker: Worker, talked: Talked, call: &WorkerCall) -> Outcome {
        let route = worker.route.clone();
        match talked {
            Talked::Done(done, unmarked) => {
                route.wait_marks(unmarked);
                // A worker whose task closed a stream would lose what later calls print
                // there: it serves no more calls.
                if route.end_call() && unmarked == [false; 2] {
                    self.keep_idle(worker);
                } else {
                    drop(worker);
                    // Stopped after its report: the report stands, the worker goes.
                    let _ = route.wait_end();
                }
                worker_outcome(call, Some(done), false, Outcome::Succeeded)
            }
            Talked::Last(done) | Talked::Broken(done) => {
                drop(worker);
                route.kill();
                let _ = route.wait_end();
                let stopped = route.end_call_stopped();
                match stopped {
                    Some(reason) => Outcome::Failed(reason),
                    None => worker_outcome(call, Some(done), false, Outcome::Succeeded),
                }
            }
            Talked::Gone => {
                drop(worker);
                let ended = route.wait_end();
                let stopped = route.end_call_stopped();
                match (stopped, ended) {
                    (Some(reason), _) => Outcome::Failed(reason),
                    (None, Ok(end)) => {
                        let stopped = end.stopped.is_some();
                        worker_outcome(call, None, stopped, end.outcome(&call.task))
                    }
                    (None, Err(failed)) => failed,
                }
            }
        }
    }

    fn keep_idle(&self, worker: Worker) {
        let mut idle = self.idle.lock();
        if idle.len() < self.keep {
            idle.push(worker);
        }
        // Otherwise dropped here: its connection closes and it exits.
    }

    /// Starts a worker process and waits for it to connect. A worker that cannot start, or
    /// ends before it connects, gives the outcome that says so.
    fn start(&self, shared: &Shared) -> Result<Worker, Outcome> {
        let n = shared.counter.fetch_add(1, Ordering::Relaxed);
        let path = shared.dir.join(format!("w{n}.sock"));
        let listener = Listener::unix(&path).map_err(Outcome::failed)?;
        let spec = worker_command(&shared.program, &shared.args, listener.worker_env());
        let route = Arc::new(Route::new(mark(n), self.mark_timeouts.clone()));
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let options = shared.options;
        let watched = route.clone();
        self.started.fetch_add(1, Ordering::Relaxed);
        ThreadCache::global().execute(move || {
            let waker = listener.waker();
            let accept = move || {
                let conn = listener.accept();
                listener.remove();
                let _ = tx.send(conn);
            };
            // Wakes the accept if the worker died before it connected.
            let ran = run_child_with(&spec, &options, &*watched, Some(accept), || waker.wake());
            watched.ended(ran.map(|(end, _)| end));
        });
        let conn = rx.recv().ok().and_then(Result::ok);
        let writer = conn.as_ref().and_then(|c| c.try_clone().ok());
        if let (Some(conn), Some(writer)) = (conn, writer) {
            return Ok(Worker {
                route,
                reader: BufReader::new(conn),
                writer,
            });
        }
        route.kill();
        Err(match route.wait_end() {
            Ok(end) => end.outcome("the worker"),
            Err(failed) => failed,
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *self.idle.lock());
        let routes: Vec<Arc<Route>> = idle.iter().map(|w| w.route.clone()).collect();
        // Closing the connections ends the workers (they exit at the end of the stream).
        drop(idle);
        let until = Instant::now() + EXIT_WAIT;
        for route in routes {
            if !route.wait_end_until(until) {
                route.kill();
            }
        }
    }
}

/// A line no task prints by chance: a worker's output ends each call with it.
fn mark(n: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d: Duration| d.as_nanos());
    format!("\u{1e}parade-call-end-{}-{n}-{nanos:x}", std::process::id())
}

/// Where one worker's output goes (the task of its current call), and what its supervisor
/// and its calls tell each other.
struct Route {
    mark: String,
    /// Calls whose marks did not come within [`MARK_WAIT`] (the pool's count).
    mark_timeouts: Arc<AtomicU64>,
    state: Mutex<RouteState>,
    changed: Condvar,
}

#[derive(Default)]
struct RouteState {
    /// The task the worker serves now.
    call: Option<(Engine, TaskId)>,
    /// Whether the current call's mark was read on stdout, on stderr.
    marks: [bool; 2],
    /// Why the current call was stopped (a cancel, a timeout), if it was.
    stopped: Option<Reason>,
    /// Stops the worker's processes (SIGTERM, SIGKILL after the grace).
    stop: Option<Box<dyn FnOnce() + Send>>,
    /// How the worker process ended, once it has (taken by the call that waits for it).
    ended: Option<Result<ChildEnd, Outcome>>,
    gone: bool,
}

impl Route {
    fn new(mark: String, mark_timeouts: Arc<AtomicU64>) -> Self {
        Self {
            mark,
            mark_timeouts,
            state: Mutex::new(RouteState::default()),
            changed: Condvar::new(),
        }
    }

    fn begin(&self, engine: Engine, id: TaskId) {
        let mut st = self.state.lock();
        st.call = Some((engine, id));
        st.marks = [false; 2];
        st.stopped = None;
    }

    /// Stops the worker if it still serves task `id` of the engine `key`.
    fn stop_call(&self, key: usize, id: TaskId, why: Reason) {
        let stop = {
            let mut st = self.state.lock();
            let current = st
                .call
                .as_ref()
                .is_some_and(|(e, i)| e.key() == key && *i == id);
            if !current || st.stopped.is_some() {
                return;
            }
            st.stopped = Some(why);
            st.stop.take()
        };
        if let Some(stop) = stop {
            stop();
        }
    }

    /// Stops the worker, whatever it does.
    fn kill(&self) {
        let stop = self.state.lock().stop.take();
        if let Some(stop) = stop {
            stop();
        }
    }

    /// Waits until both marks of the current call were read (or the worker is gone), except
    /// those the worker said it could not write (`unmarked`: stdout, stderr).
    fn wait_marks(&self, unmarked: [bool; 2]) {
        let until = Instant::now() + MARK_WAIT;
        let mut st = self.state.lock();
        while !(st.gone || (st.marks[0] || unmarked[0]) && (st.marks[1] || unmarked[1])) {
            if self.changed.wait_until(&mut st, until).timed_out() {
                self.mark_timeouts.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }

    /// Ends the current call; `false` if it was stopped (the worker must not serve again).
    fn end_call(&self) -> bool {
        let mut st = self.state.lock();
        st.call = None;
        st.stopped.take().is_none() && !st.gone
    }

    /// Ends the current call, saying why it was stopped if it was.
    fn end_call_stopped(&self) -> Option<Reason> {
        let mut st = self.state.lock();
        st.call = None;
        st.stopped.take()
    }

    fn is_gone(&self) -> bool {
        self.state.lock().gone
    }

    fn ended(&self, end: Result<ChildEnd, Outcome>) {
        let mut st = self.state.lock();
        st.ended = Some(end);
        st.gone = true;
        st.stop = None;
        self.changed.notify_all();
    }

    /// Waits for the worker process to end (all its output read) and says how it ended.
    fn wait_end(&self) -> Result<ChildEnd, Outcome> {
        let mut st = self.state.lock();
        while !st.gone {
            self.changed.wait(&mut st);
        }
        st.ended
            .take()
            .unwrap_or_else(|| Err(Outcome::failed("the worker's end was already taken")))
    }

    /// Waits until `until` for the worker process to end; whether it has.
    fn wait_end_until(&self, until: Instant) -> bool {
        let mut st = self.state.lock();
        while !st.gone {
            if self.changed.wait_until(&mut st, until).timed_out() {
                break;
            }
        }
        st.gone
    }
}

impl ChildTask for Route {
    fn emit_from(&self, stream: Stream, line: String) {
        self.emit_lines_from(stream, vec![line]);
    }

    fn emit_lines_from(&self, stream: Stream, lines: Vec<String>) {
        let mut marked = false;
        let mut out = Vec::with_capacity(lines.len());
        for line in lines {
            match line.strip_suffix(self.mark.as_str()) {
                Some(rest) => {
                    // A line the task left unfinished ends where the mark begins.
                    if !rest.is_empty() {
                        out.push(rest.to_owned());
                    }
                    marked = true;
                }
                None => out.push(line),
            }
        }
        let mut st = self.state.lock();
        if !out.is_empty() {
            match &st.call {
                Some((engine, id)) => engine.emit_output_lines(*id, stream, out),
                None => {
                    for line in out {
                        eprintln!("parade: a worker printed between its calls: {line}");
                    }
                }
            }
        }
        if marked {
            st.marks[usize::from(stream == Stream::Stderr)] = true;
            self.changed.notify_all();
        }
    }

    fn on_cancel(&self, hook: Box<dyn FnOnce() + Send>) {
        self.state.lock().stop = Some(hook);
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn timeout(&self) -> Option<Duration> {
        None
    }
}

/// The deadlines of the calls running on warm workers: one thread stops the worker of a call
/// whose time is up (a worker's own supervisor cannot know its calls' deadlines).
struct Alarms {
    set: Mutex<Vec<Alarm>>,
    changed: Condvar,
    next: AtomicU64,
}

struct Alarm {
    at: Instant,
    token: u64,
    route: Weak<Route>,
    key: usize,
    id: TaskId,
    limit: Duration,
}

fn alarms() -> &'static Alarms {
    static ALARMS: OnceLock<&'static Alarms> = OnceLock::new();
    ALARMS.get_or_init(|| {
        let alarms: &'static Alarms = Box::leak(Box::new(Alarms {
            set: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            next: AtomicU64::new(0),
        }));
        std::thread::Builder::new()
            .name("parade-alarms".into())
            .spawn(move || alarms.watch())
            .expect("a thread for call deadlines");
        alarms
    })
}

impl Alarms {
    fn set(&self, at: Instant, route: &Arc<Route>, key: usize, id: TaskId, limit: Duration) -> u64 {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        self.set.lock().push(Alarm {
            at,
            token,
            route: Arc::downgrade(route),
            key,
            id,
            limit,
        });
        self.changed.notify_all();
        token
    }

    fn clear(&self, token: u64) {
        self.set.lock().retain(|a| a.token != token);
    }

    fn watch(&self) {
        let mut set = self.set.lock();
        loop {
            let now = Instant::now();
            let (due, waiting): (Vec<Alarm>, Vec<Alarm>) = std::mem::take(&mut *set)
                .into_iter()
                .partition(|a| a.at <= now);
            *set = waiting;
            if !due.is_empty() {
                drop(set);
                for alarm in due {
                    if let Some(route) = alarm.route.upgrade() {
                        route.stop_call(alarm.key, alarm.id, Reason::Timeout(alarm.limit));
                    }
                }
                set = self.set.lock();
                continue;
            }
            match set.iter().map(|a| a.at).min() {
                Some(at) => {
                    self.changed.wait_until(&mut set, at);
                }
                None => self.changed.wait(&mut set),
            }
        }
    }
}
