//! `parade`: run task files of shell commands in parallel. See `docs/taskfile.md`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Parser;
use parade::display::{JsonReport, LogFiles, PlainObserver, live::LiveOptions, run_dir_in};
use parade::engine::Engine;
use parade::store::Store;
use parade_cli::cli::{Cli, Command, GraphFormat, JobsCommand, Output, RunArgs, StateCommand};
use parade_cli::runner::{self, RunError, RunReport, RunRequest};
use parade_cli::taskfile::{self, TaskFile};
use parade_cli::uptodate::{self, Memory, Mode};
use parade_cli::{list, render, signals, state};

/// Exit status: a task failed.
const FAILED: u8 = 1;
/// Exit status: bad usage or a bad task file.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
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
    let cli = Cli::parse();
    if let Command::Jobs(JobsCommand::Clean(args)) = &cli.command {
        return clean_jobs(&args.dir, args.dry_run);
    }
    let file = match taskfile::load(cli.file.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            return ExitCode::from(USAGE);
        }
    };
    match cli.command {
        Command::Check => {
            println!(
                "{}: {} tasks, no problems",
                file.source.name,
                file.tasks.len()
            );
            ExitCode::SUCCESS
        }
        Command::List(args) => {
            print!("{}", list::render(&file, args.expand));
            ExitCode::SUCCESS
        }
        Command::Graph(args) => match runner::plan(&file, &args.targets, &file.params) {
            Ok(plan) => {
                print!(
                    "{}",
                    match args.format {
                        GraphFormat::Dot => render::dot(&plan),
                        GraphFormat::Mermaid => render::mermaid(&plan),
                        GraphFormat::Text => render::text(&plan),
                    }
                );
                ExitCode::SUCCESS
            }
            Err(e) => usage_error(&e),
        },
        Command::Run(args) => run(&file, &args, color),
        Command::State(cmd) => state_command(&file, &cmd),
        Command::Jobs(_) => unreachable!("handled before the task file is read"),
    }
}

/// `parade jobs clean`: removes (or lists) unfinished job directories under `dir`.
fn clean_jobs(dir: &std::path::Path, dry_run: bool) -> ExitCode {
    match parade::exec::slurm::clean_jobs(dir, dry_run) {
        Ok(found) => {
            for d in &found {
                println!(
                    "{}{}",
                    if dry_run { "would remove " } else { "removed " },
                    d.display()
                );
            }
            eprintln!(
                "parade: {} unfinished job director{}",
                found.len(),
                if found.len() == 1 { "y" } else { "ies" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parade: cannot clean {}: {e}", dir.display());
            ExitCode::from(USAGE)
        }
    }
}

/// The run store of `file`'s project, `.parade/state.db` beside it.
fn open_store(file: &TaskFile) -> Result<Store, ExitCode> {
    Store::for_project(file.dir()).map_err(|e| {
        eprintln!("parade: {e}");
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
        StateCommand::Show(args) => {
            state::show(&store, args.task.as_deref()).map(|text| print!("{text}"))
        }
        StateCommand::Clean(args) if args.all => store.forget(None).map(|n| {
            eprintln!("parade: forgot everything ({n} executions)");
        }),
        StateCommand::Clean(args) => args.tasks.iter().try_for_each(|t| {
            store.forget(Some(t)).map(|n| {
                eprintln!("parade: forgot {t} ({n} executions)");
            })
        }),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parade: {e}");
            ExitCode::from(USAGE)
        }
    }
}

fn usage_error(e: &RunError) -> ExitCode {
    eprintln!("parade: {e}");
    ExitCode::from(USAGE)
}

#[allow(clippy::too_many_lines)] // one straight sequence: params, logs, signals, observers, exit
fn run(file: &TaskFile, args: &RunArgs, color: bool) -> ExitCode {
    let mut params: BTreeMap<String, String> = file.params.clone();
    params.extend(args.params.iter().cloned());
    let targets = uptodate::file_targets(file, &args.targets);
    let mode = Mode {
        force: args.force,
        resume: args.resume,
    };
    if args.watch {
        return match runner::plan(file, &targets, &params) {
            Ok(plan) => parade_cli::watch::run(file, &plan, &params),
            Err(e) => usage_error(&e),
        };
    }
    if args.dry_run {
        return match runner::plan(file, &targets, &params) {
            Ok(plan) => {
                print!("{}", render::dry_run(&plan));
                let db = file.dir().join(".parade").join(parade::store::STATE_DB);
                let store = if db.exists() {
                    Store::open(&db)
                } else {
                    // Nothing remembered yet: decide against an empty store, made in memory.
                    Store::open(":memory:")
                };
                match store {
                    Ok(store) => {
                        for (task, why) in uptodate::dry_run(&store, file, &plan, &params, mode) {
                            println!("  {task}: {why}");
                        }
                    }
                    Err(e) => eprintln!("parade: {e}"),
                }
                ExitCode::SUCCESS
            }
            Err(e) => usage_error(&e),
        };
    }
    let store = match open_store(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let run_id = match store.begin_run(&targets) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("parade: {e}");
            return ExitCode::from(USAGE);
        }
    };
    let memory = Arc::new(Memory::new(store.clone(), run_id, mode));
    // The live display's ETA: each task's weighted mean of its recent successful runs.
    let history: parade::display::eta::Expected = {
        let store = store.clone();
        Arc::new(move |name: &str| store.expected_duration(name).ok().flatten())
    };
    let base = file.settings.log_dir.as_ref().map_or_else(
        || file.dir().join(".parade").join("logs"),
        |d| file.dir().join(d),
    );
    let logs_dir = match run_dir_in(&base) {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "parade: cannot make the log directory under {}: {e}",
                base.display()
            );
            return ExitCode::from(USAGE);
        }
    };
    let request = RunRequest {
        file,
        targets: &targets,
        params,
        jobs: args.jobs.map(|j| j as usize).or(file.settings.parallel),
        fail_fast: args.fail_fast,
        results_dir: logs_dir.join("results"),
        executor: args.executor.unwrap_or(file.settings.executor),
        memory: Some(memory.clone()),
    };
    let output = args.output.unwrap_or(if std::io::stderr().is_terminal() {
        Output::Live
    } else {
        Output::Plain
    });
    let mut live = None;
    let mut json = None;
    let full_log = args.full_log;
    let engine_slot: Arc<Mutex<Option<Engine>>> = Arc::default();
    let interrupted = {
        let slot = engine_slot.clone();
        signals::install(move || {
            if let Some(engine) = slot.lock().ok().and_then(|e| e.clone()) {
                engine.stop();
            }
        })
    };
    let interrupted = match interrupted {
        Ok(i) => i,
        Err(e) => {
            eprintln!("parade: cannot install signal handlers: {e}");
            return ExitCode::from(USAGE);
        }
    };
    let result = runner::run(&request, &mut |engine, names| {
        if let Ok(mut slot) = engine_slot.lock() {
            *slot = Some(engine.clone());
        }
        // A signal that came before the engine existed stops it now.
        if interrupted.get() {
            engine.stop();
        }
        let logs = match LogFiles::new(&logs_dir, names.clone()) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("parade: {e}");
                return;
            }
        };
        engine.subscribe(logs.clone());
        match output {
            Output::Live => {
                let l = LiveOptions::new()
                    .color(color)
                    .full_log(full_log)
                    .log_files(logs)
                    .expected(history.clone())
                    .start(std::io::stderr(), names);
                engine.subscribe(l.clone());
                live = Some(l);
            }
            Output::Plain => engine.subscribe(
                PlainObserver::new(std::io::stderr(), names)
                    .color(color)
                    .full_log(full_log)
                    .log_files(logs),
            ),
            Output::Json => {
                let report = JsonReport::new(names.clone());
                engine.subscribe(report.clone());
                json = Some((report, names));
            }
        }
    });
    if let Some(l) = &live {
        l.finish();
    }
    let report = match result {
        Err(e) => {
            let _ = store.end_run(run_id, "error");
            return usage_error(&e);
        }
        Ok(report) => report,
    };
    let outcome = if interrupted.get() {
        "interrupted"
    } else if report.ok() {
        "succeeded"
    } else {
        "failed"
    };
    if let Err(e) = store.end_run(run_id, outcome) {
        eprintln!("parade: {e}");
    }
    if args.explain {
        eprintln!("parade: why each task runs or is up to date:");
        for (task, why) in memory.explanations() {
            eprintln!("  {task}: {why}");
        }
    }
    if let Some((j, names)) = json {
        let _ = j.write(std::io::stdout(), |id| {
            names.name(id).and_then(|n| report.results.get(&n).cloned())
        });
    }
    eprintln!("{}", summary(&report, &base));
    if interrupted.get() {
        eprintln!("parade: run interrupted");
        return ExitCode::from(signals::INTERRUPTED);
    }
    if let Some(e) = &report.error {
        eprintln!("parade: {e}");
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    }
}

/// One line at the end of a run: how many tasks ended in each state, and where the logs are.
fn summary(report: &RunReport, logs: &std::path::Path) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, state) in &report.states {
        *counts.entry(state.as_str()).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
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
