//! Running one child process for a task: its own process group (and cgroup, see
//! [`isolation`](super::isolation)), output streamed line by line, a deadline and cancellation
//! that end every process of it, and nothing left behind. Starting and reaping the process is
//! [`spawn`](super::spawn)'s; this module watches it.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use rustix::event::{EventfdFlags, eventfd};
use rustix::process::{PidfdFlags, pidfd_open};

use super::CommandSpec;
use super::isolation::{CONTAIN_AFTER, Cell, Urgent, boot_ticks, signal_pipe_holders};
use super::spawn::{SpawnError, spawn, try_reap};
use crate::engine::{Outcome, Reason, Stream, TaskContext};

/// How a child process is stopped.
#[derive(Clone, Copy, Debug)]
pub struct ChildOptions {
    /// Time between SIGTERM and SIGKILL when the process group must stop.
    pub grace: Duration,
}

impl Default for ChildOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(5),
        }
    }
}

/// What running a child needs of the task it runs for: where its lines go, how a cancel
/// reaches it, and its time limit. An engine task is one; a flow proc's command helpers wrap
/// theirs to keep what the command printed.
pub(crate) trait ChildTask: Sync {
    /// Takes one line the child printed.
    fn emit_from(&self, stream: Stream, line: String);
    /// Takes lines the child printed on one stream, in order.
    fn emit_lines_from(&self, stream: Stream, lines: Vec<String>) {
        for line in lines {
            self.emit_from(stream, line);
        }
    }
    /// Runs `hook` when the task is cancelled.
    fn on_cancel(&self, hook: Box<dyn FnOnce() + Send>);
    /// When the task's time runs out.
    fn deadline(&self) -> Option<Instant>;
    /// The task's time limit.
    fn timeout(&self) -> Option<Duration>;
}

impl ChildTask for TaskContext {
    fn emit_from(&self, stream: Stream, line: String) {
        TaskContext::emit_from(self, stream, line);
    }
    fn emit_lines_from(&self, stream: Stream, lines: Vec<String>) {
        TaskContext::emit_lines_from(self, stream, lines);
    }
    fn on_cancel(&self, hook: Box<dyn FnOnce() + Send>) {
        TaskContext::on_cancel(self, hook);
    }
    fn deadline(&self) -> Option<Instant> {
        TaskContext::deadline(self)
    }
    fn timeout(&self) -> Option<Duration> {
        TaskContext::timeout(self)
    }
}

/// How a child process ended.
pub(crate) struct ChildEnd {
    /// Its exit status, as `wait` reported it.
    pub(crate) status: std::io::Result<ExitStatus>,
    /// Set when parade stopped it: a timeout or a cancel.
    pub(crate) stopped: Option<Reason>,
}

impl ChildEnd {
    /// The outcome the exit status alone implies.
    pub(crate) fn outcome(self, program: &str) -> Outcome {
        match (self.stopped, self.status) {
            (Some(reason), _) => Outcome::Failed(reason),
            (None, Ok(status)) => outcome_of(status),
            (None, Err(e)) => Outcome::failed(format!("lost track of `{program}`: {e}")),
        }
    }
}

/// Runs `spec` to its end for the task `ctx` and says how it went.
pub(crate) fn run_child(
    spec: &CommandSpec,
    options: &ChildOptions,
    ctx: &(impl ChildTask + ?Sized),
) -> Outcome {
    match run_child_with(spec, options, ctx, None::<fn()>, || ()) {
        Ok((end, _)) => end.outcome(&spec.program),
        Err(failed) => failed,
    }
}

/// Runs `spec` to its end for the task `ctx`, with `session` (if any) running on a thread of
/// its own while the child lives (it must end by itself once the child is gone; `after_exit`
/// runs when the child has exited, to help it notice). A child that cannot start is an `Err`
/// outcome.
///
/// No thread waits for the exit: one `poll` on this thread watches the child's pidfd, its
/// two output pipes, an eventfd for cancels and kills, and the clock.
pub(crate) fn run_child_with<R: Send>(
    spec: &CommandSpec,
    options: &ChildOptions,
    ctx: &(impl ChildTask + ?Sized),
    session: Option<impl FnOnce() -> R + Send>,
    after_exit: impl FnOnce(),
) -> Result<(ChildEnd, Option<R>), Outcome> {
    let wake = match Wake::new() {
        Ok(w) => Arc::new(w),
        Err(e) => {
            return Err(Outcome::failed(format!(
                "cannot watch `{}`: {e}",
                spec.program
            )));
        }
    };
    let spawned = spawn(spec);
    let after = boot_ticks();
    let child = match spawned {
        Ok(child) => child,
        Err(SpawnError::Output(e)) => {
            return Err(Outcome::failed(format!(
                "cannot make a pipe for `{}`: {e}",
                spec.program
            )));
        }
        Err(SpawnError::Start(e)) if spec.shell_exit_codes => {
            return Err(shell_exit(spec, &e, ctx));
        }
        Err(SpawnError::Start(e)) => {
            let place = spec
                .cwd
                .as_ref()
                .map(|d| format!(" in {}", d.display()))
                .unwrap_or_default();
            return Err(Outcome::failed(format!(
                "cannot start `{}`{place}: {e}",
                spec.program
            )));
        }
    };
    let pid = child.pid;
    let urgent: Arc<dyn Urgent> = wake.clone();
    let mut cell = Cell::enclose(pid, spec, Arc::downgrade(&urgent), after);
    let contain_at = cell.containable().then(|| Instant::now() + CONTAIN_AFTER);
    // Without a pidfd (a kernel before 5.3), the exit is looked for every few milliseconds.
    let pidfd =
        rustix::process::Pid::from_raw(pid).and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok());
    let (stdout, stderr) = (child.stdout, child.stderr);
    let cancel = wake.clone();
    ctx.on_cancel(Box::new(move || cancel.cancel()));
    std::thread::scope(|scope| {
        let session = session.map(|s| scope.spawn(s));
        let mut watch = Watch {
            cell: &mut cell,
            spec,
            contain_at,
            pid,
            pidfd,
            wake: &wake,
            grace: options.grace,
            pipes: [
                Pipe::new(stdout, Stream::Stdout),
                stderr.map_or_else(
                    || Pipe::closed(Stream::Stderr),
                    |f| Pipe::new(f, Stream::Stderr),
                ),
            ],
            status: None,
            stopped: None,
            kill_at: None,
            abandon_at: None,
            killed: false,
            holders_killed: false,
            escaped: false,
            holders_at: None,
            group_gone: false,
        };
        watch.run(ctx);
        wake.give_back();
        after_exit();
        let session = session.map(|s| s.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        let status = watch
            .status
            .unwrap_or_else(|| Err(std::io::Error::other("the child's exit was never seen")));
        Ok((
            ChildEnd {
                status,
                stopped: watch.stopped,
            },
            session,
        ))
    })
}

/// A program that could not be started, ended as a POSIX shell ends such a command: exit status
/// 127 when it is not found, 126 when it is there but cannot run, the reason on standard
/// error. A working directory that cannot be entered is no command's fault and fails as
/// without [`CommandSpec::shell_exit_codes`].
fn shell_exit(spec: &CommandSpec, e: &std::io::Error, ctx: &(impl ChildTask + ?Sized)) -> Outcome {
    if spec.cwd.as_ref().is_some_and(|d| !d.is_dir()) {
        return Outcome::failed(format!(
            "cannot start `{}` in {}: {e}",
            spec.program,
            spec.cwd
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        ));
    }
    let (code, what) = if e.kind() == std::io::ErrorKind::NotFound {
        (127, "command not found".to_owned())
    } else {
        (126, format!("cannot run: {e}"))
    };
    ctx.emit_from(Stream::Stderr, format!("parade: {}: {what}", spec.program));
    Outcome::Failed(Reason::Exit(code))
}

/// How the task's side reaches the loop watching its child: a cancel, a kill without grace
/// ([`kill_running`](super::isolation::kill_running)), and the eventfd that wakes the loop.
///
/// The eventfd is the thread's, made once and lent to one watch at a time (a thousand tasks on
/// a thread make one, not a thousand): a poke a finished task's hook makes late only wakes the
/// next watch once, which finds none of its own flags set and drains it. What it means is in
/// the flags, which are each task's own.
struct Wake {
    fd: Arc<OwnedFd>,
    cancel: AtomicBool,
    kill: AtomicBool,
}

thread_local! {
    /// The eventfd this thread's next watch borrows (`None` while one has it).
    static THREAD_WAKE: std::cell::RefCell<Option<Arc<OwnedFd>>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
thread_local! {
    /// How many eventfds this thread's watches made.
    static EVENTFDS_MADE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Wake {
    /// A wake with this thread's eventfd, or a new one if another watch of this thread has it.
    fn new() -> std::io::Result<Self> {
        let fd = if let Some(fd) = THREAD_WAKE.with(|slot| slot.borrow_mut().take()) {
            fd
        } else {
            #[cfg(test)]
            EVENTFDS_MADE.with(|n| n.set(n.get() + 1));
            Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?)
        };
        Ok(Self {
            fd,
            cancel: AtomicBool::new(false),
            kill: AtomicBool::new(false),
        })
    }

    /// Gives the eventfd back to this thread for its next watch.
    fn give_back(&self) {
        THREAD_WAKE.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.is_none() {
                *slot = Some(self.fd.clone());
            }
        });
    }

    fn poke(&self) {
        let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
    }

    fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        self.poke();
    }

    fn drain(&self) {
        let mut bytes = [0u8; 8];
        let _ = rustix::io::read(&self.fd, &mut bytes);
    }
}

impl Urgent for Wake {
    fn kill_now(&self) {
        self.kill.store(true, Ordering::SeqCst);
        self.poke();
    }
}

/// How long after the exit output may still be open before what holds it counts as escaped.
const HOLDERS_AFTER: Duration = Duration::from_millis(50);

/// After the final SIGKILL, how long output still held open is read before it is given up.
const LINGER: Duration = Duration::from_millis(200);

/// Bytes read from a pipe at once at first; a read that fills it doubles it, up to
/// [`MAX_READ`] (a pipe holds 64 KiB), so a task printing much is read in few turns of the
/// watch loop and one printing little costs one small buffer.
const FIRST_READ: usize = 16 * 1024;
/// The first read's buffer, on the stack.
const FIRST_PEEK: usize = 512;
const MAX_READ: usize = 64 * 1024;

/// One of the child's output pipes, with the part of a line read so far.
struct Pipe {
    reader: Option<File>,
    stream: Stream,
    partial: Vec<u8>,
    /// Where reads go (empty until the first read).
    buf: Vec<u8>,
}

impl Pipe {
    fn new(reader: File, stream: Stream) -> Self {
        Self {
            reader: Some(reader),
            stream,
            partial: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// A pipe already at its end (a stream merged into another).
    fn closed(stream: Stream) -> Self {
        Self {
            reader: None,
            stream,
            partial: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Reads what is there and emits every complete line; at the end of the pipe, the rest.
    /// Each byte is looked at once (a long line costs what its bytes cost). The first read
    /// goes to a small buffer on the stack, and so does every read until one fills it: a task
    /// that prints nothing (most of a thousand `true`s) or little makes and zeroes no buffer
    /// (a read that did not fill 512 bytes found less waiting: a larger buffer would not
    /// have read more).
    fn read(&mut self, emit: &mut impl FnMut(Stream, String)) {
        let Some(reader) = &mut self.reader else {
            return;
        };
        let first_read = self.buf.is_empty();
        let mut search = self.partial.len();
        let read = if first_read {
            let mut first = [0u8; FIRST_PEEK];
            reader.read(&mut first).inspect(|&n| {
                self.partial.extend_from_slice(&first[..n]);
            })
        } else {
            reader.read(&mut self.buf)
        };
        match read {
            Ok(0) | Err(_) => self.close(emit),
            Ok(n) => {
                if first_read {
                    if n == FIRST_PEEK {
                        self.buf = vec![0; FIRST_READ];
                    }
                } else {
                    self.partial.extend_from_slice(&self.buf[..n]);
                    if n == self.buf.len() && n < MAX_READ {
                        self.buf.resize(2 * n, 0);
                    }
                }
                let mut from = 0;
                while let Some(i) = memchr::memchr(b'\n', &self.partial[search..]) {
                    let end = search + i + 1;
                    emit(self.stream, line_of(&self.partial[from..end]));
                    from = end;
                    search = end;
                }
                self.partial.drain(..from);
            }
        }
    }

    /// Emits the unfinished line, if any, and stops reading.
    fn close(&mut self, emit: &mut impl FnMut(Stream, String)) {
        if !self.partial.is_empty() {
            emit(self.stream, line_of(&std::mem::take(&mut self.partial)));
        }
        self.reader = None;
    }

    /// Reads what is already in the pipe, without waiting (to its end if it was closed).
    fn read_ready(&mut self, emit: &mut impl FnMut(Stream, String)) {
        for _ in 0..1024 {
            let Some(reader) = &self.reader else { return };
            let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
            let ready = poll(&mut fds, PollTimeout::ZERO).unwrap_or(0);
            if ready == 0 {
                return;
            }
            self.read(emit);
        }
    }

    /// Reads what is already in the pipe, without waiting, then stops reading.
    fn drain_and_close(&mut self, emit: &mut impl FnMut(Stream, String)) {
        self.read_ready(emit);
        self.close(emit);
    }
}

/// A line without its ending, invalid UTF-8 replaced. Valid text (the usual case) is checked
/// with the fast validator and copied once; only a line with invalid bytes goes through the
/// slower replacing pass.
fn line_of(bytes: &[u8]) -> String {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let line = &bytes[..end];
    match std::str::from_utf8(line) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(line).into_owned(),
    }
}

/// Lines read in one turn, in order, gathered as runs of one stream: each run goes to the
/// task as it is, not moved line by line into another vector.
type Pending = Vec<(Stream, Vec<String>)>;

/// Adds `line` of `stream` to the last run of `pending` if it is of that stream, else starts one.
fn gather(pending: &mut Pending, stream: Stream, line: String) {
    match pending.last_mut() {
        Some((s, lines)) if *s == stream => lines.push(line),
        _ => pending.push((stream, vec![line])),
    }
}

/// Hands `pending` lines to the task, each run of one stream at once.
fn flush(ctx: &(impl ChildTask + ?Sized), pending: &mut Pending) {
    for (stream, lines) in pending.drain(..) {
        ctx.emit_lines_from(stream, lines);
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The supervision of one child: its output, its exit, its deadline, cancels, and stopping
/// every process of its cell.
#[allow(clippy::struct_excessive_bools)] // independent facts of one supervision
struct Watch<'a> {
    cell: &'a mut Cell,
    spec: &'a CommandSpec,
    /// When the child, if it still runs, moves into a cgroup of its own.
    contain_at: Option<Instant>,
    /// The child's pid, reaped by this watch.
    pid: i32,
    pidfd: Option<OwnedFd>,
    wake: &'a Wake,
    grace: Duration,
    pipes: [Pipe; 2],
    status: Option<std::io::Result<ExitStatus>>,
    /// Set when parade stopped it: a timeout or a cancel.
    stopped: Option<Reason>,
    /// When SIGKILL follows the SIGTERM already sent.
    kill_at: Option<Instant>,
    /// When reading output that processes out of reach hold open ends.
    abandon_at: Option<Instant>,
    /// Whether SIGKILL was sent.
    killed: bool,
    /// Whether processes holding the output open were looked for and killed.
    holders_killed: bool,
    /// Whether processes outside the group held the output when the leader exited.
    escaped: bool,
    /// When processes still holding the output after the exit are stopped.
    holders_at: Option<Instant>,
    /// Whether the process group had no member left when the leader exited.
    group_gone: bool,
}

impl Watch<'_> {
    /// Runs until the child has exited and both pipes are closed (what it left in its cell is
    /// stopped too: SIGTERM, then SIGKILL after the grace period). Output held open by
    /// processes that escaped the cell is read for a grace period after the child's exit,
    /// then given up: a timeout or a stop ends within the grace whatever the task left.
    fn run(&mut self, ctx: &(impl ChildTask + ?Sized)) {
        // Lines read in one turn are handed on together, in order.
        let mut pending = Pending::new();
        loop {
            flush(ctx, &mut pending);
            let mut emit = |stream, line| gather(&mut pending, stream, line);
            if self.wake.kill.load(Ordering::SeqCst) && !self.killed {
                self.kill_now();
            }
            let open = self.pipes.iter().any(|p| p.reader.is_some());
            if self.status.is_some() && !open {
                self.end_leftovers();
                return;
            }
            let mut until = earliest(earliest(self.kill_at, self.abandon_at), self.holders_at);
            if self.status.is_none() {
                until = earliest(until, self.contain_at);
            }
            if self.stopped.is_none() {
                until = earliest(until, ctx.deadline());
            }
            if self.status.is_none() && self.pidfd.is_none() {
                until = earliest(until, Some(Instant::now() + Duration::from_millis(10)));
            }
            // Rounded up: waking before the instant would only loop again.
            let timeout = until.map_or(PollTimeout::NONE, |at| {
                let left = at.saturating_duration_since(Instant::now()).as_micros();
                PollTimeout::try_from(left.div_ceil(1000)).unwrap_or(PollTimeout::MAX)
            });
            let watch_exit = self.status.is_none().then_some(()).and(self.pidfd.as_ref());
            let [out, err] = &self.pipes;
            let mut fds: Vec<PollFd<'_>> =
                vec![PollFd::new(self.wake.fd.as_fd(), PollFlags::POLLIN)];
            if let Some(fd) = watch_exit {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
            for pipe in [out, err] {
                if let Some(r) = &pipe.reader {
                    fds.push(PollFd::new(r.as_fd(), PollFlags::POLLIN));
                }
            }
            match poll(&mut fds, timeout) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
            let readable: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            let mut slot = 1;
            let exit_seen = if watch_exit.is_some() {
                slot += 1;
                readable[1]
            } else {
                self.status.is_none()
            };
            for pipe in &mut self.pipes {
                if pipe.reader.is_some() {
                    if readable[slot] {
                        pipe.read(&mut emit);
                    }
                    slot += 1;
                }
            }
            if exit_seen {
                self.reap(&mut emit);
            }
            if readable[0] {
                self.wake.drain();
                if self.wake.cancel.load(Ordering::SeqCst) && self.stopped.is_none() {
                    self.stop(Reason::Cancelled);
                }
            }
            self.clock(ctx, &mut emit);
        }
    }

    /// Takes the child's exit status if it has exited.
    fn reap(&mut self, emit: &mut impl FnMut(Stream, String)) {
        let Some(status) = try_reap(self.pid) else {
            return;
        };
        self.status = Some(status);
        self.exited(emit);
    }

    /// SIGTERM to the whole cell; SIGKILL after the grace period.
    fn stop(&mut self, reason: Reason) {
        self.cell.signal(Signal::SIGTERM);
        self.stopped = Some(reason);
        let now = Instant::now();
        if !self.killed {
            self.kill_at = earliest(self.kill_at, Some(now + self.grace));
        }
        if self.status.is_some() {
            self.abandon_at = earliest(self.abandon_at, Some(now + self.grace + LINGER));
        }
    }

    /// SIGKILL to the whole cell at once (a second Ctrl-C).
    fn kill_now(&mut self) {
        self.cell.kill();
        self.killed = true;
        self.kill_at = None;
        if self.stopped.is_none() {
            self.stopped = Some(Reason::Cancelled);
        }
        self.abandon_at = earliest(self.abandon_at, Some(Instant::now() + LINGER));
    }

    /// What the clock says: the grace period after a SIGTERM ended (SIGKILL), output held
    /// open is given up, the deadline passed (SIGTERM).
    fn clock(&mut self, ctx: &(impl ChildTask + ?Sized), emit: &mut impl FnMut(Stream, String)) {
        let now = Instant::now();
        if self.holders_at.is_some_and(|at| now >= at) {
            self.stop_holders();
        }
        if self.contain_at.is_some_and(|at| now >= at) {
            self.contain_at = None;
            if self.status.is_none() && !self.killed {
                self.cell.contain(self.spec);
            }
        }
        if self.kill_at.is_some_and(|at| now >= at) {
            self.cell.kill();
            self.killed = true;
            self.kill_at = None;
            if self.status.is_some() {
                if self.escaped {
                    self.holders_killed = true;
                    self.signal_holders(Signal::SIGKILL);
                }
                self.abandon_at = earliest(self.abandon_at, Some(now + LINGER));
            }
        }
        if self.abandon_at.is_some_and(|at| now >= at) && !self.holders_killed {
            // Processes that left the cell still hold the output: they are the task's too.
            self.holders_killed = true;
            if self.signal_holders(Signal::SIGKILL) > 0 {
                self.abandon_at = Some(now + LINGER);
            }
        }
        if self.abandon_at.is_some_and(|at| now >= at) {
            self.abandon_at = None;
            let held = self.pipes.iter().any(|p| p.reader.is_some());
            for pipe in &mut self.pipes {
                pipe.drain_and_close(emit);
            }
            if held {
                emit(
                    Stream::Stderr,
                    "parade: stopped reading this task's output: processes parade cannot \
                     kill still hold it open"
                        .to_owned(),
                );
            }
        }
        if self.stopped.is_none() && ctx.deadline().is_some_and(|d| now >= d) {
            self.stop(Reason::Timeout(ctx.timeout().unwrap_or_default()));
        }
    }

    /// The leader is gone and no process holds its pipes, but some of its cell may live on
    /// (detached from its output, perhaps ignoring SIGTERM): SIGTERM them, and SIGKILL what is
    /// left when the grace period ends. Their ends cannot be waited for (they are not our
    /// children), so this looks every few milliseconds, for at most the grace period.
    fn end_leftovers(&mut self) {
        if (self.group_gone && !self.cell.has_cgroup()) || !self.cell.signal(Signal::SIGTERM) {
            return;
        }
        let kill_at = self.kill_at.unwrap_or_else(|| Instant::now() + self.grace);
        while self.cell.alive() {
            if Instant::now() >= kill_at || self.wake.kill.load(Ordering::SeqCst) {
                self.cell.kill();
                // A killed process lingers a moment; give it up to a second to be gone, so the
                // task ends with nothing of it left (processes no one reaps stay as zombies).
                let gone_by = Instant::now() + Duration::from_secs(1);
                while self.cell.alive() && Instant::now() < gone_by {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The leader is gone; what it left in its cell goes too, politely first, and output it
    /// left open is read for a grace period at most. Without a cgroup, processes that hold
    /// the output open though nothing is left in the group escaped it (`setsid`): they are
    /// found by the pipes they hold and stopped the same way.
    fn exited(&mut self, emit: &mut impl FnMut(Stream, String)) {
        // A leader's own end of its pipes closed before its exit was told: read what is
        // there, so that only pipes others hold stay open.
        for pipe in &mut self.pipes {
            pipe.read_ready(emit);
        }
        let now = Instant::now();
        if !self.killed && self.kill_at.is_none() {
            if self.cell.signal(Signal::SIGTERM) {
                self.kill_at = Some(now + self.grace);
            } else {
                // No member left: the group is gone for good (no process can join it).
                self.group_gone = true;
            }
        }
        if self.pipes.iter().any(|p| p.reader.is_some()) {
            self.abandon_at = earliest(self.abandon_at, Some(now + self.grace + LINGER));
            if !self.killed && !self.cell.has_cgroup() {
                // Not at once: a child another thread is spawning holds these pipes until its
                // `exec`, and an ordinary end reaches the pipes a moment after the exit.
                self.holders_at = Some(now + HOLDERS_AFTER);
            }
        }
    }

    /// Output still open a moment after the exit, with nothing left in the group: what holds
    /// it escaped (`setsid`), and is stopped like the group, politely first.
    fn stop_holders(&mut self) {
        self.holders_at = None;
        if self.killed || !self.pipes.iter().any(|p| p.reader.is_some()) {
            return;
        }
        self.escaped = self.signal_holders(Signal::SIGTERM) > 0;
        if self.escaped {
            self.kill_at = earliest(self.kill_at, Some(Instant::now() + self.grace));
        }
    }

    /// Sends `signal` to the processes holding the output pipes still open.
    fn signal_holders(&self, signal: Signal) -> usize {
        let inodes: Vec<u64> = self
            .pipes
            .iter()
            .filter_map(|p| p.reader.as_ref())
            .filter_map(|r| rustix::fs::fstat(r).ok())
            .map(|st| st.st_ino)
            .collect();
        signal_pipe_holders(&inodes, signal)
    }
}

/// Success for exit status 0, else the exit code or the signal.
pub(crate) fn outcome_of(status: ExitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(0), _) => Outcome::Succeeded,
        (Some(code), _) => Outcome::Failed(Reason::Exit(code)),
        (None, Some(sig)) => Outcome::Failed(Reason::Signal(sig)),
        (None, None) => Outcome::failed("ended without an exit status"),
    }
}

#[cfg(test)]
mod tests {
    use super::{
        ChildOptions, ChildTask, EVENTFDS_MADE, Pending, Stream, gather, line_of, run_child,
    };
    use crate::engine::Outcome;
    use crate::exec::CommandSpec;
    use std::time::{Duration, Instant};

    /// A task that keeps nothing and is never cancelled.
    struct Quiet;

    impl ChildTask for Quiet {
        fn emit_from(&self, _: Stream, _: String) {}
        fn on_cancel(&self, _: Box<dyn FnOnce() + Send>) {}
        fn deadline(&self) -> Option<Instant> {
            None
        }
        fn timeout(&self) -> Option<Duration> {
            None
        }
    }

    #[test]
    fn the_children_of_a_thread_share_one_eventfd() {
        std::thread::spawn(|| {
            let spec = CommandSpec::new("true", [""; 0]);
            for _ in 0..5 {
                assert_eq!(
                    run_child(&spec, &ChildOptions::default(), &Quiet),
                    Outcome::Succeeded
                );
            }
            assert_eq!(EVENTFDS_MADE.with(std::cell::Cell::get), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn lines_gather_in_runs_of_one_stream_in_order() {
        let mut pending = Pending::new();
        let lines = [
            (Stream::Stdout, "a"),
            (Stream::Stdout, "b"),
            (Stream::Stderr, "c"),
            (Stream::Stdout, "d"),
            (Stream::Stdout, "e"),
        ];
        for (stream, line) in lines {
            gather(&mut pending, stream, line.to_owned());
        }
        let want = [
            (Stream::Stdout, vec!["a", "b"]),
            (Stream::Stderr, vec!["c"]),
            (Stream::Stdout, vec!["d", "e"]),
        ];
        let got: Vec<(Stream, Vec<&str>)> = pending
            .iter()
            .map(|(s, l)| (*s, l.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_line_loses_its_ending_and_keeps_its_text() {
        assert_eq!(line_of(b"hello\n"), "hello");
        assert_eq!(line_of(b"progress 50%\r\n"), "progress 50%");
        assert_eq!(line_of("déjà vu\n".as_bytes()), "déjà vu");
        assert_eq!(line_of(b"no ending"), "no ending");
        assert_eq!(line_of(b"\n"), "");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        assert_eq!(line_of(b"a\xffb\n"), "a\u{fffd}b");
        assert_eq!(line_of(b"\xe2\x82\n"), "\u{fffd}");
    }
}
