//! [`FlowError`]: everything a flow call can refuse, in proc names, and [`ProcError`]: how a
//! proc says it failed, skipped, or changed nothing.

use std::fmt;

use crate::engine::TaskState;

/// Why a flow call was refused, or why a wait ended badly. Every message names procs by name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// A proc with this name exists already.
    #[error("proc \"{0}\" is already defined")]
    DuplicateProc(String),
    /// A proto with this pattern exists already.
    #[error("proto \"{0}\" is already defined")]
    DuplicateProto(String),
    /// Proc names are fully filled out; patterns belong to protos.
    #[error(
        "proc name \"{0}\" contains [placeholders]; a proc name must be filled out (define a proto for a pattern)"
    )]
    PlaceholderInProcName(String),
    /// No proc or proto has this name, and no proto pattern matches it.
    #[error("no proc or proto matches \"{0}\"")]
    NoProto(String),
    /// The name matches more than one proto, so which to use is ambiguous.
    #[error("\"{name}\" matches several protos: {}", quoted(.protos))]
    SeveralProtos {
        /// The name asked for.
        name: String,
        /// The patterns it matches.
        protos: Vec<String>,
    },
    /// Two placeholders of a proto pattern are not split by the separator.
    #[error(
        "pattern \"{pattern}\" must put the separator \"{separator}\" between placeholders, found \"{found}\""
    )]
    Separator {
        /// The proto pattern.
        pattern: String,
        /// The flow's separator.
        separator: String,
        /// What stands between the placeholders instead.
        found: String,
    },
    /// Choices were given for a name that is not a placeholder of the pattern.
    #[error(
        "choices given for \"{key}\", which is not a placeholder of \"{pattern}\" (placeholders: {})",
        quoted(.params)
    )]
    ChoicesKey {
        /// The key of the choices.
        key: String,
        /// The proto pattern.
        pattern: String,
        /// Its placeholders.
        params: Vec<String>,
    },
    /// A `*` or `?` in an argument whose placeholder has no choices to expand over.
    #[error(
        "\"{name}\" has a glob in argument \"{arg}\", but proto \"{proto}\" gives no choices for \"{arg}\" to expand it over"
    )]
    GlobWithoutChoices {
        /// The name asked for.
        name: String,
        /// The proto pattern.
        proto: String,
        /// The placeholder holding the glob.
        arg: String,
    },
    /// A glob matched none of the placeholder's choices.
    #[error("glob \"{glob}\" for argument \"{arg}\" matches none of its choices: {}", quoted(.allowed))]
    GlobNoMatch {
        /// The glob.
        glob: String,
        /// The placeholder.
        arg: String,
        /// Its choices.
        allowed: Vec<String>,
    },
    /// An argument value outside the placeholder's choices.
    #[error("argument \"{arg}\" is \"{value}\", which is not one of its choices: {}", quoted(.allowed))]
    NotAChoice {
        /// The placeholder.
        arg: String,
        /// The value given.
        value: String,
        /// Its choices.
        allowed: Vec<String>,
    },
    /// A pattern needs a placeholder value nobody gave.
    #[error("pattern \"{pattern}\" requires argument \"{arg}\", which was not given")]
    MissingArg {
        /// The pattern being filled.
        pattern: String,
        /// The placeholder without a value.
        arg: String,
    },
    /// A dependency pattern filled from arguments still has placeholders and names no proto.
    #[error(
        "dependency \"{dep}\" of \"{proc}\" became \"{filled}\", which still has placeholders and is no proto's pattern"
    )]
    UnresolvedDep {
        /// The proc declaring the dependency.
        proc: String,
        /// The dependency as declared.
        dep: String,
        /// What it became.
        filled: String,
    },
    /// A wanted proc depends on a name nothing defines, and `allow_missing_deps` is off.
    #[error(
        "proc \"{proc}\" depends on \"{dep}\", which does not exist (turn allow_missing_deps on to let it fail as dep-failed instead)"
    )]
    MissingDep {
        /// The dependent proc.
        proc: String,
        /// The missing name.
        dep: String,
    },
    /// A dependency in a higher wave than its dependent.
    #[error(
        "proc \"{proc}\" (wave {wave}) cannot depend on \"{dep}\" (wave {dep_wave}): dependencies must be in the same or a lower wave"
    )]
    WaveOrder {
        /// The dependent proc.
        proc: String,
        /// Its wave.
        wave: u32,
        /// The dependency.
        dep: String,
        /// The dependency's wave.
        dep_wave: u32,
    },
    /// A `WhenScheduled` or `WhenTargetScheduled` declarer was wanted after its target started.
    #[error(
        "proc \"{declarer}\" has a {rule} rdep on \"{target}\", but \"{target}\" is already {state}: \"{declarer}\" was scheduled too late to run before it"
    )]
    TooLate {
        /// The proc declaring the rule.
        declarer: String,
        /// `WhenScheduled` or `WhenTargetScheduled`.
        rule: &'static str,
        /// The target proc.
        target: String,
        /// The target's state.
        state: TaskState,
    },
    /// The dependencies would form a cycle; the path starts and ends with the same proc.
    #[error("dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// No proc has this name.
    #[error("no proc named \"{0}\"")]
    UnknownProc(String),
    /// Waiting for a proc that was never started would never end.
    #[error(
        "proc \"{0}\" was never started: start it (or a proc that needs it) before waiting for it"
    )]
    NotStarted(String),
    /// The proc has no argument of that name.
    #[error("proc \"{proc}\" has no argument \"{arg}\"")]
    NoArg {
        /// The proc.
        proc: String,
        /// The argument asked for.
        arg: String,
    },
    /// An argument could not be converted to the type the proc asked for.
    #[error("argument \"{arg}\" of \"{proc}\" is \"{value}\", which is not a valid {ty}: {why}")]
    BadArg {
        /// The proc.
        proc: String,
        /// The argument.
        arg: String,
        /// Its text.
        value: String,
        /// The type asked for.
        ty: &'static str,
        /// Why it did not convert.
        why: String,
    },
    /// A dependency closure or choices closure failed.
    #[error("{0}")]
    Closure(String),
    /// A stored result could not be read as the type asked for.
    #[error("result of \"{proc}\" cannot be read as {ty}: {why}")]
    ResultType {
        /// The proc.
        proc: String,
        /// The type asked for.
        ty: &'static str,
        /// The serde error.
        why: String,
    },
    /// Procs waited for did not succeed. Root causes come first.
    #[error("{}", failures_message(.0))]
    Failed(Vec<Failure>),
    /// The awaited procs cannot finish (every running proc waits and nothing can start).
    #[error("deadlock: {} cannot finish; every running proc is waiting and nothing else can start", quoted(.0))]
    Deadlock(Vec<String>),
    /// An option was refused.
    #[error("{0}")]
    Options(String),
    /// The flow's process refused a call a proc in a worker process made, with its reason.
    #[error("{0}")]
    Parent(String),
    /// The engine refused a call in a way the flow does not translate.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// A proc uses a counted resource the flow has no capacity for.
    #[error(
        "\"{proc}\" uses resource \"{resource}\", which has no capacity: give it one with Flow::resource(\"{resource}\", N)"
    )]
    UnknownResource {
        /// The proc or proto.
        proc: String,
        /// The resource it names.
        resource: String,
    },
    /// A proc uses more of a counted resource than its capacity: it could never start.
    #[error(
        "\"{proc}\" uses {amount} of resource \"{resource}\", whose capacity is {capacity}: it could never start"
    )]
    OverCapacity {
        /// The proc or proto.
        proc: String,
        /// The resource.
        resource: String,
        /// How much it uses.
        amount: u32,
        /// The capacity.
        capacity: u32,
    },
    /// A `log_ignore` rule of a proc or proto is not a valid regular expression.
    #[error("{kind} \"{proc}\": {error}")]
    LogIgnore {
        /// `proc` or `proto`.
        kind: &'static str,
        /// The proc or proto.
        proc: String,
        /// The pattern and what is wrong with it.
        error: crate::display::InvalidLogIgnore,
    },
}

/// One proc that did not succeed, and why, in proc names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The proc.
    pub name: String,
    /// Its final state.
    pub state: TaskState,
    /// Why, e.g. `exit status 1` or `dependency "build" failed`.
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name, self.state, self.reason)
    }
}

fn failures_message(failures: &[Failure]) -> String {
    let n = failures.len();
    let list: Vec<String> = failures.iter().map(ToString::to_string).collect();
    format!(
        "{n} proc{} did not succeed: {}",
        if n == 1 { "" } else { "s" },
        list.join("; ")
    )
}

pub(crate) fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a proc ends without a value: failed with a message, skipped, or ran and changed nothing.
///
/// Any `std::error::Error` converts into a failure, so `?` works in proc bodies.
///
/// ```
/// use parade::flow::ProcError;
/// fn parse(s: &str) -> Result<u32, ProcError> {
///     Ok(s.parse::<u32>()?) // a ParseIntError becomes a failure
/// }
/// assert_eq!(parse("x").unwrap_err().to_string(), "invalid digit found in string");
/// assert_eq!(ProcError::skipped("up to date").to_string(), "skipped: up to date");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcError {
    /// The proc failed; dependents become dep-failed.
    Failed(String),
    /// The proc had nothing to do; counts as success.
    Skipped(String),
    /// The proc ran and nothing changed; counts as success, shown as "no change".
    NoChange,
    /// A command the proc ran exited with this status.
    Exit(i32),
    /// A command the proc ran was killed by this signal.
    Signal(i32),
    /// The proc stopped because it was asked to: it ends as timed out if its deadline has
    /// passed, else as cancelled.
    Stopped,
    /// The proc's result from an earlier run still holds: it ends up to date with this result,
    /// saying why.
    UpToDate {
        /// The result it had then.
        result: serde_json::Value,
        /// Why it is up to date.
        why: String,
    },
}

impl ProcError {
    /// A failure with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        ProcError::Failed(message.into())
    }

    /// A skip, saying why.
    pub fn skipped(why: impl Into<String>) -> Self {
        ProcError::Skipped(why.into())
    }

    /// "Ran fine, nothing changed".
    pub fn no_change() -> Self {
        ProcError::NoChange
    }
}

impl fmt::Display for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcError::Failed(m) => f.write_str(m),
            ProcError::Skipped(m) => write!(f, "skipped: {m}"),
            ProcError::NoChange => f.write_str("no change"),
            ProcError::Exit(code) => write!(f, "exit status {code}"),
            ProcError::Signal(sig) => write!(f, "killed by signal {sig}"),
            ProcError::Stopped => f.write_str("stopped"),
            ProcError::UpToDate { why, .. } => write!(f, "up to date: {why}"),
        }
    }
}

impl<E: std::error::Error> From<E> for ProcError {
    fn from(e: E) -> Self {
        ProcError::Failed(e.to_string())
    }
}
