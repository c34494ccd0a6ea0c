//! [`Context`]: what a running proc sees and can do, and [`FromArg`], how argument text becomes
//! the type a proc asks for.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::{Stream, TaskContext};

use super::ops::Ops;
use super::{Flow, FlowError};

/// Converts an argument's text to a typed value.
///
/// Numbers parse as Rust does; `bool` accepts `true`/`false`, `yes`/`no`, `on`/`off` and
/// `1`/`0` in any case.
///
/// ```
/// use parade::flow::FromArg;
/// assert_eq!(u32::from_arg("42"), Ok(42));
/// assert_eq!(bool::from_arg("Yes"), Ok(true));
/// assert!(u8::from_arg("300").is_err());
/// ```
pub trait FromArg: Sized {
    /// A short name for the type, as shown in errors.
    const TYPE: &'static str;
    /// Converts, or says why not.
    fn from_arg(text: &str) -> Result<Self, String>;
}

macro_rules! from_str_args {
    ($($t:ty),*) => {$(
        impl FromArg for $t {
            const TYPE: &'static str = stringify!($t);
            fn from_arg(text: &str) -> Result<Self, String> {
                text.parse::<$t>().map_err(|e| e.to_string())
            }
        }
    )*};
}

from_str_args!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, char
);

impl FromArg for String {
    const TYPE: &'static str = "string";
    fn from_arg(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl FromArg for PathBuf {
    const TYPE: &'static str = "path";
    fn from_arg(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
}

impl FromArg for bool {
    const TYPE: &'static str = "bool";
    fn from_arg(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err("expected true/false, yes/no, on/off or 1/0".to_owned()),
        }
    }
}

/// What a running proc sees: its name and arguments, the flow's params, results of finished
/// procs; and what it can do: emit log lines, and create, start, run and wait for other procs.
///
/// A proc that waits for procs it started lends its place under the parallel limit while it
/// waits, so fanning out and waiting never deadlocks the pool.
///
/// ```
/// use parade::flow::Flow;
/// let flow = Flow::new();
/// flow.proto("square::[n]", |ctx| { let n: u64 = ctx.arg("n")?; Ok(n * n) }).add().unwrap();
/// flow.proc("sum", |ctx| {
///     let names: Vec<String> = (1..=4).map(|n| format!("square::{n}")).collect();
///     for n in &names { ctx.run(n)?; }
///     ctx.wait(&names)?;
///     Ok(names.iter().map(|n| ctx.result::<u64>(n).unwrap()).sum::<u64>())
/// }).add().unwrap();
/// flow.run("sum").unwrap();
/// flow.wait_all().unwrap();
/// assert_eq!(flow.result::<u64>("sum").unwrap(), 30);
/// ```
pub struct Context<'a> {
    pub(crate) ops: &'a dyn Ops,
    pub(crate) task: Option<&'a TaskContext>,
    pub(crate) flow: &'a Flow,
    pub(crate) name: &'a Arc<str>,
    pub(crate) args: &'a [(String, String)],
}

impl Context<'_> {
    /// The proc's dependencies that changed in this run: those that ran (or failed) rather than
    /// being up to date or skipped (parproc's `changed_deps`; a succeeded dependency counts as
    /// changed). In a worker process the parent answers.
    ///
    /// ```
    /// use parade::flow::{Flow, ProcError};
    /// let flow = Flow::inline();
    /// flow.proc("gen", |_| Ok(1)).add().unwrap();
    /// flow.proc("same", |_| Err::<(), _>(ProcError::no_change())).add().unwrap();
    /// flow.proc("use", |ctx| Ok(ctx.changed_deps())).deps(["gen", "same"]).add().unwrap();
    /// flow.run("use").unwrap();
    /// flow.wait_all().unwrap();
    /// assert_eq!(flow.result::<Vec<String>>("use").unwrap(), ["gen"]);
    /// ```
    pub fn changed_deps(&self) -> Vec<String> {
        // In a worker process, only the parent knows the dependencies' states.
        self.ops.changed_deps(self.name)
    }

    /// Whether any dependency changed in this run ([`Context::changed_deps`] is not empty).
    pub fn deps_changed(&self) -> bool {
        !self.changed_deps().is_empty()
    }

    /// The proc's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// An argument converted to `T`: `ctx.arg::<u32>("seed")`.
    ///
    /// Errors: the proc has no such argument, or its text is not a valid `T`.
    pub fn arg<T: FromArg>(&self, key: &str) -> Result<T, FlowError> {
        let text = self.arg_str(key).ok_or_else(|| FlowError::NoArg {
            proc: self.name.to_string(),
            arg: key.to_owned(),
        })?;
        T::from_arg(text).map_err(|why| FlowError::BadArg {
            proc: self.name.to_string(),
            arg: key.to_owned(),
            value: text.to_owned(),
            ty: T::TYPE,
            why,
        })
    }

    /// An argument's text.
    pub fn arg_str(&self, key: &str) -> Option<&str> {
        // A dependency closure's view of the proc reads its arguments: one rule for both.
        super::dep::arg_of(self.args, key)
    }

    /// Every argument, in pattern order.
    pub fn args(&self) -> &[(String, String)] {
        self.args
    }

    /// A flow param, read as `T`; `None` if it is not set or is not a `T`.
    pub fn param<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let value = self.ops.params().remove(key)?;
        serde_json::from_value(value).ok()
    }

    /// Every flow param.
    pub fn params(&self) -> serde_json::Map<String, Value> {
        self.ops.params()
    }

    /// The result of a finished proc, read as `T`.
    pub fn result<T: DeserializeOwned>(&self, name: &str) -> Result<T, FlowError> {
        let value = self.ops.result(name)?;
        super::results::typed(name, value)
    }

    /// Results of every finished proc so far.
    pub fn results(&self) -> BTreeMap<String, Value> {
        self.ops.results()
    }

    /// Emits one line for observers (the display, this proc's log file).
    pub fn emit(&self, line: impl Into<String>) {
        self.ops.emit(Stream::Stdout, line.into());
    }

    /// Same as [`Context::emit`].
    pub fn log(&self, line: impl Into<String>) {
        self.emit(line);
    }

    /// Emits one line, saying which stream it came from.
    pub fn emit_from(&self, stream: Stream, line: impl Into<String>) {
        self.ops.emit(stream, line.into());
    }

    /// Whether the proc was asked to stop (cancelled, or its deadline passed). Check it now and
    /// then in long loops: a thread cannot be stopped from outside. (In a worker process it
    /// stays false: the process itself is stopped.)
    pub fn is_cancelled(&self) -> bool {
        self.ops.is_cancelled()
    }

    /// When the proc's time runs out, if it has a timeout (in this process).
    pub fn deadline(&self) -> Option<Instant> {
        self.ops.deadline()
    }

    /// The flow this proc runs in. In a worker process this is the worker's copy of the
    /// definitions: use the context's own methods to create, start and wait for procs.
    pub fn flow(&self) -> &Flow {
        self.flow
    }

    /// The engine's view of this task; `None` when the proc runs in a worker process.
    pub fn task(&self) -> Option<&TaskContext> {
        self.task
    }

    /// Creates procs from a proto by filled-out name (see [`Flow::create`]).
    pub fn create(&self, name: &str) -> Result<Vec<String>, FlowError> {
        self.ops.create(name)
    }

    /// Creates one proc from the proto `name` addresses under the name `proc_name` (parproc's
    /// `create(proto_name, proc_name)`; see [`Flow::create_as`]).
    pub fn create_as(&self, name: &str, proc_name: &str) -> Result<Vec<String>, FlowError> {
        self.ops.create_as(name, proc_name)
    }

    /// Starts procs (see [`Flow::start`]).
    pub fn start<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<(), FlowError> {
        self.ops.start(owned(names))
    }

    /// Creates and starts (see [`Flow::run`]).
    pub fn run(&self, name: &str) -> Result<Vec<String>, FlowError> {
        self.ops.run(name)
    }

    /// Waits for procs, starting those not started yet (see [`Flow::wait`]).
    pub fn wait<S: AsRef<str>>(&self, names: impl IntoIterator<Item = S>) -> Result<(), FlowError> {
        self.ops.wait(owned(names))
    }
}

fn owned<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Vec<String> {
    names.into_iter().map(|n| n.as_ref().to_owned()).collect()
}
