//! The `parade` command as a library: the task file, running shell commands, signals, the
//! command line, and the task file as a `parade::flow`. The binary (`main.rs`) only dispatches.
//!
//! | module | owns |
//! |---|---|
//! | [`taskfile`] | `parade.toml`: format, checks, diagnostics |
//! | [`shell`] | shell text: `{field}` substitution with quoting, environment names |
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

pub mod cli;
pub mod list;
pub mod render;
pub mod runfile;
pub mod runner;
pub mod shell;
pub mod signals;
pub mod slurm;
pub mod stderr;
pub mod task;
pub mod taskfile;
pub mod template;
