//! [`FlowOptions`]: how a flow runs. Options not given stay as they were.

use std::path::PathBuf;

/// Where a flow's procs run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// On a pool of threads (the default). A timeout cannot stop a thread: the proc sees
    /// [`Context::is_cancelled`](super::Context::is_cancelled) turn true, and if it returns
    /// after its deadline it ends as failed with a timeout. A hard timeout needs the process
    /// executor.
    #[default]
    Threads,
    /// One at a time on the thread that waits, in a fixed order: deterministic (parproc's
    /// `single` mode, without its recursion limit).
    Inline,
    /// Procs in worker processes of this same program, started in worker mode (warm: each
    /// serves proc after proc): isolation and hard timeouts (the worker's process group gets
    /// SIGTERM, then SIGKILL after a grace period, and a fresh worker serves the next proc).
    /// What a proc changes in its process (the working directory, the environment, statics)
    /// stays for the procs its worker serves next.
    /// The program must call [`worker_entry`](crate::exec::process::worker_entry) at the top of
    /// `main`, and define its procs the same way in every run (a worker runs the proc when the
    /// program defines it). Arguments, results and the context's calls cross as JSON.
    Process,
    /// An executor given to [`Flow::with_executor`](super::Flow::with_executor) (for instance
    /// a [`SlurmExecutor`](crate::exec::SlurmExecutor)); not a mode to ask for by itself.
    Custom,
}

/// Options for a flow. Each is optional: [`Flow::set_options`](super::Flow::set_options)
/// changes only those given.
///
/// ```
/// use parade::flow::{Flow, FlowOptions, Mode};
/// let flow = Flow::with_options(FlowOptions::new().mode(Mode::Inline).parallel(4)).unwrap();
/// flow.set_options(FlowOptions::new().allow_missing_deps(false)).unwrap();
/// assert_eq!(flow.options().parallel, Some(4)); // unchanged
/// assert_eq!(flow.options().allow_missing_deps, Some(false));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowOptions {
    /// The most procs running at once (default: one per core; at least 1).
    pub parallel: Option<usize>,
    /// Threads, inline or process; chosen when the flow is made.
    pub mode: Option<Mode>,
    /// The separator between placeholders in proto names (default `::`).
    pub separator: Option<String>,
    /// Whether a wanted proc may depend on a name nothing defines (default true: the
    /// dependent ends dep-failed; false: wanting it is an error).
    pub allow_missing_deps: Option<bool>,
    /// Where per-proc logs go (default `.parade/logs/<run-id>/`).
    pub log_dir: Option<PathBuf>,
    /// The run store (`.parade/state.db`): with it, procs with inputs or dependencies whose
    /// fingerprint is unchanged end up to date instead of running (default: none).
    pub store: Option<PathBuf>,
    /// Run every proc, up to date or not (parproc's `full`; default false).
    pub full: Option<bool>,
    /// A failed proc shows its whole log instead of its snippet (parproc's
    /// `full_log_on_failure`, the command's `--full-log`; default false), in the observers
    /// [`Flow::plain_observer`](super::Flow::plain_observer) makes.
    pub full_log_on_failure: Option<bool>,
}

impl FlowOptions {
    /// No options given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the parallel limit.
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = Some(n);
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Sets the placeholder separator.
    pub fn separator(mut self, sep: impl Into<String>) -> Self {
        self.separator = Some(sep.into());
        self
    }

    /// Sets whether missing dependencies are allowed.
    pub fn allow_missing_deps(mut self, allow: bool) -> Self {
        self.allow_missing_deps = Some(allow);
        self
    }

    /// Sets the log directory.
    pub fn log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = Some(dir.into());
        self
    }

    /// Names the run store that makes procs up to date across runs.
    ///
    /// ```
    /// use parade::flow::{Flow, FlowOptions};
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = dir.path().join(".parade/state.db");
    /// let flow = Flow::with_options(FlowOptions::new().store(&db)).unwrap();
    /// assert_eq!(flow.options().store, Some(db));
    /// ```
    pub fn store(mut self, path: impl Into<PathBuf>) -> Self {
        self.store = Some(path.into());
        self
    }

    /// Runs every proc, up to date or not.
    pub fn full(mut self, on: bool) -> Self {
        self.full = Some(on);
        self
    }

    /// Shows a failed proc's whole log instead of its snippet.
    pub fn full_log_on_failure(mut self, on: bool) -> Self {
        self.full_log_on_failure = Some(on);
        self
    }

    /// These options, with those `other` gives replacing these.
    pub(crate) fn merged(&self, other: &FlowOptions) -> FlowOptions {
        FlowOptions {
            parallel: other.parallel.or(self.parallel),
            mode: other.mode.or(self.mode),
            separator: other.separator.clone().or_else(|| self.separator.clone()),
            allow_missing_deps: other.allow_missing_deps.or(self.allow_missing_deps),
            log_dir: other.log_dir.clone().or_else(|| self.log_dir.clone()),
            store: other.store.clone().or_else(|| self.store.clone()),
            full: other.full.or(self.full),
            full_log_on_failure: other.full_log_on_failure.or(self.full_log_on_failure),
        }
    }
}
