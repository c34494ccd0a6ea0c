//! Running one child process for a task: its own process group, output streamed line by line,
//! a deadline and cancellation that end the whole group, and nothing left behind.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::CommandSpec;
use super::process::WORKER_SOCKET_ENV;
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

/// Whether any process of the group `pgid` still lives. Zombies do not count: a leftover's
/// parent is gone, and whoever inherits it may be slow to reap it. Read from `/proc`; where
/// that cannot be read, any process of the group counts.
fn group_alive(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return killpg(Pid::from_raw(pgid), None).is_ok();
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`: comm may hold spaces, so read after its `)`.
        let mut fields = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
        pgrp == Some(pgid) && !matches!(state, "Z" | "X")
    })
}

/// Sends `signal` to every process of the group `pgid`; false if the group is gone.
pub(crate) fn signal_group(pgid: i32, signal: Signal) -> bool {
    killpg(Pid::from_raw(pgid), signal).is_ok()
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
pub(crate) fn run_child_with<R: Send>(
    spec: &CommandSpec,
    options: &ChildOptions,
    ctx: &(impl ChildTask + ?Sized),
    session: Option<impl FnOnce() -> R + Send>,
    after_exit: impl FnOnce(),
) -> Result<(ChildEnd, Option<R>), Outcome> {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        // A worker's own socket is not for its children (only a spec that names it passes it).
        .env_remove(WORKER_SOCKET_ENV)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let merged = merge_stderr(&mut command, spec)?;
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
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
    let pgid = i32::try_from(child.id()).expect("process ids fit in i32");
    // The parent's copies of the merged pipe's write end must close for end-of-file to come.
    drop(command);
    let (stdout, stderr) = match merged {
        Some(reader) => (File::from(reader), None),
        None => (
            File::from(OwnedFd::from(child.stdout.take().expect("stdout is piped"))),
            Some(File::from(OwnedFd::from(
                child.stderr.take().expect("stderr is piped"),
            ))),
        ),
    };
    let (wake_read, wake_write) = match nix::unistd::pipe() {
        Ok((r, w)) => (File::from(r), Arc::new(File::from(w))),
        Err(e) => {
            signal_group(pgid, Signal::SIGKILL);
            let _ = child.wait();
            return Err(Outcome::failed(format!(
                "cannot watch `{}`: {e}",
                spec.program
            )));
        }
    };
    let cancel_write = wake_write.clone();
    ctx.on_cancel(Box::new(move || {
        let _ = (&*cancel_write).write_all(&[CANCEL]);
    }));
    std::thread::scope(|scope| {
        let session = session.map(|s| scope.spawn(s));
        // One thread waits for the exit; this one reads both pipes and watches the clock.
        let (exit_tx, exit) = crossbeam_channel::bounded(1);
        scope.spawn(move || {
            let _ = exit_tx.send(child.wait());
            let _ = (&*wake_write).write_all(&[EXITED]);
        });
        let mut watch = Watch {
            pgid,
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
        };
        watch.run(ctx, &wake_read, &exit);
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

/// With [`CommandSpec::merge_stderr`], points the command's stdout and stderr at one pipe (so
/// their lines keep the order the program wrote them), with [`CommandSpec::terminal`] at one
/// pseudo-terminal, and returns the reading end.
fn merge_stderr(command: &mut Command, spec: &CommandSpec) -> Result<Option<OwnedFd>, Outcome> {
    let failed = |e: std::io::Error| {
        Outcome::failed(format!("cannot make a pipe for `{}`: {e}", spec.program))
    };
    if let Some((ws_col, ws_row)) = spec.terminal {
        let size = nix::pty::Winsize {
            ws_row,
            ws_col,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).map_err(|e| failed(e.into()))?;
        for fd in [&pty.master, &pty.slave] {
            let cloexec = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC);
            nix::fcntl::fcntl(fd, cloexec).map_err(|e| failed(e.into()))?;
        }
        let copy = pty.slave.try_clone().map_err(failed)?;
        command.stdout(copy).stderr(pty.slave);
        return Ok(Some(pty.master));
    }
    if !spec.merge_stderr {
        return Ok(None);
    }
    let (reader, writer) = std::io::pipe().map_err(failed)?;
    command
        .stdout(writer.try_clone().map_err(failed)?)
        .stderr(writer);
    Ok(Some(reader.into()))
}

/// What the waiting thread writes to the wake pipe.
const EXITED: u8 = b'x';
/// What a cancel writes to the wake pipe.
const CANCEL: u8 = b'c';

/// One of the child's output pipes, with the part of a line read so far.
struct Pipe {
    reader: Option<File>,
    stream: Stream,
    partial: Vec<u8>,
}

impl Pipe {
    fn new(reader: File, stream: Stream) -> Self {
        Self {
            reader: Some(reader),
            stream,
            partial: Vec::new(),
        }
    }

    /// A pipe already at its end (a stream merged into another).
    fn closed(stream: Stream) -> Self {
        Self {
            reader: None,
            stream,
            partial: Vec::new(),
        }
    }

    /// Reads what is there and emits every complete line; at the end of the pipe, the rest.
    fn read(&mut self, emit: &mut impl FnMut(Stream, String)) {
        let Some(reader) = &mut self.reader else {
            return;
        };
        let mut buf = [0u8; 16 * 1024];
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => {
                if !self.partial.is_empty() {
                    emit(self.stream, line_of(&std::mem::take(&mut self.partial)));
                }
                self.reader = None;
            }
            Ok(n) => {
                self.partial.extend_from_slice(&buf[..n]);
                while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
                    let rest = self.partial.split_off(end + 1);
                    let line = std::mem::replace(&mut self.partial, rest);
                    emit(self.stream, line_of(&line));
                }
            }
        }
    }
}

/// A line without its ending, invalid UTF-8 replaced.
fn line_of(bytes: &[u8]) -> String {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The supervision of one child: its output, its deadline, cancels, and stopping its group.
struct Watch {
    pgid: i32,
    grace: Duration,
    pipes: [Pipe; 2],
    status: Option<std::io::Result<ExitStatus>>,
    /// Set when parade stopped it: a timeout or a cancel.
    stopped: Option<Reason>,
    /// When SIGKILL follows the SIGTERM already sent.
    kill_at: Option<Instant>,
}

impl Watch {
    /// Runs until the child has exited and both pipes are closed (what it left in its group is
    /// stopped too: SIGTERM, then SIGKILL after the grace period).
    fn run(
        &mut self,
        ctx: &(impl ChildTask + ?Sized),
        wake: &File,
        exits: &crossbeam_channel::Receiver<std::io::Result<ExitStatus>>,
    ) {
        let mut emit = |stream, line| ctx.emit_from(stream, line);
        loop {
            let open = self.pipes.iter().any(|p| p.reader.is_some());
            if self.status.is_some() && !open {
                self.end_leftovers();
                return;
            }
            let until = match (self.kill_at, self.stopped.is_none()) {
                (Some(at), _) => Some(at),
                (None, true) if self.status.is_none() => ctx.deadline(),
                _ => None,
            };
            // Rounded up: waking before the instant would only loop again.
            let timeout = until.map_or(PollTimeout::NONE, |at| {
                let left = at.saturating_duration_since(Instant::now()).as_micros();
                PollTimeout::try_from(left.div_ceil(1000)).unwrap_or(PollTimeout::MAX)
            });
            let [out, err] = &self.pipes;
            let mut fds: Vec<PollFd<'_>> = vec![PollFd::new(wake.as_fd(), PollFlags::POLLIN)];
            for pipe in [out, err] {
                if let Some(r) = &pipe.reader {
                    fds.push(PollFd::new(r.as_fd(), PollFlags::POLLIN));
                }
            }
            let ready = match poll(&mut fds, timeout) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => 0,
            };
            let readable: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            if ready == 0 {
                self.clock_ran_out(ctx);
                continue;
            }
            let mut slot = 1;
            for pipe in &mut self.pipes {
                if pipe.reader.is_some() {
                    if readable[slot] {
                        pipe.read(&mut emit);
                    }
                    slot += 1;
                }
            }
            if readable[0] {
                let mut bytes = [0u8; 16];
                let n = (&*wake).read(&mut bytes).unwrap_or(0);
                for &b in &bytes[..n] {
                    if b == EXITED {
                        self.status = exits.recv().ok();
                        self.exited();
                    } else if b == CANCEL && self.stopped.is_none() && self.status.is_none() {
                        self.stop(Reason::Cancelled);
                    }
                }
            }
        }
    }

    fn stop(&mut self, reason: Reason) {
        signal_group(self.pgid, Signal::SIGTERM);
        self.stopped = Some(reason);
        self.kill_at = Some(Instant::now() + self.grace);
    }

    /// The deadline passed (TERM the group) or the grace period after a TERM did (KILL it).
    fn clock_ran_out(&mut self, ctx: &(impl ChildTask + ?Sized)) {
        match self.kill_at {
            Some(at) if Instant::now() >= at => {
                signal_group(self.pgid, Signal::SIGKILL);
                self.kill_at = None;
            }
            None if self.stopped.is_none()
                && self.status.is_none()
                && ctx.deadline().is_some_and(|d| Instant::now() >= d) =>
            {
                self.stop(Reason::Timeout(ctx.timeout().unwrap_or_default()));
            }
            _ => {}
        }
    }

    /// The leader is gone and no process holds its pipes, but some of its group may live on
    /// (detached from its output, perhaps ignoring SIGTERM): SIGTERM them, and SIGKILL what is
    /// left when the grace period ends. Their ends cannot be waited for (they are not our
    /// children), so this looks every few milliseconds, for at most the grace period.
    fn end_leftovers(&mut self) {
        if !signal_group(self.pgid, Signal::SIGTERM) {
            return;
        }
        let kill_at = self.kill_at.unwrap_or_else(|| Instant::now() + self.grace);
        while group_alive(self.pgid) {
            if Instant::now() >= kill_at {
                signal_group(self.pgid, Signal::SIGKILL);
                // A killed process lingers a moment; give it up to a second to be gone, so the
                // task ends with nothing of it left (processes no one reaps stay as zombies).
                let gone_by = Instant::now() + Duration::from_secs(1);
                while group_alive(self.pgid) && Instant::now() < gone_by {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The leader is gone; what it left in its group goes too, politely first.
    fn exited(&mut self) {
        if self.kill_at.is_none() && signal_group(self.pgid, Signal::SIGTERM) {
            self.kill_at = Some(Instant::now() + self.grace);
        }
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
