//! The task file, `parade.toml`: finding it, reading it, and checking it with diagnostics that
//! point at the line and column of each problem. The format is described in `docs/taskfile.md`.
//!
//! This module knows the file format and nothing about running: the commands turn a checked
//! [`TaskFile`] into flow procs.

mod diagnostic;
mod duration;
#[cfg(test)]
mod equivalence;
#[cfg(test)]
mod fixture;
mod include;
mod index;
mod model;
pub mod names;
mod pattern;
mod plain;
mod raw_task;
mod read;
mod scan;
mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{Problem, Problems, SourceFile, TaskFileError, did_you_mean, suggest};
pub use duration::{DURATION_HELP, DurationValue, parse_duration};
pub use index::{TaskIndex, task_searches};
pub use model::{Dep, ExecutorKind, Rare, RawFile, Scalar, Settings, Task, TaskFile, TemplateSpec};
pub use pattern::{Part, Pattern, glob_match, is_glob};
pub use validate::{MAX_NAME_LEN, MAX_PARALLEL, name_lookups, parse};

/// The file name looked for.
pub const FILE_NAME: &str = "parade.toml";

/// The nearest `parade.toml` in `start` or one of its parents.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// Reads and checks the task file at `path` (or, without one, the nearest `parade.toml` from
/// the current directory up).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("parade.toml");
/// std::fs::write(&path, "[task.hello]\nrun = \"echo hi\"\n").unwrap();
/// let file = parade_cli::taskfile::load(Some(&path)).unwrap();
/// assert_eq!(file.tasks[0].run, "echo hi");
/// ```
pub fn load(path: Option<&Path>) -> Result<TaskFile, TaskFileError> {
    let path = if let Some(p) = path {
        p.to_path_buf()
    } else {
        {
            let cwd = std::env::current_dir().map_err(|e| TaskFileError::Read {
                path: ".".into(),
                error: e,
            })?;
            let found = find(&cwd).ok_or_else(|| {
                TaskFileError::NotFound(format!(
                    "no {FILE_NAME} in {} or its parents (use -f FILE to name one)",
                    cwd.display()
                ))
            })?;
            // Show a short name when the file is right here.
            found
                .strip_prefix(&cwd)
                .map_or(found.clone(), Path::to_path_buf)
        }
    };
    let text = read_limited(&path).map_err(|e| TaskFileError::Read {
        path: path.display().to_string(),
        error: e,
    })?;
    let source = SourceFile {
        name: path.display().to_string(),
        text,
    };
    let mut file = parse(path, source)?;
    read_dotenv(&mut file)?;
    Ok(file)
}

/// Parses `text` as a task file named `parade.toml`: the unit tests' one way to make one.
#[cfg(test)]
pub(crate) fn parse_text(text: impl Into<String>) -> Result<TaskFile, TaskFileError> {
    let source = SourceFile {
        name: FILE_NAME.into(),
        text: text.into(),
    };
    parse(PathBuf::from(FILE_NAME), source)
}

/// The largest task file read, in bytes: room for a million plain tasks (about 65 bytes each),
/// and a clear error before a runaway generated file is read whole.
pub const MAX_FILE_SIZE: u64 = 256 << 20;

/// The text of a regular file of at most [`MAX_FILE_SIZE`] bytes (not a device or a pipe, which
/// could be read forever).
pub(crate) fn read_limited(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(invalid("not a regular file".to_owned()));
    }
    let too_large = || {
        invalid(format!(
            "larger than {} MiB; a task file is at most that",
            MAX_FILE_SIZE >> 20
        ))
    };
    // Known too large before a byte is read; the limit on the read catches a file that grows.
    if meta.len() > MAX_FILE_SIZE {
        return Err(too_large());
    }
    let mut text = String::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    std::fs::File::open(path)?
        .take(MAX_FILE_SIZE + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large());
    }
    Ok(text)
}

/// Reads `[settings] dotenv` when the file exists (relative to the task file).
fn read_dotenv(file: &mut TaskFile) -> Result<(), TaskFileError> {
    let Some(rel) = &file.settings.dotenv else {
        return Ok(());
    };
    let path = file.dir().join(rel);
    if !path.exists() {
        return Ok(());
    }
    let read_error = |e: &dyn std::fmt::Display| TaskFileError::Read {
        path: path.display().to_string(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    };
    let text = read_limited(&path).map_err(|e| read_error(&e))?;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        let (k, v) = item.map_err(|e| read_error(&e))?;
        file.dotenv.push((k, v));
    }
    Ok(())
}
