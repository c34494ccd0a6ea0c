//! `parade`: run task files of shell commands in parallel. See `docs/taskfile.md`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};

use clap::Parser;
use parade::display::{LogFiles, run_dir_in};
use parade::engine::Engine;
use parade::exec::isolation;
use parade::report::RunRecorder;
use parade::store::Store;
use parade_cli::cli::{Cli, Command, GraphFormat, JobsCommand, RunArgs, StateCommand};
use parade_cli::observers::Subscribe;
use parade_cli::output::{self, Display, Look, Screens, say};
use parade_cli::runfile::{self, RunFile};
use parade_cli::runner::{self, AfterTask, RunError, RunReport, RunRequest};
use parade_cli::taskfile::{self, TaskFile};
use parade_cli::uptodate::{self, Memory, Mode};
use parade_cli::{list, render, report as reporting, signals, state};

/// Exit status: a task failed.
const FAILED: u8 = 1;
/// Exit status: bad usage or a bad task file.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    // A Slurm pilot job started by `--pilots` runs its tasks and exits here.
    parade::exec::slurm::pilot_entry();
    let cli = Cli::parse();
    let color = output::color_on(cli.color);
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(true)
                .force_graphical(true)
                .terminal_links(false)
                .width(100)
                .build(),
        )
    }));
    if let Command::Jobs(JobsCommand::Clean(args)) = &cli.command {
        return clean_jobs(&args.dir, args.dry_run);
    }
    if let Some(code) = parade_cli::commands::without_task_file(&cli.command) {
        return code;
    }
    // Freed by the process's exit, not task by task (a large file's drop is a tenth of a check).
    let file: &'static TaskFile = match taskfile::load(cli.file.as_deref()) {
        Ok(f) => Box::leak(Box::new(f)),
        Err(e) => {
            say(&format!("{:?}", miette::Report::new(e)));
            return ExitCode::from(USAGE);
        }
    };
    match cli.command {
        Command::Check => {
            for warning in &file.warnings {
                say(&format!("warning: {warning}"));
            }
            match parade_cli::wording::check_plans(file) {
                Err(problems) => {
                    for p in &problems {
                        say(&format!("parade: {p}"));
                    }
                    say(&format!(
                        "{}: {} problem{} found",
                        file.source.name,
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" }
                    ));
                    ExitCode::from(USAGE)
                }
                Ok(()) => printed(&format!(
                    "{}: {} tasks, no problems\n",
                    file.source.name,
                    file.tasks.len()
                )),
            }
        }
        Command::List(args) if args.json => {
            printed(&format!("{:#}\n", list::json(file, args.expand)))
        }
        Command::List(args) => printed(&list::render(file, args.expand)),
        Command::Graph(args) => match parade_cli::commands::targets(file, &args.targets)
            // The order and edges only: a graph shows no commands.
            .and_then(|targets| runner::plan_order(file, &targets, &file.params))
        {
            Ok(plan) => {
                // Written as it is made, through one buffer: a large plan's text is never
                // held whole; the plan is freed by the process's exit.
                let code = streamed(|out| match args.format {
                    GraphFormat::Dot => render::write_dot(&plan, out),
                    GraphFormat::Mermaid => render::write_mermaid(&plan, out),
                    GraphFormat::Text => render::write_text(&plan, out),
                });
                std::mem::forget(plan);
                code
            }
            Err(e) => usage_error(&parade_cli::wording::run_error(&e, file)),
        },
        Command::Run(args) => run(file, &args, color),
        Command::State(cmd) => state_command(file, &cmd),
        Command::Report(args) => match reporting::report(&logs_base(file), &args) {
            Ok(path) => printed(&format!("{}\n", path.display())),
            Err(e) => {
                say(&format!("parade: {e}"));
                ExitCode::from(USAGE)
            }
        },
        Command::Jobs(_) | Command::Init | Command::Completions(_) | Command::Man => {
            unreachable!("handled before the task file is read")
        }
    }
}

/// Prints `text` on stdout: success, or a clear error when it could not be written (a reader
/// that went away is not an error).
fn printed(text: &str) -> ExitCode {
    streamed(|out| out.write_all(text.as_bytes()))
}

/// [`printed`] for text written as it is made, through one buffer: a large plan's text is
/// never held whole.
fn streamed(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> ExitCode {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("parade: cannot write to standard output: {e}"));
            ExitCode::from(FAILED)
        }
    }
}

/// `parade jobs clean`: removes (or lists) unfinished job directories under `dir`.
fn clean_jobs(dir: &std::path::Path, dry_run: bool) -> ExitCode {
    match parade::exec::slurm::clean_jobs_report(dir, dry_run) {
        Ok(cleaned) => {
            for d in &cleaned.running {
                say(&format!(
                    "parade: skipped {}: a run is working in it (it is locked)",
                    d.display()
                ));
            }
            let found = cleaned.removed;
            let mut text = String::new();
            for d in &found {
                text.push_str(if dry_run { "would remove " } else { "removed " });
                text.push_str(&d.display().to_string());
                text.push('\n');
            }
            let code = printed(&text);
            say(&format!(
                "parade: {} unfinished job director{}",
                found.len(),
                if found.len() == 1 { "y" } else { "ies" }
            ));
            code
        }
        Err(e) => {
            say(&format!("parade: cannot clean {}: {e}", dir.display()));
            ExitCode::from(USAGE)
        }
    }
}

/// The run store of `file`'s project, `.parade/state.db` beside it.
fn open_store(file: &TaskFile) -> Result<Store, ExitCode> {
    Store::for_project(file.dir()).map_err(|e| {
        say(&format!("parade: {e}"));
        ExitCode::from(USAGE)
    })
}

/// `parade state show` and `parade state clean`.
fn state_command(file: &TaskFile, cmd: &StateCommand) -> ExitCode {
    let store = match open_store(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let done = match cmd {
        StateCommand::Show(args) => match state::show(&store, args.task.as_deref()) {
            Ok(text) => return printed(&text),
            Err(e) => Err(e),
        },
        StateCommand::Clean(args) if args.all => store.forget(None).map(|n| {
            say(&format!("parade: forgot everything ({n} executions)"));
        }),
        StateCommand::Clean(args) => args.tasks.iter().try_for_each(|t| {
            store.forget(Some(t)).map(|n| {
                say(&format!("parade: forgot {t} ({n} executions)"));
            })
        }),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("parade: {e}"));
            ExitCode::from(USAGE)
        }
    }
}

fn usage_error(e: &RunError) -> ExitCode {
    say(&format!("parade: {e}"));
    ExitCode::from(USAGE)
}

/// `parade run`: planned ([`Planned::new`]); then watched, shown as a dry run, or run: begun
/// in the store and its log directory ([`Run::begin`]), run on the engine with its observers
/// ([`Run::on_engine`]), and ended ([`Run::end`]).
fn run(file: &TaskFile, args: &RunArgs, color: bool) -> ExitCode {
    let planned = match Planned::new(file, args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Planned {
        targets,
        mode,
        params,
        next,
    } = planned;
    let prepared = match next {
        Next::Plan(plan) if args.watch => return parade_cli::watch::run(file, &plan, &params),
        Next::Plan(plan) => return dry_run(file, plan, &params, mode),
        Next::Run(prepared) => prepared,
    };
    let run = match Run::begin(file, args, &targets, mode) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let ran = match run.on_engine(&targets, params, prepared, color) {
        Ok(r) => r,
        Err(code) => return code,
    };
    run.end(ran)
}

/// What a run wants before anything starts: its targets, how it uses the store, its params
/// and its plan: for a dry run or a watch, planned on a planner flow; for a real run, on the
/// run's own flow, built once ([`runner::prepare`]).
struct Planned {
    targets: Vec<String>,
    mode: Mode,
    params: BTreeMap<String, String>,
    next: Next,
}

/// What a run goes on with once planned.
enum Next {
    /// A dry run or a watch: the plan, made on a planner flow.
    Plan(runner::Plan),
    /// A real run: its own flow, built and planned once.
    Run(runner::Prepared),
}

impl Planned {
    /// The targets, params and plan `args` ask for (a usage error says why not).
    fn new(file: &TaskFile, args: &RunArgs) -> Result<Self, ExitCode> {
        let targets =
            parade_cli::commands::targets(file, &args.targets).map_err(|e| usage_error(&e))?;
        let targets = uptodate::file_targets(file, &targets);
        let mode = Mode {
            force: args.force,
            resume: args.resume,
        };
        let mut params: BTreeMap<String, String> = file.params.clone();
        params.extend(args.params.iter().cloned());
        if !args.dry_run {
            parade_cli::commands::command_params(file, &args.params, &mut params)
                .map_err(|e| usage_error(&e))?;
        }
        let refused = |e: RunError| usage_error(&parade_cli::wording::run_error(&e, file));
        // A real run plans on its own flow, built once for the plan (to know whether one task
        // runs: its output passes through) and the run, without the commands only a reader of
        // the plan needs.
        if !args.dry_run && !args.watch {
            let prepared =
                runner::prepare(&shape(file, args, &targets, params.clone())).map_err(refused)?;
            return Ok(Self {
                targets,
                mode,
                params,
                next: Next::Run(prepared),
            });
        }
        let planned = if args.dry_run {
            runner::plan
        } else {
            runner::plan_order
        };
        let plan = planned(file, &targets, &params).map_err(refused)?;
        Ok(Self {
            targets,
            mode,
            params,
            next: Next::Plan(plan),
        })
    }
}

/// `--dry-run`: the plan, with what the store would decide for each task.
fn dry_run(
    file: &TaskFile,
    plan: runner::Plan,
    params: &BTreeMap<String, String>,
    mode: Mode,
) -> ExitCode {
    let db = file.dir().join(".parade").join(parade::store::STATE_DB);
    // Nothing remembered yet: decide against an empty store, made in memory.
    let store = if db.exists() {
        Store::open(&db)
    } else {
        Store::in_memory()
    };
    let code = match store {
        Ok(store) => {
            let decisions = uptodate::dry_run(&store, file, &plan, params, mode);
            let code = streamed(|out| render::write_dry_run(&plan, Some(&decisions), out));
            // Freed by the process's exit, not one decision at a time.
            std::mem::forget(decisions);
            code
        }
        Err(e) => {
            say(&format!("parade: {e}"));
            streamed(|out| render::write_dry_run::<&str>(&plan, None, out))
        }
    };
    std::mem::forget(plan);
    code
}

/// A run begun in the store, with its log directory: what its run on the engine and its end
/// share.
struct Run<'a> {
    file: &'a TaskFile,
    args: &'a RunArgs,
    store: Store,
    id: parade::store::RunId,
    memory: Arc<Memory>,
    /// Where the task file's runs keep their logs, and this run's directory there.
    base: std::path::PathBuf,
    logs_dir: std::path::PathBuf,
    /// Each task's log, once the engine's tasks are known.
    log_files: Arc<OnceLock<LogFiles>>,
}

/// What the engine's run left for the run's end.
struct Ran {
    result: Result<RunReport, RunError>,
    interrupted: signals::Interrupted,
    display: Option<Display>,
    recorder: Option<(RunRecorder, Engine)>,
    /// Why the observers could not be set up, if they could not.
    setup_error: Option<String>,
}

impl<'a> Run<'a> {
    /// Opens the store, begins the run in it and makes the run's log directory.
    fn begin(
        file: &'a TaskFile,
        args: &'a RunArgs,
        targets: &[String],
        mode: Mode,
    ) -> Result<Self, ExitCode> {
        let store = open_store(file)?;
        // The file hashes the store remembers are read on a thread of their own while the run
        // is set up (begin_run waits for them only as long as the read holds the connection).
        {
            let store = store.clone();
            std::thread::spawn(move || store.preload_files());
        }
        let id = store.begin_run(targets).map_err(|e| {
            say(&format!("parade: {e}"));
            ExitCode::from(USAGE)
        })?;
        let memory = Arc::new(Memory::new(store.clone(), id, mode));
        let base = logs_base(file);
        let logs_dir = run_dir_in(&base).map_err(|e| {
            say(&format!(
                "parade: cannot make the log directory under {}: {e}",
                base.display()
            ));
            ExitCode::from(USAGE)
        })?;
        Ok(Self {
            file,
            args,
            store,
            id,
            memory,
            base,
            logs_dir,
            log_files: Arc::default(),
        })
    }

    /// Runs the plan on the engine: the run file, signals, logs, recorder and display set up
    /// around it; returns once every task has ended and what it left with it.
    fn on_engine(
        &self,
        targets: &[String],
        params: BTreeMap<String, String>,
        prepared: runner::Prepared,
        color: bool,
    ) -> Result<Ran, ExitCode> {
        let (file, args) = (self.file, self.args);
        // The live display's ETA: each task's weighted mean of its recent successful runs.
        let history: parade::display::eta::Expected = {
            let store = self.store.clone();
            Arc::new(move |name: &str| store.expected_duration(name).ok().flatten())
        };
        let shown = output::pick(
            args.output,
            file.settings.output,
            prepared.planned(),
            Screens::here(),
        );
        let run_file = start_run_file(file, &self.logs_dir, args.verbose);
        let request = self.request(targets, params, shown);
        let look = Look {
            color,
            full_log: args.full_log,
        };
        let mut display = None;
        let mut recorder = None;
        let mut setup_error = None;
        let engine_slot: Arc<Mutex<Option<Engine>>> = Arc::default();
        let interrupted = {
            let slot = engine_slot.clone();
            signals::install(move || {
                if let Some(engine) = slot.lock().ok().and_then(|e| e.clone()) {
                    engine.stop();
                }
            })
        };
        let interrupted = interrupted.map_err(|e| {
            say(&format!("parade: cannot install signal handlers: {e}"));
            ExitCode::from(USAGE)
        })?;
        let logs_dir = &self.logs_dir;
        let result = runner::run_prepared(prepared, &request, &mut |engine, observers, names| {
            if let Ok(mut slot) = engine_slot.lock() {
                *slot = Some(engine.clone());
            }
            // A signal that came before the engine existed stops it now.
            if interrupted.get() {
                engine.stop();
            }
            let logs = match LogFiles::new(logs_dir, names.clone()) {
                Ok(l) => l,
                Err(e) => {
                    setup_error = Some(format!("cannot make {}: {e}", logs_dir.display()));
                    engine.stop();
                    return;
                }
            };
            observers.subscribe(logs.clone());
            let r = RunRecorder::new(names.clone());
            observers.subscribe(r.clone());
            recorder = Some((r, engine.clone()));
            display = Some(Display::attach(
                shown,
                observers,
                &names,
                &logs,
                look,
                Some(history.clone()),
            ));
            let _ = self.log_files.set(logs);
        });
        if let Some(d) = &display {
            d.finish();
        }
        // Every task has ended, and what it left with it.
        if let Some(f) = &run_file {
            f.remove();
        }
        isolation::finish();
        Ok(Ran {
            result,
            interrupted,
            display,
            recorder,
            setup_error,
        })
    }

    /// What the runner is asked: the options `args` give ([`shape`]), the run's memory, and
    /// a check after each task that its log is whole.
    fn request<'r>(
        &'r self,
        targets: &'r [String],
        params: BTreeMap<String, String>,
        shown: output::Shown,
    ) -> RunRequest<'r> {
        let args = self.args;
        // Each task's log must be whole: a task whose log could not be written fails.
        let after_task = {
            let logs = self.log_files.clone();
            AfterTask(Arc::new(move |name: &str| match logs.get() {
                Some(l) => l
                    .close_named(name)
                    .map_err(|e| format!("its log is incomplete: {e}")),
                None => Ok(()),
            }))
        };
        let results_dir = self.logs_dir.join("results");
        RunRequest {
            // Absolute once here, not once per task.
            results_dir: std::path::absolute(&results_dir).unwrap_or(results_dir),
            after_task: Some(after_task),
            memory: Some(self.memory.clone()),
            // One task passing its output through to a terminal sees a terminal of that size.
            terminal: (shown == output::Shown::Raw)
                .then(|| parade::display::terminal_size(std::io::stdout()))
                .flatten()
                .filter(|&(c, r)| c > 0 && r > 0),
            ..shape(self.file, args, targets, params)
        }
    }

    /// Ends the run in the store and says how it went: explanations, what was lost, the
    /// summary; its exit status.
    fn end(self, ran: Ran) -> ExitCode {
        let (store, run_id, args) = (&self.store, self.id, self.args);
        let Ran {
            result,
            interrupted,
            display,
            recorder,
            setup_error,
        } = ran;
        let report = match result {
            Err(e) => {
                let _ = store.end_run(run_id, "error");
                store.close();
                return usage_error(&parade_cli::wording::run_error(&e, self.file));
            }
            Ok(report) => report,
        };
        // A flow's rule: a deadlock (the report's error) is an `error`, not a failure.
        let outcome =
            parade::store::outcome(interrupted.get(), report.error.is_some(), report.ok());
        if let Err(e) = store.end_run(run_id, outcome) {
            let kept = store.journal_path(run_id).filter(|j| j.exists());
            match kept {
                Some(j) => say(&format!(
                    "parade: {e}; what this run did is kept in {} for the next run to take in",
                    j.display()
                )),
                None => say(&format!("parade: {e}")),
            }
        }
        // Closed whoever holds a clone still (the signal handler's engine, its recorder), so a
        // grown WAL is checkpointed (Store::close).
        store.close();
        if args.explain {
            say("parade: why each task runs or is up to date:");
            for (task, why) in self.memory.explanations() {
                say(&format!("  {task}: {why}"));
            }
        }
        let mut lost = Vec::new();
        if let Some(e) = self.memory.record_error() {
            lost.push(format!(
                "the run store missed what a task did ({e}); the next run may redo it"
            ));
        }
        if let Some((r, engine)) = &recorder
            && let Err(e) = reporting::keep_run(
                r,
                engine,
                &self.logs_dir,
                &report.commands,
                args.trace.as_deref(),
            )
        {
            lost.push(e);
        }
        if let Some(d) = &display {
            if let Err(e) = d.write_json(|name| report.results.get(name).cloned()) {
                lost.push(format!(
                    "the JSON report was lost: cannot write to standard output: {e}"
                ));
            }
            lost.extend(d.errors());
        }
        lost.extend(setup_error);
        let logs_lost = self
            .log_files
            .get()
            .map(LogFiles::task_errors)
            .unwrap_or_default();
        say(&summary(&report, &self.base, logs_lost.len()));
        for e in &lost {
            say(&format!("parade: {e}"));
        }
        if interrupted.get() {
            say("parade: run interrupted");
            return ExitCode::from(signals::INTERRUPTED);
        }
        if let Some(e) = &report.error {
            say(&format!("parade: {}", parade_cli::wording::words(e)));
        }
        if report.ok() && lost.is_empty() && logs_lost.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(FAILED)
        }
    }
}

/// What shapes a run's flow, as `args` ask for `targets` with `params`: jobs, failing fast,
/// the executor, pilots, job arrays, the arguments after `--` (no results directory, memory,
/// check or terminal: [`Run::request`] adds them once the run has begun).
fn shape<'r>(
    file: &'r TaskFile,
    args: &RunArgs,
    targets: &'r [String],
    params: BTreeMap<String, String>,
) -> RunRequest<'r> {
    RunRequest {
        params,
        jobs: args.jobs.map(|j| j as usize).or(file.settings.parallel),
        fail_fast: args.fail_fast,
        executor: args.executor.unwrap_or(file.settings.executor),
        pilots: args.pilots.map(|count| runner::PilotRequest {
            count: count as usize,
            resources: args.pilot_resources.as_deref().cloned().unwrap_or_default(),
            listen: args.listen,
        }),
        job_arrays: !args.no_job_arrays,
        extra_args: args.extra_args.clone(),
        ..RunRequest::new(file, targets, std::path::PathBuf::new())
    }
}

/// Chooses how tasks' processes are kept together (a cgroup each where the machine allows,
/// else process groups), ends what runs killed before left in this project (and says so), and
/// starts this run's file in `.parade/runs/` so that the next run can do the same for it.
fn start_run_file(
    file: &TaskFile,
    logs_dir: &std::path::Path,
    verbose: bool,
) -> Option<Arc<RunFile>> {
    isolation::configure(isolation::Mode::Auto);
    if verbose {
        say(&format!("parade: {}", isolation::describe()));
    }
    let runs = file.dir().join(".parade").join("runs");
    for dead in runfile::end_leftovers(&runs) {
        if !dead.ended.is_empty() {
            say(&format!(
                "parade: run {} (parade pid {}) died with {} task{} running; ended what {} left: {}",
                dead.id,
                dead.pid,
                dead.ended.len(),
                if dead.ended.len() == 1 { "" } else { "s" },
                if dead.ended.len() == 1 { "it" } else { "they" },
                dead.ended.join(", ")
            ));
        } else if verbose {
            say(&format!(
                "parade: run {} (parade pid {}) died; nothing of it was left running",
                dead.id, dead.pid
            ));
        }
    }
    let id = logs_dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    match RunFile::create(&runs, &id) {
        Ok(f) => {
            isolation::set_recorder(f.clone());
            if verbose {
                say(&format!("parade: run file {}", f.path().display()));
            }
            Some(f)
        }
        Err(e) => {
            say(&format!(
                "parade: cannot write the run file in {} ({e}); a run killed with -9 will leave its tasks for no one to end",
                runs.display()
            ));
            None
        }
    }
}

/// Where the task file's runs keep their logs: `settings.log_dir`, else `.parade/logs`
/// beside it.
fn logs_base(file: &TaskFile) -> std::path::PathBuf {
    file.settings.log_dir.as_ref().map_or_else(
        || file.dir().join(".parade").join("logs"),
        |d| file.dir().join(d),
    )
}

/// One line at the end of a run: how many tasks ended in each state, how many logs are
/// incomplete, and where the logs are.
fn summary(report: &RunReport, logs: &std::path::Path, incomplete: usize) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, state) in &report.states {
        *counts.entry(state.as_str()).or_default() += 1;
    }
    let mut parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    if incomplete > 0 {
        parts.push(format!(
            "{incomplete} log{} incomplete",
            if incomplete == 1 { "" } else { "s" }
        ));
    }
    format!(
        "parade: {} (logs: {})",
        if parts.is_empty() {
            "nothing ran".to_owned()
        } else {
            parts.join(", ")
        },
        logs.join("latest").display()
    )
}
