//! The `parade` command as a library: the task file, running shell commands, signals, the
//! command line, and the task file as a `parade::flow`. The binary (`main.rs`) only dispatches.
//!
//! | module | owns |
//! |---|---|
//! | [`taskfile`] | `parade.toml`: format, checks, diagnostics |
//! | [`shell`] | shell text: `{field}`s as variable references no value escapes, paths, `#!` |
//! | [`direct`] | a plain simple command run without the shell, as make does |
//! | [`shell_context`] | where a position of shell text stands (quotes, heredocs) |
//! | [`environment`] | the environment from `dotenv`, `[env]` and a task's `env`, `${VAR}` expanded |
//! | [`instances`] | what a glob dependency matched, as `$PARADE_INSTANCES` |
//! | [`retry`] | `retries = N`: attempts of one task |
//! | [`commands`] | `init`/`completions`/`man` dispatch, `run`'s targets, command params |
//! | [`init`] | `parade init`: the starter task file |
//! | [`manual`] | `parade completions`, `parade man` |
//! | [`task`] | one concrete task: its command, environment, result; run by the library |
//! | [`template`] | a task that is a template job (`template = "DIR"`) |
//! | [`runner`] | the task file as a `parade::flow`: plan, run |
//! | [`slurm`] | `--executor slurm`: a task's command as a Slurm job |
//! | [`render`] | plans as text: the dry run, `parade graph` |
//! | [`signals`] | Ctrl-C and SIGTERM: stop the engine, exit 130 |
//! | [`runfile`] | `.parade/runs/`: running tasks, and ending a dead run's leftovers |
//! | [`stderr`] | messages that never panic on a closed terminal or pipe |
//! | [`cli`] | the command line |
//! | [`list`] | `parade list` |
//! | [`output`] | what `parade run` shows: `--output` modes, `--color`, writes that never panic |
//! | [`wording`] | run-time errors in the CLI's words, with the nearest names suggested |
//! | [`uptodate`] | task keys, up to date or not and why, outputs, file targets |
//! | [`ahead`] | up to date decided before the engine: up-to-date tasks no job needs are no jobs |
//! | [`observers`] | a run's observers: the engine's events and those of tasks decided ahead |
//! | [`watch`] | `parade run --watch`: rerun what a change makes stale |
//! | [`state`] | `parade state show` / `clean`: what the run store remembers |
//! | [`report`] | a run's record (`run.json`), `--trace`, `parade report` |
//! | [`discard`] | large values freed on a thread of their own |

pub mod cli;
pub mod commands;
pub mod direct;
pub mod discard;
pub mod environment;
pub mod init;
pub mod instances;
pub mod list;
pub mod manual;
pub mod output;
pub mod render;
pub mod report;
pub mod retry;
pub mod runfile;
pub mod runner;
pub mod shell;
pub mod shell_context;
pub mod signals;
pub mod slurm;
pub mod state;
pub mod stderr;
pub mod task;
pub mod taskfile;
pub mod template;
pub mod wording;

/// The README's Rust snippets, compiled and run as doctests (their setup lines are hidden).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
pub mod ahead;
pub mod observers;
pub mod uptodate;
pub mod watch;
