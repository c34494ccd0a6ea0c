//! Defining procs and protos: the [`Define`] builder both share, and [`Body`], the work itself.
//!
//! Everything a definition holds is plain data plus one closure, so a proc can be made at run
//! time from a task file as easily as from Rust code.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::display::{IgnoreWhen, LogIgnore};
use crate::exec::{CommandSpec, ResourceHints};

use super::{Context, Dep, DepFn, Flow, FlowError, Lookup, ProcError, Rdep};

/// A proc's work: takes its context, returns a JSON value or how it ended otherwise.
pub type Body = Arc<BodyFn>;

/// The closure type behind a [`Body`].
pub type BodyFn = dyn Fn(&Context<'_>) -> Result<Value, ProcError> + Send + Sync;

/// Wraps a closure returning any `T: Serialize` as a [`Body`].
pub fn body<T, F>(f: F) -> Body
where
    T: Serialize,
    F: Fn(&Context<'_>) -> Result<T, ProcError> + Send + Sync + 'static,
{
    Arc::new(move |ctx| {
        let value = f(ctx)?;
        serde_json::to_value(value).map_err(|e| {
            ProcError::failed(format!(
                "the result of `{}` cannot be serialized: {e}",
                ctx.name()
            ))
        })
    })
}

/// The allowed values of one placeholder: a list, or a closure computing them.
#[derive(Clone)]
pub enum Choices {
    /// A fixed list.
    List(Vec<String>),
    /// Computed from the name being made, its arguments and params.
    Computed(DepFn),
}

impl fmt::Debug for Choices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choices::List(l) => l.fmt(f),
            Choices::Computed(_) => f.write_str("<computed>"),
        }
    }
}

impl Choices {
    pub(crate) fn resolve(&self, lookup: &Lookup<'_>) -> Vec<String> {
        match self {
            Choices::List(l) => l.clone(),
            Choices::Computed(f) => f(lookup),
        }
    }
}

/// What a proc or proto declares besides its name.
#[derive(Clone)]
pub(crate) struct Decl {
    pub(crate) body: Body,
    /// The name it was defined under (a proc's name, a proto's pattern): what a worker
    /// process looks for.
    pub(crate) def: Arc<str>,
    /// What executors outside this process run instead of the body, if given.
    pub(crate) command: Option<CommandSpec>,
    /// What a cluster should reserve when the proc runs there in worker mode.
    pub(crate) resources: Option<ResourceHints>,
    pub(crate) deps: Vec<Dep>,
    pub(crate) rdeps: Vec<Rdep>,
    pub(crate) locks: Vec<String>,
    /// Counted resources used while running, by name.
    pub(crate) uses: Vec<(String, u32)>,
    pub(crate) wave: u32,
    pub(crate) timeout: Option<Duration>,
    pub(crate) description: Option<String>,
    pub(crate) no_failures: bool,
    pub(crate) now: bool,
    pub(crate) choices: Vec<(String, Choices)>,
    pub(crate) defaults: Vec<(String, String)>,
    /// Shared by every job of the proc (a glob's million instances hold one).
    pub(crate) incremental: Arc<super::incremental::Incremental>,
    /// Log-ignore rules as given, compiled into `log_ignore` by [`Define::add`].
    pub(crate) log_rules: Vec<(String, IgnoreWhen)>,
    /// The compiled rules, shared by every instance of a proto.
    pub(crate) log_ignore: LogIgnore,
}

impl Decl {
    pub(crate) fn new(body: Body) -> Self {
        Self {
            body,
            def: Arc::from(""),
            command: None,
            resources: None,
            deps: Vec::new(),
            rdeps: Vec::new(),
            locks: Vec::new(),
            uses: Vec::new(),
            wave: 0,
            timeout: None,
            description: None,
            no_failures: false,
            now: false,
            choices: Vec::new(),
            defaults: Vec::new(),
            incremental: Arc::default(),
            log_rules: Vec::new(),
            log_ignore: LogIgnore::new(),
        }
    }
}

/// Builds a proc ([`Flow::proc`]) or a proto ([`Flow::proto`]); [`Define::add`] registers it.
///
/// ```
/// use std::time::Duration;
/// use parade::flow::{Flow, Dep};
/// let flow = Flow::inline();
/// flow.proc("setup", |_| Ok("ready")).add().unwrap();
/// flow.proto("build::[env]", |ctx| Ok(format!("built {}", ctx.arg::<String>("env")?)))
///     .deps(["setup"])
///     .choices("env", ["dev", "prod"])
///     .locks(["builder"])
///     .wave(1)
///     .timeout(Duration::from_secs(600))
///     .description("compile for one environment")
///     .add()
///     .unwrap();
/// flow.run("build::*").unwrap();
/// flow.wait_all().unwrap();
/// assert_eq!(flow.result::<String>("build::prod").unwrap(), "built prod");
/// ```
#[must_use = "a definition does nothing until `.add()` registers it"]
pub struct Define<'f> {
    pub(crate) flow: &'f Flow,
    pub(crate) name: String,
    pub(crate) proto: bool,
    pub(crate) decl: Decl,
}

impl Define<'_> {
    /// Adds dependencies (names, patterns, globs, closures, [`Dep::NoFailures`]).
    pub fn deps<D: Into<Dep>>(mut self, deps: impl IntoIterator<Item = D>) -> Self {
        self.decl.deps.extend(deps.into_iter().map(Into::into));
        self
    }

    /// Adds one dependency.
    pub fn dep(mut self, dep: impl Into<Dep>) -> Self {
        self.decl.deps.push(dep.into());
        self
    }

    /// Runs only if no proc of the run has failed so far.
    pub fn no_failures(mut self) -> Self {
        self.decl.no_failures = true;
        self
    }

    /// Starts it as soon as it exists: a proc when it is added, a proto's procs when they are
    /// created (parproc's `now`).
    pub fn now(mut self) -> Self {
        self.decl.now = true;
        self
    }

    /// Adds reverse dependencies (plain ones from strings, or any [`Rdep`]).
    pub fn rdeps<R: Into<Rdep>>(mut self, rdeps: impl IntoIterator<Item = R>) -> Self {
        self.decl.rdeps.extend(rdeps.into_iter().map(Into::into));
        self
    }

    /// Adds a `WhenScheduled` rdep: wanting this proc wants `pattern` (filled from this proc's
    /// arguments) too, and this proc runs first.
    pub fn when_scheduled(mut self, pattern: &str) -> Self {
        self.decl.rdeps.push(Rdep::when_scheduled(pattern));
        self
    }

    /// Adds a `WhenTargetScheduled` rdep: when a proc matching `pattern` is wanted, this proc
    /// runs before it; never pulls the target in.
    pub fn when_target_scheduled(mut self, pattern: &str) -> Self {
        self.decl.rdeps.push(Rdep::when_target_scheduled(pattern));
        self
    }

    /// Holds these named locks while running.
    pub fn locks<S: Into<String>>(mut self, locks: impl IntoIterator<Item = S>) -> Self {
        self.decl.locks.extend(locks.into_iter().map(Into::into));
        self
    }

    /// Uses `amount` of the counted resource `name` while running (ninja's pools, Snakemake's
    /// `resources`): the procs running at one time never use more of it than the capacity
    /// given with [`Flow::resource`](super::Flow::resource). [`Define::add`] fails for a
    /// resource without a capacity or a use over it.
    ///
    /// ```
    /// use parade::flow::Flow;
    /// let flow = Flow::new();
    /// flow.resource("gpu", 2);
    /// flow.proto("train::[seed]", |_| Ok(()))
    ///     .choices("seed", ["1", "2", "3", "4"])
    ///     .uses("gpu", 1)
    ///     .add()
    ///     .unwrap();
    /// flow.run("train::*").unwrap(); // two at a time
    /// flow.wait_all().unwrap();
    /// let err = flow.proc("big", |_| Ok(())).uses("gpu", 3).add().unwrap_err();
    /// assert!(err.to_string().contains("capacity is 2"), "{err}");
    /// let err = flow.proc("tape", |_| Ok(())).uses("drive", 1).add().unwrap_err();
    /// assert!(err.to_string().contains("has no capacity"), "{err}");
    /// ```
    pub fn uses(mut self, name: impl Into<String>, amount: u32) -> Self {
        self.decl.uses.push((name.into(), amount));
        self
    }

    /// Puts it in wave `n`: it starts only when no lower-wave proc is ready or running.
    pub fn wave(mut self, n: u32) -> Self {
        self.decl.wave = n;
        self
    }

    /// Gives it a time limit (see [`Mode::Threads`](super::Mode::Threads) for what a timeout
    /// does to a thread).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.decl.timeout = Some(limit);
        self
    }

    /// A line describing it, for listings.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.decl.description = Some(text.into());
        self
    }

    /// Protos: the allowed values of placeholder `param`; enables `*` and `?` globs on it.
    pub fn choices<S: Into<String>>(
        mut self,
        param: &str,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        let list = values.into_iter().map(Into::into).collect();
        self.decl
            .choices
            .push((param.to_owned(), Choices::List(list)));
        self
    }

    /// Protos: the allowed values of `param`, computed when a name is made.
    pub fn choices_with(
        mut self,
        param: &str,
        f: impl Fn(&Lookup<'_>) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.decl
            .choices
            .push((param.to_owned(), Choices::Computed(Arc::new(f))));
        self
    }

    /// An argument of the proc (parproc's `args`). On a proto, for a placeholder: its value
    /// when the name does not give one (addressing the proto by its pattern); for any other
    /// name: an argument every instance has. On a proc: one of its arguments. Either way the
    /// body sees it ([`Context::arg`](super::Context::arg)) and dependency patterns are filled
    /// from it.
    ///
    /// ```
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// flow.proto("dep::[x]::[y]", |ctx| Ok(ctx.name().to_owned())).add().unwrap();
    /// flow.proto("top::[y]", |ctx| Ok(ctx.arg::<String>("x")?))
    ///     .default_arg("x", "test")
    ///     .deps(["dep::[x]::[y]"])
    ///     .add()
    ///     .unwrap();
    /// flow.run("top::1").unwrap();
    /// flow.wait_all().unwrap();
    /// assert_eq!(flow.result::<String>("dep::test::1").unwrap(), "dep::test::1");
    /// assert_eq!(flow.result::<String>("top::1").unwrap(), "test");
    /// ```
    pub fn default_arg(mut self, param: &str, value: impl Into<String>) -> Self {
        self.decl.defaults.push((param.to_owned(), value.into()));
        self
    }

    /// Under executors that run tasks outside this process (a custom executor such as
    /// [`SlurmExecutor`](crate::exec::SlurmExecutor), or [`Mode::Process`](super::Mode::Process)),
    /// runs `spec` instead of the body (its output goes to the proc's log; its exit status
    /// decides the outcome; it has no result). On threads or inline, the body runs.
    ///
    /// ```
    /// use parade::exec::CommandSpec;
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// let spec = CommandSpec { program: "true".into(), ..CommandSpec::default() };
    /// flow.proc("check", |_| Ok("ran the body")).command_spec(spec).add().unwrap();
    /// flow.run("check").unwrap();
    /// flow.wait_all().unwrap();
    /// assert_eq!(flow.result::<String>("check").unwrap(), "ran the body");
    /// ```
    pub fn command_spec(mut self, spec: CommandSpec) -> Self {
        self.decl.command = Some(spec);
        self
    }

    /// What a cluster should reserve for each run of this proc when an executor outside this
    /// process runs it in worker mode (the Slurm executor turns it into `sbatch` options).
    ///
    /// ```
    /// use parade::exec::ResourceHints;
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// let big = ResourceHints { cpus: Some(8), mem: Some("32G".into()), ..ResourceHints::default() };
    /// flow.proc("train", |_| Ok(())).resources(big).add().unwrap();
    /// ```
    pub fn resources(mut self, resources: ResourceHints) -> Self {
        self.decl.resources = Some(resources);
        self
    }

    /// Files (paths, directories, globs) whose content the proc's result depends on: with a
    /// store ([`FlowOptions::store`](super::FlowOptions::store)), a proc whose inputs and
    /// arguments are unchanged since its last success, and whose dependencies are all up to
    /// date, ends up to date with its stored result.
    ///
    /// ```
    /// use parade::engine::TaskState;
    /// use parade::flow::{Flow, FlowOptions, Mode};
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("a.txt"), "1").unwrap();
    /// let input = dir.path().join("a.txt").display().to_string();
    /// for expected in [TaskState::Succeeded, TaskState::UpToDate] {
    ///     let options = FlowOptions::new().mode(Mode::Inline).store(dir.path().join("s.db"));
    ///     let flow = Flow::with_options(options).unwrap();
    ///     flow.proc("read", |_| Ok(1)).inputs([input.as_str()]).add().unwrap();
    ///     flow.run("read").unwrap();
    ///     flow.wait_all().unwrap();
    ///     assert_eq!(flow.state("read").unwrap(), expected);
    ///     assert_eq!(flow.result::<i32>("read").unwrap(), 1);
    /// }
    /// ```
    pub fn inputs<S: Into<String>>(mut self, inputs: impl IntoIterator<Item = S>) -> Self {
        Arc::make_mut(&mut self.decl.incremental)
            .inputs
            .extend(inputs.into_iter().map(Into::into));
        self
    }

    /// The same as [`Define::inputs`] (the task-file name).
    pub fn sources<S: Into<String>>(self, sources: impl IntoIterator<Item = S>) -> Self {
        self.inputs(sources)
    }

    /// Paths or globs left out of the inputs (`**/__pycache__`, `*.tmp`).
    pub fn inputs_ignore<S: Into<String>>(mut self, ignore: impl IntoIterator<Item = S>) -> Self {
        Arc::make_mut(&mut self.decl.incremental)
            .ignore
            .extend(ignore.into_iter().map(Into::into));
        self
    }

    /// Files the proc must produce (an [`Output`](super::Output) may carry a `max_age`): a
    /// missing one makes it run, and after a success fails it with `outputs not refreshed`.
    pub fn outputs<O: Into<super::Output>>(mut self, outputs: impl IntoIterator<Item = O>) -> Self {
        Arc::make_mut(&mut self.decl.incremental)
            .outputs
            .extend(outputs.into_iter().map(Into::into));
        self
    }

    /// Log lines its snippet leaves out, whatever the outcome: regular expressions searched
    /// anywhere in a line (parproc's `log_ignore` strings and `IgnoreLogAlways`). Instances of
    /// a proto share its rules. Observers apply them when they name tasks with
    /// [`Flow::names`](super::Flow::names) (as [`Flow::plain_observer`](super::Flow::plain_observer)
    /// does); log files keep every line. [`Define::add`] refuses an invalid pattern.
    ///
    /// ```
    /// use parade::display::SharedBuffer;
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// let out = SharedBuffer::default();
    /// flow.observe(flow.plain_observer(out.clone()));
    /// flow.proto("probe::[host]", |ctx| {
    ///     ctx.log("retrying after error 503");
    ///     ctx.log("error: host unreachable");
    ///     Err::<(), _>(parade::flow::ProcError::failed("unreachable"))
    /// })
    /// .log_ignore(["retrying after"])
    /// .add()
    /// .unwrap();
    /// flow.run("probe::db").unwrap();
    /// let _ = flow.wait_all();
    /// let text = out.contents();
    /// assert!(text.contains("  error: host unreachable\n"), "{text}");
    /// assert!(!text.contains("retrying"), "{text}");
    ///
    /// let err = flow.proc("bad", |_| Ok(())).log_ignore(["("]).add().unwrap_err();
    /// assert!(err.to_string().starts_with("proc \"bad\": invalid regex in log_ignore: \"(\""), "{err}");
    /// ```
    pub fn log_ignore<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.decl
            .log_rules
            .extend(patterns.into_iter().map(|p| (p.into(), IgnoreWhen::Always)));
        self
    }

    /// Log lines its snippet leaves out only when it does not fail (parproc's
    /// `IgnoreLogIfSucceeded`): a warning it always prints stays hidden on success and shows
    /// when it may explain a failure. See [`Define::log_ignore`].
    pub fn log_ignore_if_succeeded<S: Into<String>>(
        mut self,
        patterns: impl IntoIterator<Item = S>,
    ) -> Self {
        self.decl.log_rules.extend(
            patterns
                .into_iter()
                .map(|p| (p.into(), IgnoreWhen::IfSucceeded)),
        );
        self
    }

    /// Never up to date: the proc always runs.
    pub fn no_skip(mut self) -> Self {
        Arc::make_mut(&mut self.decl.incremental).no_skip = true;
        self
    }

    /// Registers the proc or proto.
    ///
    /// Errors: a duplicate name; a proc name with placeholders; an invalid `log_ignore` pattern; a proto whose placeholders are
    /// not split by the separator, or with choices for a name it has no placeholder for; and
    /// for a proc, anything resolving its dependencies reports (a cycle, a wave order).
    pub fn add(mut self) -> Result<(), FlowError> {
        self.flow.check_uses(&self.name, &self.decl.uses)?;
        for (pattern, when) in std::mem::take(&mut self.decl.log_rules) {
            let rules = std::mem::take(&mut self.decl.log_ignore);
            self.decl.log_ignore =
                rules
                    .rule(&pattern, when)
                    .map_err(|error| FlowError::LogIgnore {
                        kind: if self.proto { "proto" } else { "proc" },
                        proc: self.name.clone(),
                        error,
                    })?;
        }
        self.decl.def = Arc::from(self.name.as_str());
        if self.proto {
            self.flow.add_proto(self.name, self.decl)
        } else {
            self.flow.add_proc(self.name, self.decl)
        }
    }
}
