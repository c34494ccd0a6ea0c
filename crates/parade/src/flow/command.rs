//! Running commands from a proc, with the library's one child runner
//! ([`run_child_with`](crate::exec::child)): every line the command prints goes to observers
//! (so the display and the proc's log file see it) and is kept for the proc; the proc's
//! cancellation or deadline stops the command's whole process group (SIGTERM, then SIGKILL).

use std::process::Command;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::engine::{Reason, Stream};
use crate::exec::CommandSpec;
use crate::exec::child::{ChildOptions, ChildTask, outcome_of, run_child_with};

use super::{Context, ProcError};

/// What a finished command printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// Everything on standard output, lines joined with `\n`.
    pub stdout: String,
    /// Everything on standard error, lines joined with `\n`.
    pub stderr: String,
}

/// A proc's context as the child runner sees it, keeping what the command prints.
struct Capture<'c, 'a> {
    ctx: &'c Context<'a>,
    out: Mutex<CommandOutput>,
}

impl ChildTask for Capture<'_, '_> {
    fn emit_from(&self, stream: Stream, line: String) {
        {
            let mut out = self.out.lock();
            let all = match stream {
                Stream::Stdout => &mut out.stdout,
                Stream::Stderr => &mut out.stderr,
            };
            if !all.is_empty() {
                all.push('\n');
            }
            all.push_str(&line);
        }
        self.ctx.emit_from(stream, line);
    }
    fn on_cancel(&self, hook: Box<dyn FnOnce() + Send>) {
        self.ctx.ops.on_cancel(hook);
    }
    fn deadline(&self) -> Option<Instant> {
        self.ctx.deadline()
    }
    fn timeout(&self) -> Option<Duration> {
        self.ctx
            .task()
            .and_then(crate::engine::TaskContext::timeout)
    }
}

/// The command as a [`CommandSpec`] (variables it removes are not carried over).
fn spec_of(cmd: &Command) -> CommandSpec {
    let text = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
    CommandSpec {
        program: text(cmd.get_program()),
        args: cmd.get_args().map(text).collect(),
        env: cmd
            .get_envs()
            .filter_map(|(k, v)| Some((text(k), text(v?))))
            .collect(),
        cwd: cmd.get_current_dir().map(std::path::Path::to_path_buf),
        ..CommandSpec::default()
    }
}

impl Context<'_> {
    /// Runs `script` with `sh -c`; see [`Context::command`].
    ///
    /// ```
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// flow.proc("hello", |ctx| Ok(ctx.shell("echo hello; echo oops >&2")?.stdout)).add().unwrap();
    /// flow.proc("fails", |ctx| { ctx.shell("exit 3")?; Ok(()) }).add().unwrap();
    /// flow.run("hello").unwrap();
    /// flow.run("fails").unwrap();
    /// assert!(flow.wait_all().is_err());
    /// assert_eq!(flow.result::<String>("hello").unwrap(), "hello");
    /// assert_eq!(flow.status("fails").unwrap().reason.unwrap(), "exit status 3");
    /// ```
    pub fn shell(&self, script: &str) -> Result<CommandOutput, ProcError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        self.command(cmd)
    }

    /// Runs a command in a process group of its own, its standard input closed, emitting every
    /// line it prints on standard output and standard error as this proc's output. Returns
    /// what it printed; fails with its exit status or signal. If the proc is cancelled or
    /// passes its deadline, the command's process group is stopped (the proc then ends as
    /// cancelled or timed out).
    #[allow(clippy::needless_pass_by_value)] // a command is built to be handed over
    pub fn command(&self, cmd: Command) -> Result<CommandOutput, ProcError> {
        let capture = Capture {
            ctx: self,
            out: Mutex::new(CommandOutput::default()),
        };
        let spec = spec_of(&cmd);
        let (end, _) = run_child_with(
            &spec,
            &ChildOptions::default(),
            &capture,
            None::<fn()>,
            || (),
        )
        .map_err(|failed| match failed {
            crate::engine::Outcome::Failed(reason) => ProcError::failed(reason.to_string()),
            other => ProcError::failed(format!("{other:?}")),
        })?;
        if end.stopped.is_some() {
            return Err(ProcError::Stopped);
        }
        let status = end
            .status
            .map_err(|e| ProcError::failed(format!("cannot wait for the command: {e}")))?;
        match outcome_of(status) {
            crate::engine::Outcome::Failed(Reason::Exit(code)) => Err(ProcError::Exit(code)),
            crate::engine::Outcome::Failed(Reason::Signal(sig)) => Err(ProcError::Signal(sig)),
            crate::engine::Outcome::Failed(reason) => Err(ProcError::failed(reason.to_string())),
            _ => Ok(capture.out.into_inner()),
        }
    }
}
