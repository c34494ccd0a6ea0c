//! `parade`: run task files of shell commands in parallel. See `docs/taskfile.md`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use parade::display::{JsonReport, LogFiles, PlainObserver, live::LiveOptions, run_dir};
use parade_cli::cli::{Cli, Command, GraphFormat, Output, RunArgs};
use parade_cli::runner::{self, RunError, RunRequest};
use parade_cli::shell::Groups;
use parade_cli::taskfile::{self, TaskFile};
use parade_cli::{list, signals};

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
        Command::Graph(args) => {
            let flow = runner::flow();
            match flow.plan(&file, &args.targets, &file.params) {
                Ok(plan) => {
                    print!(
                        "{}",
                        match args.format {
                            GraphFormat::Dot => runner::render_dot(&plan),
                            GraphFormat::Mermaid => runner::render_mermaid(&plan),
                            GraphFormat::Text => runner::render_text(&plan),
                        }
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => usage_error(&e),
            }
        }
        Command::Run(args) => run(&file, &args, color),
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
    let flow = runner::flow();
    if args.dry_run {
        return match flow.plan(file, &args.targets, &params) {
            Ok(plan) => {
                print!("{}", runner::render_text(&plan));
                ExitCode::SUCCESS
            }
            Err(e) => usage_error(&e),
        };
    }
    let base = file
        .settings
        .log_dir
        .as_ref()
        .map_or_else(|| file.dir(), |d| file.dir().join(d));
    let logs_dir = match run_dir(&base) {
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
        targets: &args.targets,
        params,
        jobs: args.jobs.map(|j| j as usize).or(file.settings.parallel),
        fail_fast: args.fail_fast,
        results_dir: logs_dir.join("results"),
    };
    let output = args.output.unwrap_or(if std::io::stderr().is_terminal() {
        Output::Live
    } else {
        Output::Plain
    });
    let mut live = None;
    let mut json = None;
    let full_log = args.full_log;
    let engine_slot: Arc<std::sync::Mutex<Option<parade::engine::Engine>>> = Arc::default();
    let interrupted = {
        let slot = engine_slot.clone();
        signals::install(Groups::global(), file.settings.grace, move || {
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
    let result = flow.run(&request, &mut |engine, names| {
        if let Ok(mut slot) = engine_slot.lock() {
            *slot = Some(engine.clone());
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
    if interrupted.get() {
        eprintln!("parade: run interrupted");
        return ExitCode::from(u8::try_from(signals::INTERRUPTED).unwrap_or(130));
    }
    match result {
        Err(e) => usage_error(&e),
        Ok(report) => {
            if let Some((j, names)) = json {
                let _ = j.write(std::io::stdout(), |id| {
                    names.name(id).and_then(|n| report.results.get(&n).cloned())
                });
            }
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(FAILED)
            }
        }
    }
}
