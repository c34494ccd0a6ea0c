//! `parade`: run task files of shell commands in parallel. See `docs/taskfile.md`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};

use clap::Parser;
use parade::display::{LogFiles, run_dir_in};
use parade::engine::Engine;
use parade_cli::cli::{Cli, Command, GraphFormat, JobsCommand, RunArgs};
use parade_cli::output::{self, Display, Look, Screens, print, say};
use parade_cli::runner::{self, AfterTask, RunError, RunReport, RunRequest};
use parade_cli::taskfile::{self, TaskFile};
use parade_cli::{list, render, signals};

/// Exit status: a task failed.
const FAILED: u8 = 1;
/// Exit status: bad usage or a bad task file.
const USAGE: u8 = 2;

fn main() -> ExitCode {
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
    let file = match taskfile::load(cli.file.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            say(&format!("{:?}", miette::Report::new(e)));
            return ExitCode::from(USAGE);
        }
    };
    match cli.command {
        Command::Check => match parade_cli::wording::check_plans(&file) {
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
        },
        Command::List(args) => printed(&list::render(&file, args.expand)),
        Command::Graph(args) => match runner::plan(&file, &args.targets, &file.params) {
            Ok(plan) => printed(&match args.format {
                GraphFormat::Dot => render::dot(&plan),
                GraphFormat::Mermaid => render::mermaid(&plan),
                GraphFormat::Text => render::text(&plan),
            }),
            Err(e) => usage_error(&parade_cli::wording::run_error(&e, &file)),
        },
        Command::Run(args) => run(&file, &args, color),
        Command::Jobs(_) => unreachable!("handled before the task file is read"),
    }
}

/// Prints `text` on stdout: success, or a clear error when it could not be written (a reader
/// that went away is not an error).
fn printed(text: &str) -> ExitCode {
    match print(text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("parade: cannot write to standard output: {e}"));
            ExitCode::from(FAILED)
        }
    }
}

/// `parade jobs clean`: removes (or lists) unfinished job directories under `dir`.
fn clean_jobs(dir: &std::path::Path, dry_run: bool) -> ExitCode {
    match parade::exec::slurm::clean_jobs(dir, dry_run) {
        Ok(found) => {
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

fn usage_error(e: &RunError) -> ExitCode {
    say(&format!("parade: {e}"));
    ExitCode::from(USAGE)
}

#[allow(clippy::too_many_lines)] // one straight sequence: params, logs, signals, observers, exit
fn run(file: &TaskFile, args: &RunArgs, color: bool) -> ExitCode {
    let mut params: BTreeMap<String, String> = file.params.clone();
    params.extend(args.params.iter().cloned());
    let wording = |e: RunError| parade_cli::wording::run_error(&e, file);
    let asked = args.output.or(file.settings.output);
    // The plan: for a dry run, and without a mode asked for, to know whether one task runs (its
    // output then passes through).
    let mut tasks = 0;
    if args.dry_run || asked.is_none() {
        let plan = match runner::plan(file, &args.targets, &params) {
            Ok(plan) => plan,
            Err(e) => return usage_error(&wording(e)),
        };
        if args.dry_run {
            return printed(&render::dry_run(&plan));
        }
        tasks = plan.tasks.len();
    }
    let shown = output::pick(asked, None, tasks, Screens::here());
    let base = file.settings.log_dir.as_ref().map_or_else(
        || file.dir().join(".parade").join("logs"),
        |d| file.dir().join(d),
    );
    let logs_dir = match run_dir_in(&base) {
        Ok(d) => d,
        Err(e) => {
            say(&format!(
                "parade: cannot make the log directory under {}: {e}",
                base.display()
            ));
            return ExitCode::from(USAGE);
        }
    };
    // Each task's log must be whole: a task whose log could not be written fails.
    let log_files: Arc<OnceLock<LogFiles>> = Arc::default();
    let after_task = {
        let logs = log_files.clone();
        AfterTask(Arc::new(move |name: &str| match logs.get() {
            Some(l) => l
                .close_named(name)
                .map_err(|e| format!("its log is incomplete: {e}")),
            None => Ok(()),
        }))
    };
    let request = RunRequest {
        file,
        targets: &args.targets,
        params,
        jobs: args.jobs.map(|j| j as usize).or(file.settings.parallel),
        fail_fast: args.fail_fast,
        results_dir: logs_dir.join("results"),
        executor: args.executor.unwrap_or(file.settings.executor),
        after_task: Some(after_task),
        // One task passing its output through to a terminal sees a terminal of that size.
        terminal: (shown == output::Shown::Raw)
            .then(|| parade::display::terminal_size(std::io::stdout()))
            .flatten()
            .filter(|&(c, r)| c > 0 && r > 0),
    };
    let look = Look {
        color,
        full_log: args.full_log,
    };
    let mut display = None;
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
    let interrupted = match interrupted {
        Ok(i) => i,
        Err(e) => {
            say(&format!("parade: cannot install signal handlers: {e}"));
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
                setup_error = Some(format!("cannot make {}: {e}", logs_dir.display()));
                engine.stop();
                return;
            }
        };
        engine.subscribe(logs.clone());
        display = Some(Display::attach(shown, engine, &names, &logs, look));
        let _ = log_files.set(logs);
    });
    if let Some(d) = &display {
        d.finish();
    }
    let report = match result {
        Err(e) => return usage_error(&wording(e)),
        Ok(report) => report,
    };
    let mut lost = Vec::new();
    if let Some(d) = &display {
        if let Err(e) = d.write_json(|name| report.results.get(name).cloned()) {
            lost.push(format!(
                "the JSON report was lost: cannot write to standard output: {e}"
            ));
        }
        lost.extend(d.errors());
    }
    lost.extend(setup_error);
    let logs_lost = log_files
        .get()
        .map(LogFiles::task_errors)
        .unwrap_or_default();
    say(&summary(&report, &base, logs_lost.len()));
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
