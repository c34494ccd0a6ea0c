//! What a template job's directory needs beyond its files: a lock, so one run at a time works
//! in it and `jobs clean` leaves a running job alone (`flock` on the directory itself, so no
//! extra file lands in a tree parman also reads; `nix`'s `Flock`, as the MSRV predates std's
//! `File::try_lock`); paths relative to it, as parman writes them in `kwargs.sha256`; and `jobenv.sh`,
//! the environment the script ran with. It does not know how a job runs.
//!
//! The relative path is lexical like Python's `os.path.relpath` (symbolic links are not
//! resolved, so a tree reads the same wherever it is mounted); it is a few lines, so no crate.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// An exclusive lock on a job directory, held while a run works in it.
pub(crate) struct DirLock {
    _held: Flock<File>,
}

impl std::fmt::Debug for DirLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirLock")
    }
}

/// Locks `dir` at once, or `Ok(None)` if another process (or run) holds it.
pub(crate) fn try_lock(dir: &Path) -> std::io::Result<Option<DirLock>> {
    let file = File::open(dir)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(held) => Ok(Some(DirLock { _held: held })),
        Err((_, Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, errno)) => Err(std::io::Error::from(errno)),
    }
}

/// Locks `dir`, waiting while another run holds it: `busy` is called once when it does, and
/// the wait ends early (`Ok(None)`) as soon as `stop` says so.
pub(crate) fn lock(
    dir: &Path,
    busy: impl FnOnce(),
    stop: impl Fn() -> bool,
) -> std::io::Result<Option<DirLock>> {
    if let Some(held) = try_lock(dir)? {
        return Ok(Some(held));
    }
    busy();
    loop {
        if stop() {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
        if let Some(held) = try_lock(dir)? {
            return Ok(Some(held));
        }
    }
}

/// A new directory under `root` for one run of job directory `dir` (parman's
/// `LocalTempClerk`: `<root>/parade-job-<pid>-<n>/<name of dir>`).
pub(crate) fn make_temp(root: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    std::fs::create_dir_all(root)?;
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let top = root.join(format!("parade-job-{}-{n}", std::process::id()));
        match std::fs::create_dir(&top) {
            Ok(()) => {
                let work = top.join(dir.file_name().unwrap_or_else(|| "job".as_ref()));
                std::fs::create_dir(&work)?;
                return Ok(work);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

/// The files `result.extra` lists: one per line, `#` starting a comment, blank lines skipped
/// (parman's `strip_line`).
pub(crate) fn extra_files(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `path` without `.` and with `..` applied, lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base` (both absolute), as `os.path.relpath` gives it: `../../input.txt`.
///
/// ```ignore
/// assert_eq!(relative(Path::new("/r/input.txt"), Path::new("/r/results/a")), Path::new("../../input.txt"));
/// ```
pub(crate) fn relative(path: &Path, base: &Path) -> PathBuf {
    let (path, base) = (normalize(path), normalize(base));
    let p: Vec<Component<'_>> = path.components().collect();
    let b: Vec<Component<'_>> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Whether `name` can be an environment variable of `jobenv.sh`: `[_A-Za-z][_A-Za-z0-9]*`.
pub(crate) fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The text of `jobenv.sh`: one `export NAME="value"` line per variable, in order, each value
/// quoted so that the shell reads it back as it is (`\`, `"`, `$` and `` ` `` escaped).
/// Names must be valid (see [`valid_env_name`]).
pub(crate) fn jobenv(vars: &[(String, String)]) -> String {
    vars.iter().fold(String::new(), |mut s, (k, v)| {
        let mut quoted = String::with_capacity(v.len() + 2);
        for ch in v.chars() {
            if matches!(ch, '\\' | '"' | '$' | '`') {
                quoted.push('\\');
            }
            quoted.push(ch);
        }
        let _ = writeln!(s, "export {k}=\"{quoted}\"");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_extra_lines_skip_comments_and_blanks() {
        let text = "# kept files\nout/a.txt\n\n  b.dat  # the big one\n#c\n";
        assert_eq!(extra_files(text), ["out/a.txt", "b.dat"]);
    }

    #[test]
    fn relative_paths_are_what_relpath_gives() {
        let r = |p: &str, b: &str| relative(Path::new(p), Path::new(b));
        assert_eq!(
            r("/r/input.txt", "/r/results/a"),
            Path::new("../../input.txt")
        );
        assert_eq!(r("/r/results/a/x", "/r/results/a"), Path::new("x"));
        assert_eq!(r("/r/results/a", "/r/results/a"), Path::new("."));
        assert_eq!(r("/r/./b/../c", "/r/d"), Path::new("../c"));
    }

    #[test]
    fn env_names_are_checked_and_values_survive_the_shell() {
        assert!(valid_env_name("PARMAN_WORKDIR") && valid_env_name("_a1"));
        for bad in ["", "1A", "A-B", "A B", "A=B"] {
            assert!(!valid_env_name(bad), "{bad}");
        }
        let value = "a \"q\" $(touch PWNED) `x` \\ $HOME\nline";
        let text = jobenv(&[("V".to_owned(), value.to_owned())]);
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{text}printf %s \"$V\""))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
        assert!(!dir.path().join("PWNED").exists());
    }

    #[test]
    fn a_locked_directory_is_busy_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let held = try_lock(dir.path()).unwrap().unwrap();
        assert!(try_lock(dir.path()).unwrap().is_none());
        let mut said = false;
        assert!(lock(dir.path(), || said = true, || true).unwrap().is_none());
        assert!(said);
        drop(held);
        assert!(try_lock(dir.path()).unwrap().is_some());
    }
}
