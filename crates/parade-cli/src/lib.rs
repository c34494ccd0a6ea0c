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
//! | [`cli`] | the command line |
//! | [`list`] | `parade list` |
//! | [`report`] | a run's record (`run.json`), `--trace`, `parade report` |

pub mod cli;
pub mod list;
pub mod render;
pub mod report;
pub mod runner;
pub mod shell;
pub mod signals;
pub mod slurm;
pub mod task;
pub mod taskfile;
pub mod template;
