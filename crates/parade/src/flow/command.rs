//! Running commands from a proc: every line the command prints goes to observers through
//! [`TaskContext::emit_from`](crate::engine::TaskContext::emit_from) (so the display and the
//! proc's log file see it), and the proc's cancellation or deadline stops the command.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use crossbeam_channel::RecvTimeoutError;

use crate::engine::Stream;

use super::{Context, ProcError};

/// What a finished command printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// Everything on standard output, lines joined with `\n`.
    pub stdout: String,
    /// Everything on standard error, lines joined with `\n`.
    pub stderr: String,
}

fn pump(
    reader: impl Read + Send + 'static,
    stream: Stream,
    tx: crossbeam_channel::Sender<(Stream, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    while matches!(buf.last(), Some(b'\n' | b'\r')) {
                        buf.pop();
                    }
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if tx.send((stream, line)).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

/// Kills the process group `pgid` (no signal API in std; `kill` is on every Unix).
fn kill_group(pgid: u32) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{pgid}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = pgid;
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

    /// Runs a command, its standard input closed, emitting every line it prints on standard
    /// output and standard error as this proc's output. Returns what it printed; fails with
    /// its exit status or signal. If the proc is cancelled or passes its deadline, the command
    /// is killed (the proc then ends as cancelled or timed out).
    pub fn command(&self, mut cmd: Command) -> Result<CommandOutput, ProcError> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            // Its own process group, so stopping it stops what it started too.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|e| {
            let program = cmd.get_program().to_string_lossy();
            ProcError::failed(format!("cannot start \"{program}\": {e}"))
        })?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let readers = [
            child
                .stdout
                .take()
                .map(|r| pump(r, Stream::Stdout, tx.clone())),
            child.stderr.take().map(|r| pump(r, Stream::Stderr, tx)),
        ];
        let mut out = CommandOutput::default();
        let mut killed = false;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok((stream, line)) => {
                    let all = match stream {
                        Stream::Stdout => &mut out.stdout,
                        Stream::Stderr => &mut out.stderr,
                    };
                    if !all.is_empty() {
                        all.push('\n');
                    }
                    all.push_str(&line);
                    self.emit_from(stream, line);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if !killed && self.is_cancelled() {
                killed = true;
                kill_group(child.id());
                let _ = child.kill();
            }
        }
        for r in readers.into_iter().flatten() {
            let _ = r.join();
        }
        let status = child
            .wait()
            .map_err(|e| ProcError::failed(format!("cannot wait for the command: {e}")))?;
        if killed {
            return Err(ProcError::Stopped);
        }
        if status.success() {
            return Ok(out);
        }
        if let Some(code) = status.code() {
            return Err(ProcError::Exit(code));
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig) = status.signal() {
                return Err(ProcError::Signal(sig));
            }
        }
        Err(ProcError::failed(format!(
            "the command ended with {status}"
        )))
    }
}
