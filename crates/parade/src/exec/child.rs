//! Running one child process for a task: its own process group, output streamed line by line,
//! a deadline and cancellation that end the whole group, and nothing left behind.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, bounded, unbounded};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::CommandSpec;
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

/// Why the waiting loop woke up.
enum Wake {
    Exited(std::io::Result<ExitStatus>),
    Cancel,
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
    match run_child_with(spec, options, ctx, || (), || ()) {
        Ok((end, ())) => end.outcome(&spec.program),
        Err(failed) => failed,
    }
}

/// Runs `spec` to its end for the task `ctx`, with `session` running on a thread of its own
/// while the child lives (it must end by itself once the child is gone; `after_exit` runs
/// when the child has exited, to help it notice). A child that cannot start is an `Err`
/// outcome.
pub(crate) fn run_child_with<R: Send>(
    spec: &CommandSpec,
    options: &ChildOptions,
    ctx: &(impl ChildTask + ?Sized),
    session: impl FnOnce() -> R + Send,
    after_exit: impl FnOnce(),
) -> Result<(ChildEnd, R), Outcome> {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
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
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (wake_tx, wakes) = unbounded();
    let cancel_tx = wake_tx.clone();
    ctx.on_cancel(Box::new(move || {
        let _ = cancel_tx.send(Wake::Cancel);
    }));
    std::thread::scope(|scope| {
        let (readers_done_tx, readers_done) = bounded::<()>(2);
        for (pipe, stream) in [
            (Box::new(stdout) as Box<dyn Read + Send>, Stream::Stdout),
            (Box::new(stderr), Stream::Stderr),
        ] {
            let done = readers_done_tx.clone();
            scope.spawn(move || {
                forward_lines(pipe, |line| ctx.emit_from(stream, line));
                let _ = done.send(());
            });
        }
        drop(readers_done_tx);
        let session = scope.spawn(session);
        scope.spawn(move || {
            let _ = wake_tx.send(Wake::Exited(child.wait()));
        });

        let mut stopping: Option<(Reason, Instant)> = None;
        let status = loop {
            let until = match &stopping {
                Some((_, kill_at)) => Some(*kill_at),
                None => ctx.deadline(),
            };
            let woke = match until {
                Some(at) => wakes.recv_deadline(at),
                None => wakes.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match woke {
                Ok(Wake::Exited(status)) => break status,
                Ok(Wake::Cancel) if stopping.is_none() => {
                    signal_group(pgid, Signal::SIGTERM);
                    stopping = Some((Reason::Cancelled, Instant::now() + options.grace));
                }
                Err(RecvTimeoutError::Timeout) if stopping.is_none() => {
                    signal_group(pgid, Signal::SIGTERM);
                    let limit = ctx.timeout().unwrap_or_default();
                    stopping = Some((Reason::Timeout(limit), Instant::now() + options.grace));
                }
                Err(RecvTimeoutError::Timeout) => {
                    signal_group(pgid, Signal::SIGKILL);
                    if let Some((_, kill_at)) = &mut stopping {
                        *kill_at = Instant::now() + Duration::from_secs(3600);
                    }
                }
                Ok(Wake::Cancel) | Err(RecvTimeoutError::Disconnected) => {}
            }
        };
        // The leader is gone; what it left in its group goes too, politely first.
        if signal_group(pgid, Signal::SIGTERM) && readers_done.recv_timeout(options.grace).is_err()
        {
            signal_group(pgid, Signal::SIGKILL);
        }
        after_exit();
        let session = session
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        Ok((
            ChildEnd {
                status,
                stopped: stopping.map(|(reason, _)| reason),
            },
            session,
        ))
    })
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

/// Calls `emit` for each line read from `pipe` (without its line ending; invalid UTF-8 is
/// replaced), until the pipe closes.
pub(crate) fn forward_lines(pipe: impl Read, mut emit: impl FnMut(String)) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                emit(String::from_utf8_lossy(&buf).into_owned());
            }
        }
    }
}
