//! Up to date for flows (parproc's incremental builds, over the run store): a proc that
//! declares `inputs` (files, globs) or has named dependencies, whose fingerprint (its
//! arguments and the content of its inputs, ignores left out) equals that of its last success,
//! whose dependencies are all up to date or skipped, and whose `outputs` exist (and are younger
//! than their `max_age`), ends up to date with its stored result instead of running; a proc
//! that skipped itself (`ProcError::Skipped`, `NoChange`) is remembered as parproc remembers
//! it, its fingerprint with no result, and is up to date while nothing it reads changes. After a
//! success, every declared output must exist (`outputs not refreshed: <paths>`), younger than
//! its `max_age` (`outputs older than max_age: <paths>`).
//!
//! A proc always runs with `full` ([`FlowOptions::full`](super::FlowOptions::full)), with
//! `no_skip`, without a store, or with neither named dependencies nor inputs (parproc's rule).
//! Unlike parproc, fingerprints are content hashes, results that are not JSON cannot happen
//! (bodies return JSON values), and an up-to-date proc is recorded, so its result stays.
//!
//! Procs run outside this process ([`Mode::Process`](super::Mode::Process), a custom executor
//! such as Slurm's) are decided in the parent, which alone knows their dependencies' states:
//! the flow's gate ([`gate`](super::gate)) checks a proc before it is dispatched and ends an
//! up-to-date one with its stored result (no worker starts), and the worker's host records the
//! success the worker reports, after checking the outputs in the parent (a store set only
//! after such procs were defined does not cover them). Procs that run a
//! [`command_spec`](super::Define::command_spec) there have no result to keep: they always run.
//!
//! A flow records into one run of its store at a time, as `parade run` does: the run begins
//! with the flow's first record and ends, with its outcome ([`crate::store::outcome`]'s rule,
//! the CLI's), when [`Flow::wait_all`] returns (the next record begins another), or
//! `interrupted` when the flow is dropped with its run open (records made since it was last
//! waited for to its end). Its targets are the names the flow was asked to run
//! ([`Flow::start`], [`Flow::run`], [`Flow::wait`]) since its last run ended; so a
//! flow's runs are ended (`parade history`, `--resume`) and its store is pruned
//! (`store/retention.rs`) as the CLI's are.
//!
//! It owns the decision for flow procs; the store keeps keys and results.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::Flow;
use crate::engine::{Outcome, TaskState};
use crate::store::{Execution, KeyHasher, RunId, Store};

/// A file a proc must produce, optionally no older than `max_age` after it ran.
///
/// ```
/// use std::time::Duration;
/// use parade::flow::Output;
/// let o = Output::from("build/app").max_age(Duration::from_secs(3600));
/// assert_eq!(o.path, std::path::PathBuf::from("build/app"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The file.
    pub path: PathBuf,
    /// How old it may be (by mtime) for the proc to count as up to date, and right after a run.
    pub max_age: Option<Duration>,
}

impl Output {
    /// With a maximum age.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }
}

impl<P: Into<PathBuf>> From<P> for Output {
    fn from(path: P) -> Self {
        Output {
            path: path.into(),
            max_age: None,
        }
    }
}

/// What a proc declares about its files.
#[derive(Clone, Debug, Default)]
pub(crate) struct Incremental {
    pub(crate) inputs: Vec<String>,
    pub(crate) ignore: Vec<String>,
    pub(crate) outputs: Vec<Output>,
    pub(crate) no_skip: bool,
}

/// The flow's memory: its store, opened on first use, with the run this flow records into; and
/// what the parent keeps about procs that run outside this process.
pub(crate) struct Memory {
    /// `None`: no store, or it could not be opened.
    store: OnceLock<Option<Store>>,
    /// The store's run this flow records into, begun with its first record and ended with the
    /// flow's run ([`Flow::end_store_run`]) or at the latest when the flow is dropped.
    run: parking_lot::Mutex<Option<RunId>>,
    /// What the flow was asked to run since its last run ended: the open run's targets.
    asked: parking_lot::Mutex<Asked>,
    /// By proc name: procs whose body runs in a worker, and every proc of a watched flow.
    remote: parking_lot::Mutex<HashMap<Arc<str>, Arc<Tracked>>>,
    /// Set by [`Flow::watch`](super::Flow::watch): every proc is tracked (its files are
    /// watched).
    watching: AtomicBool,
    /// A watch round's procs that end as they did in the round before (nothing they read
    /// changed): their outcome and result.
    keep: parking_lot::Mutex<HashMap<String, Kept>>,
    /// The executor behind the gate, for the next round of a watch.
    pub(crate) base: OnceLock<Arc<dyn crate::engine::Executor>>,
}

impl Memory {
    pub(crate) fn new() -> Self {
        Memory {
            store: OnceLock::new(),
            run: parking_lot::Mutex::new(None),
            asked: parking_lot::Mutex::default(),
            remote: parking_lot::Mutex::default(),
            watching: AtomicBool::new(false),
            keep: parking_lot::Mutex::default(),
            base: OnceLock::new(),
        }
    }
}

impl Drop for Memory {
    /// A flow dropped with its run open (records made since it was last waited for to its
    /// end): the run ends `interrupted`, as a `parade run` cut short does. The engine is not
    /// asked how its tasks ended: the last handle may go while its lock is held (a gate's
    /// dispatch), so this drop must not take it.
    fn drop(&mut self) {
        let asked = std::mem::take(self.asked.get_mut());
        if let (Some(run), Some(Some(store))) = (self.run.get_mut().take(), self.store.get()) {
            asked.write_into(store, run);
            let _ = store.end_run(run, "interrupted");
        }
    }
}

/// The names a flow was asked to run ([`Flow::start`], [`Flow::run`], [`Flow::wait`]) since
/// its last run ended, each once, in the order first asked: the targets of its run in the
/// store, as `parade run`'s are its command line's.
#[derive(Default)]
struct Asked {
    names: Vec<String>,
    seen: std::collections::HashSet<String>,
    /// How many of `names` the run's row holds.
    written: usize,
}

impl Asked {
    /// Writes the names asked for since the run began into run `run`'s targets.
    fn write_into(&self, store: &Store, run: RunId) {
        if self.names.len() > self.written {
            let _ = store.set_targets(run, &self.names);
        }
    }
}

/// How a watch round's proc ends without running: as it did in the round before.
#[derive(Clone)]
pub(crate) struct Kept {
    pub(crate) outcome: Outcome,
    pub(crate) value: Value,
    pub(crate) no_change: bool,
}

/// A proc whose body runs outside this process, as the parent decides and records it: its
/// arguments and files, and the key it was dispatched under (set by the gate, taken when the
/// worker reports).
pub(crate) struct Tracked {
    pub(crate) args: Arc<[(String, String)]>,
    pub(crate) inc: Incremental,
    pub(crate) key: parking_lot::Mutex<Option<String>>,
}

/// Why a proc runs or is up to date, with the fingerprint it ran under.
pub(crate) enum Check {
    /// Nothing to check (no store, or not tracked): just run.
    Untracked,
    /// It runs under this key.
    Run(String),
    /// Its result still holds.
    UpToDate(Value, String),
}

impl Flow {
    /// The names of proc `name`'s dependencies (injected ones included); empty for an unknown
    /// name. Cheaper than [`Flow::proc_info`], which describes every proc.
    ///
    /// ```
    /// let flow = parade::flow::Flow::inline();
    /// flow.proc("a", |_| Ok(())).add().unwrap();
    /// flow.proc("b", |_| Ok(())).deps(["a"]).add().unwrap();
    /// assert_eq!(flow.deps_of("b"), ["a"]);
    /// ```
    pub fn deps_of(&self, name: &str) -> Vec<String> {
        self.dep_names_of(name)
            .iter()
            .map(|d| String::from(&**d))
            .collect()
    }

    /// [`Flow::deps_of`], each name shared with the flow's table (no copy of each name: a
    /// task-file task with 100 dependencies asks for them before it runs).
    ///
    /// ```
    /// let flow = parade::flow::Flow::inline();
    /// flow.proc("a", |_| Ok(())).add().unwrap();
    /// flow.proc("b", |_| Ok(())).deps(["a"]).add().unwrap();
    /// assert_eq!(&*flow.dep_names_of("b")[0], "a");
    /// ```
    pub fn dep_names_of(&self, name: &str) -> Vec<std::sync::Arc<str>> {
        let t = self.inner.table.lock();
        let Some(id) = t.id_of(name) else {
            return Vec::new();
        };
        self.inner
            .engine
            .deps(id)
            .unwrap_or_default()
            .into_iter()
            .map(|d| t.shared_name(d))
            .collect()
    }

    /// Whether this flow has a store (procs may be up to date).
    pub(crate) fn has_store(&self) -> bool {
        self.inner.options.read().store.is_some()
            || self.inner.memory.store.get().is_some_and(Option::is_some)
    }

    /// The flow's store, opened if it was not yet (a watch shares it between its rounds).
    pub(crate) fn open_store(&self) -> Option<Store> {
        self.memory().cloned()
    }

    /// Makes `store` this flow's store; only before the flow first used a store.
    pub(crate) fn use_store(&self, store: &Store) {
        let _ = self.inner.memory.store.set(Some(store.clone()));
    }

    /// Ends the store's run this flow recorded into, if one is open, with `outcome` (in the
    /// words `parade run` uses: `succeeded`, `failed`, `interrupted`): the flow's run has
    /// ended ([`Flow::wait_all`] returned). A later record begins another run.
    pub(crate) fn end_store_run(&self, outcome: &str) {
        let open = self.inner.memory.run.lock().take();
        let asked = std::mem::take(&mut *self.inner.memory.asked.lock());
        if let (Some(run), Some(store)) = (open, self.memory()) {
            asked.write_into(store, run);
            let _ = store.end_run(run, outcome);
        }
    }

    /// Keeps `names`, which the flow was just asked to run, for its run's targets (with a
    /// store only: a flow without one keeps nothing).
    pub(crate) fn asked<S: AsRef<str>>(&self, names: &[S]) {
        if !self.has_store() {
            return;
        }
        let mut asked = self.inner.memory.asked.lock();
        for name in names {
            let name = name.as_ref();
            if !asked.seen.contains(name) {
                asked.seen.insert(name.to_owned());
                asked.names.push(name.to_owned());
            }
        }
    }

    /// The flow's store and the run it records into, begun if none is open (its targets what
    /// the flow was asked to run so far).
    fn recording(&self) -> Option<(Store, RunId)> {
        let store = self.memory()?;
        let mut open = self.inner.memory.run.lock();
        let run = if let Some(run) = *open {
            run
        } else {
            let mut asked = self.inner.memory.asked.lock();
            let run = store.begin_run(&asked.names).ok()?;
            asked.written = asked.names.len();
            *open.insert(run)
        };
        Some((store.clone(), run))
    }

    /// Tracks every proc defined from here on (a watch watches their files).
    pub(crate) fn set_watching(&self) {
        self.inner.memory.watching.store(true, Ordering::Release);
    }

    /// Whether every proc is tracked.
    pub(crate) fn is_watching(&self) -> bool {
        self.inner.memory.watching.load(Ordering::Acquire)
    }

    /// The procs that end as `kept` says instead of being checked or run.
    pub(crate) fn set_keep(&self, kept: HashMap<String, Kept>) {
        *self.inner.memory.keep.lock() = kept;
    }

    /// How proc `name` ends without running, if a watch keeps it; its result is stored.
    pub(crate) fn kept(&self, name: &str) -> Option<Outcome> {
        let kept = self.inner.memory.keep.lock().get(name).cloned()?;
        let id = self.id(name)?;
        self.store(id, kept.value, kept.no_change);
        Some(kept.outcome)
    }

    /// Every tracked proc, with what it reads, in the order the procs were made.
    pub(crate) fn all_tracked(&self) -> Vec<(Arc<str>, Arc<Tracked>)> {
        let mut all: Vec<(Arc<str>, Arc<Tracked>)> = self
            .inner
            .memory
            .remote
            .lock()
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        let t = self.inner.table.lock();
        all.sort_by_key(|(n, _)| t.id_of(n).map(crate::engine::TaskId::index));
        all
    }

    fn memory(&self) -> Option<&Store> {
        self.inner
            .memory
            .store
            .get_or_init(|| {
                let path = self.inner.options.read().store.clone()?;
                Store::open(&path)
                    .map_err(|e| eprintln!("parade: the flow runs without its store: {e}"))
                    .ok()
            })
            .as_ref()
    }

    /// Keeps what the parent needs to decide and record proc `name`, whose body runs in a
    /// worker process.
    pub(crate) fn track(
        &self,
        name: &str,
        args: Arc<[(String, String)]>,
        inc: &Incremental,
    ) -> Arc<Tracked> {
        let tracked = Arc::new(Tracked {
            args,
            inc: inc.clone(),
            key: parking_lot::Mutex::new(None),
        });
        self.inner
            .memory
            .remote
            .lock()
            .insert(Arc::from(name), tracked.clone());
        tracked
    }

    /// What [`Flow::track`] kept about proc `name`.
    pub(crate) fn tracked(&self, name: &str) -> Option<Arc<Tracked>> {
        self.inner.memory.remote.lock().get(name).cloned()
    }

    /// In the parent, before proc `name` (tracked as `tracked`) is dispatched to a worker:
    /// `Some(outcome)` when it ends here (up to date with its stored result, or a failure to
    /// read its inputs), `None` when it is dispatched (its key kept for [`Flow::received`]).
    pub(crate) fn decide_remote(&self, name: &str, tracked: &Tracked) -> Option<Outcome> {
        if let Some(outcome) = self.kept(name) {
            return Some(outcome);
        }
        let deps = self.deps_of(name);
        let id = self.id(name)?;
        match self.check(name, &tracked.args, &tracked.inc, &deps) {
            Ok(Check::UpToDate(value, why)) => {
                self.store(id, value, false);
                Some(Outcome::UpToDate(why))
            }
            Ok(Check::Run(key)) => {
                *tracked.key.lock() = Some(key);
                None
            }
            Ok(Check::Untracked) => None,
            Err(why) => {
                self.store(id, Value::Null, false);
                Some(Outcome::failed(why))
            }
        }
    }

    /// In the parent, when the worker of proc `name` reported success with `value`: checks
    /// the outputs and records the success under the key it was dispatched with. `Err` fails
    /// the proc (`outputs not refreshed: ...`).
    pub(crate) fn received(
        &self,
        name: &str,
        tracked: &Tracked,
        value: &Value,
    ) -> Result<(), String> {
        match tracked.key.lock().take() {
            Some(key) => self.finished_ok(name, &key, &tracked.inc, value),
            None => Ok(()),
        }
    }

    /// In the parent, when the worker of proc `name` reported that it skipped itself: records
    /// the skip under the key it was dispatched with (see [`Flow::finished_skipped`]).
    pub(crate) fn received_skip(&self, name: &str, tracked: &Tracked) {
        if let Some(key) = tracked.key.lock().take() {
            self.finished_skipped(name, &key);
        }
    }

    /// The dependencies of proc `name` that changed in this run (see
    /// [`Context::changed_deps`](super::Context::changed_deps)).
    pub(crate) fn changed_deps_of(&self, name: &str) -> Vec<String> {
        self.deps_of(name)
            .into_iter()
            .filter(|d| !matches!(self.state(d), Ok(TaskState::UpToDate | TaskState::Skipped)))
            .collect()
    }

    /// Decides whether proc `name` (declaring `inc`, with dependencies `deps`) runs.
    pub(crate) fn check(
        &self,
        name: &str,
        args: &[(String, String)],
        inc: &Incremental,
        deps: &[String],
    ) -> Result<Check, String> {
        let Some(store) = self.memory() else {
            return Ok(Check::Untracked);
        };
        let key = fingerprint(store, args, inc)?;
        let full = self.inner.options.read().full.unwrap_or(false);
        // parproc: no deps and no inputs never skip.
        if full || inc.no_skip || (deps.is_empty() && inc.inputs.is_empty()) {
            return Ok(Check::Run(key));
        }
        if deps
            .iter()
            .any(|d| !matches!(self.state(d), Ok(TaskState::UpToDate | TaskState::Skipped)))
        {
            return Ok(Check::Run(key));
        }
        let last = last_kept(store, name)?;
        let Some(last) = last.filter(|l| l.key.as_deref() == Some(key.as_str())) else {
            return Ok(Check::Run(key));
        };
        if !outputs_problem(&inc.outputs).is_empty() {
            return Ok(Check::Run(key));
        }
        let result = last.result.clone().unwrap_or(Value::Null);
        self.remember(name, &key, "up-to-date", &result);
        Ok(Check::UpToDate(
            result,
            format!("inputs unchanged since run {}", last.run),
        ))
    }

    /// After proc `name` succeeded under `key` with `result`: checks its outputs and records
    /// the success. Returns the failure message when an output is missing or too old.
    pub(crate) fn finished_ok(
        &self,
        name: &str,
        key: &str,
        inc: &Incremental,
        result: &Value,
    ) -> Result<(), String> {
        let problem = outputs_problem(&inc.outputs);
        if !problem.is_empty() {
            return Err(problem);
        }
        self.remember(name, key, "succeeded", result);
        Ok(())
    }

    /// After proc `name` skipped itself (or said "no change") under `key`: records the skip,
    /// with no result, so that it is up to date while nothing it reads changes (parproc saves
    /// the fingerprint of a SKIPPED proc, and None as its result). Its outputs are not
    /// checked: it made none.
    pub(crate) fn finished_skipped(&self, name: &str, key: &str) {
        self.remember(name, key, "skipped", &Value::Null);
    }

    fn remember(&self, name: &str, key: &str, state: &str, result: &Value) {
        if let Some((store, run)) = self.recording() {
            let mut e = Execution::new(name, state).key(key);
            e.result = Some(result.clone());
            e.ended = Some(SystemTime::now());
            let _ = store.record(run, &e);
            let _ = store.flush_files();
        }
    }
}

/// How many of a proc's newest executions [`last_kept`] looks through for its last success or
/// skip (a flow records only those, so the newest one is it unless the store is shared with
/// runs that record failures).
const KEPT_SCAN: usize = 4;

/// The newest execution of proc `name` that a later run compares with: its last success, up
/// to date decision or skip, with a key. The store's [`Store::last_success`] leaves skips out,
/// so the newest executions are read first; past them, its answer is the best there is.
fn last_kept(store: &Store, name: &str) -> Result<Option<Execution>, String> {
    let newest = store.history(name, KEPT_SCAN).map_err(|e| e.to_string())?;
    let scanned = newest.len();
    if let Some(kept) = newest
        .into_iter()
        .find(|e| e.key.is_some() && e.is_success())
    {
        return Ok(Some(kept));
    }
    if scanned < KEPT_SCAN {
        return Ok(None);
    }
    store.last_success(name).map_err(|e| e.to_string())
}

/// The key of a run of a proc: its arguments and the content of its inputs.
fn fingerprint(
    store: &Store,
    args: &[(String, String)],
    inc: &Incremental,
) -> Result<String, String> {
    let ignore: Vec<glob::Pattern> = inc
        .ignore
        .iter()
        .filter_map(|g| glob::Pattern::new(g).ok())
        .collect();
    let ignored = |p: &Path| {
        ignore
            .iter()
            .any(|g| g.matches_path(p) || p.ancestors().any(|a| g.matches_path(a)))
    };
    let mut files = Vec::new();
    for spec in &inc.inputs {
        if spec.contains(['*', '?', '[']) {
            let found = glob::glob(spec).map_err(|e| format!("bad input pattern {spec}: {e}"))?;
            files.extend(found.filter_map(Result::ok).filter(|p| p.is_file()));
        } else {
            walk(Path::new(spec), &mut files);
        }
    }
    files.retain(|p| !ignored(p));
    files.sort();
    files.dedup();
    let mut k = KeyHasher::new();
    k.add("args", json!(args).to_string().as_bytes());
    for f in files {
        let print = store
            .fingerprint(&f)
            .map_err(|e| format!("cannot read input {}: {e}", f.display()))?;
        k.add(&f.to_string_lossy(), print.as_str().as_bytes());
    }
    Ok(k.finish())
}

/// A path: itself if a file, every file under it if a directory, nothing if missing.
fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                walk(&e.path(), out);
            }
        }
    } else if path.exists() {
        out.push(path.to_path_buf());
    }
}

/// `outputs not refreshed: a, b` / `outputs older than max_age: c`, or empty when all is well.
fn outputs_problem(outputs: &[Output]) -> String {
    let missing: Vec<String> = outputs
        .iter()
        .filter(|o| std::fs::metadata(&o.path).is_err())
        .map(|o| o.path.display().to_string())
        .collect();
    if !missing.is_empty() {
        return format!("outputs not refreshed: {}", missing.join(", "));
    }
    let old: Vec<String> = outputs
        .iter()
        .filter(|o| {
            o.max_age.is_some_and(|age| {
                std::fs::metadata(&o.path)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > age)
            })
        })
        .map(|o| o.path.display().to_string())
        .collect();
    if old.is_empty() {
        String::new()
    } else {
        format!("outputs older than max_age: {}", old.join(", "))
    }
}
