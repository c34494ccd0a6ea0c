//! What a running proc's [`Context`](super::Context) asks of its flow, behind one small trait:
//! answered by the flow itself when the proc runs in this process, and over the worker
//! protocol when it runs in a worker process (see [`remote`](super::remote)).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::engine::{Stream, TaskContext};

use super::{Flow, FlowError};

/// The flow operations a context offers.
pub(crate) trait Ops: Sync {
    fn create(&self, name: &str) -> Result<Vec<String>, FlowError>;
    fn create_as(&self, name: &str, proc_name: &str) -> Result<Vec<String>, FlowError>;
    fn start(&self, names: Vec<String>) -> Result<(), FlowError>;
    fn run(&self, name: &str) -> Result<Vec<String>, FlowError>;
    fn wait(&self, names: Vec<String>) -> Result<(), FlowError>;
    fn result(&self, name: &str) -> Result<Value, FlowError>;
    fn results(&self) -> BTreeMap<String, Value>;
    fn params(&self) -> Map<String, Value>;
    fn emit(&self, stream: Stream, line: String);
    fn is_cancelled(&self) -> bool;
    fn deadline(&self) -> Option<Instant>;
    /// Runs `hook` when the proc is cancelled (in a worker, the process itself is stopped).
    fn on_cancel(&self, hook: Box<dyn FnOnce() + Send>);
    /// The dependencies of proc `name` that changed in this run.
    fn changed_deps(&self, name: &str) -> Vec<String>;
}

/// A proc running in the flow's own process.
pub(crate) struct Local<'a> {
    pub(crate) flow: &'a Flow,
    pub(crate) task: &'a TaskContext,
}

impl Ops for Local<'_> {
    fn create(&self, name: &str) -> Result<Vec<String>, FlowError> {
        self.flow.create(name)
    }
    fn create_as(&self, name: &str, proc_name: &str) -> Result<Vec<String>, FlowError> {
        self.flow.create_as(name, proc_name)
    }
    fn start(&self, names: Vec<String>) -> Result<(), FlowError> {
        self.flow.start(names)
    }
    fn run(&self, name: &str) -> Result<Vec<String>, FlowError> {
        self.flow.run(name)
    }
    fn wait(&self, names: Vec<String>) -> Result<(), FlowError> {
        self.flow.wait(names)
    }
    fn result(&self, name: &str) -> Result<Value, FlowError> {
        self.flow.result(name)
    }
    fn results(&self) -> BTreeMap<String, Value> {
        self.flow.results()
    }
    fn params(&self) -> Map<String, Value> {
        self.flow.params()
    }
    fn emit(&self, stream: Stream, line: String) {
        self.task.emit_from(stream, line);
    }
    fn is_cancelled(&self) -> bool {
        self.task.is_cancelled()
    }
    fn deadline(&self) -> Option<Instant> {
        self.task.deadline()
    }
    fn on_cancel(&self, hook: Box<dyn FnOnce() + Send>) {
        self.task.on_cancel(hook);
    }
    fn changed_deps(&self, name: &str) -> Vec<String> {
        self.flow.changed_deps_of(name)
    }
}
