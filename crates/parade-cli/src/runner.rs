//! A task file as a `parade::flow`: one proc per plain task and one proto per task pattern,
//! their deps, rdeps, locks, waves, choices and timeouts as written, each body running the
//! task's command ([`run_task`]). On that flow: the plan of a dry run or a graph ([`plan`]),
//! and a run ([`run`]): its flow built and planned once, before the run begins ([`prepare`]),
//! then run with what the begun run gives its bodies ([`run_prepared`]).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parade::display::TaskNames;
use parade::engine::{Engine, Event, Outcome, Reason, TaskState};
use parade::flow::{self, Context, Flow, FlowError, FlowOptions, ProcError, Why};
use parade::store::Recorder;
use serde_json::Value;

use crate::ahead::{self, Ahead};
use crate::observers::{Observers, Subscribe};
use crate::slurm::Slurm;
use crate::task::{ResultsDir, TaskRun, run_task, run_task_with};
use crate::taskfile::{Dep, ExecutorKind, TaskFile};
use crate::template::run_template;
use crate::uptodate::{Memory, Verdict};

/// What `parade run` asks for.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    /// The checked task file.
    pub file: &'a TaskFile,
    /// Names, pattern instances or globs.
    pub targets: &'a [String],
    /// `[params]` with `--param` overrides applied.
    pub params: BTreeMap<String, String>,
    /// Most tasks at once.
    pub jobs: Option<usize>,
    /// After the first failure, start nothing new (running tasks finish).
    pub fail_fast: bool,
    /// Where finished tasks' results go, as `<name>.json`.
    pub results_dir: PathBuf,
    /// Where tasks run.
    pub executor: ExecutorKind,
    /// With the Slurm executor: run the tasks on pilot jobs (`--pilots`).
    pub pilots: Option<PilotRequest>,
    /// With the Slurm executor: whether tasks submitted together share a job array
    /// (`--no-job-arrays` turns it off).
    pub job_arrays: bool,
    /// What followed `--`: the single target's `"$@"`.
    pub extra_args: Vec<String>,
    /// Called when a task's command has ended, with its name; an `Err` fails the task with that
    /// reason (`parade run` checks that the task's log was written whole).
    pub after_task: Option<AfterTask>,
    /// What the run store remembers, to skip up-to-date tasks and record this run (`None`:
    /// every task runs, nothing is recorded).
    pub memory: Option<Arc<Memory>>,
    /// Runs every task's command on a pseudo-terminal of this (columns, rows), so that it sees
    /// a terminal (`parade run` gives one to a single task whose output passes through to one).
    pub terminal: Option<(u16, u16)>,
}

impl<'a> RunRequest<'a> {
    /// A request to run `targets` of `file` on threads with the file's params, writing
    /// results under `results_dir`: no job limit, no memory, no hooks (set the fields for
    /// more).
    ///
    /// ```
    /// use parade_cli::runner::RunRequest;
    /// use parade_cli::taskfile::{SourceFile, parse};
    /// let source = SourceFile { name: "parade.toml".into(), text: "[task.a]\nrun = \"true\"\n".into() };
    /// let file = parse("parade.toml".into(), source).unwrap();
    /// let targets = ["a".to_owned()];
    /// let request = RunRequest { jobs: Some(2), ..RunRequest::new(&file, &targets, "results".into()) };
    /// assert!(request.memory.is_none());
    /// ```
    pub fn new(file: &'a TaskFile, targets: &'a [String], results_dir: PathBuf) -> Self {
        Self {
            file,
            targets,
            params: file.params.clone(),
            jobs: None,
            fail_fast: false,
            results_dir,
            executor: ExecutorKind::Threads,
            pilots: None,
            job_arrays: true,
            extra_args: Vec::new(),
            after_task: None,
            memory: None,
            terminal: None,
        }
    }
}

pub use crate::slurm::PilotRequest;

/// A check run when a task's command has ended (see [`RunRequest::after_task`]).
#[derive(Clone)]
pub struct AfterTask(pub Arc<AfterTaskFn>);

/// The function of an [`AfterTask`]: the task's name in, `Err(reason)` to fail it.
pub type AfterTaskFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for AfterTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterTask(..)")
    }
}

/// How many Slurm jobs are in flight at once unless `-j` or `parallel` says otherwise.
pub const SLURM_JOBS: usize = 100;

/// One task of a plan.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Planned {
    /// Its concrete name (the flow's, shared: a count, not a copy).
    pub name: Arc<str>,
    /// The task (or pattern) of the file that defines it, as written (its name when nothing
    /// does).
    pub defined_as: Arc<str>,
    /// The concrete names of the plan it waits for (shared with the steps they name).
    pub deps: Box<[Arc<str>]>,
    /// Its wave.
    pub wave: u32,
    /// The locks it holds while running.
    pub locks: Vec<String>,
    /// Why it is in the plan: `requested`, `dependency of "x"`... (one text shared by a run of
    /// steps with the same reason: a glob's million instances).
    pub why: Arc<str>,
    /// Whether nothing defines it (it would end as missing).
    pub missing: bool,
    /// The shell text it would run, placeholders filled (`None` for a template job or a task
    /// nothing defines).
    pub command: Option<String>,
}

/// What a run would do: tasks in the order they would start one at a time.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Plan {
    /// The tasks.
    pub tasks: Vec<Planned>,
}

/// How a run ended.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Every task that was wanted, with its final state.
    pub states: Vec<(String, TaskState)>,
    /// Results tasks wrote to `PARADE_RESULT`, by name.
    pub results: BTreeMap<String, Value>,
    /// Why waiting ended early (a deadlock), if it did.
    pub error: Option<String>,
    /// The command each wanted task runs, as a person reads it, by name.
    pub commands: BTreeMap<String, String>,
}

impl RunReport {
    /// Whether every task succeeded or was skipped, and the run was not cut short.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.states.iter().all(|(_, s)| s.is_success())
    }
}

/// Why a run could not start: a target or a dependency could not be resolved (unknown name,
/// a value outside the choices, a cycle...).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RunError(pub String);

impl From<FlowError> for RunError {
    fn from(e: FlowError) -> Self {
        RunError(e.to_string())
    }
}

/// What every task body shares.
struct Shared {
    file: TaskFile,
    params: BTreeMap<String, String>,
    grace: Duration,
    slurm: Option<Slurm>,
    /// What the run gives its bodies, set before it starts: a flow can be built and planned
    /// before its run has a store and logs ([`prepare`]).
    late: OnceLock<Late>,
}

/// What a run's bodies read that the run gives once it has begun ([`Shared::late`]).
struct Late {
    results: ResultsDir,
    hooks: RunHooks,
}

/// What a run adds to the flow of a task file: checks, arguments and memory.
#[derive(Clone, Debug, Default)]
pub struct RunHooks {
    /// Called when each task's command has ended ([`RunRequest::after_task`]).
    pub after_task: Option<AfterTask>,
    /// The requested task that gets the arguments after `--`, and the arguments.
    pub extra: Option<(String, Vec<String>)>,
    /// What the run store remembers: up-to-date tasks do not run ([`RunRequest::memory`]).
    pub memory: Option<Arc<Memory>>,
    /// A pseudo-terminal for every task's command ([`RunRequest::terminal`]).
    pub terminal: Option<(u16, u16)>,
}

/// The flow of `file`: a proto for each task pattern, a proc for each plain task. With
/// `fail_fast`, every task runs only if nothing failed before it starts; with `slurm`, every
/// task's command is a Slurm job; `hooks` add a run's checks, arguments and memory.
///
/// Errors: what the flow refuses (the task file checks catch most of it first).
pub fn build(
    file: &TaskFile,
    params: BTreeMap<String, String>,
    results_dir: PathBuf,
    jobs: Option<usize>,
    fail_fast: bool,
    slurm: Option<Slurm>,
    hooks: RunHooks,
) -> Result<Flow, RunError> {
    let shared = Arc::new(shared(file, params, slurm));
    let _ = shared.late.set(Late {
        results: ResultsDir::new(results_dir),
        hooks,
    });
    assemble(file, &shared, jobs, fail_fast, false)
}

/// What the bodies of `file`'s flow share, the run's part not given yet.
fn shared(file: &TaskFile, params: BTreeMap<String, String>, slurm: Option<Slurm>) -> Shared {
    Shared {
        file: file.clone(),
        params,
        grace: file.settings.grace,
        slurm,
        late: OnceLock::new(),
    }
}

/// The flow of a plan: [`build`]'s procs, whose bodies never run (the flow is never started),
/// so they share a copy of the file without its tasks rather than a copy of every task.
fn build_for_plan(file: &TaskFile, params: &BTreeMap<String, String>) -> Result<Flow, RunError> {
    let hollow = TaskFile {
        path: file.path.clone(),
        source: file.source.clone(),
        settings: file.settings.clone(),
        params: file.params.clone(),
        tasks: Vec::new(),
        env: Vec::new(),
        dotenv: Vec::new(),
        param_commands: BTreeMap::new(),
        warnings: Vec::new(),
        index: crate::taskfile::TaskIndex::default(),
    };
    // Its bodies never run: the run's part stays unset.
    let shared = Shared {
        file: hollow,
        params: params.clone(),
        grace: file.settings.grace,
        slurm: None,
        late: OnceLock::new(),
    };
    assemble(file, &Arc::new(shared), None, false, true)
}

/// The flow of `file`'s tasks, each body running with `shared` (with `planning`, a
/// [`Flow::planner`]: planned, never run).
fn assemble(
    file: &TaskFile,
    shared: &Arc<Shared>,
    jobs: Option<usize>,
    fail_fast: bool,
    planning: bool,
) -> Result<Flow, RunError> {
    FLOWS_BUILT.with(|n| n.set(n.get() + 1));
    let mut options = FlowOptions::new()
        .separator(file.settings.separator.clone())
        .allow_missing_deps(true);
    if let Some(n) = jobs {
        options = options.parallel(n);
    }
    let flow = if planning {
        Flow::planner(options)?
    } else {
        Flow::with_options(options)?
    };
    for (name, &capacity) in &file.settings.resources {
        flow.resource(name, capacity);
    }
    // Protos first: a proc's dependencies are resolved when it is added, and may name a
    // pattern's instance.
    let (protos, procs): (Vec<_>, Vec<_>) = file
        .tasks
        .iter()
        .enumerate()
        .partition(|(_, t)| flow::has_placeholders(&t.name));
    for (i, task) in protos.into_iter().chain(procs) {
        let s = shared.clone();
        let body = move |ctx: &Context<'_>| run_body(&s, i, ctx);
        let mut d = if flow::has_placeholders(&task.name) {
            flow.proto(&task.name, body)
        } else {
            flow.proc(&task.name, body)
        };
        // What a task leaves empty is not passed on (a plain task's definition is a name,
        // a body and its deps).
        d = d
            .deps(task.deps.iter().map(|dep| match dep {
                Dep::Task(name) => flow::Dep::from(name),
                Dep::NoFailures => flow::Dep::NoFailures,
            }))
            .wave(task.wave);
        if !task.rdeps.is_empty() {
            d = d.rdeps(task.rdeps.iter().map(String::as_str));
        }
        if !task.locks.is_empty() {
            d = d.locks(task.locks.iter().cloned());
        }
        for (name, &amount) in &task.uses {
            d = d.uses(name, amount);
        }
        for target in &task.when_scheduled {
            d = d.when_scheduled(target);
        }
        for target in &task.when_target_scheduled {
            d = d.when_target_scheduled(target);
        }
        for (key, values) in &task.choices {
            d = d.choices(key, values.iter().cloned());
        }
        for (key, value) in &task.args {
            d = d.default_arg(key, value.clone());
        }
        if let Some(limit) = task.timeout {
            d = d.timeout(limit);
        }
        if let Some(text) = &task.description {
            d = d.description(text.clone());
        }
        if !task.log_ignore.is_empty() || !task.log_ignore_if_succeeded.is_empty() {
            d = d
                .log_ignore(task.log_ignore.iter().cloned())
                .log_ignore_if_succeeded(task.log_ignore_if_succeeded.iter().cloned());
        }
        if fail_fast {
            d = d.no_failures();
        }
        d.add()?;
    }
    Ok(flow)
}

/// The body of task `index`'s procs: run the command, hand its result to the flow.
fn run_body(s: &Shared, index: usize, ctx: &Context<'_>) -> Result<Value, ProcError> {
    let late = s.late.get().ok_or_else(|| {
        ProcError::Failed(
            "internal error: a task's body ran before its run gave it a results directory and \
             hooks (runner::run_prepared sets them before the flow starts); please report it"
                .into(),
        )
    })?;
    let args: BTreeMap<String, String> = ctx.args().iter().cloned().collect();
    let task = &s.file.tasks[index];
    let instances = crate::instances::glob_instances(task, &args, ctx);
    let run = TaskRun {
        file: &s.file,
        task,
        name: ctx.name(),
        args: &args,
        params: &s.params,
        results: &late.results,
        extra_args: match &late.hooks.extra {
            Some((name, extra)) if name == ctx.name() => extra,
            _ => &[],
        },
        instances: instances.as_deref(),
        terminal: late.hooks.terminal,
    };
    // Task-file procs run their bodies in this process (threads), never in a flow worker.
    let task = ctx
        .task()
        .ok_or_else(|| ProcError::Failed("task-file procs cannot run in a flow worker".into()))?;
    let decision = match &late.hooks.memory {
        Some(memory) => {
            let decision = if let Some(decision) = memory.take_ahead(ctx.name()) {
                decision
            } else {
                let deps = ctx.flow().dep_names_of(ctx.name());
                memory.decide(&run, &deps).map_err(ProcError::Failed)?
            };
            if let Verdict::UpToDate { why, last } = &decision.verdict {
                let result = last.result.clone().unwrap_or(Value::Null);
                if !result.is_null() {
                    let _ = std::fs::create_dir_all(run.results.path());
                    let _ = std::fs::write(run.result_path(), result.to_string());
                }
                memory.note(ctx.name(), &decision, Some(&result), last.outputs.clone());
                return Err(ProcError::UpToDate {
                    result,
                    why: why.clone(),
                });
            }
            Some((memory, decision))
        }
        None => None,
    };
    let (outcome, value) = crate::retry::with_retries(run.task.retries, task, || {
        match (&run.task.template, &s.slurm) {
            (Some(spec), slurm) => {
                run_template(&run, spec, slurm.as_ref().map(Slurm::executor), task)
            }
            (None, Some(slurm)) => run_task_with(&run, |spec| {
                slurm.run(ctx.name(), spec, &run.task.uses, task)
            }),
            (None, None) => run_task(&run, s.grace, task),
        }
    });
    let (hooks, name) = (&late.hooks, ctx.name());
    let (outcome, value) = match hooks.after_task.as_ref().map(|check| (check.0)(name)) {
        Some(Err(why)) if outcome == Outcome::Succeeded => (Outcome::failed(why), None),
        _ => (outcome, value),
    };
    if let Some((memory, decision)) = decision {
        let outputs = match outcome {
            Outcome::Succeeded => memory.check_outputs(&run),
            _ => Ok(Vec::new()),
        };
        match outputs {
            Ok(outputs) => {
                memory.note_owned(ctx.name(), decision, value.as_ref(), outputs);
                // In the run's journal before a dependent can start (a kill, then --resume).
                if outcome == Outcome::Succeeded {
                    memory
                        .store()
                        .finished(memory.run(), ctx.name(), "succeeded");
                }
            }
            Err(why) => {
                memory.note_owned(ctx.name(), decision, None, Vec::new());
                return Err(ProcError::Failed(why));
            }
        }
    }
    match outcome {
        Outcome::Succeeded => Ok(value.unwrap_or(Value::Null)),
        Outcome::UpToDate(why) => Err(ProcError::UpToDate {
            result: value.unwrap_or(Value::Null),
            why,
        }),
        Outcome::Skipped(why) => Err(ProcError::Skipped(why)),
        Outcome::Failed(Reason::Exit(code)) => Err(ProcError::Exit(code)),
        Outcome::Failed(Reason::Signal(sig)) => Err(ProcError::Signal(sig)),
        Outcome::Failed(Reason::Timeout(_) | Reason::Cancelled) => Err(ProcError::Stopped),
        Outcome::Failed(Reason::Error(m)) => Err(ProcError::Failed(m)),
        Outcome::Failed(other) => Err(ProcError::Failed(other.to_string())),
    }
}

/// The tasks `targets` need, in the order they would start one at a time, with why each is
/// there and the command each would run (a dry run, `graph`). Runs nothing.
pub fn plan(
    file: &TaskFile,
    targets: &[String],
    params: &BTreeMap<String, String>,
) -> Result<Plan, RunError> {
    plan_with(file, targets, params, true)
}

/// [`plan`] without the commands (every [`Planned::command`] is `None`): what a real run and
/// `check` need, without the work only a reader of the plan needs.
pub fn plan_order(
    file: &TaskFile,
    targets: &[String],
    params: &BTreeMap<String, String>,
) -> Result<Plan, RunError> {
    plan_with(file, targets, params, false)
}

/// Whether `targets` can be planned ([`plan_order`]'s errors), without writing the plan out:
/// what `check` asks.
pub fn plannable(
    file: &TaskFile,
    targets: &[String],
    params: &BTreeMap<String, String>,
) -> Result<(), RunError> {
    let flow = build_for_plan(file, params)?;
    // No step is written out (Flow::plannable): a glob's instances are checked, not listed.
    let planned = flow.plannable(targets);
    let procs = planned.as_ref().map_or(0, |n| *n).max(file.tasks.len());
    crate::discard::discard(flow, procs);
    planned.map(|_| ()).map_err(RunError::from)
}

/// The flow's plan of `targets`, the flow freed.
fn flow_plan(
    file: &TaskFile,
    targets: &[String],
    params: &BTreeMap<String, String>,
) -> Result<Vec<flow::PlanStep>, RunError> {
    let flow = build_for_plan(file, params)?;
    // The flow is spent on its plan (Flow::into_plan): its engine tasks and name index go
    // before the steps are written, and the rest with the call. Each step shares its name,
    // definition and arguments with the records, so a large plan never holds the whole flow
    // beside its steps.
    Ok(flow.into_plan(targets)?)
}

fn plan_with(
    file: &TaskFile,
    targets: &[String],
    params: &BTreeMap<String, String>,
    commands: bool,
) -> Result<Plan, RunError> {
    let steps = flow_plan(file, targets, params)?;
    Ok(plan_of(file, steps, params, commands))
}

/// The plan of the flow's `steps` (with `commands`, each step's command).
fn plan_of(
    file: &TaskFile,
    steps: Vec<flow::PlanStep>,
    params: &BTreeMap<String, String>,
    commands: bool,
) -> Plan {
    // Edges the plan adds on top of declared deps: rdeps run before the task that wants them.
    let mut extra: HashMap<Arc<str>, Vec<Arc<str>>> = HashMap::new();
    for s in &steps {
        match &s.why {
            Why::RdepOf(task) => extra
                .entry(Arc::clone(task))
                .or_default()
                .push(Arc::clone(&s.name)),
            Why::WhenScheduledBy(first) => {
                extra
                    .entry(Arc::clone(&s.name))
                    .or_default()
                    .push(Arc::clone(first));
            }
            Why::Requested | Why::DepOf(_) => {}
        }
    }
    // The text of a reason is made once for a run of steps with the same reason (a glob's
    // million instances share one).
    let mut last_why: Option<(Why, Arc<str>)> = None;
    // One map of arguments for every command: a glob's instances fill the same keys.
    let mut scratch = Scratch::default();
    let tasks = steps
        .into_iter()
        .map(|s| {
            let command = if commands {
                planned_command(
                    file,
                    &s.defined_as,
                    &s.name,
                    || s.args.iter(),
                    params,
                    &mut scratch,
                )
            } else {
                None
            };
            let deps = match extra.get(&s.name) {
                None => s.deps,
                Some(more) => {
                    let mut deps = s.deps.into_vec();
                    for d in more {
                        if !deps.contains(d) {
                            deps.push(Arc::clone(d));
                        }
                    }
                    deps.into_boxed_slice()
                }
            };
            let why = match &last_why {
                Some((w, text)) if *w == s.why => Arc::clone(text),
                _ => {
                    let text: Arc<str> = s.why.to_string().into();
                    last_why = Some((s.why, Arc::clone(&text)));
                    text
                }
            };
            Planned {
                name: s.name,
                defined_as: s.defined_as,
                deps,
                wave: s.wave,
                locks: s.locks.into_vec(),
                why,
                missing: s.missing,
                command,
            }
        })
        .collect();
    Plan { tasks }
}

thread_local! {
    static TASK_LOOKUPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static FLOWS_BUILT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many flows of a task file were built on this thread so far (a planner's among them).
pub fn flows_built() -> u64 {
    FLOWS_BUILT.with(std::cell::Cell::get)
}

/// How many tasks of the file planning has looked at on this thread so far, to find the task
/// a planned name is defined by: one per planned task whose command is shown (a search of
/// the file's tasks would look at each of them).
pub fn task_lookups() -> u64 {
    TASK_LOOKUPS.with(std::cell::Cell::get)
}

/// What [`planned_command`] keeps from one call to the next (one plan's, with one set of
/// params): the last command's arguments and its task's `run` as read for them.
#[derive(Default)]
struct Scratch {
    args: BTreeMap<String, String>,
    /// The task (its name) whose `run` was read, and what was read.
    fields: Option<(String, crate::shell::Fields)>,
}

/// The shell text the proc `name` (defined as `defined_as`, with the arguments `args` gives)
/// would run: its task's `run` with placeholders filled, as [`TaskRun::command`] fills it
/// (`None` for a template job or a name no task defines). The arguments are written into
/// `scratch`'s map, kept from the last call: when it holds the same keys (a glob's instances),
/// their values are overwritten in place, not a map of new strings made per command, and the
/// task's `run`, read for those keys, is not read again.
fn planned_command<'a, I: Iterator<Item = (&'a str, &'a str)>>(
    file: &TaskFile,
    defined_as: &str,
    name: &str,
    args: impl Fn() -> I,
    params: &BTreeMap<String, String>,
    scratch: &mut Scratch,
) -> Option<String> {
    TASK_LOOKUPS.with(|n| n.set(n.get() + 1));
    let task = file.task(defined_as)?;
    if task.template.is_some() {
        return None;
    }
    let same_keys = fill_args(&mut scratch.args, args);
    let run = TaskRun::planned(file, task, name, &scratch.args, params);
    let fields = match &scratch.fields {
        Some((read_for, fields)) if same_keys && read_for == defined_as => fields,
        _ => {
            &scratch
                .fields
                .insert((defined_as.to_owned(), run.run_fields()))
                .1
        }
    };
    Some(run.shown_command_by(fields))
}

/// Makes `map` hold exactly `args` (keys unique, as a proc's are): values overwritten in place
/// when the keys are those it holds (then `true`), else the map made anew.
fn fill_args<'a, I: Iterator<Item = (&'a str, &'a str)>>(
    map: &mut BTreeMap<String, String>,
    args: impl Fn() -> I,
) -> bool {
    let same_keys = map.len() == args().count() && args().all(|(k, _)| map.contains_key(k));
    if same_keys {
        for (k, v) in args() {
            if let Some(value) = map.get_mut(k) {
                v.clone_into(value);
            }
        }
    } else {
        map.clear();
        map.extend(args().map(|(k, v)| (k.to_owned(), v.to_owned())));
    }
    same_keys
}

/// What [`run`] calls before anything starts: the engine, the run's observers, the task names.
pub type Observe<'o> = dyn FnMut(&Engine, &Observers, Arc<dyn TaskNames>) + 'o;

/// Runs `targets` and what they need. `observe` is called once, before anything starts, with
/// the engine, the run's observers and the task names: subscribe observers to the
/// [`Observers`] there (they get the engine's events and those of up-to-date tasks decided
/// before it, [`crate::ahead`]), and keep the engine to stop it (Ctrl-C).
pub fn run(request: &RunRequest<'_>, observe: &mut Observe<'_>) -> Result<RunReport, RunError> {
    let prepared = prepare(request)?;
    run_prepared(prepared, request, observe)
}

/// A run's flow, built and planned before the run begins: [`run_prepared`] runs it. The flow
/// is built once, for the plan and the run.
pub struct Prepared {
    flow: Flow,
    shared: Arc<Shared>,
    /// What the targets name (the procs to start).
    names: Vec<String>,
    /// The flow's plan of the targets, in order (what up to date is decided in).
    steps: Vec<flow::PlanStep>,
    jobs: Option<usize>,
    extra: Option<(String, Vec<String>)>,
    /// Stops the Slurm pilot jobs when the run ends, however it ends (when dropped).
    pilots: Option<Box<dyn std::any::Any>>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("names", &self.names)
            .field("planned", &self.steps.len())
            .finish_non_exhaustive()
    }
}

/// Builds the flow of `request` and plans its targets on it, before the run begins: what
/// shapes the flow (the file, targets, params, jobs, `fail_fast`, executor, pilots, job
/// arrays, the arguments after `--`) is read here; the run's part (results directory, after
/// task, memory, terminal) is read by [`run_prepared`].
///
/// Errors: an executor option that does not fit, a target or dependency that cannot be
/// resolved (what [`plan_order`] refuses).
pub fn prepare(request: &RunRequest<'_>) -> Result<Prepared, RunError> {
    let (jobs, slurm) = match request.executor {
        ExecutorKind::Threads | ExecutorKind::Process if request.pilots.is_some() => {
            return Err(RunError(
                "--pilots runs tasks on Slurm pilot jobs: add --executor slurm".to_owned(),
            ));
        }
        ExecutorKind::Threads | ExecutorKind::Process => (request.jobs, None),
        ExecutorKind::Slurm => {
            // One work directory and run id per task file, the same in every run: a run
            // started again finds the jobs the interrupted one left queued or running.
            let file = std::path::absolute(&request.file.path)
                .map_err(|e| RunError(format!("cannot name the task file's path: {e}")))?;
            let work = request.file.dir().join(".parade").join("slurm");
            let work = std::path::absolute(work)
                .map_err(|e| RunError(format!("cannot name the Slurm work directory: {e}")))?;
            let run_id = format!("{:08x}", stable_hash(file.to_string_lossy().as_bytes()));
            let mut config = parade::exec::SlurmConfig::new(work)
                .run_id(run_id)
                .job_arrays(request.job_arrays);
            if let Some(pilots) = &request.pilots {
                config = pilots.configure(config);
            }
            (
                Some(request.jobs.unwrap_or(SLURM_JOBS)),
                Some(Slurm::new(config)),
            )
        }
    };
    let extra = if request.extra_args.is_empty() {
        None
    } else {
        let [target] = request.targets else {
            return Err(RunError(format!(
                "arguments after `--` go to one task, and {} targets are named",
                request.targets.len()
            )));
        };
        Some((target.clone(), request.extra_args.clone()))
    };
    // Pilot jobs stop when the run ends, however it ends (an error, Ctrl-C, a panic).
    let pilots = slurm
        .as_ref()
        .map(|s| Box::new(s.stop_pilots_on_drop()) as Box<dyn std::any::Any>);
    let shared = Arc::new(shared(request.file, request.params.clone(), slurm));
    let flow = assemble(request.file, &shared, jobs, request.fail_fast, false)?;
    let mut names = Vec::new();
    for target in request.targets {
        names.extend(flow.create(target)?);
    }
    if !request.extra_args.is_empty() && names.len() != 1 {
        return Err(RunError(format!(
            "arguments after `--` go to one task, and \"{}\" names {}",
            request.targets.join(" "),
            names.len()
        )));
    }
    let steps = flow.plan(request.targets)?;
    Ok(Prepared {
        flow,
        shared,
        names,
        steps,
        jobs,
        extra,
        pilots,
    })
}

impl Prepared {
    /// How many tasks the run's plan holds.
    pub fn planned(&self) -> usize {
        self.steps.len()
    }

    /// The names of the plan's tasks, in its order.
    pub fn order(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|s| &*s.name)
    }
}

/// Runs a [`prepare`]d flow with `request`'s run part (its results directory, after-task
/// check, memory and terminal). `observe` is [`run`]'s.
///
/// Errors: what the flow refuses at its start.
#[allow(clippy::too_many_lines)] // one sequence: observers, decisions, run, report
pub fn run_prepared(
    prepared: Prepared,
    request: &RunRequest<'_>,
    observe: &mut Observe<'_>,
) -> Result<RunReport, RunError> {
    let (flow, names, steps, jobs) = (prepared.flow, prepared.names, prepared.steps, prepared.jobs);
    let _pilots = prepared.pilots;
    let _ = prepared.shared.late.set(Late {
        results: ResultsDir::new(request.results_dir.clone()),
        hooks: RunHooks {
            after_task: request.after_task.clone(),
            extra: prepared.extra,
            memory: request.memory.clone(),
            terminal: request.terminal,
        },
    });
    // Made once here, not by every task (a task that cannot write its result there fails then).
    let _ = std::fs::create_dir_all(&request.results_dir);
    let task_names: Arc<dyn TaskNames> = Arc::new(flow.names());
    let observers = Observers::default();
    if let Some(memory) = &request.memory {
        let recorder = Recorder::new(memory.store().clone(), memory.run(), task_names.clone());
        memory.set_recorder(recorder.clone());
        observers.subscribe(recorder);
    }
    observe(flow.engine(), &observers, task_names);
    // A run stopped already (a signal, a setup error) decides nothing: its tasks end cancelled.
    let ahead = match &request.memory {
        Some(memory) if !flow.engine().is_stopped() => ahead::decide(
            &flow,
            request,
            &steps,
            memory,
            &names,
            // As many threads as tasks may run at once, at most one per core.
            parade::cores::available().min(jobs.unwrap_or(usize::MAX)),
        ),
        _ => Ahead {
            skipped: Vec::new(),
            start: names,
        },
    };
    // The plan served the decisions; it is not held through the run.
    drop(steps);
    // Up-to-date tasks no job needs end here, before the engine's first event, as an engine
    // job's end would be seen.
    for s in &ahead.skipped {
        observers.deliver(&Event::Wanted { id: s.id });
        observers.deliver(&Event::Started { id: s.id });
        observers.deliver(&Event::Finished {
            id: s.id,
            state: TaskState::UpToDate,
            duration: Duration::ZERO,
            reason: Some(Reason::UpToDate(s.why.clone())),
        });
    }
    let error = if ahead.start.is_empty() {
        None
    } else {
        flow.engine().subscribe(observers.clone());
        flow.start(&ahead.start)?;
        match flow.wait_all() {
            Ok(()) | Err(FlowError::Failed(_)) => None,
            Err(e) => Some(e.to_string()),
        }
    };
    let skipped: HashMap<&str, &Value> = ahead
        .skipped
        .iter()
        .map(|s| (s.name.as_str(), &s.result))
        .collect();
    let wanted: Vec<flow::ProcInfo> = flow
        .procs()
        .into_iter()
        .map(|mut p| {
            if skipped.contains_key(p.name.as_str()) {
                p.state = TaskState::UpToDate;
            }
            p
        })
        .filter(|p| p.state != TaskState::Idle)
        .collect();
    let commands = wanted
        .iter()
        .filter_map(|p| Some((p.name.clone(), command_text(request, p)?)))
        .collect();
    let states = wanted.into_iter().map(|p| (p.name, p.state)).collect();
    let results = flow
        .results()
        .into_iter()
        .chain(skipped.iter().map(|(n, v)| ((*n).to_owned(), (*v).clone())))
        .filter(|(_, v)| !v.is_null())
        .collect();
    Ok(RunReport {
        states,
        results,
        error,
        commands,
    })
}

/// The command the proc `p` runs, as a person reads it (`None` for a name nothing defines).
fn command_text(request: &RunRequest<'_>, p: &flow::ProcInfo) -> Option<String> {
    if !p.defined {
        return None;
    }
    let source = p.proto.as_deref().unwrap_or(&p.name);
    let task = request.file.task(source)?;
    if let Some(spec) = &task.template {
        return Some(format!("template job {}", spec.dir));
    }
    let args = || p.args.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    planned_command(
        request.file,
        source,
        &p.name,
        args,
        &request.params,
        &mut Scratch::default(),
    )
}

/// FNV-1a of `bytes`, folded to 32 bits: the same in every run and every build.
fn stable_hash(bytes: &[u8]) -> u32 {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    #[allow(clippy::cast_possible_truncation)] // folding to 32 bits on purpose
    let folded = (hash ^ (hash >> 32)) as u32;
    folded
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::taskfile::{SourceFile, parse};

    /// `n` plain tasks, task `i` needing task `i / 2`.
    fn tree(n: usize) -> TaskFile {
        let mut text = String::new();
        for i in 0..n {
            let _ = writeln!(text, "[task.t{i}]\nrun = \"echo {i}\"");
            if i > 0 {
                let _ = writeln!(text, "deps = [\"t{}\"]", i / 2);
            }
        }
        crate::taskfile::parse_text(text).expect("the file checks")
    }

    #[test]
    fn arguments_fill_one_map_in_place_or_anew() {
        let mut map = BTreeMap::new();
        fill_args(&mut map, || [("a", "1"), ("b", "2")].into_iter());
        let kept = std::ptr::from_ref(map.get("a").unwrap());
        fill_args(&mut map, || [("a", "3"), ("b", "4")].into_iter());
        assert_eq!(
            map,
            BTreeMap::from([("a".into(), "3".into()), ("b".into(), "4".into())])
        );
        assert!(
            std::ptr::eq(kept, map.get("a").unwrap()),
            "overwritten in place"
        );
        fill_args(&mut map, || [("c", "5")].into_iter());
        assert_eq!(map, BTreeMap::from([("c".into(), "5".into())]));
        fill_args(&mut map, std::iter::empty);
        assert!(map.is_empty());
    }

    #[test]
    fn a_planned_task_is_made_in_the_place_of_its_step() {
        // `plan_with` collects its tasks from the flow's steps: with a task no larger than a
        // step (and as aligned), the steps' buffer is reused, not a second one held beside
        // it (a glob's million of each).
        use std::mem::{align_of, size_of};
        assert!(size_of::<Planned>() <= size_of::<flow::PlanStep>());
        assert_eq!(align_of::<Planned>(), align_of::<flow::PlanStep>());
        assert!(
            size_of::<flow::PlanStep>() <= 120,
            "{}",
            size_of::<flow::PlanStep>()
        );
    }

    #[test]
    fn a_plan_looks_up_each_planned_task_once() {
        let n = 4_000;
        let file = tree(n);
        let targets: Vec<String> = (n / 2..n).map(|i| format!("t{i}")).collect();
        let before = task_lookups();
        let plan = plan(&file, &targets, &file.params).expect("it plans");
        let lookups = task_lookups() - before;
        assert_eq!(plan.tasks.len(), n);
        assert_eq!(lookups, n as u64, "one lookup per planned task");
        let t7 = plan
            .tasks
            .iter()
            .find(|t| &*t.name == "t7")
            .expect("planned");
        assert_eq!(t7.command.as_deref(), Some("echo 7"));
    }

    #[test]
    fn a_globs_instances_share_one_reason_and_their_definition() {
        let text = "[task.\"t::[a]::[b]\"]\nchoices = { a = [1, 2, 3], b = [1, 2, 3] }\n\
                    run = \"echo {a} {b}\"\n[task.all]\nrun = \"true\"\ndeps = [\"t::*::*\"]\n";
        let source = SourceFile {
            name: "parade.toml".into(),
            text: text.into(),
        };
        let file = parse(PathBuf::from("parade.toml"), source).expect("the file checks");
        let plan = plan(&file, &["all".to_owned()], &file.params).expect("it plans");
        let instances: Vec<&Planned> = plan.tasks.iter().filter(|t| &*t.name != "all").collect();
        assert_eq!(instances.len(), 9);
        for t in &instances {
            assert!(Arc::ptr_eq(&t.why, &instances[0].why), "one text, shared");
            assert!(Arc::ptr_eq(&t.defined_as, &instances[0].defined_as));
            assert_eq!(&*t.defined_as, "t::[a]::[b]");
        }
        assert_eq!(&*instances[0].why, "dependency of \"all\"");
        assert_eq!(instances[4].command.as_deref(), Some("echo 2 2"));
    }

    #[test]
    fn a_prepared_run_is_planned_and_run_on_one_flow() {
        let file = tree(40);
        let targets = ["t39".to_owned(), "t20".to_owned()];
        let dir = std::env::temp_dir().join(format!("parade-prepared-{}", std::process::id()));
        let request = RunRequest {
            jobs: Some(2),
            ..RunRequest::new(&file, &targets, dir.join("results"))
        };
        let before = flows_built();
        let prepared = prepare(&request).expect("it prepares");
        let planned = plan_order(&file, &targets, &file.params).expect("it plans");
        let order: Vec<&str> = planned.tasks.iter().map(|t| &*t.name).collect();
        assert_eq!(
            prepared.order().collect::<Vec<_>>(),
            order,
            "the plan a check makes"
        );
        assert_eq!(prepared.planned(), planned.tasks.len());
        let report = run_prepared(prepared, &request, &mut |_, _, _| {}).expect("it runs");
        let _ = std::fs::remove_dir_all(&dir);
        // The plan of `plan_order` above built one more (a planner).
        assert_eq!(
            flows_built() - before,
            2,
            "one flow for the run's plan and run"
        );
        assert_eq!(report.states.len(), planned.tasks.len());
        assert!(report.ok(), "{report:?}");
    }

    #[test]
    fn a_plan_for_a_run_or_a_check_makes_no_commands() {
        let file = tree(500);
        let before = task_lookups();
        let plan = plan_order(&file, &["t499".to_owned()], &file.params).expect("it plans");
        assert_eq!(
            task_lookups(),
            before,
            "no task is looked up for its command"
        );
        let names: Vec<&str> = plan.tasks.iter().map(|t| &*t.name).collect();
        assert_eq!(names.last(), Some(&"t499"));
        assert!(names.contains(&"t0") && names.contains(&"t249"));
        assert!(plan.tasks.iter().all(|t| t.command.is_none()));
        let full = super::plan(&file, &["t499".to_owned()], &file.params).expect("it plans");
        let order = |p: &Plan| p.tasks.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            order(&full),
            order(&plan),
            "the same tasks in the same order"
        );
    }
}
