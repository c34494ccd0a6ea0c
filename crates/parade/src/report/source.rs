//! Where recorded runs are read from: the [`RunSource`] trait, and [`LogDirRuns`], which
//! reads the `run.json` each `parade run` leaves in its log directory
//! (`.parade/logs/<run-id>/run.json`, see [`run_dir`](crate::display::run_dir)).
//!
//! The trait is the seam for a run store: a source backed by it answers the same two
//! questions, and `parade report` does not change.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::record::{RUN_FILE, RunRecord};

/// Which run: by id, or counting back from the latest (`-1` is the latest, `-2` the one
/// before).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunSelector {
    /// The latest recorded run.
    Latest,
    /// The `n`-th run counting back from the latest; 1 is the latest.
    Back(usize),
    /// The run with this id.
    Id(String),
}

impl RunSelector {
    /// Reads what a user typed: nothing for the latest, `-N`, or a run id.
    ///
    /// ```
    /// use parade::report::RunSelector;
    /// assert_eq!(RunSelector::parse(None), Ok(RunSelector::Latest));
    /// assert_eq!(RunSelector::parse(Some("-2")), Ok(RunSelector::Back(2)));
    /// assert!(RunSelector::parse(Some("-0")).is_err());
    /// assert_eq!(
    ///     RunSelector::parse(Some("20250131-235959.123-42")),
    ///     Ok(RunSelector::Id("20250131-235959.123-42".into()))
    /// );
    /// ```
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let Some(text) = text else {
            return Ok(Self::Latest);
        };
        if let Some(n) = text.strip_prefix('-') {
            return match n.parse::<usize>() {
                Ok(0) | Err(_) => Err(format!(
                    "`{text}` is not a run: give a run id, or -N for the N-th latest run (-1 is the latest)"
                )),
                Ok(n) => Ok(Self::Back(n)),
            };
        }
        if text.is_empty() || text.contains(['/', '\\']) || text.starts_with('.') {
            return Err(format!("`{text}` is not a run id"));
        }
        Ok(Self::Id(text.to_owned()))
    }
}

impl fmt::Display for RunSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str("the latest run"),
            Self::Back(n) => write!(f, "run -{n}"),
            Self::Id(id) => write!(f, "run {id}"),
        }
    }
}

/// Why a run could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No run matches.
    #[error("{0}")]
    NotFound(String),
    /// The run exists but its record could not be read.
    #[error("cannot read {what}: {error}")]
    Unreadable {
        /// Which run.
        what: String,
        /// Why.
        error: io::Error,
    },
}

/// Somewhere recorded runs can be read from.
pub trait RunSource {
    /// The ids of the recorded runs, oldest first.
    fn runs(&self) -> Result<Vec<String>, SourceError>;
    /// The record of run `id`.
    fn load(&self, id: &str) -> Result<RunRecord, SourceError>;

    /// The id of the run `which` names.
    fn resolve(&self, which: &RunSelector) -> Result<String, SourceError> {
        let runs = self.runs()?;
        let found = match which {
            RunSelector::Latest => runs.last().cloned(),
            RunSelector::Back(n) => runs.len().checked_sub(*n).map(|i| runs[i].clone()),
            RunSelector::Id(id) => runs.iter().find(|r| *r == id).cloned(),
        };
        found.ok_or_else(|| {
            SourceError::NotFound(match (which, runs.len()) {
                (_, 0) => "no recorded runs yet: `parade run` records one".to_owned(),
                (RunSelector::Id(id), _) => format!(
                    "no recorded run `{id}` (latest: {})",
                    runs.last().map_or("", String::as_str)
                ),
                (_, n) => format!("{which} does not exist: {n} recorded run(s)"),
            })
        })
    }
}

/// Runs recorded as `<logs>/<run-id>/run.json`, ids sorting by start time.
///
/// ```
/// use parade::report::{LogDirRuns, RunRecord, RunSelector, RunSource};
/// let logs = tempfile::tempdir().unwrap();
/// for (id, slots) in [("20250101-000000.000-1", 1), ("20250101-000001.000-1", 2)] {
///     let dir = logs.path().join(id);
///     std::fs::create_dir(&dir).unwrap();
///     RunRecord { slots, ..RunRecord::default() }.save_in(&dir).unwrap();
/// }
/// std::fs::create_dir(logs.path().join("20250101-000002.000-1")).unwrap(); // no record
/// let runs = LogDirRuns::new(logs.path());
/// let latest = runs.resolve(&RunSelector::Latest).unwrap();
/// assert_eq!(runs.load(&latest).unwrap().slots, 2);
/// assert_eq!(runs.resolve(&RunSelector::Back(2)).unwrap(), "20250101-000000.000-1");
/// ```
#[derive(Clone, Debug)]
pub struct LogDirRuns {
    logs: PathBuf,
}

impl LogDirRuns {
    /// Runs under `logs` (a task file's `.parade/logs`).
    pub fn new(logs: impl Into<PathBuf>) -> Self {
        Self { logs: logs.into() }
    }

    /// The log directory of run `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.logs.join(id)
    }

    /// Where the runs are.
    pub fn logs(&self) -> &Path {
        &self.logs
    }
}

impl RunSource for LogDirRuns {
    fn runs(&self) -> Result<Vec<String>, SourceError> {
        let entries = match std::fs::read_dir(&self.logs) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(SourceError::Unreadable {
                    what: self.logs.display().to_string(),
                    error,
                });
            }
        };
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.') && name != "latest")
            .filter(|name| self.logs.join(name).join(RUN_FILE).is_file())
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn load(&self, id: &str) -> Result<RunRecord, SourceError> {
        let dir = self.dir(id);
        let mut run = RunRecord::load_from(&dir).map_err(|error| SourceError::Unreadable {
            what: dir.join(RUN_FILE).display().to_string(),
            error,
        })?;
        run.run_id.get_or_insert_with(|| id.to_owned());
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_runs_say_what_exists() {
        let logs = tempfile::tempdir().unwrap();
        let runs = LogDirRuns::new(logs.path().join("nothing-here"));
        let e = runs.resolve(&RunSelector::Latest).unwrap_err().to_string();
        assert!(e.contains("no recorded runs"), "{e}");
        let dir = logs.path().join("r1");
        std::fs::create_dir(&dir).unwrap();
        RunRecord::default().save_in(&dir).unwrap();
        let runs = LogDirRuns::new(logs.path());
        let e = runs.resolve(&RunSelector::Back(3)).unwrap_err().to_string();
        assert_eq!(e, "run -3 does not exist: 1 recorded run(s)");
        let e = runs
            .resolve(&RunSelector::Id("r2".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "no recorded run `r2` (latest: r1)");
        std::fs::write(dir.join(RUN_FILE), "{ not json").unwrap();
        let e = runs.load("r1").unwrap_err().to_string();
        assert!(e.contains("not a parade run record"), "{e}");
    }

    #[test]
    fn selectors_refuse_paths() {
        assert!(RunSelector::parse(Some("../x")).is_err());
        assert!(RunSelector::parse(Some(".hidden")).is_err());
        assert!(RunSelector::parse(Some("-x")).is_err());
    }
}
