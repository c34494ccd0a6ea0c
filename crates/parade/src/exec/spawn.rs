//! Starting one child process for [`child`](super::child): in a process group of its own, its
//! standard input `/dev/null`, its output into pipes (or a pseudo-terminal) this module makes,
//! and reaping it by its pid.
//!
//! Owns: the spawn itself and what it is made of (argv, envp, file actions, signal state), and
//! the reaping. Must not know: tasks, output lines, deadlines or isolation.
//!
//! Hand-written over `std::process::Command` for the common case, because a thousand short
//! tasks pay Command's per-spawn work over and over: it copies this process's whole
//! environment into a map and then into new C strings for every spawn that adds a variable,
//! and opens `/dev/null` anew each time. Here the environment is read once, at the first spawn
//! (nothing in this workspace changes it after start: `set_var` is unsafe, and unsafe code is
//! denied; a program that changes its own environment later passes what its children need in
//! [`CommandSpec::env`]), each spawn borrows those entries and makes C strings only for what
//! it adds, and `/dev/null` is opened once. The spawn is glibc's `posix_spawn` through `nix` (a `vfork`-like clone, as
//! Command uses too), with the signal mask emptied and `SIGPIPE` reset to its default as
//! Command does. `posix_spawn` cannot change the working directory (`nix` has no
//! `addchdir`), so a child that runs elsewhere than this process, or whose program was not
//! found on `PATH` ahead of the spawn (left for the child's `PATH` search and its error),
//! goes through Command, with the same pipes.
//!
//! glibc checks each `dup2` file action against `RLIMIT_NOFILE`, twice (`prlimit64` ×2 per
//! descriptor): three descriptors make the six `prlimit64` a spawn shows. The floor's spawn
//! (`Command` with three `Stdio`s) makes them too; they cost well under a microsecond each.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;

use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawn};
use nix::sys::signal::{SigSet, Signal};
use parking_lot::Mutex;

use super::CommandSpec;
use super::process::WORKER_SOCKET_ENV;
use super::program::find_program;

/// A child just started: its pid and the reading ends of its output.
pub(crate) struct Spawned {
    /// Its pid (and process group).
    pub(crate) pid: i32,
    /// Its standard output (and standard error, when merged or on a terminal).
    pub(crate) stdout: File,
    /// Its standard error, when it has a pipe of its own.
    pub(crate) stderr: Option<File>,
}

/// Why a child did not start.
pub(crate) enum SpawnError {
    /// Its pipes or terminal could not be made.
    Output(io::Error),
    /// The program could not be started (not found, not executable, a bad directory).
    Start(io::Error),
}

/// How many children went through `posix_spawn` and how many through `Command`, this process.
static SPAWNS: [std::sync::atomic::AtomicU64; 2] = [
    std::sync::atomic::AtomicU64::new(0),
    std::sync::atomic::AtomicU64::new(0),
];

/// How many children this process started with its own `posix_spawn`, and how many through
/// `std::process::Command`.
#[cfg(test)]
pub(crate) fn spawn_counts() -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (SPAWNS[0].load(Relaxed), SPAWNS[1].load(Relaxed))
}

/// Starts `spec` in a process group of its own, its stdin `/dev/null`, its stdout and stderr
/// into new pipes (one for both with [`CommandSpec::merge_stderr`], a pseudo-terminal with
/// [`CommandSpec::terminal`]).
pub(crate) fn spawn(spec: &CommandSpec) -> Result<Spawned, SpawnError> {
    let output = Output::new(spec).map_err(SpawnError::Output)?;
    let program = find_program(&spec.program, &spec.env);
    let here = spec.cwd.as_deref().is_none_or(is_this_directory);
    let pid = match (program, here) {
        (Some(path), true) => {
            SPAWNS[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            own_spawn(&path, spec, &output)?
        }
        (program, _) => {
            SPAWNS[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            command_spawn(program, spec, &output)?
        }
    };
    // The parent's copies of the writing ends close here: end-of-file comes with the child's.
    let Output { stdout, stderr, .. } = output;
    Ok(Spawned {
        pid,
        stdout: File::from(stdout),
        stderr: stderr.map(File::from),
    })
}

/// The exit status of the child `pid` if it has exited (reaping it), `None` while it runs.
pub(crate) fn try_reap(pid: i32) -> Option<io::Result<ExitStatus>> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
        Ok(Some((_, status))) => Some(Ok(ExitStatus::from_raw(status.as_raw()))),
        Ok(None) | Err(rustix::io::Errno::INTR) => None,
        Err(e) => Some(Err(e.into())),
    }
}

/// The pipes (or terminal) of one child: the parent's reading ends and the child's writing
/// ends.
struct Output {
    stdout: OwnedFd,
    stderr: Option<OwnedFd>,
    /// What the child's stdout and stderr are (`None`: stderr is stdout).
    child_out: OwnedFd,
    child_err: Option<OwnedFd>,
}

impl Output {
    fn new(spec: &CommandSpec) -> io::Result<Self> {
        if let Some((ws_col, ws_row)) = spec.terminal {
            let size = nix::pty::Winsize {
                ws_row,
                ws_col,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            let pty = nix::pty::openpty(Some(&size), None)?;
            for fd in [&pty.master, &pty.slave] {
                let cloexec = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC);
                nix::fcntl::fcntl(fd, cloexec)?;
            }
            return Ok(Self {
                stdout: pty.master,
                stderr: None,
                child_out: pty.slave,
                child_err: None,
            });
        }
        let (out, out_w) = std::io::pipe()?;
        if spec.merge_stderr {
            return Ok(Self {
                stdout: out.into(),
                stderr: None,
                child_out: out_w.into(),
                child_err: None,
            });
        }
        let (err, err_w) = std::io::pipe()?;
        Ok(Self {
            stdout: out.into(),
            stderr: Some(err.into()),
            child_out: out_w.into(),
            child_err: Some(err_w.into()),
        })
    }

    /// What the child's stderr is.
    fn child_err(&self) -> &OwnedFd {
        self.child_err.as_ref().unwrap_or(&self.child_out)
    }
}

/// `/dev/null`, opened once for every child's standard input.
fn dev_null() -> io::Result<&'static File> {
    static NULL: OnceLock<File> = OnceLock::new();
    if let Some(f) = NULL.get() {
        return Ok(f);
    }
    let f = File::open("/dev/null")?;
    Ok(NULL.get_or_init(|| f))
}

/// Whether `dir` is this process's working directory (which it never changes), remembered
/// per path: a child started there needs no `chdir`.
fn is_this_directory(dir: &Path) -> bool {
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, bool>>> = OnceLock::new();
    if dir.as_os_str() == "." {
        return true;
    }
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(&same) = seen.lock().get(dir) {
        return same;
    }
    let same = match (std::fs::metadata(dir), std::fs::metadata(".")) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    seen.lock().insert(dir.to_path_buf(), same);
    same
}

/// This process's environment as `KEY=VALUE` C strings with their keys, read once.
fn base_env() -> &'static [(OsString, CString)] {
    static BASE: OnceLock<Vec<(OsString, CString)>> = OnceLock::new();
    BASE.get_or_init(|| {
        std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut entry = k.as_bytes().to_vec();
                entry.push(b'=');
                entry.extend_from_slice(v.as_bytes());
                Some((k, CString::new(entry).ok()?))
            })
            .collect()
    })
}

fn nul_error(what: &str) -> SpawnError {
    SpawnError::Start(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} holds a NUL byte"),
    ))
}

fn c_string(text: &str, what: &str) -> Result<CString, SpawnError> {
    CString::new(text).map_err(|_| nul_error(what))
}

/// The child's environment: this process's, without the worker socket, with `spec.env` added
/// (a later entry of a key wins), as std's `Command` builds it.
fn envp(spec: &CommandSpec) -> Result<Vec<std::borrow::Cow<'static, CStr>>, SpawnError> {
    let mut added: Vec<(&str, CString)> = Vec::with_capacity(spec.env.len());
    for (k, v) in spec.env.iter().rev() {
        if added.iter().any(|(seen, _)| seen == k) {
            continue;
        }
        let mut entry = String::with_capacity(k.len() + 1 + v.len());
        entry.push_str(k);
        entry.push('=');
        entry.push_str(v);
        added.push((
            k,
            c_string(&entry, &format!("the environment variable {k}"))?,
        ));
    }
    let base = base_env();
    let mut env = Vec::with_capacity(base.len() + added.len());
    for (key, entry) in base {
        let replaced =
            key == OsStr::new(WORKER_SOCKET_ENV) || added.iter().any(|(k, _)| OsStr::new(k) == key);
        if !replaced {
            env.push(std::borrow::Cow::Borrowed(entry.as_c_str()));
        }
    }
    env.extend(
        added
            .into_iter()
            .rev()
            .map(|(_, e)| std::borrow::Cow::Owned(e)),
    );
    Ok(env)
}

/// `posix_spawn` of `path` for `spec`, in this process's working directory.
fn own_spawn(path: &Path, spec: &CommandSpec, output: &Output) -> Result<i32, SpawnError> {
    let program = CString::new(path.as_os_str().as_bytes()).map_err(|_| nul_error("the path"))?;
    let mut argv = Vec::with_capacity(1 + spec.args.len());
    // The name as given, as a shell passes it (`cc`, not `/usr/bin/cc`).
    argv.push(c_string(&spec.program, "the program's name")?);
    for arg in &spec.args {
        argv.push(c_string(arg, "an argument")?);
    }
    let env = envp(spec)?;
    let null = dev_null().map_err(SpawnError::Output)?;
    let setup = || -> nix::Result<(PosixSpawnFileActions, PosixSpawnAttr)> {
        let mut actions = PosixSpawnFileActions::init()?;
        actions.add_dup2(null.as_raw_fd(), 0)?;
        actions.add_dup2(output.child_out.as_raw_fd(), 1)?;
        actions.add_dup2(output.child_err().as_raw_fd(), 2)?;
        let mut attr = PosixSpawnAttr::init()?;
        attr.set_flags(
            PosixSpawnFlags::POSIX_SPAWN_SETPGROUP
                | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK
                | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
        )?;
        attr.set_pgroup(nix::unistd::Pid::from_raw(0))?;
        attr.set_sigmask(&SigSet::empty())?;
        let mut default = SigSet::empty();
        default.add(Signal::SIGPIPE);
        attr.set_sigdefault(&default)?;
        Ok((actions, attr))
    };
    let (actions, attr) = setup().map_err(|e| SpawnError::Start(e.into()))?;
    match posix_spawn(program.as_c_str(), &actions, &attr, &argv, &env) {
        Ok(pid) => Ok(pid.as_raw()),
        Err(e) => Err(SpawnError::Start(e.into())),
    }
}

/// `std::process::Command` for what `posix_spawn` cannot do here (another working directory,
/// a program left for the child's `PATH` search).
fn command_spawn(
    program: Option<PathBuf>,
    spec: &CommandSpec,
    output: &Output,
) -> Result<i32, SpawnError> {
    let io = |fd: &OwnedFd| fd.try_clone().map(Stdio::from).map_err(SpawnError::Output);
    let mut command = Command::new(program.unwrap_or_else(|| PathBuf::from(&spec.program)));
    command
        .arg0(&spec.program)
        .args(&spec.args)
        // A worker's own socket is not for its children (only a spec that names it passes it).
        .env_remove(WORKER_SOCKET_ENV)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(io(&output.child_out)?)
        .stderr(io(output.child_err())?)
        .process_group(0);
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    let child = command.spawn().map_err(SpawnError::Start)?;
    // The child is reaped by its pid ([`try_reap`]); dropping `Child` neither waits nor kills.
    Ok(i32::try_from(child.id()).expect("process ids fit in i32"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn output_of(spec: &CommandSpec) -> (String, ExitStatus) {
        let Ok(mut child) = spawn(spec) else {
            panic!("{spec:?} did not start")
        };
        let mut text = String::new();
        child.stdout.read_to_string(&mut text).unwrap();
        let status = loop {
            if let Some(status) = try_reap(child.pid) {
                break status.unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        (text, status)
    }

    #[test]
    fn the_environment_is_this_processs_with_the_specs_added_and_the_last_entry_winning() {
        let spec = CommandSpec::new("env", [""; 0])
            .env("PARADE_SPAWN_A", "1")
            .env("PARADE_SPAWN_A", "2")
            .env("PATH", "/usr/bin:/bin")
            .env(WORKER_SOCKET_ENV, "kept")
            .merge_stderr(true);
        let (text, status) = output_of(&spec);
        assert!(status.success());
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        let mut want: Vec<String> = std::env::vars_os()
            .filter(|(k, _)| k != "PATH" && k != WORKER_SOCKET_ENV)
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .chain([
                "PARADE_SPAWN_A=2".to_owned(),
                "PATH=/usr/bin:/bin".to_owned(),
                format!("{WORKER_SOCKET_ENV}=kept"),
            ])
            .collect();
        want.sort_unstable();
        assert_eq!(lines, want);
    }

    #[test]
    fn a_child_gets_its_name_arguments_group_and_an_empty_signal_mask() {
        let spec = CommandSpec::shell(
            &["sh", "-c"],
            "echo \"$0 $1\"; cut -d' ' -f5 /proc/$$/stat; cat; echo end",
        )
        .merge_stderr(true);
        let mut spec = spec;
        spec.args.extend(["name".to_owned(), "one arg".to_owned()]);
        let Ok(child) = spawn(&spec) else {
            panic!("sh did not start")
        };
        let pid = child.pid;
        let mut child = child;
        let mut text = String::new();
        child.stdout.read_to_string(&mut text).unwrap();
        while try_reap(pid).is_none() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "name one arg");
        assert_eq!(lines[1].trim(), pid.to_string(), "its own process group");
        assert_eq!(lines[2], "end", "stdin is /dev/null: cat ends at once");
        // The signal state is read by the spawned program itself: a shell blocks signals of its
        // own around its forks, so what it shows of itself depends on when it is read.
        let status = CommandSpec::new("grep", ["-E", "^(SigBlk|SigIgn)", "/proc/self/status"]);
        let (text, _) = output_of(&status);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "SigBlk:\t0000000000000000");
        // SIGPIPE (13) is not ignored in the child, whatever this process does with it.
        let ignored = u64::from_str_radix(lines[1].trim_start_matches("SigIgn:\t"), 16).unwrap();
        assert_eq!(ignored & (1 << 12), 0, "{}", lines[1]);
    }

    #[test]
    fn another_directory_and_a_missing_program_go_through_command() {
        let dir = tempfile::tempdir().unwrap();
        let spec = CommandSpec::new("pwd", [""; 0]).cwd(dir.path());
        let (own, command) = spawn_counts();
        let (text, _) = output_of(&spec);
        assert_eq!(
            Path::new(text.trim()).canonicalize().unwrap(),
            dir.path().canonicalize().unwrap()
        );
        assert!(spawn_counts().1 > command);
        let here = CommandSpec::new("true", [""; 0]).cwd(".");
        let (_, status) = output_of(&here);
        assert!(status.success());
        assert!(spawn_counts().0 > own);
        let missing = CommandSpec::new("no-such-program-anywhere", [""; 0]);
        match spawn(&missing) {
            Err(SpawnError::Start(e)) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
            _ => panic!("a missing program started"),
        }
        let nul = CommandSpec::new("true", ["a\0b"]);
        assert!(matches!(spawn(&nul), Err(SpawnError::Start(_))));
    }

    #[test]
    fn separate_pipes_keep_the_streams_apart_and_a_signal_is_reported() {
        let spec = CommandSpec::shell(&["sh", "-c"], "echo out; echo err >&2; kill -TERM $$");
        let Ok(mut child) = spawn(&spec) else {
            panic!("sh did not start")
        };
        let (mut out, mut err) = (String::new(), String::new());
        child.stdout.read_to_string(&mut out).unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = loop {
            if let Some(s) = try_reap(child.pid) {
                break s.unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!((out.as_str(), err.as_str()), ("out\n", "err\n"));
        assert_eq!(status.signal(), Some(15));
    }
}
