//! The `parade` command as a library: the task file, running shell commands, signals, the
//! command line, and the seam to `parade::flow`. The binary (`main.rs`) only dispatches.
//!
//! | module | owns |
//! |---|---|
//! | [`taskfile`] | `parade.toml`: format, checks, diagnostics |
//! | [`shell`] | one command: quoting, environment, process group, output, time limit |
//! | [`signals`] | Ctrl-C and SIGTERM: stop, terminate groups, exit 130 |
//! | [`cli`] | the command line |
//! | [`runner`] | what the commands ask of a flow, and the job of a task-file proc |
//! | [`list`] | `parade list` |

pub mod cli;
pub mod list;
pub mod runner;
pub mod shell;
pub mod signals;
pub mod taskfile;
