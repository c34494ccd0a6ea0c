//! What `parade run` shows and where: the `--output` modes and how the default is picked,
//! `--color`, the observers each mode subscribes, and writing to stdout and stderr without
//! ever panicking (a closed pipe, a full disk) or losing an error silently.
//!
//! It owns the choice and the wiring; the observers themselves are `parade::display`'s. It must
//! not know how tasks run.
//!
//! | mode | task output | start / end lines |
//! |---|---|---|
//! | `prefixed` | stdout, each line as it comes: `name | line` | end lines on stderr |
//! | `grouped` | stdout, each task's lines as one block when it ends | end lines on stderr |
//! | `live` | stderr: the last line of each running task in the region, a successful task's output under its end line | the region, end lines above it |
//! | `plain` | not shown (the log has it; failures show a snippet) | stderr, both |
//! | `json` | not shown | one document on stdout at the end |
//! | (one task) | stdout as it comes, nothing added (on a terminal, the task gets a pseudo-terminal of its size: [`RunRequest::terminal`](crate::runner::RunRequest::terminal)) | end line on stderr |

use std::io::{self, IsTerminal};
use std::sync::Arc;

use parade::display::{
    JsonReport, LiveObserver, LogFiles, PlainObserver, SinkError, StreamObserver, StreamStyle,
    TaskNames, live::LiveOptions, usable_terminal,
};
use serde::Deserialize;

use crate::observers::Subscribe;

/// `--output` and `[settings] output`.
#[derive(clap::ValueEnum, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// Each line as it comes, after its task's name (default with several tasks off a terminal).
    Prefixed,
    /// Each task's output as one block when it ends.
    Grouped,
    /// A redrawn region of running tasks with their last line (default on a terminal).
    Live,
    /// One line per start and end, no task output (the logs have it).
    Plain,
    /// One JSON document at the end.
    Json,
}

/// `--color`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set or `TERM=dumb`; `CLICOLOR_FORCE` forces it on.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Whether colours go to standard error, following `when` and the environment (`NO_COLOR`,
/// `CLICOLOR_FORCE`, `CLICOLOR`, `TERM=dumb`, through `anstream`).
pub fn color_on(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        // `TERM=dumb` gets no colours unless `CLICOLOR_FORCE` says so, even where `CI` is set
        // (anstream colours any terminal under CI).
        ColorWhen::Auto if dumb_terminal() && !color_forced() => false,
        ColorWhen::Auto => !matches!(
            anstream::AutoStream::choice(&io::stderr()),
            anstream::ColorChoice::Never
        ),
    }
}

/// Whether `TERM` is `dumb`.
fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// Whether `CLICOLOR_FORCE` is set to something other than `0`.
fn color_forced() -> bool {
    std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// What a run shows, once the default is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// One task: its output passed through as it comes.
    Raw,
    /// See [`Output::Prefixed`].
    Prefixed,
    /// See [`Output::Grouped`].
    Grouped,
    /// See [`Output::Live`].
    Live,
    /// See [`Output::Plain`].
    Plain,
    /// See [`Output::Json`].
    Json,
}

/// Where the output goes, as far as picking a mode cares.
#[derive(Clone, Copy, Debug)]
pub struct Screens {
    /// Standard output is a terminal.
    pub stdout_terminal: bool,
    /// Standard error is a terminal with a usable size (not 0×0).
    pub stderr_terminal: bool,
}

impl Screens {
    /// This process's standard output and error.
    pub fn here() -> Self {
        Self {
            stdout_terminal: io::stdout().is_terminal(),
            stderr_terminal: usable_terminal(io::stderr()),
        }
    }
}

/// The mode a run of `tasks` tasks uses: `asked` (`--output`), else `setting`
/// (`[settings] output`), else what just and go-task users expect: one task's output passes
/// through; several tasks get the live display when both stdout and stderr are terminals, and
/// prefixed lines otherwise. `live` without a usable terminal (none, or one that reports 0×0)
/// falls back to prefixed lines.
///
/// ```
/// use parade_cli::output::{pick, Output, Screens, Shown};
/// let pipe = Screens { stdout_terminal: false, stderr_terminal: false };
/// let tty = Screens { stdout_terminal: true, stderr_terminal: true };
/// assert_eq!(pick(None, None, 1, tty), Shown::Raw);
/// assert_eq!(pick(None, None, 5, pipe), Shown::Prefixed);
/// assert_eq!(pick(None, None, 5, tty), Shown::Live);
/// assert_eq!(pick(Some(Output::Live), None, 5, pipe), Shown::Prefixed);
/// assert_eq!(pick(None, Some(Output::Grouped), 1, tty), Shown::Grouped);
/// ```
pub fn pick(
    asked: Option<Output>,
    setting: Option<Output>,
    tasks: usize,
    screens: Screens,
) -> Shown {
    let live = match asked.or(setting) {
        Some(Output::Grouped) => return Shown::Grouped,
        Some(Output::Plain) => return Shown::Plain,
        Some(Output::Json) => return Shown::Json,
        Some(Output::Live) => screens.stderr_terminal,
        Some(Output::Prefixed) => false,
        None if tasks == 1 => return Shown::Raw,
        None => screens.stdout_terminal && screens.stderr_terminal,
    };
    if live { Shown::Live } else { Shown::Prefixed }
}

/// The observers of one run, to end and ask for errors once it is over.
#[derive(Default)]
pub struct Display {
    live: Option<LiveObserver>,
    json: Option<(JsonReport, Arc<dyn TaskNames>)>,
    stdout: Vec<SinkError>,
    stderr: Vec<SinkError>,
}

/// How the observers look.
#[derive(Clone, Copy, Debug, Default)]
pub struct Look {
    /// Colours on standard error's status lines and stdout's name prefixes.
    pub color: bool,
    /// A failed task's whole log instead of its snippet.
    pub full_log: bool,
}

impl Display {
    /// Subscribes to `engine` (an engine, or a run's observers) what `shown` needs (the log
    /// files are subscribed by the caller).
    pub fn attach(
        shown: Shown,
        engine: &impl Subscribe,
        names: &Arc<dyn TaskNames>,
        logs: &LogFiles,
        look: Look,
        expected: Option<parade::display::eta::Expected>,
    ) -> Self {
        let mut d = Display::default();
        let stream = |style| {
            StreamObserver::new(io::stdout(), names.clone(), style)
                .color(look.color && io::stdout().is_terminal())
                .log_files(logs.clone())
        };
        let status = |snippets: bool, starts: bool| {
            PlainObserver::new(io::stderr(), names.clone())
                .color(look.color)
                .full_log(look.full_log)
                .snippets(snippets)
                .start_lines(starts)
                .log_files(logs.clone())
        };
        match shown {
            Shown::Raw | Shown::Prefixed | Shown::Grouped => {
                let s = stream(match shown {
                    Shown::Raw => StreamStyle::Raw,
                    Shown::Grouped => StreamStyle::Grouped,
                    _ => StreamStyle::Prefixed,
                });
                d.stdout.push(s.error());
                engine.subscribe(s);
                // The output was on screen: a failure's snippet would repeat it.
                let p = status(false, false);
                d.stderr.push(p.error());
                engine.subscribe(p);
            }
            Shown::Plain => {
                let p = status(true, true);
                d.stderr.push(p.error());
                engine.subscribe(p);
            }
            Shown::Live => {
                let l = LiveOptions::new()
                    .color(look.color)
                    .full_log(look.full_log)
                    .output(true)
                    .log_files(logs.clone());
                let l = match expected {
                    Some(f) => l.expected(f),
                    None => l,
                }
                .start(io::stderr(), names.clone());
                d.stderr.push(l.error());
                engine.subscribe(l.clone());
                d.live = Some(l);
            }
            Shown::Json => {
                let report = JsonReport::new(names.clone());
                engine.subscribe(report.clone());
                d.json = Some((report, names.clone()));
            }
        }
        d
    }

    /// Ends the live display, if any.
    pub fn finish(&self) {
        if let Some(l) = &self.live {
            l.finish();
        }
    }

    /// Writes the JSON report, if this is a JSON run, with each task's result from `result`.
    pub fn write_json(&self, result: impl Fn(&str) -> Option<serde_json::Value>) -> io::Result<()> {
        match &self.json {
            Some((report, names)) => report.write(io::stdout().lock(), |id| {
                names.name(id).and_then(|n| result(&n))
            }),
            None => Ok(()),
        }
    }

    /// What could not be written, as messages for the end of the run (empty when all was).
    pub fn errors(&self) -> Vec<String> {
        let first = |sinks: &[SinkError]| sinks.iter().find_map(SinkError::get);
        let mut out = Vec::new();
        if let Some(e) = first(&self.stdout) {
            out.push(format!(
                "task output was lost: cannot write to standard output: {e}"
            ));
        }
        if let Some(e) = first(&self.stderr) {
            out.push(format!(
                "progress was lost: cannot write to standard error: {e}"
            ));
        }
        out
    }
}

/// Writes a message line to standard error, never panicking (see [`crate::stderr::line`]).
pub use crate::stderr::line as say;
