//! [`Functions`]: the graph's named functions, which a worker process runs by name.
//!
//! A graph task given a name ([`TaskBuilder::named`](super::TaskBuilder::named)) runs its
//! closure in this process on an in-process executor. On an executor that runs tasks in other
//! processes (the [`ProcessExecutor`](crate::exec::process::ProcessExecutor)), the task is sent
//! by name: the worker process, started from the same program, re-runs `main`, whose first line
//! serves the requested function from a `Functions` registry and exits before the workflow is
//! built again. The program registers the same function under the same name that its graph
//! tasks use.
//!
//! Why a registry and not "the worker runs the workflow again until it submits that task" (the
//! flow's way): a graph is built while it runs (what is submitted can depend on values read
//! with [`Handle::value`](super::Handle::value)), and a closure may capture values that differ
//! from one submission to the next. A function registered at the top of `main` is the same in
//! every process, and its inputs come as values.
//!
//! Built on the process executor's [`Registry`]: inputs and results cross the boundary as JSON.

use std::any::{TypeId, type_name};
use std::collections::HashMap;
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};

use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::panic_message;
use crate::exec::process::Registry;

/// The input and value types of a registered function.
#[derive(Clone, Copy)]
pub(crate) struct Signature {
    pub(crate) inputs: (TypeId, &'static str),
    pub(crate) value: (TypeId, &'static str),
}

impl Signature {
    pub(crate) fn of<V: 'static, R: 'static>() -> Self {
        Self {
            inputs: (TypeId::of::<V>(), type_name::<V>()),
            value: (TypeId::of::<R>(), type_name::<R>()),
        }
    }
}

/// The functions served in this process, for checking named tasks when they are submitted;
/// `None` until a [`Functions`] registry serves.
static SERVED: Mutex<Option<HashMap<String, Signature>>> = Mutex::new(None);

/// Why a task named `name` with signature `wanted` cannot be sent to a worker, if it cannot:
/// no function of that name, or one of other types, was registered. `None` when it can, or when
/// no [`Functions`] registry served in this process (the program may serve its own
/// [`Registry`]).
pub(crate) fn check(name: &str, wanted: Signature) -> Option<String> {
    let served = SERVED.lock();
    let served = served.as_ref()?;
    let Some(has) = served.get(name) else {
        let mut known: Vec<&String> = served.keys().collect();
        known.sort();
        return Some(format!(
            "no function named `{name}` is registered (it has: {known:?}); register it with \
             `Functions::add` at the top of `main`"
        ));
    };
    if has.inputs.0 != wanted.inputs.0 || has.value.0 != wanted.value.0 {
        return Some(format!(
            "the function registered as `{name}` takes {} and gives {}, but the task gives it {} \
             and wants {}",
            has.inputs.1, has.value.1, wanted.inputs.1, wanted.value.1
        ));
    }
    None
}

/// The graph's named functions: what a worker process can run for a graph task sent to it by
/// name. Build it and call [`Functions::serve`] at the top of `main`, before anything else.
///
/// ```no_run
/// use std::sync::Arc;
/// use parade::exec::process::ProcessExecutor;
/// use parade::graph::{Functions, Graph};
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// fn main() {
///     // In a worker: runs the requested function and exits. Otherwise: returns.
///     Functions::new().add("seven", |()| 7_u64).add("square", square).serve();
///     let g = Graph::with_executor(Arc::new(ProcessExecutor::new(4).unwrap()));
///     let n = g.task("n").named("seven").submit(|| 7_u64);
///     let sq = g.task("square it").named("square").submit_after(&n, square);
///     println!("{}", sq.value().unwrap());
/// }
/// ```
#[derive(Default)]
pub struct Functions {
    registry: Registry,
    signatures: HashMap<String, Signature>,
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.signatures.keys().collect();
        names.sort();
        f.debug_struct("Functions")
            .field("names", &names)
            .finish_non_exhaustive()
    }
}

impl Functions {
    /// An empty registry.
    ///
    /// ```
    /// let functions = parade::graph::Functions::new();
    /// assert!(functions.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `f` under `name`: a task named `name` whose input values are a `V` and whose
    /// value is an `R` runs it in a worker. `V` is what the task's closure receives: a value for
    /// one handle, a tuple for a tuple of inputs, a `Vec` for a `Vec` of handles, `()` for none.
    ///
    /// ```
    /// use parade::graph::Functions;
    /// let functions = Functions::new().add("add", |(a, b): (i64, i64)| a + b);
    /// assert_eq!(functions.len(), 1);
    /// ```
    #[must_use = "a registry does nothing until it serves"]
    pub fn add<V, R, F>(self, name: impl Into<String>, f: F) -> Self
    where
        V: DeserializeOwned + 'static,
        R: Serialize + 'static,
        F: Fn(V) -> R + Send + Sync + 'static,
    {
        self.try_add(name, move |v| Ok::<R, std::convert::Infallible>(f(v)))
    }

    /// Registers `f`, which may fail, under `name` (for tasks submitted with
    /// [`try_submit_after`](super::Named::try_submit_after)): an `Err` fails the task with its
    /// message.
    ///
    /// ```
    /// use parade::graph::Functions;
    /// let functions = Functions::new().try_add("parse", |s: String| s.parse::<i32>());
    /// assert_eq!(functions.len(), 1);
    /// ```
    #[must_use = "a registry does nothing until it serves"]
    pub fn try_add<V, R, E, F>(mut self, name: impl Into<String>, f: F) -> Self
    where
        V: DeserializeOwned + 'static,
        R: Serialize + 'static,
        E: Display,
        F: Fn(V) -> Result<R, E> + Send + Sync + 'static,
    {
        let name = name.into();
        self.signatures
            .insert(name.clone(), Signature::of::<V, R>());
        let task = name.clone();
        self.registry.register(name, move |args: &Value, _| {
            let inputs = V::deserialize(args)
                .map_err(|e| format!("the inputs of `{task}` cannot be read in the worker: {e}"))?;
            let value = catch_unwind(AssertUnwindSafe(|| f(inputs)))
                .map_err(|p| format!("panicked: {}", panic_message(p.as_ref())))?
                .map_err(|e| e.to_string())?;
            serde_json::to_value(&value)
                .map_err(|e| format!("the value of `{task}` cannot be serialized: {e}"))
        });
        self
    }

    /// How many functions are registered.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// In a worker process: runs the requested function on the inputs its parent sent, reports
    /// the value (or why there is none) and exits. In any other process: remembers the names
    /// and types, so named tasks are checked against them when submitted, and returns. Call it
    /// at the top of `main`.
    pub fn serve(self) {
        {
            let mut served = SERVED.lock();
            let served = served.get_or_insert_with(HashMap::new);
            served.extend(self.signatures.iter().map(|(k, v)| (k.clone(), *v)));
        }
        self.registry.serve();
    }
}
