//! Keeping each child's processes together, so that stopping a task ends every process it
//! started: those that left its process group (`setsid`), those whose parent died, and, after
//! `kill -9` of the program that started them, in the program's next run.
//!
//! Owns: the choice of mechanism ([`Isolation`]: a cgroup v2 per child where the machine
//! allows it, as systemd and Slurm's cgroup plugin do, else the child's process group with
//! this process as child subreaper), the `Cell` that holds one child's processes (signal
//! them, kill them, see whether any lives), the table of live cells behind [`kill_running`]
//! (a second Ctrl-C), the [`Recorder`] hook through which a program keeps a record of
//! running children ([`Record`]), and [`end_leftover`], which ends what a record names.
//! Must not know: engines, tasks, task files, or where records are kept.
//!
//! Hand-written: no maintained crate puts a child into a cgroup without an unsafe `pre_exec`
//! hook (this workspace denies unsafe code), and the cgroup side is a few file writes. A child
//! that still runs a moment after its spawn ([`CONTAIN_AFTER`]) is moved into its cgroup, then
//! the processes it forked before (read from `/proc/<pid>/task/<pid>/children`, each moved
//! before its own are read, so nothing forked later is missed). Moving a process costs the
//! kernel a synchronization with every CPU, more than a short task's whole run: tasks that
//! end sooner never pay it, and what they leave is found by the output pipes it holds
//! (`signal_pipe_holders`) or in their process group. Only a process orphaned before the
//! move stays outside the cgroup; it is in the process group, which is signalled too.
//!
//! The library's default is [`Isolation::ProcessGroup`] without a subreaper: creating cgroups
//! and adopting orphans changes the whole program, so a program opts in with
//! [`configure`]. The environment variable `PARADE_ISOLATION` (`auto`, `cgroup`,
//! `process-group`) overrides what [`configure`] asks for.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::CommandSpec;

/// How children's processes are kept together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// Each child in its own process group; a stop signals the group.
    ProcessGroup,
    /// Each child in its own cgroup v2 (and process group); a stop signals every process of
    /// the cgroup, and `cgroup.kill` ends them all at once, wherever they went.
    Cgroup,
}

/// What a program asks of [`configure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A cgroup per child where the machine allows it, else process groups with this process
    /// as child subreaper.
    Auto,
    /// Process groups only (with this process as child subreaper).
    ProcessGroup,
}

/// The mechanism in use and, for cgroups, the directory holding this process's children.
#[derive(Debug)]
struct Setup {
    kind: Isolation,
    /// `<the cgroup this process runs in>/parade-<pid>`.
    root: Option<PathBuf>,
    /// Whether this process adopts its children's orphans.
    subreaper: bool,
    /// Why cgroups are not in use, when they were asked for.
    why_not: Option<String>,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

/// Chooses how children are kept together, once per process (later calls, and children
/// started before the first, keep the first choice), and says what is in use.
///
/// ```
/// use parade::exec::isolation::{self, Isolation, Mode};
/// let chosen = isolation::configure(Mode::ProcessGroup);
/// assert_eq!(isolation::current(), chosen);
/// ```
pub fn configure(mode: Mode) -> Isolation {
    SETUP.get_or_init(|| setup(mode)).kind
}

/// The mechanism in use ([`Isolation::ProcessGroup`] unless [`configure`] chose otherwise).
pub fn current() -> Isolation {
    setup_now().kind
}

/// One line saying which mechanism is in use and why, for `--verbose` output.
pub fn describe() -> String {
    let s = setup_now();
    match (s.kind, &s.root, &s.why_not) {
        (Isolation::Cgroup, Some(root), _) => {
            format!("isolation: a cgroup v2 per task, under {}", root.display())
        }
        (_, _, why) => format!(
            "isolation: a process group per task{}{}",
            if s.subreaper {
                ", parade as child subreaper"
            } else {
                ""
            },
            why.as_ref()
                .map(|w| format!(" (no cgroups: {w})"))
                .unwrap_or_default()
        ),
    }
}

/// Removes this process's cgroup directory once its children are gone (call at the end of a
/// run; a process killed before leaves it for [`end_leftover`] of a later run).
pub fn finish() {
    if let Some(root) = SETUP.get().and_then(|s| s.root.as_ref()) {
        let _ = fs::remove_dir(root);
    }
}

fn setup_now() -> &'static Setup {
    SETUP.get_or_init(|| Setup {
        kind: Isolation::ProcessGroup,
        root: None,
        subreaper: false,
        why_not: None,
    })
}

fn setup(mode: Mode) -> Setup {
    let wanted = match std::env::var("PARADE_ISOLATION").as_deref() {
        Ok("process-group" | "pgroup") => Mode::ProcessGroup,
        Ok("cgroup" | "auto") => Mode::Auto,
        _ => mode,
    };
    let subreaper = rustix::process::set_child_subreaper(Some(rustix::process::getpid())).is_ok();
    let fallback = |why: Option<String>| Setup {
        kind: Isolation::ProcessGroup,
        root: None,
        subreaper,
        why_not: why,
    };
    if wanted == Mode::ProcessGroup {
        return fallback(None);
    }
    match cgroup_root() {
        Ok(root) => Setup {
            kind: Isolation::Cgroup,
            root: Some(root),
            subreaper,
            why_not: None,
        },
        Err(e) => fallback(Some(e.to_string())),
    }
}

/// Makes `<the cgroup v2 this process runs in>/parade-<pid>`, where children's cgroups go.
fn cgroup_root() -> io::Result<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mountinfo")?;
    let mount = mounts
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2")
                .then(|| left.split_whitespace().nth(4).map(unescape_mount))?
        })
        .ok_or_else(|| io::Error::other("no cgroup2 file system is mounted"))?;
    let own = fs::read_to_string("/proc/self/cgroup")?;
    let own = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or_else(|| io::Error::other("this process is in no cgroup v2"))?;
    let base = Path::new(&mount).join(own.trim_start_matches('/'));
    if !base.join("cgroup.kill").exists() && own != "/" {
        return Err(io::Error::other(format!(
            "{} has no cgroup.kill (a kernel before 5.14)",
            base.display()
        )));
    }
    sweep_dead_roots(&base);
    let root = base.join(format!("parade-{}", std::process::id()));
    match fs::create_dir(&root) {
        Ok(()) => {}
        // Left by a dead process that had this pid: usable if nothing is in it.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", root.display()))),
    }
    if !root.join("cgroup.kill").exists() {
        let _ = fs::remove_dir(&root);
        return Err(io::Error::other(
            "cgroup.kill is missing (a kernel before 5.14)",
        ));
    }
    Ok(root)
}

/// Removes the empty cgroups that dead processes left in `base/parade-<pid>` (killed before
/// [`finish`]). Cgroups that still hold processes stay, for [`end_leftover`] of the run that
/// knows them.
fn sweep_dead_roots(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("parade-"))
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if kill(Pid::from_raw(pid), None).is_ok() {
            continue;
        }
        if let Ok(cells) = fs::read_dir(entry.path()) {
            for cell in cells.flatten().filter(|c| c.path().is_dir()) {
                if !cgroup_populated(&cell.path()) {
                    let _ = fs::remove_dir(cell.path());
                }
            }
        }
        let _ = fs::remove_dir(entry.path());
    }
}

/// Mount points in `mountinfo` escape spaces and a few others as `\ooo`.
fn unescape_mount(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 4])
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        {
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What is known of one running child, enough to end what it left after the program that
/// started it died: its pid and process group, when it started (to tell it from a later
/// process given the same pid), and its cgroup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The child's pid.
    pub pid: i32,
    /// Its process group (the same number: each child leads its own).
    pub pgid: i32,
    /// The latest it can have started, in clock ticks after boot (as `/proc/<pid>/stat`
    /// counts them), 0 when unknown: the clock read just after the spawn, so that no
    /// `/proc` read waits for the child. A process with this pid that started later is
    /// another one, given the pid after this one ended.
    pub start: u64,
    /// Its cgroup directory, if it has one.
    pub cgroup: Option<PathBuf>,
}

/// Told when children start and end: a program keeps these to end a dead run's leftovers.
/// Calls come from the threads that run children; keep them short.
pub trait Recorder: Send + Sync {
    /// A child started running `spec`; told again, with its cgroup, once it has one (the
    /// later record of a pid replaces the earlier).
    fn started(&self, record: &Record, spec: &CommandSpec);
    /// That child and what it left are gone.
    fn ended(&self, record: &Record);
}

static RECORDER: OnceLock<Arc<dyn Recorder>> = OnceLock::new();

/// Installs the recorder told of every child this process starts (once; later calls are
/// ignored and return false).
pub fn set_recorder(recorder: Arc<dyn Recorder>) -> bool {
    RECORDER.set(recorder).is_ok()
}

/// Something that can be told to kill its child at once.
pub(crate) trait Urgent: Send + Sync {
    /// Kill now, without the grace period.
    fn kill_now(&self);
}

/// Every live cell's urgent hook, by cell number.
fn live() -> &'static Mutex<HashMap<u64, Weak<dyn Urgent>>> {
    static LIVE: OnceLock<Mutex<HashMap<u64, Weak<dyn Urgent>>>> = OnceLock::new();
    LIVE.get_or_init(Mutex::default)
}

static NEXT_CELL: AtomicU64 = AtomicU64::new(0);

/// How long a child runs before it is moved into a cgroup of its own.
pub const CONTAIN_AFTER: Duration = Duration::from_millis(20);

/// Kills every child this process is running, and what they started, at once (SIGKILL, no
/// grace period): a second Ctrl-C. Returns how many children it reached.
pub fn kill_running() -> usize {
    let hooks: Vec<Arc<dyn Urgent>> = live().lock().values().filter_map(Weak::upgrade).collect();
    for hook in &hooks {
        hook.kill_now();
    }
    hooks.len()
}

/// The processes of one child: its process group, and its cgroup where there is one.
pub(crate) struct Cell {
    number: u64,
    record: Record,
    recorded: bool,
    /// Set when a signal found no process of the group (and there is no cgroup): the group is
    /// gone for good (no process can join a group without members), and nothing of it is
    /// left to reap.
    empty: std::sync::atomic::AtomicBool,
}

impl Cell {
    /// Encloses the child `pid` just spawned (in a process group of its own) and registers
    /// it, with `urgent` for [`kill_running`].
    /// `after` is [`boot_ticks`] read just after the spawn: the latest the child can have
    /// started ([`Record::start`]); `/proc/<pid>/stat` is not read.
    pub(crate) fn enclose(
        pid: i32,
        spec: &CommandSpec,
        urgent: Weak<dyn Urgent>,
        after: u64,
    ) -> Self {
        let number = NEXT_CELL.fetch_add(1, Ordering::Relaxed);
        live().lock().insert(number, urgent);
        let recorder = RECORDER.get();
        let record = Record {
            pid,
            pgid: pid,
            start: if recorder.is_some() { after } else { 0 },
            cgroup: None,
        };
        if let Some(r) = recorder {
            r.started(&record, spec);
        }
        Self {
            number,
            recorded: recorder.is_some(),
            record,
            empty: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether [`contain`](Self::contain) has something to do: cgroups are in use and this
    /// cell has none yet.
    pub(crate) fn containable(&self) -> bool {
        self.record.cgroup.is_none() && setup_now().root.is_some()
    }

    /// Moves the child, and what it started that is still its descendant, into a cgroup of
    /// its own; from then on whatever they start is born inside, wherever it goes. Called a
    /// moment after the spawn, for children that live that long: moving a process costs
    /// more than a short task's whole run (the kernel synchronizes with every CPU), and a
    /// short task's escapees are found by the output they hold, or its process group.
    pub(crate) fn contain(&mut self, spec: &CommandSpec) {
        let Some(root) = setup_now().root.as_ref() else {
            return;
        };
        if self.record.cgroup.is_some() {
            return;
        }
        let dir = root.join(format!("t{}", self.number));
        if fs::create_dir(&dir).is_err() {
            return;
        }
        if fs::write(dir.join("cgroup.procs"), self.record.pid.to_string()).is_err() {
            let _ = fs::remove_dir(&dir);
            return;
        }
        adopt_children(&dir, self.record.pid);
        self.record.cgroup = Some(dir);
        if self.recorded
            && let Some(r) = RECORDER.get()
        {
            r.started(&self.record, spec);
        }
    }

    /// Sends `signal` to every process of the cell; false if none lives.
    pub(crate) fn signal(&self, signal: Signal) -> bool {
        let group_hit = killpg(Pid::from_raw(self.record.pgid), signal).is_ok();
        let mut cgroup_hit = false;
        if let Some(dir) = &self.record.cgroup {
            for pid in cgroup_pids(dir) {
                cgroup_hit |= kill(Pid::from_raw(pid), signal).is_ok();
            }
        } else if !group_hit {
            self.empty.store(true, Ordering::Relaxed);
        }
        group_hit || cgroup_hit
    }

    /// Kills every process of the cell at once.
    pub(crate) fn kill(&self) {
        if let Some(dir) = &self.record.cgroup {
            let _ = fs::write(dir.join("cgroup.kill"), "1");
        }
        let _ = killpg(Pid::from_raw(self.record.pgid), Signal::SIGKILL);
    }

    /// Whether any process of the cell lives (zombies do not count).
    pub(crate) fn alive(&self) -> bool {
        match &self.record.cgroup {
            Some(dir) => cgroup_populated(dir) || group_alive(self.record.pgid),
            None => group_alive(self.record.pgid),
        }
    }

    /// Whether the cell has a cgroup (then what left its process group is reached too).
    pub(crate) fn has_cgroup(&self) -> bool {
        self.record.cgroup.is_some()
    }
}

impl Drop for Cell {
    fn drop(&mut self) {
        live().lock().remove(&self.number);
        if let Some(dir) = &self.record.cgroup {
            remove_cgroup(dir);
        }
        if setup_now().subreaper && !self.empty.load(Ordering::Relaxed) {
            reap_orphans(self.record.pgid);
        }
        if self.recorded
            && let Some(r) = RECORDER.get()
        {
            r.ended(&self.record);
        }
    }
}

/// Moves into the cgroup `dir` the processes `pid` forked before it was moved there, and
/// theirs: each is moved before its children are read, so whatever it forks afterwards is
/// born inside. (A child that was orphaned in between is missed; its process group is still
/// signalled.)
fn adopt_children(dir: &Path, pid: i32) {
    let mut todo = vec![pid];
    let mut moved = 0;
    while let Some(parent) = todo.pop() {
        let Ok(children) = fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        else {
            continue;
        };
        for child in children.split_whitespace() {
            if moved > 10_000 {
                return;
            }
            if fs::write(dir.join("cgroup.procs"), child).is_ok()
                && let Ok(child) = child.parse()
            {
                moved += 1;
                todo.push(child);
            }
        }
    }
}

/// Removes a cgroup directory, killing what is still in it first (a moment's wait for the
/// kernel to see them gone).
fn remove_cgroup(dir: &Path) {
    if fs::remove_dir(dir).is_ok() || !dir.exists() {
        return;
    }
    let _ = fs::write(dir.join("cgroup.kill"), "1");
    let until = Instant::now() + Duration::from_secs(1);
    while fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The pids in a cgroup.
fn cgroup_pids(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Whether a cgroup (or one below it) holds a live process.
fn cgroup_populated(dir: &Path) -> bool {
    fs::read_to_string(dir.join("cgroup.events"))
        .is_ok_and(|t| t.lines().any(|l| l.trim() == "populated 1"))
}

/// Fields of `/proc/<pid>/stat` after the command name: state, ppid, pgrp, ... (the name may
/// hold spaces and parentheses, so read after its last `)`).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// When process `pid` started, in clock ticks after boot: read for a dead run's leftovers and
/// parade's own run file (a child's record takes the clock instead), with one small read.
pub fn start_ticks(pid: i32) -> Option<u64> {
    use std::io::Read as _;
    let mut buf = [0u8; 1024];
    let mut file = fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    start_ticks_of(&buf[..len])
}

/// The clock ticks since boot now, as `/proc/<pid>/stat` counts a process's start time
/// (`CLOCK_BOOTTIME` in `USER_HZ` units, rounded down): a child spawned between two readings
/// that agree started at that tick. 0 where the clock cannot say.
///
/// Read through libc (`nix`), not rustix's own vDSO and auxiliary-vector reading: under
/// valgrind rustix reads a vDSO page valgrind has not mapped, and `parade run` died at its
/// first spawn, so no run could be profiled with callgrind.
pub(crate) fn boot_ticks() -> u64 {
    let Ok(now) = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME) else {
        return 0;
    };
    let Ok(Some(hz)) = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) else {
        return 0;
    };
    let Ok(hz) = u64::try_from(hz) else {
        return 0;
    };
    let (Ok(secs), Ok(nanos)) = (u64::try_from(now.tv_sec()), u64::try_from(now.tv_nsec())) else {
        return 0;
    };
    if hz == 0 || 1_000_000_000 % hz != 0 {
        return 0;
    }
    (secs * 1_000_000_000 + nanos) / (1_000_000_000 / hz)
}

/// The start time in a `/proc/<pid>/stat` line: field 22, the 20th after the command name
/// (which may hold spaces and parentheses, so counted from its last `)`).
fn start_ticks_of(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let field = stat[close + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty())
        .nth(19)?;
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Whether a process that started at tick `start` is not the one recorded as starting at
/// tick `recorded` at the latest (0: unknown, never judged another). A pid is given anew only
/// after its process ended, so a later process with it started no earlier than the first;
/// runs of parade that recorded the exact start are judged by the same rule.
fn started_later(recorded: u64, start: u64) -> bool {
    recorded != 0 && start > recorded
}

/// Whether any process of the group `group` still lives. Zombies do not count: a leftover's
/// parent is gone, and whoever inherits it may be slow to reap it. Read from `/proc`; where
/// that cannot be read, any process of the group counts.
pub(crate) fn group_alive(group: i32) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return killpg(Pid::from_raw(group), None).is_ok();
    };
    // Without a member, the group does not exist: one signal-0 call says so cheaply.
    if killpg(Pid::from_raw(group), None).is_err() {
        return false;
    }
    entries.flatten().any(|entry| {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            return false;
        };
        stat_fields(pid).is_some_and(|f| {
            f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(group)
                && !matches!(f.first().map(String::as_str), Some("Z" | "X"))
        })
    })
}

/// Reaps zombies of the group `group` that this process adopted as subreaper (orphans of a
/// child). Only processes whose parent is this one and that are zombies are waited for, so a
/// child someone else waits for is never taken.
fn reap_orphans(group: i32) {
    if killpg(Pid::from_raw(group), None).is_err() {
        return;
    }
    let me = std::process::id().to_string();
    let Ok(entries) = fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Some(f) = stat_fields(pid) else { continue };
        let zombie_of_mine = f.first().map(String::as_str) == Some("Z")
            && f.get(1) == Some(&me)
            && f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(group);
        if zombie_of_mine {
            let _ = nix::sys::wait::waitpid(
                Pid::from_raw(pid),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
    }
}

/// Sends `signal` to every other process that holds one of the pipes `inodes` open: the
/// processes that escaped a child's process group (`setsid`) but kept its output. Found by
/// their open files in `/proc/<pid>/fd` (those of other users are not readable, and stay).
/// Returns how many it reached.
pub(crate) fn signal_pipe_holders(inodes: &[u64], signal: Signal) -> usize {
    if inodes.is_empty() {
        return 0;
    }
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    let wanted: Vec<String> = inodes.iter().map(|i| format!("pipe:[{i}]")).collect();
    let me = std::process::id();
    let my_exe = fs::read_link("/proc/self/exe").ok();
    let me_text = me.to_string();
    let mut reached = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        // A child this process is spawning holds every pipe of this process until its `exec`
        // closes them: it is not a holder.
        let spawning = stat_fields(i32::try_from(pid).unwrap_or(0))
            .is_some_and(|f| f.get(1) == Some(&me_text))
            && my_exe.is_some()
            && fs::read_link(entry.path().join("exe")).ok() == my_exe;
        if spawning {
            continue;
        }
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            fs::read_link(fd.path())
                .is_ok_and(|t| wanted.iter().any(|w| t.as_os_str() == w.as_str()))
        });
        if holds
            && let Ok(pid) = i32::try_from(pid)
            && kill(Pid::from_raw(pid), signal).is_ok()
        {
            reached += 1;
        }
    }
    reached
}

/// What [`end_leftover`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leftover {
    /// Processes of the record were alive and are now killed.
    Ended,
    /// Nothing of it was alive.
    Gone,
}

/// Ends what a [`Record`] of a dead program names: every process of its cgroup, else of its
/// process group (unless its pid now belongs to a later process). Removes the cgroup
/// directory, and its parent when that is empty (the dead program's `parade-<pid>`).
pub fn end_leftover(record: &Record) -> Leftover {
    let mut ended = false;
    if let Some(dir) = &record.cgroup
        && dir.exists()
    {
        if cgroup_populated(dir) {
            let _ = fs::write(dir.join("cgroup.kill"), "1");
            ended = true;
            let until = Instant::now() + Duration::from_secs(2);
            while cgroup_populated(dir) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        remove_cgroup(dir);
        if let Some(parent) = dir.parent()
            && parent
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("parade-"))
        {
            let _ = fs::remove_dir(parent);
        }
    }
    // The leader alive, started after the record's latest start: its pid was given to a
    // later process, so the group was empty once and is not this record's.
    let reused = start_ticks(record.pid).is_some_and(|s| started_later(record.start, s));
    if !reused && group_alive(record.pgid) {
        let _ = killpg(Pid::from_raw(record.pgid), Signal::SIGKILL);
        ended = true;
    }
    if ended {
        Leftover::Ended
    } else {
        Leftover::Gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape_mount("/sys/fs/cgroup"), "/sys/fs/cgroup");
        assert_eq!(unescape_mount(r"/mnt/a\040b"), "/mnt/a b");
    }

    #[test]
    fn the_start_time_is_read_after_the_last_parenthesis() {
        let stat = b"42 (a) b) (c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 \
                     1000 100 18446744073709551615";
        assert_eq!(start_ticks_of(stat), Some(987_654));
        assert_eq!(start_ticks_of(b"42 (sh) S 1"), None);
        let mine = std::fs::read(format!("/proc/{}/stat", std::process::id())).unwrap();
        let fields = stat_fields(i32::try_from(std::process::id()).unwrap()).unwrap();
        assert_eq!(start_ticks_of(&mine), fields[19].parse().ok());
    }

    #[test]
    fn this_process_has_a_start_time() {
        let me = i32::try_from(std::process::id()).unwrap();
        assert!(start_ticks(me).is_some());
        // A child spawned between two agreeing clock readings started at that tick.
        let mut agreed = 0;
        for _ in 0..50 {
            let before = boot_ticks();
            let mut child = std::process::Command::new("sleep")
                .arg("1")
                .spawn()
                .unwrap();
            let after = boot_ticks();
            let pid = i32::try_from(child.id()).unwrap();
            // The clock read after the spawn is what a record holds: the child is not another.
            assert!(!started_later(after, start_ticks(pid).unwrap()));
            if before == after {
                agreed += 1;
                assert_eq!(start_ticks(pid), Some(before));
            } else {
                assert!((before..=after).contains(&start_ticks(pid).unwrap()));
            }
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert!(agreed > 0);
        assert_eq!(start_ticks(me), start_ticks(me));
    }

    #[test]
    fn a_process_is_another_only_when_it_started_after_the_latest_recorded_start() {
        // The record holds the clock read after the spawn: the child itself started at that
        // tick or the one before (an exact-start rule would call it another and spare it).
        assert!(!started_later(105, 104));
        assert!(!started_later(105, 105));
        assert!(started_later(105, 106));
        assert!(
            !started_later(0, 106),
            "an unknown start is never judged another"
        );
        // A child spawned before a clock reading is never judged another by it: see
        // `this_process_has_a_start_time`.
    }

    #[test]
    fn a_record_of_nothing_alive_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        child.wait().unwrap();
        let record = Record {
            pid,
            pgid: pid,
            start: 1,
            cgroup: None,
        };
        assert_eq!(end_leftover(&record), Leftover::Gone);
    }
}
