//! [`Flow`]: the handle through which procs and protos are defined, started and waited for.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde_json::Value;

use crate::engine::{Engine, Observer};
use crate::exec::process::{ProcessExecutor, is_pending_worker};
use crate::exec::{Executor, Inline, ThreadPool};

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
    /// Whether the executor runs procs outside this process.
    pub(crate) remote: bool,
    any_rules: AtomicBool,
    /// The run store, opened when a proc first needs it.
    pub(crate) memory: super::incremental::Memory,
    /// For a planner ([`Flow::planner`]): the job its tasks share.
    pub(crate) planning: std::sync::OnceLock<Arc<dyn crate::engine::SharedJob>>,
}

impl Inner {
    pub(crate) fn set_rules(&self) {
        self.any_rules.store(true, Ordering::Release);
    }

    pub(crate) fn has_rules(&self) -> bool {
        self.any_rules.load(Ordering::Acquire)
    }

    /// The table alone, what a plan's steps are written from ([`Flow::into_plan`]): the
    /// engine (its tasks), the observers' names, the runs and what of the table a plan's
    /// steps do not read ([`Table::spend_for_plan`]) freed here, first.
    pub(crate) fn spent_for_plan(self) -> Table {
        let Self {
            engine,
            table,
            names,
            runs,
            ..
        } = self;
        drop((engine, names, runs));
        let mut table = table.into_inner();
        table.spend_for_plan();
        table
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
    ///
    /// Errors: a parallel limit of 0, an empty separator; [`Mode::Custom`] (use
    /// [`Flow::with_executor`]); for [`Mode::Process`], no way to start this program again.
    pub fn with_options(options: FlowOptions) -> Result<Self, FlowError> {
        check_options(&options)?;
        let mode = options.mode.unwrap_or_default();
        // The cores are asked for only where a pool is sized by them: an inline flow (a
        // planner: `parade check`, a dry run) reads no cgroup limits.
        let cores = crate::cores::available;
        let executor: Arc<dyn Executor> = match mode {
            Mode::Inline => Arc::new(Inline::new()),
            Mode::Threads => match options.parallel {
                Some(n) if n > cores() => Arc::new(ThreadPool::new(n)),
                _ => return Ok(Self::build(Engine::new(), mode, false, options)),
            },
            Mode::Process if is_pending_worker() => Arc::new(Inline::new()),
            Mode::Process => Arc::new(
                ProcessExecutor::new(options.parallel.unwrap_or_else(cores)).map_err(|e| {
                    FlowError::Options(format!("cannot run procs in processes: {e}"))
                })?,
            ),
            Mode::Custom => {
                return Err(FlowError::Options(
                    "a custom executor is given with Flow::with_executor".to_owned(),
                ));
            }
        };
        if mode == Mode::Process && !is_pending_worker() {
            return Ok(Self::gated(executor, mode, options));
        }
        Ok(Self::build(
            Engine::with_executor(executor),
            mode,
            mode == Mode::Process,
            options,
        ))
    }

    /// A flow whose procs run on `executor` (for instance a
    /// [`SlurmExecutor`](crate::exec::SlurmExecutor), or a
    /// [`ProcessExecutor`] set up by hand), with these options (the mode becomes
    /// [`Mode::Custom`]). Each proc's task carries what runs outside this process as
    /// [`Job::remote`](crate::engine::Job::remote): its [`Define::command_spec`] if it has
    /// one, else a [`WorkerCall`](crate::exec::process::WorkerCall) naming it.
    ///
    /// In a worker process (see [`worker_entry`](crate::worker_entry)), the executor is not
    /// used: the flow only serves the proc the worker was started for.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use parade::exec::ThreadPool;
    /// use parade::flow::{Flow, FlowOptions, Mode};
    /// let flow = Flow::with_executor(Arc::new(ThreadPool::new(2)), FlowOptions::new()).unwrap();
    /// assert_eq!(flow.options().mode, Some(Mode::Custom));
    /// assert_eq!(flow.engine().executor().name(), "threads");
    /// ```
    ///
    /// Errors: a parallel limit of 0, an empty separator, or a mode other than `Custom`.
    pub fn with_executor(
        executor: Arc<dyn Executor>,
        options: FlowOptions,
    ) -> Result<Self, FlowError> {
        check_options(&options)?;
        if options.mode.is_some_and(|m| m != Mode::Custom) {
            return Err(FlowError::Options(
                "a flow with its own executor has the mode Custom".to_owned(),
            ));
        }
        if is_pending_worker() {
            let inline: Arc<dyn Executor> = Arc::new(Inline::new());
            return Ok(Self::build(
                Engine::with_executor(inline),
                Mode::Custom,
                true,
                options,
            ));
        }
        Ok(Self::gated(executor, Mode::Custom, options))
    }

    /// A flow whose procs run outside this process on `executor`, behind the gate that
    /// decides in this process which are up to date (see [`super::gate`]).
    pub(super) fn gated(executor: Arc<dyn Executor>, mode: Mode, options: FlowOptions) -> Self {
        let gate = super::gate::Gate::new(executor);
        let flow = Self::build(Engine::with_executor(gate.clone()), mode, true, options);
        gate.bind(&flow);
        flow
    }

    fn build(engine: Engine, mode: Mode, remote: bool, options: FlowOptions) -> Self {
        if let Some(n) = options.parallel {
            engine.set_limit(n);
        }
        let options = FlowOptions {
            mode: Some(mode),
            ..options
        };
        Self {
            inner: Arc::new(Inner {
                engine,
                table: Mutex::new(Table::default()),
                names: NameTable::default(),
                runs: Mutex::new(Vec::new()),
                params: RwLock::new(serde_json::Map::new()),
                options: RwLock::new(options),
                run_id: run_id(),
                remote,
                any_rules: AtomicBool::new(false),
                memory: super::incremental::Memory::new(),
                planning: std::sync::OnceLock::new(),
            }),
        }
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
        self.serve_if_asked(&pattern, &decl);
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
        self.serve_if_asked(&name, &decl);
        if has_placeholders(&name) {
            return Err(FlowError::PlaceholderInProcName(name));
        }
        if !decl.choices.is_empty() {
            return Err(FlowError::Options(format!(
                "proc \"{name}\": choices belong to protos"
            )));
        }
        let mut t = self.inner.table.lock();
        if let Some(id) = t.id_of(&name)
            && t.rec(id).defn != Defn::Missing
        {
            return Err(FlowError::DuplicateProc(name));
        }
        // A proc's own arguments (`default_arg`, parproc's `Proc(args=...)`) fill its
        // dependency patterns and are its body's arguments.
        let deps = self.resolve_deps(&mut t, &name, &decl.defaults, &decl)?;
        // A name already mentioned (even by its own dependencies) has a placeholder to define;
        // a new one is added with its dependencies in one go.
        let id = if let Some(id) = t.id_of(&name) {
            t.rec_mut(id).args = decl.defaults.clone().into();
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
