//! The task file, `parade.toml`: finding it, reading it, and checking it with diagnostics that
//! point at the line and column of each problem. The format is described in `docs/taskfile.md`.
//!
//! This module knows the file format and nothing about running: the commands turn a checked
//! [`TaskFile`] into flow procs.

mod diagnostic;
mod duration;
mod model;
mod pattern;
mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{
    Problem, Problems, SourceFile, TaskFileError, did_you_mean, edit_distance, suggest,
};
pub use duration::{DURATION_HELP, DurationValue, parse_duration};
pub use model::{Dep, ExecutorKind, RawFile, Scalar, Settings, Task, TaskFile, TemplateSpec};
pub use pattern::{Part, Pattern, glob_match, is_glob};
pub use validate::{name_lookups, parse};

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
    let text = std::fs::read_to_string(&path).map_err(|e| TaskFileError::Read {
        path: path.display().to_string(),
        error: e,
    })?;
    let source = SourceFile {
        name: path.display().to_string(),
        text,
    };
    parse(path, source)
}
