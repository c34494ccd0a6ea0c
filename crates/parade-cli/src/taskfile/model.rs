//! The shape of `parade.toml`: what serde reads ([`RawFile`], with spans), and the checked
//! model the commands use ([`TaskFile`], [`Task`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::SourceFile;
use super::TaskIndex;
use super::duration::DurationValue;
use super::pattern::Pattern;
pub use super::raw_task::RawTask;

/// A scalar as written in `[params]` or `choices`: strings, integers, floats and booleans all
/// become text.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Scalar {
    /// `"eu"`
    Text(String),
    /// `3`
    Int(i64),
    /// `0.5`
    Float(f64),
    /// `true`
    Bool(bool),
}

impl Scalar {
    /// The value as text, as a task sees it.
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// `[settings]` as read.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub(crate) parallel: Option<Spanned<i64>>,
    pub(crate) separator: Option<Spanned<String>>,
    pub(crate) shell: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub(crate) allow_missing_deps: bool,
    pub(crate) grace: Option<DurationValue>,
    pub(crate) timeout: Option<DurationValue>,
    pub(crate) log_dir: Option<String>,
    pub(crate) executor: Option<ExecutorKind>,
    pub(crate) output: Option<crate::output::Output>,
    pub(crate) default: Option<Spanned<String>>,
    pub(crate) dotenv: Option<String>,
    pub(crate) retries: Option<u32>,
    #[serde(default)]
    pub(crate) resources: BTreeMap<Spanned<String>, Spanned<i64>>,
}

/// A `[params]` value as read: a value, or `{ run = "CMD" }`, whose output (trimmed) is the
/// value, run once per run.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum RawParam {
    /// `"eu"`, `3`...
    Value(Scalar),
    /// `{ run = "git rev-parse --short HEAD" }`
    Command {
        /// The shell command whose output is the value.
        run: String,
    },
}

/// The whole file as read.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(default)]
    pub(crate) settings: RawSettings,
    #[serde(default)]
    pub(crate) params: BTreeMap<String, RawParam>,
    /// The `[task.NAME]` tables as they come (TOML refuses a table defined twice): a list, not
    /// a map ordered by name, so reading a large file makes no name comparisons.
    #[serde(default, deserialize_with = "entries")]
    pub(crate) task: Vec<(Spanned<String>, Spanned<RawTask>)>,
    #[serde(default)]
    pub(crate) env: BTreeMap<String, Spanned<Scalar>>,
    #[serde(default)]
    pub(crate) choices: BTreeMap<Spanned<String>, Vec<Scalar>>,
    #[serde(default)]
    pub(crate) include: Vec<Spanned<String>>,
}

/// A table's entries, in the order the reader gives them.
fn entries<'de, D, K, V>(d: D) -> Result<Vec<(K, V)>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
{
    struct Entries<K, V>(std::marker::PhantomData<(K, V)>);
    impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<K, V> {
        type Value = Vec<(K, V)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a table")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(entry) = map.next_entry()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Entries(std::marker::PhantomData))
}

/// Where tasks run: `[settings] executor` and `parade run --executor`.
#[derive(Deserialize, clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// Each task's command is a child process of `parade`, started from a pool of threads
    /// (the default).
    #[default]
    Threads,
    /// The same as `threads`: a task-file task is always a child process of its own.
    Process,
    /// Each task is a Slurm job (`sbatch`), with the task's `cpus`, `mem`, `time`,
    /// `partition`, `account` and `sbatch_args`.
    Slurm,
}

/// The shell a task's `run` goes to unless `shell` says otherwise: POSIX `sh`, stopping at the
/// first command that fails (`-e`).
pub const DEFAULT_SHELL: [&str; 3] = ["sh", "-e", "-c"];

/// How the file says to run things.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Most tasks at once; `None`: one per CPU.
    pub parallel: Option<usize>,
    /// Between placeholders in names (default `::`).
    pub separator: String,
    /// The command line a task's `run` is appended to (default `["sh", "-c"]`).
    pub shell: Vec<String>,
    /// A dependency on an unknown task is not an error; the dependent fails when it is wanted.
    pub allow_missing_deps: bool,
    /// How long a task has to exit after SIGTERM before SIGKILL (default 5s).
    pub grace: Duration,
    /// Every task's time limit unless it sets its own.
    pub timeout: Option<Duration>,
    /// Where run logs go (default `.parade/logs` beside the task file).
    pub log_dir: Option<PathBuf>,
    /// Where tasks run (default: threads).
    pub executor: ExecutorKind,
    /// What `parade run` shows unless `--output` says (default: picked by the run).
    pub output: Option<crate::output::Output>,
    /// The task `parade run` runs when no target is named.
    pub default: Option<String>,
    /// A dotenv file read when present (relative to the task file).
    pub dotenv: Option<PathBuf>,
    /// How many times a failed task runs again unless it says otherwise.
    pub retries: u32,
    /// Counted resources and their capacities (`resources = { gpu = 2 }`).
    pub resources: BTreeMap<String, u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            parallel: None,
            separator: "::".to_owned(),
            shell: DEFAULT_SHELL.iter().map(|s| (*s).to_owned()).collect(),
            allow_missing_deps: false,
            grace: Duration::from_secs(5),
            timeout: None,
            log_dir: None,
            executor: ExecutorKind::Threads,
            output: None,
            default: None,
            dotenv: None,
            retries: 0,
            resources: BTreeMap::new(),
        }
    }
}

/// A dependency as written.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Dep {
    /// A task name or pattern; placeholders are filled from the dependent's values, and globs
    /// (`*`, `?`) expand over choices. Shared with every dependency of the file naming the
    /// same ([`super::names`]).
    Task(Arc<str>),
    /// `@no-failures`: run only if nothing has failed so far.
    NoFailures,
}

/// The special dependencies, for suggestions.
pub const SPECIAL_DEPS: [&str; 1] = ["@no-failures"];

/// One checked task (or task pattern).
///
/// What most tasks leave empty (templates, choices, arguments, rdeps, locks, counted
/// resources, environment, Slurm hints, shells, aliases, log filters) is a [`Rare`] boxed
/// apart, read through the task as its own fields (`task.choices`, `task.env`): a plain task
/// of a large file is a name, a command and its deps, with no room for the rest.
#[derive(Clone, Debug)]
pub struct Task {
    /// The name as written, placeholders included: `build::[env]`.
    pub name: String,
    /// The name, parsed.
    pub pattern: Pattern,
    /// One line for `parade list`.
    pub description: Option<String>,
    /// The shell command, with `{placeholder}` and `{params.key}` to fill (empty for a
    /// template job).
    pub run: String,
    /// What must succeed first.
    pub deps: Vec<Dep>,
    /// Time limit.
    pub timeout: Option<Duration>,
    /// Wave (0 first).
    pub wave: u32,
    /// How many times a failed attempt runs again.
    pub retries: u32,
    /// Where the task's table starts in the file.
    pub offset: usize,
    /// Files whose content the result depends on: paths or globs relative to the task's
    /// working directory, placeholders unfilled.
    pub sources: Vec<String>,
    /// Files the task must produce, relative to the task's working directory.
    pub outputs: Vec<String>,
    /// The rest, when the task says any of it (`None`: all empty, [`Rare::NONE`]).
    rare: Option<Box<Rare>>,
}

/// The parts of a [`Task`] most tasks leave empty, read through the task
/// (`task.choices` is `task.rare().choices`).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("parade.toml");
/// std::fs::write(&path, "[task.a]\nrun = \"true\"\n[task.b]\nrun = \"true\"\nlocks = [\"db\"]\n").unwrap();
/// let file = parade_cli::taskfile::load(Some(&path)).unwrap();
/// assert!(file.tasks[0].locks.is_empty() && file.tasks[0].env.is_empty());
/// assert_eq!(file.tasks[1].locks, ["db"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rare {
    /// A template job to run instead of a command.
    pub template: Option<TemplateSpec>,
    /// Allowed values per placeholder.
    pub choices: BTreeMap<String, Vec<String>>,
    /// The task's own arguments (parproc's `args`): a placeholder's default, or a further
    /// argument; they fill dependency patterns and the command's fields.
    pub args: BTreeMap<String, String>,
    /// Tasks that depend on this one whenever this one is wanted.
    pub rdeps: Vec<String>,
    /// Tasks that run after this one if both are scheduled.
    pub when_scheduled: Vec<String>,
    /// Tasks that, when scheduled, make this one run before them.
    pub when_target_scheduled: Vec<String>,
    /// Named locks held while running.
    pub locks: Vec<String>,
    /// Counted resources used while running (`uses = { gpu = 1 }`), each within its capacity.
    pub uses: BTreeMap<String, u32>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the task file's directory.
    pub cwd: Option<PathBuf>,
    /// What a Slurm job for it reserves (ignored by other executors).
    pub resources: parade::exec::ResourceHints,
    /// Its own shell (`None`: the file's).
    pub shell: Option<Vec<String>>,
    /// Other names for it on the command line.
    pub aliases: Vec<String>,
    /// Regular expressions: log lines its snippet leaves out whatever the outcome.
    pub log_ignore: Vec<String>,
    /// Regular expressions: log lines its snippet leaves out when it does not fail.
    pub log_ignore_if_succeeded: Vec<String>,
}

impl Rare {
    /// Every part empty: what a task without a [`Rare`] of its own reads.
    pub const NONE: Rare = Rare {
        template: None,
        choices: BTreeMap::new(),
        args: BTreeMap::new(),
        rdeps: Vec::new(),
        when_scheduled: Vec::new(),
        when_target_scheduled: Vec::new(),
        locks: Vec::new(),
        uses: BTreeMap::new(),
        env: BTreeMap::new(),
        cwd: None,
        resources: parade::exec::ResourceHints {
            cpus: None,
            mem: None,
            time: None,
            partition: None,
            account: None,
            extra: Vec::new(),
        },
        shell: None,
        aliases: Vec::new(),
        log_ignore: Vec::new(),
        log_ignore_if_succeeded: Vec::new(),
    };
}

/// The one empty [`Rare`] every task without one of its own reads.
static NO_RARE: Rare = Rare::NONE;

impl Task {
    /// A task of these parts (`rare` kept only when some part of it is not empty).
    pub(crate) fn new(
        name: String,
        pattern: Pattern,
        run: String,
        deps: Vec<Dep>,
        offset: usize,
        rare: Rare,
    ) -> Self {
        Self {
            name,
            pattern,
            description: None,
            run,
            deps,
            timeout: None,
            wave: 0,
            retries: 0,
            offset,
            sources: Vec::new(),
            outputs: Vec::new(),
            rare: (rare != Rare::NONE).then(|| Box::new(rare)),
        }
    }

    /// What most tasks leave empty ([`Rare::NONE`] when it says none of it).
    pub fn rare(&self) -> &Rare {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }

    /// The rare parts, to change (made when the task had none).
    pub(crate) fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }
}

impl std::ops::Deref for Task {
    type Target = Rare;

    /// The rare parts, read as the task's own fields.
    fn deref(&self) -> &Rare {
        self.rare()
    }
}

/// A task's template job as written: `template`, `job_dir`, `kwargs`, `inputs`, `script`,
/// `can_resume`. Strings may hold `{placeholder}` and `{params.key}`, filled as they are (not
/// quoted).
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateSpec {
    /// The template directory, relative to the task file.
    pub dir: String,
    /// The job directory, relative to the task file (default `.parade/jobs/<task name>`).
    pub job_dir: Option<String>,
    /// The parameters written to `kwargs.json`.
    pub kwargs: serde_json::Value,
    /// Files hashed for reuse, relative to the task file.
    pub inputs: Vec<String>,
    /// The script to run (default `run`).
    pub script: Option<String>,
    /// Whether an unfinished earlier run may run again.
    pub can_resume: bool,
}

/// A checked task file.
#[derive(Clone, Debug)]
pub struct TaskFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text, for messages.
    pub source: SourceFile,
    /// `[settings]`.
    pub settings: Settings,
    /// `[params]`, as text.
    pub params: BTreeMap<String, String>,
    /// The tasks, in file order.
    pub tasks: Vec<Task>,
    /// Top-level `[env]`, for every task (values may use `${VAR}`).
    pub env: Vec<(String, String)>,
    /// The `dotenv` file's variables, when it exists.
    pub dotenv: Vec<(String, String)>,
    /// Params whose value is a command's output: name and command, run once per run.
    pub param_commands: BTreeMap<String, String>,
    /// Things `check` warns about (a brace that looks like a misspelt field...).
    pub warnings: Vec<String>,
    /// The tasks by name, for [`TaskFile::task`] (`TaskIndex::default()` when making one).
    pub index: TaskIndex,
}

impl TaskFile {
    /// The directory relative paths are taken from.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(PathBuf::from)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Makes [`TaskFile::task`] see a changed `tasks` list (call it after changing the list).
    pub fn reindex(&mut self) {
        self.index.clear();
    }

    /// The task named exactly `name` (patterns by their pattern), by one hash lookup.
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.index.find(&self.tasks, name)
    }

    /// The task name `name` stands for: the name itself, or the task it is an alias of.
    pub fn unalias<'n>(&'n self, name: &'n str) -> &'n str {
        if self.task(name).is_some() {
            return name;
        }
        self.tasks
            .iter()
            .find(|t| t.aliases.iter().any(|a| a == name))
            .map_or(name, |t| t.name.as_str())
    }

    /// The task a concrete name is an instance of, with its placeholder values: an exact name
    /// first, else the first pattern that matches.
    pub fn resolve(&self, name: &str) -> Option<(&Task, BTreeMap<String, String>)> {
        if let Some(t) = self.task(name) {
            return Some((t, BTreeMap::new()));
        }
        self.tasks.iter().find_map(|t| {
            (!t.pattern.is_concrete())
                .then(|| t.pattern.matches(name, &self.settings.separator))
                .flatten()
                .map(|args| (t, args))
        })
    }
}
