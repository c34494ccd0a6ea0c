//! [`LogFiles`]: each task's output in `<dir>/<name>.log`, and [`run_dir`]: one directory per
//! run under `.parade/logs/`, with a `latest` link.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::engine::{Event, Events, Observer, TaskId};

use super::ById;
use super::names::{TaskNames, display_name};

/// Writes every task's output lines to `<dir>/<name>.log`.
///
/// A task's file is created with its first line (a task that printed nothing has no log: on a
/// thousand silent tasks, creating empty files was most of a run's own cost) and flushed and
/// closed when it finishes. Names become file names through
/// [`sanitize_file_name`]. Errors writing a log do not stop the run: the first one is kept for
/// [`LogFiles::error`], and each task's first one for [`LogFiles::task_error`] (that task's
/// file is not written again: its log is incomplete, and whoever ends the run must say so).
///
/// ```
/// use std::sync::Arc;
/// use parade::display::{LogFiles, NameTable};
/// use parade::engine::{Engine, Outcome, TaskSpec};
///
/// let dir = tempfile::tempdir().unwrap();
/// let engine = Engine::inline();
/// let names = Arc::new(NameTable::new());
/// let logs = LogFiles::new(dir.path(), names.clone()).unwrap();
/// engine.subscribe(logs.clone());
/// let t = engine.add(TaskSpec::new(|ctx| { ctx.emit("hello"); Outcome::Succeeded })).unwrap();
/// names.insert(t, "build::prod");
/// engine.want([t]).unwrap();
/// engine.wait_all().unwrap();
/// let path = logs.path(t).unwrap();
/// assert!(path.ends_with("build::prod.log"));
/// assert_eq!(std::fs::read_to_string(path).unwrap(), "hello\n");
/// ```
///
/// Clones share the same files: subscribe one clone, ask the other for paths.
#[derive(Clone)]
pub struct LogFiles {
    inner: Arc<LogInner>,
}

struct LogInner {
    dir: PathBuf,
    names: Arc<dyn TaskNames>,
    state: Mutex<LogState>,
}

#[derive(Default)]
struct LogState {
    paths: ById<PathBuf>,
    open: ById<BufWriter<File>>,
    error: Option<String>,
    /// Each task's first write error.
    failed: ById<String>,
}

impl LogFiles {
    /// Log files in `dir` (created if missing), named with `names`.
    pub fn new(dir: impl Into<PathBuf>, names: Arc<dyn TaskNames>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Self {
            inner: Arc::new(LogInner {
                dir,
                names,
                state: Mutex::new(LogState::default()),
            }),
        })
    }

    /// The directory the logs go to.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The log file of a task that started or printed, if any.
    pub fn path(&self, id: TaskId) -> Option<PathBuf> {
        self.inner.state.lock().paths.get(&id).cloned()
    }

    /// Where the log of the task called `name` goes.
    pub fn path_for_name(&self, name: &str) -> PathBuf {
        self.inner
            .dir
            .join(format!("{}.log", sanitize_file_name(name)))
    }

    /// The first error met while writing logs, if any.
    pub fn error(&self) -> Option<String> {
        self.inner.state.lock().error.clone()
    }

    /// The first error met writing this task's log (`path: error`), if any.
    pub fn task_error(&self, id: TaskId) -> Option<String> {
        self.inner.state.lock().failed.get(&id).cloned()
    }

    /// Every task whose log could not be written whole, with its first error.
    pub fn task_errors(&self) -> Vec<(TaskId, String)> {
        let mut all: Vec<_> = self
            .inner
            .state
            .lock()
            .failed
            .iter()
            .map(|(id, e)| (*id, e.clone()))
            .collect();
        all.sort();
        all
    }

    /// Flushes and closes the log of the task named `name` now (before its end event), and
    /// says whether it was written whole: `Err` with the first error if not. A task's body calls
    /// it when its command has ended, so that a log it could not write fails the task.
    pub fn close_named(&self, name: &str) -> Result<(), String> {
        let mut state = self.inner.state.lock();
        let state = &mut *state;
        let ids: Vec<TaskId> = state
            .open
            .keys()
            .chain(state.failed.keys())
            .copied()
            .filter(|id| display_name(&*self.inner.names, *id) == name)
            .collect();
        for id in ids {
            if let Some(mut w) = state.open.remove(&id)
                && let Err(e) = w.flush()
            {
                Self::failed(state, id, &e);
            }
            if let Some(e) = state.failed.get(&id) {
                return Err(e.clone());
            }
        }
        Ok(())
    }

    fn failed(state: &mut LogState, id: TaskId, e: &io::Error) {
        let path = state.paths.get(&id).cloned().unwrap_or_default();
        let text = format!("{}: {e}", path.display());
        state.error.get_or_insert_with(|| text.clone());
        state.failed.entry(id).or_insert(text);
        state.open.remove(&id);
    }

    fn open<'a>(&self, state: &'a mut LogState, id: TaskId) -> Option<&'a mut BufWriter<File>> {
        match state.open.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let path = self.path_for_name(&display_name(&*self.inner.names, id));
                // A log closed once (its command ended) and written again (a retry's
                // attempts, the final reason) is appended to, never truncated.
                let opened = if state.paths.contains_key(&id) {
                    std::fs::OpenOptions::new().append(true).open(&path)
                } else {
                    File::create(&path)
                };
                match opened {
                    Ok(file) => {
                        state.paths.insert(id, path);
                        // Written in few large writes: a task printing much costs few calls.
                        Some(slot.insert(BufWriter::with_capacity(LOG_BUFFER, file)))
                    }
                    Err(e) => {
                        let text = format!("{}: {e}", path.display());
                        state.error.get_or_insert_with(|| text.clone());
                        state.failed.entry(id).or_insert(text);
                        None
                    }
                }
            }
        }
    }
}

impl Observer for LogFiles {
    fn on_event(&self, event: &Event) {
        self.take(&mut self.inner.state.lock(), event);
    }

    /// One lock for the whole batch.
    fn on_events(&self, events: Events<'_>) {
        let mut state = self.inner.state.lock();
        for event in events {
            self.take(&mut state, event);
        }
    }
}

impl LogFiles {
    /// Writes what `event` adds to a log (the caller holds the lock).
    fn take(&self, state: &mut LogState, event: &Event) {
        let result = match event {
            Event::Wanted { .. } | Event::Started { .. } => Ok(()),
            // A log that failed once stays incomplete: it is not written again.
            Event::Output { id, .. }
                if !state.failed.is_empty() && state.failed.contains_key(id) =>
            {
                Ok(())
            }
            Event::Output { id, line, .. } => match self.open(state, *id) {
                Some(w) => w
                    .write_all(line.as_bytes())
                    .and_then(|()| w.write_all(b"\n")),
                None => Ok(()),
            },
            Event::Finished { id, .. } => match state.open.remove(id) {
                Some(mut w) => w.flush(),
                None => Ok(()),
            },
        };
        if let Err(e) = result {
            Self::failed(state, event.id(), &e);
        }
    }
}

/// How much of a log is gathered before it is written.
const LOG_BUFFER: usize = 64 * 1024;

/// The longest file name stem [`sanitize_file_name`] makes (file systems allow 255 bytes).
const MAX_STEM: usize = 200;

/// Turns a task name into a file name stem that is safe on common file systems: `/`, `\`, NUL,
/// control characters and `%` become `%XX`; a leading `.` too (no hidden files, no `..`); an
/// empty name becomes `%`; a name too long for a file system is cut and given a hash of the whole.
/// Different names give different stems, and `build::prod` stays readable.
///
/// ```
/// use parade::display::sanitize_file_name;
/// assert_eq!(sanitize_file_name("build::prod"), "build::prod");
/// assert_eq!(sanitize_file_name("src/main.rs"), "src%2Fmain.rs");
/// assert_eq!(sanitize_file_name(".."), "%2E.");
/// assert_eq!(sanitize_file_name("100%"), "100%25");
/// ```
pub fn sanitize_file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let escape = matches!(c, '/' | '\\' | '%' | '\0') || c.is_control() || (i == 0 && c == '.');
        if escape {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    if out.len() > MAX_STEM {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        name.hash(&mut hasher);
        let mut cut = MAX_STEM - 17;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        let _ = write!(out, "~{:016x}", hasher.finish());
    }
    out
}

/// Makes a fresh directory for one run's logs, `<base>/.parade/logs/<run-id>/`, and points
/// `<base>/.parade/logs/latest` at it. Run ids sort by start time: `20250131-235959.123-4242`
/// (UTC date and time, milliseconds, process id).
///
/// ```
/// let base = tempfile::tempdir().unwrap();
/// let dir = parade::display::run_dir(base.path()).unwrap();
/// assert!(dir.is_dir());
/// let latest = base.path().join(".parade/logs/latest");
/// assert_eq!(std::fs::canonicalize(latest).unwrap(), std::fs::canonicalize(&dir).unwrap());
/// ```
pub fn run_dir(base: &Path) -> io::Result<PathBuf> {
    run_dir_in(&base.join(".parade").join("logs"))
}

/// Makes a fresh directory for one run's logs directly under `logs`, `<logs>/<run-id>/`, and
/// points `<logs>/latest` at it (see [`run_dir`]).
///
/// ```
/// let logs = tempfile::tempdir().unwrap();
/// let dir = parade::display::run_dir_in(logs.path()).unwrap();
/// assert_eq!(dir.parent(), Some(logs.path()));
/// assert!(logs.path().join("latest").is_dir());
/// ```
pub fn run_dir_in(logs: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(logs)?;
    let id = run_id(SystemTime::now(), std::process::id());
    let dir = logs.join(&id);
    fs::create_dir_all(&dir)?;
    // Replace `latest` atomically: make the new link beside it, then rename over it.
    let tmp = logs.join(format!(".latest-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&id, &tmp)?;
        fs::rename(&tmp, logs.join("latest"))?;
    }
    Ok(dir)
}

/// `YYYYmmdd-HHMMSS.mmm-pid` in UTC.
fn run_id(now: SystemTime, pid: u32) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}.{:03}-{pid}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn run_ids_are_utc_dates_and_sort_by_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(run_id(t, 42), "20231114-221320.123-42");
        assert_eq!(run_id(UNIX_EPOCH, 7), "19700101-000000.000-7");
        let later = run_id(t + Duration::from_secs(1), 1);
        assert!(later > run_id(t, 99_999));
    }

    #[test]
    fn sanitized_names_stay_distinct_and_short() {
        let names = ["a/b", "a%2Fb", "a\\b", ".x", "%2Ex", "", "%"];
        let stems: std::collections::HashSet<_> =
            names.iter().map(|n| sanitize_file_name(n)).collect();
        assert_eq!(stems.len(), names.len());
        let long = "é".repeat(300);
        let stem = sanitize_file_name(&long);
        assert!(stem.len() <= MAX_STEM);
        assert_ne!(stem, sanitize_file_name(&"é".repeat(301)));
    }

    #[test]
    fn a_second_run_dir_moves_latest() {
        let base = tempfile::tempdir().unwrap();
        let first = run_dir(base.path()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let second = run_dir(base.path()).unwrap();
        assert_ne!(first, second);
        let latest = fs::read_link(base.path().join(".parade/logs/latest")).unwrap();
        assert_eq!(latest, PathBuf::from(second.file_name().unwrap()));
    }
}
