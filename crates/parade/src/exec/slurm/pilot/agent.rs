//! The pilot side: [`pilot_entry`], run at the top of `main` in a pilot job. It connects to
//! the parent named by [`PILOT_ENV`] (proving the run's secret), runs each task it is handed as
//! a child process group of its own, sends back the task's exit status and output, and stops
//! when the parent says so or goes away. A signal that ends the pilot (`scancel`, the end of
//! its time) ends it at once: Slurm signals every process of the job, its tasks too. The pilot
//! unblocks every signal first (its tasks inherit its mask, and would ignore SIGTERM).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal, killpg};
use nix::unistd::Pid;

use super::wire::{FromPilot, OUTPUT_MAX, StreamName, ToPilot, receive, send};
use crate::exec::CommandSpec;
use crate::exec::process::{WORKER_SECRET_FILE_ENV, WORKER_SOCKET_ENV};
use crate::exec::thread_cache::ThreadCache;

/// The environment variable that makes a process a pilot: `tcp://HOST:PORT` of its parent.
/// The run's secret is read from the file named by
/// [`WORKER_SECRET_FILE_ENV`](crate::exec::process::WORKER_SECRET_FILE_ENV). Tasks the pilot
/// runs never inherit either.
pub const PILOT_ENV: &str = "PARADE_PILOT";

/// How often a pilot tells its parent it is alive.
pub(crate) const BEAT: Duration = Duration::from_secs(1);

/// Time between SIGTERM and SIGKILL when a task's processes must stop.
const GRACE: Duration = Duration::from_secs(2);

/// Call at the top of `main` in a program that may run as a Slurm pilot
/// ([`PilotConfig`](super::PilotConfig)); [`parade::worker_entry`](crate::worker_entry) calls
/// it. In a process started as a pilot ([`PILOT_ENV`] set), it runs the tasks its parent hands
/// it and exits when the run ends (status 0; 70 when the parent cannot be reached). In any
/// other process it returns at once.
///
/// ```
/// fn main() {
///     parade::exec::slurm::pilot_entry(); // a pilot never returns from here
///     // ... the program itself ...
/// }
/// # main();
/// ```
pub fn pilot_entry() {
    let Some(target) = std::env::var_os(PILOT_ENV) else {
        return;
    };
    let code = match run(&target.to_string_lossy()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("parade pilot: {e}");
            70
        }
    };
    std::process::exit(code)
}

struct Agent {
    writer: Mutex<TcpStream>,
    /// The running tasks' process groups, by task id.
    children: Mutex<HashMap<u64, Pid>>,
    /// Tasks the parent asked to kill.
    killed: Mutex<std::collections::HashSet<u64>>,
    /// Set when the pilot ends: the tasks it kills then are not reported as ended by a signal
    /// (the parent learns they were lost with the pilot).
    ending: AtomicBool,
}

fn run(target: &str) -> Result<(), String> {
    // Tasks inherit the signal mask of the thread that starts them, and the program that
    // started the pilot may have blocked SIGTERM (a task would then ignore it): none is
    // blocked here, before any thread starts.
    SigSet::empty()
        .thread_set_mask()
        .map_err(|e| format!("cannot unblock signals: {e}"))?;
    let stream = connect(target)?;
    let agent = Arc::new(Agent {
        writer: Mutex::new(
            stream
                .try_clone()
                .map_err(|e| format!("cannot use the connection: {e}"))?,
        ),
        children: Mutex::new(HashMap::new()),
        ending: AtomicBool::new(false),
        killed: Mutex::new(std::collections::HashSet::new()),
    });
    agent
        .send(&FromPilot::Hello {
            job: std::env::var("SLURM_JOB_ID").unwrap_or_else(|_| "-".to_owned()),
            host: hostname(),
        })
        .map_err(|e| format!("cannot greet the parent: {e}"))?;
    let beating = agent.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(BEAT);
            if beating.send(&FromPilot::Beat).is_err() {
                // The parent is gone: nothing the tasks do can be reported.
                beating.stop_all();
                std::process::exit(0)
            }
        }
    });
    let mut reader = BufReader::new(stream);
    loop {
        match receive::<ToPilot>(&mut reader) {
            Ok(Some(ToPilot::Run { id, spec })) => {
                let agent = agent.clone();
                ThreadCache::global().execute(move || agent.run_task(id, &spec));
            }
            Ok(Some(ToPilot::Kill { id })) => agent.kill(id),
            Ok(Some(ToPilot::Stop) | None) => {
                agent.stop_all();
                return Ok(());
            }
            Err(e) => {
                agent.stop_all();
                return Err(format!("the parent sent {e}"));
            }
        }
    }
}

/// Connects to `tcp://HOST:PORT` and proves the secret.
fn connect(target: &str) -> Result<TcpStream, String> {
    let addr = target
        .strip_prefix("tcp://")
        .ok_or_else(|| format!("{PILOT_ENV} must be tcp://HOST:PORT, not {target:?}"))?;
    let file = std::env::var_os(WORKER_SECRET_FILE_ENV)
        .ok_or_else(|| format!("{PILOT_ENV} is set but {WORKER_SECRET_FILE_ENV} is not"))?;
    let secret = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "cannot read the secret from {}: {e}",
            std::path::Path::new(&file).display()
        )
    })?;
    let mut stream =
        TcpStream::connect(addr).map_err(|e| format!("cannot reach the parent at {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .write_all(format!("{}\n", secret.trim()).as_bytes())
        .map_err(|e| format!("cannot send the secret: {e}"))?;
    Ok(stream)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "?".to_owned(), |h| h.trim().to_owned())
}

impl Agent {
    fn send(&self, message: &FromPilot) -> std::io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        send(&mut *w, message)
    }

    /// Runs task `id` and reports how it ended.
    fn run_task(&self, id: u64, spec: &CommandSpec) {
        let exit = match self.spawn_and_wait(id, spec) {
            Ok((status, output)) => FromPilot::Exit {
                id,
                code: status.code(),
                signal: status.signal(),
                output,
                error: None,
            },
            Err(e) => FromPilot::Exit {
                id,
                code: None,
                signal: None,
                output: Vec::new(),
                error: Some(e),
            },
        };
        let asked = self
            .killed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if matches!(
            exit,
            FromPilot::Exit {
                signal: Some(_),
                ..
            }
        ) && !asked
        {
            // A signal parade did not send: Slurm may be ending the whole job (scancel, a
            // time limit), the pilot with it. A moment's pause lets the pilot go first, so the
            // parent sees the task lost with its pilot rather than killed by a signal.
            std::thread::sleep(Duration::from_secs(1));
        }
        if !self.ending.load(Ordering::SeqCst) {
            // A lost connection is seen by the reading loop, which stops the pilot.
            let _ = self.send(&exit);
        }
    }

    fn spawn_and_wait(
        &self,
        id: u64,
        spec: &CommandSpec,
    ) -> Result<(std::process::ExitStatus, Vec<(StreamName, String)>), String> {
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_remove(PILOT_ENV)
            .env_remove(WORKER_SOCKET_ENV)
            .env_remove(WORKER_SECRET_FILE_ENV)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .process_group(0);
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        let merged = spec.merge_stderr || spec.terminal.is_some();
        let mut merged_reader = None;
        if merged {
            let (r, w) = std::io::pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
            let w2 = w
                .try_clone()
                .map_err(|e| format!("cannot make a pipe: {e}"))?;
            cmd.stdout(w).stderr(w2);
            merged_reader = Some(r);
        } else {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let spawned = cmd.spawn();
        drop(cmd); // closes this side's ends of the merged pipe
        let mut child = spawned.map_err(|e| format!("cannot start `{}`: {e}", spec.program))?;
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
        self.children
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, pid);
        let (out, err): (Box<dyn Read + Send>, Option<Box<dyn Read + Send>>) = match merged_reader {
            Some(r) => (Box::new(r), None),
            None => (
                Box::new(child.stdout.take().expect("piped")),
                Some(Box::new(child.stderr.take().expect("piped"))),
            ),
        };
        let err_lines = err.map(|e| std::thread::spawn(move || read_lines(e, OUTPUT_MAX / 2)));
        let mut output: Vec<(StreamName, String)> = read_lines(out, OUTPUT_MAX / 2)
            .into_iter()
            .map(|l| (StreamName::Stdout, l))
            .collect();
        if let Some(h) = err_lines {
            output.extend(
                h.join()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| (StreamName::Stderr, l)),
            );
        }
        let status = child.wait();
        self.children
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        let status = status.map_err(|e| format!("cannot wait for `{}`: {e}", spec.program))?;
        Ok((status, output))
    }

    /// Stops task `id`'s process group: SIGTERM, then SIGKILL after a grace period.
    fn kill(self: &Arc<Self>, id: u64) {
        let Some(pid) = self.group(id) else {
            return;
        };
        self.killed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
        let _ = killpg(pid, Signal::SIGTERM);
        let agent = self.clone();
        ThreadCache::global().execute(move || {
            let until = Instant::now() + GRACE;
            while Instant::now() < until {
                if agent.group(id) != Some(pid) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = killpg(pid, Signal::SIGKILL);
        });
    }

    fn group(&self, id: u64) -> Option<Pid> {
        self.children
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .copied()
    }

    /// Stops every running task (SIGTERM, SIGKILL after the grace period) and waits for them
    /// to go, at most the grace period and a little more.
    fn stop_all(&self) {
        self.ending.store(true, Ordering::SeqCst);
        let groups: Vec<Pid> = self
            .children
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .copied()
            .collect();
        for pid in &groups {
            let _ = killpg(*pid, Signal::SIGTERM);
        }
        let until = Instant::now() + GRACE;
        while Instant::now() < until
            && !self
                .children
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty()
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in &groups {
            let _ = killpg(*pid, Signal::SIGKILL);
        }
    }
}

/// The lines `input` gives until its end, keeping lines that take at most `max` bytes in the
/// message (as JSON, with the stream's name: `["stdout","..."],`); the rest is read and
/// dropped, and a last line says how much.
fn read_lines(input: impl Read, max: usize) -> Vec<String> {
    let mut reader = BufReader::new(input);
    let mut lines = Vec::new();
    let (mut kept, mut dropped) = (0usize, 0usize);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                let cost = serde_json::to_string(&line).map_or(usize::MAX, |j| j.len()) + 12;
                if kept.saturating_add(cost) > max {
                    dropped += n;
                    continue;
                }
                kept += cost;
                lines.push(line);
            }
        }
    }
    if dropped > 0 {
        lines.push(format!(
            "parade pilot: {dropped} more bytes of output were dropped (over {max} bytes)"
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_over_the_limit_is_dropped_and_said() {
        // Each line costs its JSON ("abc" with quotes: 5) and 12 more.
        let text = "abc\n".repeat(10);
        let lines = read_lines(text.as_bytes(), 34);
        assert_eq!(lines[..2], ["abc", "abc"]);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].contains("32 more bytes"), "{lines:?}");
    }

    #[test]
    fn what_is_kept_fits_in_a_message_whatever_the_bytes() {
        // Control characters take six bytes each in JSON, and empty lines cost their overhead.
        let mut text = "\u{1}\u{1}\u{1}\n".repeat(1000);
        text.push_str(&"\n".repeat(1000));
        let max = 4096;
        let lines = read_lines(text.as_bytes(), max);
        let out: Vec<(StreamName, String)> =
            lines.into_iter().map(|l| (StreamName::Stdout, l)).collect();
        let message = FromPilot::Exit {
            id: 1,
            code: Some(0),
            signal: None,
            output: out,
            error: None,
        };
        let size = serde_json::to_vec(&message).unwrap().len();
        assert!(size < max + 200, "{size} bytes for a budget of {max}");
    }
}
