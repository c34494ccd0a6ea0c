//! [`Flow`]: the handle through which procs and protos are defined, started and waited for.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::{
    Engine, EngineError, Observer, Outcome, Reason, TaskContext, TaskId, panic_message,
};
use crate::exec::{Inline, ThreadPool};

use super::names::NameTable;
use super::results::RunRecord;
use super::table::{Defn, ProtoRec, Table};
use super::{
    Context, Decl, Define, FlowError, FlowOptions, Mode, Pattern, ProcError, body, has_placeholders,
};

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) table: Mutex<Table>,
    pub(crate) names: NameTable,
    pub(crate) runs: Mutex<Vec<Option<RunRecord>>>,
    pub(crate) params: RwLock<serde_json::Map<String, Value>>,
    pub(crate) options: RwLock<FlowOptions>,
    pub(crate) run_id: String,
    any_rules: AtomicBool,
}

impl Inner {
    pub(crate) fn set_rules(&self) {
        self.any_rules.store(true, Ordering::Release);
    }

    pub(crate) fn has_rules(&self) -> bool {
        self.any_rules.load(Ordering::Acquire)
    }
}

/// A set of named procs and proto templates, run on the parade engine.
///
/// Procs are named units of work; protos are templates whose names hold `[placeholders]`
/// (`build::[env]`) and make procs by filled-out name (`build::prod`). Nothing runs until it
/// is started (or wanted by something started); a started proc runs after its dependencies,
/// under its locks and wave. Each flow has its own names, params and results: there is no
/// global registry. Cheap to clone; clones share everything.
///
/// ```
/// use parade::flow::{Flow, ProcError};
/// let flow = Flow::new();
/// flow.proc("fetch", |_| Ok(3)).add().unwrap();
/// flow.proto("build::[env]", |ctx| {
///     let n: i64 = ctx.result("fetch")?;
///     Ok(format!("{} x{n}", ctx.arg::<String>("env")?))
/// }).deps(["fetch"]).add().unwrap();
/// flow.run("build::prod").unwrap();
/// flow.wait_all().unwrap();
/// assert_eq!(flow.result::<String>("build::prod").unwrap(), "prod x3");
/// ```
#[derive(Clone)]
pub struct Flow {
    pub(crate) inner: Arc<Inner>,
}

impl Default for Flow {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("run_id", &self.inner.run_id)
            .field("engine", &self.inner.engine)
            .finish_non_exhaustive()
    }
}

fn run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{secs}-{}", std::process::id())
}

impl Flow {
    /// A flow on threads (one per core, or `parallel` if more).
    pub fn new() -> Self {
        Self::with_options(FlowOptions::new()).expect("default options are valid")
    }

    /// A flow whose procs run one at a time on the waiting thread, in a fixed order.
    pub fn inline() -> Self {
        Self::with_options(FlowOptions::new().mode(Mode::Inline)).expect("inline is valid")
    }

    /// A flow with these options; the mode is fixed from here on.
    pub fn with_options(options: FlowOptions) -> Result<Self, FlowError> {
        check_options(&options)?;
        let engine = match options.mode.unwrap_or_default() {
            Mode::Inline => Engine::with_executor(Arc::new(Inline::new())),
            Mode::Threads => {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                match options.parallel {
                    Some(n) if n > cores => Engine::with_executor(Arc::new(ThreadPool::new(n))),
                    _ => Engine::new(),
                }
            }
        };
        if let Some(n) = options.parallel {
            engine.set_limit(n);
        }
        let options = FlowOptions {
            mode: Some(options.mode.unwrap_or_default()),
            ..options
        };
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                table: Mutex::new(Table::default()),
                names: NameTable::default(),
                runs: Mutex::new(Vec::new()),
                params: RwLock::new(serde_json::Map::new()),
                options: RwLock::new(options),
                run_id: run_id(),
                any_rules: AtomicBool::new(false),
            }),
        })
    }

    /// Changes the options given; those not given stay as they were.
    ///
    /// Errors: a different mode (it is chosen when the flow is made), a parallel limit of 0,
    /// an empty separator, or a separator some proto pattern does not use.
    #[allow(clippy::needless_pass_by_value)] // options are built inline and handed over
    pub fn set_options(&self, options: FlowOptions) -> Result<(), FlowError> {
        check_options(&options)?;
        let t = self.inner.table.lock();
        let mut current = self.inner.options.write();
        if let Some(mode) = options.mode
            && Some(mode) != current.mode
        {
            return Err(FlowError::Options(format!(
                "the mode is chosen when the flow is made (this one runs {:?}); make a new flow with Flow::with_options",
                current.mode.unwrap_or_default()
            )));
        }
        if let Some(sep) = &options.separator {
            for p in &t.protos {
                p.pattern.check_separators(sep)?;
            }
        }
        if let Some(n) = options.parallel {
            self.inner.engine.set_limit(n);
        }
        *current = current.merged(&options);
        Ok(())
    }

    /// The options as they stand (the mode always set).
    pub fn options(&self) -> FlowOptions {
        self.inner.options.read().clone()
    }

    pub(crate) fn separator(&self) -> String {
        self.inner
            .options
            .read()
            .separator
            .clone()
            .unwrap_or_else(|| "::".to_owned())
    }

    pub(crate) fn allow_missing(&self) -> bool {
        self.inner.options.read().allow_missing_deps.unwrap_or(true)
    }

    /// This run's id, e.g. for log directories.
    pub fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// Where per-proc logs go: the `log_dir` option, or `.parade/logs/<run-id>/`.
    pub fn log_dir(&self) -> PathBuf {
        self.inner
            .options
            .read()
            .log_dir
            .clone()
            .unwrap_or_else(|| {
                PathBuf::from(".parade")
                    .join("logs")
                    .join(&self.inner.run_id)
            })
    }

    /// The log file of proc `name` in [`Flow::log_dir`] (`/` in names becomes `_`).
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.log_dir()
            .join(format!("{}.log", name.replace(['/', '\\'], "_")))
    }

    /// The engine the flow schedules on.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Adds an observer of the flow's events (name tasks with [`Flow::names`]).
    pub fn observe(&self, observer: impl Observer + 'static) {
        self.inner.engine.subscribe(observer);
    }

    /// Begins defining a proc named `name` doing `f`; finish with [`Define::add`].
    pub fn proc<T, F>(&self, name: &str, f: F) -> Define<'_>
    where
        T: Serialize,
        F: Fn(&Context<'_>) -> Result<T, ProcError> + Send + Sync + 'static,
    {
        Define {
            flow: self,
            name: name.to_owned(),
            proto: false,
            decl: Decl::new(body(f)),
        }
    }

    /// Begins defining a proto: a template whose `pattern` holds `[placeholders]`; finish with
    /// [`Define::add`].
    pub fn proto<T, F>(&self, pattern: &str, f: F) -> Define<'_>
    where
        T: Serialize,
        F: Fn(&Context<'_>) -> Result<T, ProcError> + Send + Sync + 'static,
    {
        Define {
            flow: self,
            name: pattern.to_owned(),
            proto: true,
            decl: Decl::new(body(f)),
        }
    }

    pub(crate) fn add_proto(&self, pattern: String, decl: Decl) -> Result<(), FlowError> {
        let mut t = self.inner.table.lock();
        if t.by_pattern.contains_key(&pattern) {
            return Err(FlowError::DuplicateProto(pattern));
        }
        let parsed = Pattern::parse(&pattern);
        parsed.check_separators(&self.separator())?;
        for (key, _) in &decl.choices {
            if !parsed.params().contains(key) {
                return Err(FlowError::ChoicesKey {
                    key: key.clone(),
                    pattern,
                    params: parsed.params().to_vec(),
                });
            }
        }
        let i = t.protos.len();
        if !decl.rdeps.is_empty() {
            t.rule_protos.push(i);
            self.inner.set_rules();
        }
        t.protos.push(Arc::new(ProtoRec {
            pattern: parsed,
            decl,
        }));
        t.by_pattern.insert(pattern, i);
        Ok(())
    }

    #[allow(clippy::needless_pass_by_value)]
    pub(crate) fn add_proc(&self, name: String, decl: Decl) -> Result<(), FlowError> {
        if has_placeholders(&name) {
            return Err(FlowError::PlaceholderInProcName(name));
        }
        if !decl.choices.is_empty() || !decl.defaults.is_empty() {
            return Err(FlowError::Options(format!(
                "proc \"{name}\": choices and default arguments belong to protos"
            )));
        }
        let mut t = self.inner.table.lock();
        if let Some(&id) = t.by_name.get(name.as_str())
            && t.rec(id).defn != Defn::Missing
        {
            return Err(FlowError::DuplicateProc(name));
        }
        let deps = self.resolve_deps(&mut t, &name, &[], &decl)?;
        // A name already mentioned (even by its own dependencies) has a placeholder to define;
        // a new one is added with its dependencies in one go.
        let id = if let Some(&id) = t.by_name.get(name.as_str()) {
            self.define_task(&mut t, id, &decl, deps)?;
            id
        } else {
            self.add_task(&mut t, &name, &decl, &deps)?
        };
        if decl.now {
            t.now.push(id);
        }
        self.drain(&mut t)?;
        self.start_now(&mut t)
    }

    /// Creates the procs a filled-out proto name stands for and returns their names: one, or
    /// one per combination of choices its `*` / `?` globs match. An existing proc's name gives
    /// that proc. A proto's exact pattern makes the instance of its default arguments.
    ///
    /// Errors: no proto matches, several do, a value is not among its placeholder's choices, a
    /// glob has no choices to expand over or matches none, or resolving the new procs'
    /// dependencies fails.
    pub fn create(&self, name: &str) -> Result<Vec<String>, FlowError> {
        let mut t = self.inner.table.lock();
        let ids = self.create_in(&mut t, name)?;
        self.start_now(&mut t)?;
        Ok(ids.into_iter().map(|id| t.name(id)).collect())
    }

    /// Fills `pattern`'s placeholders from `args`, then [`Flow::create`]s the result.
    ///
    /// ```
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// flow.proto("sim::[temp]::[seed]", |_| Ok(())).add().unwrap();
    /// let names = flow.create_with("sim::[temp]::[seed]", [("temp", "hot"), ("seed", "7")]).unwrap();
    /// assert_eq!(names, ["sim::hot::7"]);
    /// ```
    pub fn create_with<K: AsRef<str>, V: AsRef<str>>(
        &self,
        pattern: &str,
        args: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Vec<String>, FlowError> {
        let args: Vec<(String, String)> = args
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect();
        let filled = Pattern::parse(pattern)
            .fill_partial(|k| args.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()));
        self.create(filled.as_str())
    }

    /// Wants procs: they run once their dependencies and constraints allow. Their dependencies
    /// are wanted too, rdeps are injected, and `WhenScheduled` targets pulled in. Starting a
    /// started proc does nothing.
    ///
    /// Errors (nothing is wanted then): an unknown name, a missing dependency with
    /// `allow_missing_deps` off, a `WhenScheduled` / `WhenTargetScheduled` target that already
    /// started, and a cycle or wave order the injected edges would make.
    pub fn start<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<(), FlowError> {
        let mut t = self.inner.table.lock();
        let ids = names
            .into_iter()
            .map(|n| {
                t.existing(n.as_ref())
                    .ok_or_else(|| FlowError::UnknownProc(n.as_ref().to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.start_closure(&mut t, &ids, None)?;
        self.start_now(&mut t)
    }

    /// [`Flow::create`]s then [`Flow::start`]s; returns the names.
    pub fn run(&self, name: &str) -> Result<Vec<String>, FlowError> {
        let mut t = self.inner.table.lock();
        let ids = self.create_in(&mut t, name)?;
        self.start_now(&mut t)?;
        self.start_closure(&mut t, &ids, None)?;
        Ok(ids.into_iter().map(|id| t.name(id)).collect())
    }

    /// Waits until the named procs are final, starting those not started yet.
    ///
    /// Errors: an unknown name; any of them not succeeding (skipped counts as success), listing
    /// each failure with its root cause first; a deadlock.
    pub fn wait<S: AsRef<str>>(&self, names: impl IntoIterator<Item = S>) -> Result<(), FlowError> {
        let ids = {
            let mut t = self.inner.table.lock();
            let ids = names
                .into_iter()
                .map(|n| {
                    t.existing(n.as_ref())
                        .ok_or_else(|| FlowError::UnknownProc(n.as_ref().to_owned()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.start_closure(&mut t, &ids, None)?;
            ids
        };
        let statuses = self
            .inner
            .engine
            .wait(ids.iter().copied())
            .map_err(|e| self.translate_unlocked(e))?;
        let failed: Vec<TaskId> = statuses
            .iter()
            .filter(|s| !s.state.is_success())
            .map(|s| s.id)
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(FlowError::Failed(self.failures_of(&failed)))
        }
    }

    /// Waits until every wanted proc is final.
    ///
    /// Errors: any proc of the flow failed (every failure listed, root causes first), or a
    /// deadlock.
    pub fn wait_all(&self) -> Result<(), FlowError> {
        self.inner
            .engine
            .wait_all()
            .map_err(|e| self.translate_unlocked(e))?;
        let failures = self.failures();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(FlowError::Failed(failures))
        }
    }

    /// Sets a param every proc sees.
    pub fn set_param(&self, key: &str, value: impl Serialize) -> Result<(), FlowError> {
        let v = serde_json::to_value(value).map_err(|e| FlowError::Options(e.to_string()))?;
        self.inner.params.write().insert(key.to_owned(), v);
        Ok(())
    }

    /// Merges params every proc sees.
    pub fn set_params(&self, params: serde_json::Map<String, Value>) {
        self.inner.params.write().extend(params);
    }

    /// A param, read as `T`.
    pub fn param<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let v = self.inner.params.read().get(key)?.clone();
        serde_json::from_value(v).ok()
    }

    /// Every param.
    pub fn params(&self) -> serde_json::Map<String, Value> {
        self.inner.params.read().clone()
    }

    /// The job the engine runs for proc `id`.
    pub(crate) fn job(
        &self,
        args: Arc<[(String, String)]>,
        decl: &Decl,
    ) -> impl FnOnce(&TaskContext) -> Outcome + Send + 'static {
        let weak = Arc::downgrade(&self.inner);
        let body = decl.body.clone();
        move |task: &TaskContext| {
            let Some(inner) = weak.upgrade() else {
                return Outcome::failed("the flow was dropped before this proc ran");
            };
            let flow = Flow { inner };
            let id = task.id();
            let Some(name) = flow.inner.names.get(id) else {
                return Outcome::failed("the flow has no name for this task");
            };
            let ctx = Context {
                task,
                flow: &flow,
                name: &name,
                args: &args,
            };
            let (value, outcome, no_change) = match catch_unwind(AssertUnwindSafe(|| body(&ctx))) {
                Ok(Ok(v)) => (v, Outcome::Succeeded, false),
                Ok(Err(ProcError::Failed(m))) => {
                    task.emit(format!("error: {m}"));
                    (Value::Null, Outcome::failed(m), false)
                }
                Ok(Err(ProcError::Skipped(m))) => (Value::Null, Outcome::skipped(m), false),
                Ok(Err(ProcError::NoChange)) => (Value::Null, Outcome::skipped("no change"), true),
                Ok(Err(ProcError::Exit(code))) => {
                    (Value::Null, Outcome::Failed(Reason::Exit(code)), false)
                }
                Ok(Err(ProcError::Signal(sig))) => {
                    (Value::Null, Outcome::Failed(Reason::Signal(sig)), false)
                }
                Ok(Err(ProcError::Stopped)) => {
                    let reason = match (task.deadline(), task.timeout) {
                        (Some(d), Some(limit)) if std::time::Instant::now() >= d => {
                            Reason::Timeout(limit)
                        }
                        _ => Reason::Cancelled,
                    };
                    (Value::Null, Outcome::Failed(reason), false)
                }
                Err(p) => (
                    Value::Null,
                    Outcome::Failed(Reason::Panic(panic_message(p.as_ref()))),
                    false,
                ),
            };
            flow.store(id, value, no_change);
            outcome
        }
    }

    /// Turns an engine error into one that names procs.
    #[allow(clippy::unused_self)] // kept a method so every translation reads the same
    pub(crate) fn translate(&self, t: &Table, e: EngineError, adding: &str) -> FlowError {
        let name = |id: TaskId| {
            if t.procs.get(id.index()).is_some_and(Option::is_some) {
                t.name(id)
            } else {
                adding.to_owned()
            }
        };
        match e {
            EngineError::Cycle(ids) => FlowError::Cycle(ids.into_iter().map(name).collect()),
            EngineError::WaveOrder {
                task,
                task_wave,
                dep,
                dep_wave,
            } => FlowError::WaveOrder {
                proc: name(task),
                wave: task_wave,
                dep: name(dep),
                dep_wave,
            },
            EngineError::Deadlock(ids) => FlowError::Deadlock(ids.into_iter().map(name).collect()),
            EngineError::UnknownTask(id) => FlowError::UnknownProc(name(id)),
            other => FlowError::Engine(other),
        }
    }

    pub(crate) fn translate_unlocked(&self, e: EngineError) -> FlowError {
        let t = self.inner.table.lock();
        self.translate(&t, e, "")
    }
}

fn check_options(o: &FlowOptions) -> Result<(), FlowError> {
    if o.parallel == Some(0) {
        return Err(FlowError::Options("parallel must be at least 1".to_owned()));
    }
    if o.separator.as_deref() == Some("") {
        return Err(FlowError::Options(
            "the separator must not be empty".to_owned(),
        ));
    }
    Ok(())
}
