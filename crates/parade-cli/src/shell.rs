//! Running one task's command: filling `{fields}` with shell-quoted values, the environment a
//! task sees, its own process group, its output line by line, time limits (SIGTERM, a grace
//! period, SIGKILL) and the [`Groups`] registry that lets Ctrl-C end every running command.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use parade::engine::Stream;

/// Quotes `value` for a POSIX shell: it reaches the command as one word, exactly as given.
///
/// ```
/// use parade_cli::shell::quote;
/// assert_eq!(quote("prod"), "prod");
/// assert_eq!(quote("$(touch x)"), "'$(touch x)'");
/// assert_eq!(quote("it's"), r"'it'\''s'");
/// assert_eq!(quote(""), "''");
/// ```
pub fn quote(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Whether `name` can be a field: a letter or `_`, then letters, digits, `_`, `-` or `.`.
fn is_field(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// The `{field}` names in a command, in order. `{{` and `}}` are literal braces, and braces
/// around anything but a name (`awk '{print $1}'`) are left alone.
///
/// ```
/// assert_eq!(parade_cli::shell::fields("make {env} {params.region} {{x}}"), ["env", "params.region"]);
/// ```
pub fn fields(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.starts_with(char::from(c)) {
            rest = &after[1..];
        } else if c == b'{' {
            match after.find('}') {
                Some(end) if is_field(&after[..end]) => {
                    out.push(&after[..end]);
                    rest = &after[end + 1..];
                }
                _ => rest = after,
            }
        } else {
            rest = after;
        }
    }
    out
}

/// Fills `{field}`s with the quoted value `value(field)` gives; a field it does not know stays
/// as written. `{{` and `}}` become `{` and `}`.
///
/// ```
/// use parade_cli::shell::substitute;
/// let cmd = substitute("echo {env} {{ok}}", |f| (f == "env").then(|| "$(touch x)".to_owned()));
/// assert_eq!(cmd, "echo '$(touch x)' {ok}");
/// ```
pub fn substitute(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.starts_with(char::from(c)) {
            out.push(char::from(c));
            rest = &after[1..];
            continue;
        }
        if c == b'{'
            && let Some(end) = after.find('}')
            && is_field(&after[..end])
            && let Some(v) = value(&after[..end])
        {
            out.push_str(&quote(&v));
            rest = &after[end + 1..];
            continue;
        }
        out.push(char::from(c));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Turns a param or placeholder name into an environment variable suffix: `build-dir` →
/// `BUILD_DIR`.
pub fn env_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A command ready to run.
#[derive(Clone, Debug)]
pub struct ShellCommand {
    /// The shell and its flags; the script is appended as the last argument.
    pub shell: Vec<String>,
    /// The script, already filled.
    pub script: String,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Time limit.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

impl ShellCommand {
    /// `sh -c script`, no limit, a 5 s grace period.
    pub fn sh(script: impl Into<String>) -> Self {
        Self {
            shell: vec!["sh".into(), "-c".into()],
            script: script.into(),
            env: BTreeMap::new(),
            cwd: None,
            timeout: None,
            grace: Duration::from_secs(5),
        }
    }
}

/// How a command ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// It ran past its time limit and was stopped.
    Timeout,
    /// The run was stopped (Ctrl-C) and the command with it.
    Stopped,
}

impl Exit {
    /// Whether the command succeeded (status 0).
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

/// The process groups of running commands, so that one call can stop them all.
#[derive(Default, Debug)]
pub struct Groups {
    live: Mutex<HashSet<i32>>,
    changed: Condvar,
    stopping: AtomicBool,
}

impl Groups {
    /// The registry every command of this process uses.
    pub fn global() -> &'static Groups {
        static GROUPS: OnceLock<Groups> = OnceLock::new();
        GROUPS.get_or_init(Groups::default)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i32>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many groups are running.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether [`Groups::terminate_all`] was called: new commands do not start.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn add(&self, pgid: i32) {
        self.lock().insert(pgid);
    }

    fn remove(&self, pgid: i32) {
        self.lock().remove(&pgid);
        self.changed.notify_all();
    }

    /// Stops every running command: SIGTERM to each group, up to `grace` for them to end, then
    /// SIGKILL to the rest. Commands started afterwards end at once as [`Exit::Stopped`].
    pub fn terminate_all(&self, grace: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        for &g in self.lock().iter() {
            let _ = killpg(Pid::from_raw(g), Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        let mut live = self.lock();
        while !live.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            live = self
                .changed
                .wait_timeout(live, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        for &g in live.iter() {
            let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
        }
    }
}

/// Runs `cmd` in its own process group with stdin from `/dev/null`, passing each output line to
/// `on_line` as it comes. On timeout the group gets SIGTERM, then SIGKILL after the grace period;
/// [`Groups::terminate_all`] does the same for every running command. When the shell exits,
/// whatever it left running in its group is stopped the same way, so nothing outlives the task.
pub fn run(
    cmd: &ShellCommand,
    groups: &Groups,
    on_line: impl Fn(Stream, String) + Send + Sync + 'static,
) -> std::io::Result<Exit> {
    if groups.is_stopping() {
        return Ok(Exit::Stopped);
    }
    let (program, args) = cmd
        .shell
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty shell"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .arg(&cmd.script)
        .envs(&cmd.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(dir) = &cmd.cwd {
        command.current_dir(dir);
    }
    let mut child = command.spawn()?;
    let pgid = Pid::from_raw(i32::try_from(child.id()).map_err(std::io::Error::other)?);
    groups.add(pgid.as_raw());
    let on_line: Arc<dyn Fn(Stream, String) + Send + Sync> = Arc::new(on_line);
    let (done_tx, done_rx) = mpsc::channel::<()>();
    for (pipe, stream) in [
        (
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            Stream::Stdout,
        ),
        (
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            Stream::Stderr,
        ),
    ] {
        let (on_line, done) = (on_line.clone(), done_tx.clone());
        if let Some(pipe) = pipe {
            std::thread::spawn(move || {
                read_lines(pipe, stream, &*on_line);
                let _ = done.send(());
            });
        }
    }
    drop(done_tx);
    let (exit_tx, exit_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exit_tx.send(child.wait());
    });
    let signal = |sig| {
        let _ = killpg(pgid, sig);
    };
    let waited = match cmd.timeout {
        Some(limit) => exit_rx.recv_timeout(limit).ok(),
        None => exit_rx.recv().ok(),
    };
    let (status, timed_out) = if let Some(status) = waited {
        (status, false)
    } else {
        signal(Signal::SIGTERM);
        let status = exit_rx.recv_timeout(cmd.grace).or_else(|_| {
            signal(Signal::SIGKILL);
            exit_rx.recv().map_err(std::io::Error::other)
        })?;
        (status, true)
    };
    // The shell is gone. Anything it left in its group would hold the pipes open: ask it to
    // stop, give it the grace period, then kill it. The readers finish when the pipes close.
    signal(Signal::SIGTERM);
    let deadline = Instant::now() + cmd.grace;
    let mut killed = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(if killed { cmd.grace } else { left }) {
            Ok(()) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            // A process that left the group keeps a pipe: stop waiting for its output.
            Err(mpsc::RecvTimeoutError::Timeout) if killed => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                signal(Signal::SIGKILL);
                killed = true;
            }
        }
    }
    groups.remove(pgid.as_raw());
    let status = status?;
    Ok(if timed_out {
        Exit::Timeout
    } else if groups.is_stopping() && status.signal().is_some() {
        Exit::Stopped
    } else if let Some(code) = status.code() {
        Exit::Code(code)
    } else {
        Exit::Signal(status.signal().unwrap_or(0))
    })
}

fn read_lines(from: impl Read, stream: Stream, on_line: &(dyn Fn(Stream, String) + Send + Sync)) {
    let mut reader = BufReader::new(from);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                on_line(stream, String::from_utf8_lossy(&buf).into_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_real_shell() {
        let dir = tempfile::tempdir().unwrap();
        for value in [
            "$(touch x)",
            "`touch x`",
            "a b",
            "it's",
            "\"q\"",
            "*",
            "x;touch x",
            "",
            "\\n",
            "é",
        ] {
            let cmd = substitute("printf '%s' {v}", |f| (f == "v").then(|| value.to_owned()));
            let out = Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), value, "{cmd}");
        }
        assert!(!dir.path().join("x").exists());
    }

    #[test]
    fn fields_skip_escaped_braces() {
        assert_eq!(fields("{a}{{b}}{c}"), ["a", "c"]);
        assert_eq!(fields("awk '{print $1}'"), Vec::<&str>::new());
        assert_eq!(substitute("a {unknown} b", |_| None), "a {unknown} b");
    }

    #[test]
    fn env_keys_are_upper_snake() {
        assert_eq!(env_key("build-dir.x"), "BUILD_DIR_X");
    }
}
