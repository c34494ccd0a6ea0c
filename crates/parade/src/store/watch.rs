//! Watching the files a run depends on: `notify` (inotify on Linux), falling back to polling
//! when the system refuses more watches (or when `PARADE_WATCH_POLL=1`), events filtered to
//! the watched files and globs, bursts coalesced by a quiet period.
//!
//! It owns waiting for a change; what a change makes stale is [`Staleness`](super::Staleness)'s.

use std::collections::{BTreeSet, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

/// How often the polling fallback looks.
pub const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// A quiet period that coalesces a burst of changes (parproc's default).
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Watches files and globs; [`FileWatch::next`] waits for changes to them.
///
/// ```no_run
/// use parade::store::FileWatch;
/// use std::time::Duration;
/// let w = FileWatch::new(["src/a.c".into()], ["src/**/*.h".to_owned()]).unwrap();
/// if let Some(changed) = w.next(Duration::from_millis(300), &|| false) {
///     println!("changed: {changed:?}");
/// }
/// ```
pub struct FileWatch {
    rx: Receiver<notify::Result<notify::Event>>,
    _watcher: Box<dyn Watcher + Send>,
    files: HashSet<PathBuf>,
    /// Watched directories: a change to any file under one counts.
    dirs: Vec<PathBuf>,
    patterns: Vec<glob::Pattern>,
    polling: bool,
}

impl std::fmt::Debug for FileWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWatch")
            .field("files", &self.files.len())
            .field("patterns", &self.patterns.len())
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl FileWatch {
    /// Watches `files` (paths; a directory stands for every file under it) and `globs`
    /// (patterns such as `src/**/*.c`), both made absolute.
    /// Errors: a bad glob, or neither inotify nor polling can watch.
    pub fn new(
        files: impl IntoIterator<Item = PathBuf>,
        globs: impl IntoIterator<Item = String>,
    ) -> std::io::Result<FileWatch> {
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let files: HashSet<PathBuf> = files.into_iter().map(|p| abs(&p)).collect();
        let mut patterns = Vec::new();
        let mut dirs: BTreeSet<(PathBuf, bool)> = BTreeSet::new();
        for g in globs {
            let full = abs(Path::new(&g));
            let text = full.to_string_lossy().into_owned();
            patterns.push(glob::Pattern::new(&text).map_err(std::io::Error::other)?);
            dirs.insert((glob_root(&full), true));
        }
        for f in &files {
            if f.is_dir() {
                dirs.insert((f.clone(), true));
            } else if let Some(parent) = f.parent() {
                dirs.insert((parent.to_path_buf(), false));
            }
        }
        let watched_dirs: Vec<PathBuf> = files.iter().filter(|f| f.is_dir()).cloned().collect();
        // A directory that does not exist yet is watched from its nearest existing parent.
        let dirs: BTreeSet<(PathBuf, bool)> = dirs
            .into_iter()
            .map(|(d, rec)| {
                let mut d = d;
                let mut rec = rec;
                while !d.exists() {
                    match d.parent() {
                        Some(p) => {
                            d = p.to_path_buf();
                            rec = true;
                        }
                        None => break,
                    }
                }
                (d, rec)
            })
            .collect();
        let (tx, rx) = channel();
        let force_poll = std::env::var_os("PARADE_WATCH_POLL").is_some_and(|v| v == "1");
        if !force_poll {
            let tx = tx.clone();
            if let Ok(mut w) = notify::recommended_watcher(move |e| {
                let _ = tx.send(e);
            }) && watch_all(&mut w, &dirs).is_ok()
            {
                return Ok(FileWatch {
                    rx,
                    _watcher: Box::new(w),
                    files,
                    dirs: watched_dirs,
                    patterns,
                    polling: false,
                });
            }
        }
        // inotify is out of watches (or refused): look every POLL_INTERVAL instead.
        let mut w = poll_watcher(tx).map_err(std::io::Error::other)?;
        watch_all(&mut w, &dirs).map_err(std::io::Error::other)?;
        Ok(FileWatch {
            rx,
            _watcher: Box::new(w),
            files,
            dirs: watched_dirs,
            patterns,
            polling: true,
        })
    }

    /// Whether it fell back to polling.
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// Waits for a change to a watched file, then for `debounce` without further changes;
    /// returns the changed files, sorted. Returns `None` once `stop()` is true (checked every
    /// 100 ms) or when the watcher died.
    pub fn next(&self, debounce: Duration, stop: &dyn Fn() -> bool) -> Option<Vec<PathBuf>> {
        let mut changed = BTreeSet::new();
        let mut quiet_until: Option<Instant> = None;
        loop {
            if stop() {
                return None;
            }
            let wait = quiet_until.map_or(Duration::from_millis(100), |t| {
                t.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100))
            });
            match self.rx.recv_timeout(wait) {
                Ok(Ok(event)) => {
                    if matches!(event.kind, EventKind::Access(_)) {
                        continue;
                    }
                    let before = changed.len();
                    changed.extend(event.paths.into_iter().filter(|p| self.wanted(p)));
                    if changed.len() > before || quiet_until.is_some() && !changed.is_empty() {
                        quiet_until = Some(Instant::now() + debounce);
                    }
                }
                Ok(Err(_)) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
            if quiet_until.is_some_and(|t| Instant::now() >= t) {
                return Some(changed.into_iter().collect());
            }
        }
    }

    fn wanted(&self, path: &Path) -> bool {
        self.files.contains(path)
            || self.dirs.iter().any(|d| path.starts_with(d))
            || self.patterns.iter().any(|p| p.matches_path(path))
    }
}

/// The polling fallback, comparing contents (its mtimes are whole seconds).
fn poll_watcher(
    tx: std::sync::mpsc::Sender<notify::Result<notify::Event>>,
) -> notify::Result<notify::PollWatcher> {
    let config = notify::Config::default()
        .with_poll_interval(POLL_INTERVAL)
        .with_compare_contents(true);
    notify::PollWatcher::new(
        move |e| {
            let _ = tx.send(e);
        },
        config,
    )
}

fn watch_all(w: &mut dyn Watcher, dirs: &BTreeSet<(PathBuf, bool)>) -> notify::Result<()> {
    for (dir, recursive) in dirs {
        let mode = if *recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        w.watch(dir, mode)?;
    }
    Ok(())
}

/// The directory a glob's matches are under: its leading components without `*`, `?`, `[`.
fn glob_root(pattern: &Path) -> PathBuf {
    let mut root = PathBuf::new();
    for c in pattern.components() {
        let text = c.as_os_str().to_string_lossy();
        if matches!(c, Component::Normal(_)) && text.contains(['*', '?', '[']) {
            break;
        }
        root.push(c);
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_is_watched_from_its_plain_prefix() {
        assert_eq!(
            glob_root(Path::new("/p/src/**/*.c")),
            PathBuf::from("/p/src")
        );
        assert_eq!(glob_root(Path::new("/p/a?.c")), PathBuf::from("/p"));
    }

    fn sees_a_change(poll: bool) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.c");
        std::fs::write(&file, "1").unwrap();
        std::fs::write(dir.path().join("other.txt"), "1").unwrap();
        let w = if poll {
            // The fallback as `new` makes it, built here so no test sets PARADE_WATCH_POLL.
            let (tx, rx) = channel();
            let mut pw = poll_watcher(tx).unwrap();
            let dirs = BTreeSet::from([(dir.path().to_path_buf(), true)]);
            watch_all(&mut pw, &dirs).unwrap();
            FileWatch {
                rx,
                _watcher: Box::new(pw),
                files: HashSet::new(),
                dirs: Vec::new(),
                patterns: vec![
                    glob::Pattern::new(&format!("{}/*.c", dir.path().display())).unwrap(),
                ],
                polling: true,
            }
        } else {
            FileWatch::new([file.clone()], []).unwrap()
        };
        let writer = {
            let file = file.clone();
            let other = dir.path().join("other.txt");
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(400));
                std::fs::write(other, "2").unwrap();
                std::fs::write(&file, "2").unwrap();
                std::fs::write(&file, "3").unwrap();
            })
        };
        let until = Instant::now() + Duration::from_secs(30);
        let changed = w
            .next(Duration::from_millis(200), &|| Instant::now() > until)
            .expect("no change seen");
        writer.join().unwrap();
        assert_eq!(changed, [file]);
    }

    #[test]
    fn inotify_sees_a_change_to_a_watched_file_only() {
        sees_a_change(false);
    }

    #[test]
    fn polling_sees_a_change_to_a_glob() {
        sees_a_change(true);
    }

    #[test]
    fn next_returns_none_when_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let w = FileWatch::new([dir.path().join("x")], []).unwrap();
        assert_eq!(w.next(DEBOUNCE, &|| true), None);
    }
}
