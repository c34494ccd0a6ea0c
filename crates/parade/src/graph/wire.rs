//! How a graph task's job is made: its closure run here ([`run_here`]), or, for a named task,
//! a job that an out-of-process executor can also run as a [`WorkerCall`] ([`named_job`]): the
//! name and the input values as JSON, serialized when the task starts, and the host that
//! reads the value back. A value that cannot cross (not serializable, or not readable back)
//! fails its task with the reason. It does not know builders or submission.

use std::any::Any;
use std::fmt::Display;
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Graph;
use super::functions::{Signature, check};
use super::handle::{Slot, Unavailable};
use super::hints::Resources;
use super::inputs::{Inputs, input_error};
use crate::engine::{Job, Outcome, TaskContext, TaskId};
use crate::exec::process::{Done, Refusal, WorkerCall, WorkerHost};

/// How a named task crosses a process boundary: its name, how its inputs become JSON and how
/// its value comes back.
pub(crate) struct Wire<I: Inputs, R> {
    pub(crate) name: Arc<str>,
    pub(crate) args: fn(&I::Readers) -> Result<Value, String>,
    pub(crate) value: fn(&Value) -> Result<R, String>,
    pub(crate) signature: Signature,
}

impl<I: Inputs, R> Wire<I, R> {
    /// Why the executor of `graph` cannot take this task, if it cannot.
    pub(crate) fn refusal(&self, graph: &Graph) -> Option<String> {
        if graph.inner.in_process {
            return None;
        }
        check(&self.name, self.signature)
    }
}

pub(crate) fn args<I>(readers: &I::Readers) -> Result<Value, String>
where
    I: Inputs,
    I::Values: Serialize,
{
    let values = I::read(readers).map_err(|(id, why)| input_error(id, why))?;
    serde_json::to_value(&values).map_err(|e| format!("its inputs cannot be serialized: {e}"))
}

pub(crate) fn value<R: DeserializeOwned>(v: &Value) -> Result<R, String> {
    R::deserialize(v).map_err(|e| format!("its value cannot be read back from the worker: {e}"))
}

/// Receives a named task's value from its worker.
struct ValueHost<R> {
    slot: Arc<Slot<R>>,
    value: fn(&Value) -> Result<R, String>,
}

impl<R: Send + Sync + 'static> WorkerHost for ValueHost<R> {
    fn call(&self, method: &str, _: Value) -> Result<Value, String> {
        Err(format!("a graph task cannot call `{method}`"))
    }

    fn receive(&self, done: &Done) -> Result<(), String> {
        if let Done::Ok(v) = done {
            let _ = self.slot.cell.set((self.value)(v)?);
        }
        Ok(())
    }
}

/// What a graph task's hints ask of a cluster, for a worker call: `cores` → `cpus`; hints
/// `mem`, `time`, `partition` and `account` → those fields; hints named `sbatch:OPTION` → the
/// `sbatch` option `--OPTION=value`. Other hints only describe the task (logs, dry runs) and
/// reach no cluster, so a descriptive hint can never make a submission fail. `None` when
/// there is no hint.
pub(crate) fn cluster_resources(hints: &Resources) -> Option<crate::exec::ResourceHints> {
    if hints.is_empty() {
        return None;
    }
    let mut out = crate::exec::ResourceHints {
        cpus: hints.cores.map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
        ..crate::exec::ResourceHints::default()
    };
    for (key, value) in &hints.hints {
        let field = match key.as_str() {
            "mem" => &mut out.mem,
            "time" => &mut out.time,
            "partition" => &mut out.partition,
            "account" => &mut out.account,
            other => {
                if let Some(option) = other.strip_prefix("sbatch:") {
                    out.extra.push(format!("--{option}={value}"));
                }
                continue;
            }
        };
        *field = Some(value.clone());
    }
    Some(out)
}

type Local = Box<dyn FnOnce(&TaskContext) -> Outcome + Send>;
type Remote = Box<dyn Fn() -> Result<WorkerCall, String> + Send + Sync>;

/// The job of a named task: its closure, or a worker call made when an executor asks.
struct NamedJob {
    local: Local,
    remote: Remote,
    call: OnceLock<Result<WorkerCall, Refusal>>,
}

impl Job for NamedJob {
    fn run(self: Box<Self>, ctx: &TaskContext) -> Outcome {
        (self.local)(ctx)
    }

    fn remote(&self) -> Option<&(dyn Any + Send + Sync)> {
        match self.call.get_or_init(|| (self.remote)().map_err(Refusal)) {
            Ok(call) => Some(call),
            Err(refusal) => Some(refusal),
        }
    }
}

/// Runs `f` on the inputs' values (or fails naming the input that has none) and fills
/// `out`: a graph task's work in this process.
pub(crate) fn run_here<V, R, E, F>(
    values: Result<V, (TaskId, Unavailable)>,
    out: &OnceLock<R>,
    f: F,
) -> Outcome
where
    E: Display,
    F: FnOnce(V) -> Result<R, E>,
{
    let values = match values {
        Ok(v) => v,
        Err((id, why)) => return Outcome::failed(input_error(id, why)),
    };
    match f(values) {
        Ok(value) => {
            let _ = out.set(value);
            Outcome::Succeeded
        }
        Err(e) => Outcome::failed(e.to_string()),
    }
}

/// The job of a named task whose executor may run it elsewhere.
pub(crate) fn named_job<I, R, E, F>(
    wire: Wire<I, R>,
    refusal: Option<String>,
    resources: &Resources,
    readers: I::Readers,
    out: Arc<Slot<R>>,
    f: F,
) -> impl Job
where
    I: Inputs,
    R: Send + Sync + 'static,
    E: Display,
    F: FnOnce(I::Values) -> Result<R, E> + Send + 'static,
{
    let readers = Arc::new(readers);
    let cluster = cluster_resources(resources);
    let (here, slot) = (readers.clone(), out.clone());
    let local: Local = Box::new(move |_| {
        let values = I::read(&here);
        drop(here);
        run_here(values, &slot.cell, f)
    });
    let Wire {
        name,
        args,
        value,
        signature: _,
    } = wire;
    let remote: Remote = Box::new(move || {
        if let Some(why) = &refusal {
            return Err(why.clone());
        }
        Ok(WorkerCall {
            task: name.to_string(),
            args: args(&readers).map_err(|e| format!("task `{name}` cannot be sent: {e}"))?,
            host: Some(Arc::new(ValueHost {
                slot: out.clone(),
                value,
            })),
            resources: cluster.clone(),
        })
    });
    NamedJob {
        local,
        remote,
        call: OnceLock::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_map_to_cluster_resources() {
        assert!(cluster_resources(&Resources::default()).is_none());
        let hints = Resources {
            cores: Some(4),
            hints: [
                ("mem", "8G"),
                ("time", "1:00:00"),
                ("partition", "gpu"),
                ("account", "lab"),
                ("sbatch:gres", "gpu:1"),
                ("sbatch:constraint", "avx2"),
                ("gpu", "none"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            uses: Vec::new(),
        };
        let r = cluster_resources(&hints).unwrap();
        assert_eq!(r.cpus, Some(4));
        assert_eq!(r.mem.as_deref(), Some("8G"));
        assert_eq!(r.time.as_deref(), Some("1:00:00"));
        assert_eq!(r.partition.as_deref(), Some("gpu"));
        assert_eq!(r.account.as_deref(), Some("lab"));
        assert_eq!(r.extra, ["--gres=gpu:1", "--constraint=avx2"]);
        let only_cores = Resources {
            cores: Some(2),
            hints: Vec::new(),
            uses: Vec::new(),
        };
        let r = cluster_resources(&only_cores).unwrap();
        assert_eq!((r.cpus, r.extra.len()), (Some(2), 0));
    }
}
