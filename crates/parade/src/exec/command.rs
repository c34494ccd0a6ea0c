//! [`CommandSpec`]: a program to run outside this process, with what a cluster needs to know
//! about it ([`ResourceHints`]), and [`CommandJob`], the job that runs one.

use std::any::Any;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::child::{ChildOptions, run_child};
use crate::engine::{Job, Outcome, TaskContext};

/// A program with its arguments, environment and working directory: what the `parade` command
/// runs for a task, and what process and Slurm executors start.
///
/// ```
/// use parade::exec::CommandSpec;
/// let spec = CommandSpec::shell(&["sh", "-c"], "echo $GREETING")
///     .env("GREETING", "hello")
///     .cwd("/tmp");
/// assert_eq!(spec.program, "sh");
/// assert_eq!(spec.args, ["-c", "echo $GREETING"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// The program, looked up on `PATH` when it has no slash.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables added to the inherited environment (this process's, as it was when it first
    /// started a child; a later entry of a key wins).
    pub env: Vec<(String, String)>,
    /// The working directory; the current one when `None`.
    pub cwd: Option<PathBuf>,
    /// What a cluster scheduler should reserve for it.
    pub resources: ResourceHints,
    /// Whether the program's standard error goes into the same pipe as its standard output, so
    /// that the lines of both keep their order (all of them then arrive as
    /// [`Stream::Stdout`](crate::engine::Stream::Stdout)).
    #[serde(default)]
    pub merge_stderr: bool,
    /// Runs the program with its stdout and stderr on a pseudo-terminal of this many (columns,
    /// rows) instead of a pipe, so that it sees a terminal (colours, line buffering); the streams
    /// are merged as with [`merge_stderr`](Self::merge_stderr). Its standard input stays
    /// `/dev/null`.
    #[serde(default)]
    pub terminal: Option<(u16, u16)>,
    /// Whether a program that cannot be started ends as a POSIX shell's command would: exit
    /// status 127 when it is not found, 126 when it cannot run, the reason on standard error
    /// (for a command a shell would otherwise have started; without it, such a task fails with
    /// the reason alone).
    #[serde(default)]
    pub shell_exit_codes: bool,
}

impl CommandSpec {
    /// Runs `program` with `args`.
    pub fn new(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Runs `script` through a shell given as its argv prefix, such as `["sh", "-c"]` or
    /// `["bash", "-euo", "pipefail", "-c"]`.
    ///
    /// # Panics
    /// If `shell` is empty.
    pub fn shell(shell: &[impl AsRef<str>], script: impl Into<String>) -> Self {
        let (program, flags) = shell
            .split_first()
            .expect("a shell names at least its program");
        let mut args: Vec<String> = flags.iter().map(|f| f.as_ref().to_owned()).collect();
        args.push(script.into());
        Self {
            program: program.as_ref().to_owned(),
            args,
            ..Self::default()
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets what a cluster should reserve for it.
    pub fn resources(mut self, resources: ResourceHints) -> Self {
        self.resources = resources;
        self
    }

    /// Sends standard error into the standard output pipe (see
    /// [`merge_stderr`](Self::merge_stderr)).
    ///
    /// ```
    /// use parade::exec::CommandSpec;
    /// let spec = CommandSpec::shell(&["sh", "-c"], "echo 1; echo 2 >&2").merge_stderr(true);
    /// assert!(spec.merge_stderr);
    /// ```
    pub fn merge_stderr(mut self, on: bool) -> Self {
        self.merge_stderr = on;
        self
    }

    /// Gives the program a pseudo-terminal of `columns`×`rows` for stdout and stderr (see
    /// [`terminal`](Self::terminal)).
    ///
    /// ```
    /// use parade::exec::CommandSpec;
    /// let spec = CommandSpec::new("ls", ["--color=auto"]).terminal(Some((80, 24)));
    /// assert_eq!(spec.terminal, Some((80, 24)));
    /// ```
    pub fn terminal(mut self, size: Option<(u16, u16)>) -> Self {
        self.terminal = size;
        self
    }

    /// Ends a program that cannot be started as a shell would (see
    /// [`shell_exit_codes`](Self::shell_exit_codes)).
    ///
    /// ```
    /// use parade::engine::{Engine, Reason, TaskSpec};
    /// use parade::exec::{CommandJob, CommandSpec};
    /// let spec = CommandSpec::new("no-such-program-anywhere", [""; 0]).shell_exit_codes(true);
    /// let engine = Engine::new();
    /// let t = engine.add(TaskSpec::from_job(CommandJob::new(spec))).unwrap();
    /// engine.want([t]).unwrap();
    /// assert_eq!(engine.wait([t]).unwrap()[0].reason, Some(Reason::Exit(127)));
    /// ```
    pub fn shell_exit_codes(mut self, on: bool) -> Self {
        self.shell_exit_codes = on;
        self
    }

    /// The command as one line a person can read (not for running: nothing is quoted).
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a cluster scheduler should reserve for a task. Every field is optional; executors
/// that have no use for them (threads, local processes) ignore them.
///
/// ```
/// use parade::exec::ResourceHints;
/// let r = ResourceHints { cpus: Some(4), mem: Some("8G".into()), ..ResourceHints::default() };
/// assert_eq!(r.sbatch_args(), ["--cpus-per-task=4", "--mem=8G"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceHints {
    /// CPUs per task.
    pub cpus: Option<u32>,
    /// Memory, in Slurm's notation (`500M`, `8G`).
    pub mem: Option<String>,
    /// A time limit, in Slurm's notation (`30`, `1:00:00`, `2-00:00:00`).
    pub time: Option<String>,
    /// The partition (queue).
    pub partition: Option<String>,
    /// The account to charge.
    pub account: Option<String>,
    /// Further `sbatch` arguments, passed as they are.
    pub extra: Vec<String>,
}

impl ResourceHints {
    /// These resources as `sbatch` options.
    pub fn sbatch_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(c) = self.cpus {
            args.push(format!("--cpus-per-task={c}"));
        }
        let named = [
            ("--mem", &self.mem),
            ("--time", &self.time),
            ("--partition", &self.partition),
            ("--account", &self.account),
        ];
        for (flag, value) in named {
            if let Some(v) = value {
                args.push(format!("{flag}={v}"));
            }
        }
        args.extend(self.extra.iter().cloned());
        args
    }
}

/// A job that runs a [`CommandSpec`] as a child process in its own process group: its output
/// lines become the task's output events, its exit status the task's outcome, and a timeout or
/// a cancel terminates the whole group (SIGTERM, then SIGKILL after a grace period).
/// Executors that run elsewhere find the spec through [`Job::remote`].
///
/// ```
/// use parade::engine::{Engine, TaskSpec, TaskState, Reason};
/// use parade::exec::{CommandJob, CommandSpec};
/// let engine = Engine::new();
/// let ok = engine.add(TaskSpec::from_job(CommandJob::new(CommandSpec::new("true", [""; 0])))).unwrap();
/// let bad = engine.add(TaskSpec::from_job(CommandJob::new(CommandSpec::shell(&["sh", "-c"], "exit 3")))).unwrap();
/// engine.want([ok, bad]).unwrap();
/// let st = engine.wait([ok, bad]).unwrap();
/// assert_eq!(st[0].state, TaskState::Succeeded);
/// assert_eq!(st[1].reason, Some(Reason::Exit(3)));
/// ```
pub struct CommandJob {
    spec: CommandSpec,
    options: ChildOptions,
}

impl CommandJob {
    /// A job that runs `spec`.
    pub fn new(spec: CommandSpec) -> Self {
        Self {
            spec,
            options: ChildOptions::default(),
        }
    }

    /// Sets how long a terminated process group gets between SIGTERM and SIGKILL.
    pub fn grace(mut self, grace: std::time::Duration) -> Self {
        self.options.grace = grace;
        self
    }

    /// The command it runs.
    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }
}

impl Job for CommandJob {
    fn run(self: Box<Self>, ctx: &TaskContext) -> Outcome {
        run_child(&self.spec, &self.options, ctx)
    }

    fn remote(&self) -> Option<&(dyn Any + Send + Sync)> {
        Some(&self.spec)
    }
}
