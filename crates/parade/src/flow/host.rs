//! The parent's side of a proc running in a worker process: the [`WorkerHost`] that answers
//! the calls its context makes (by calling the flow) and stores the result it reports; with a
//! run store, a success is recorded here once its outputs are checked, and a skip as it is
//! reported (see [`incremental`](super::incremental)).

use std::sync::{Arc, Weak};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::exec::process::{Done, WorkerCall, WorkerHost};

use super::handle::Inner;
use super::incremental::Tracked;
use super::job::NO_CHANGE;
use super::{Decl, Flow, FlowError};

/// Answers one proc's worker.
struct ProcHost {
    flow: Weak<Inner>,
    name: String,
    /// What the parent keeps to record it (with a store).
    tracked: Option<Arc<Tracked>>,
}

fn arg<T: DeserializeOwned>(args: Value) -> Result<T, String> {
    serde_json::from_value(args).map_err(|e| format!("bad arguments: {e}"))
}

fn answer<T: serde::Serialize>(r: Result<T, FlowError>) -> Result<Value, String> {
    let value = r.map_err(|e| e.to_string())?;
    serde_json::to_value(value).map_err(|e| e.to_string())
}

impl WorkerHost for ProcHost {
    fn call(&self, method: &str, args: Value) -> Result<Value, String> {
        let inner = self.flow.upgrade().ok_or("the flow is gone")?;
        let flow = Flow { inner };
        match method {
            "create" => answer(flow.create(&arg::<String>(args)?)),
            "create_as" => {
                let (name, proc_name) = arg::<(String, String)>(args)?;
                answer(flow.create_as(&name, &proc_name))
            }
            "start" => answer(flow.start(arg::<Vec<String>>(args)?)),
            "run" => answer(flow.run(&arg::<String>(args)?)),
            "wait" => answer(flow.wait(arg::<Vec<String>>(args)?)),
            "result" => answer(flow.result::<Value>(&arg::<String>(args)?)),
            "results" => answer(Ok(flow.results())),
            "params" => answer(Ok(flow.params())),
            "changed_deps" => answer(Ok(flow.changed_deps_of(&arg::<String>(args)?))),
            other => Err(format!("a flow has no method `{other}`")),
        }
    }

    fn receive(&self, done: &Done) -> Result<(), String> {
        if let (Done::Ok(value), Some(tracked), Some(inner)) =
            (done, &self.tracked, self.flow.upgrade())
        {
            let flow = Flow { inner };
            if let Err(why) = flow.received(&self.name, tracked, value) {
                if let Some(id) = flow.id(&self.name) {
                    flow.store(id, Value::Null, false);
                }
                return Err(why);
            }
        }
        if let (Done::Skip(_), Some(tracked), Some(inner)) =
            (done, &self.tracked, self.flow.upgrade())
        {
            Flow { inner }.received_skip(&self.name, tracked);
        }
        self.done(done);
        Ok(())
    }

    fn done(&self, done: &Done) {
        let Some(inner) = self.flow.upgrade() else {
            return;
        };
        let flow = Flow { inner };
        let Some(id) = flow.id(&self.name) else {
            return;
        };
        match done {
            Done::Ok(value) | Done::UpToDate(value, _) => flow.store(id, value.clone(), false),
            Done::Skip(why) => flow.store(id, Value::Null, why == NO_CHANGE),
            Done::Err(_) | Done::Panic(_) => flow.store(id, Value::Null, false),
        }
    }
}

impl Flow {
    /// Whether the flow's executor runs procs outside this process.
    pub(crate) fn runs_remote(&self) -> bool {
        self.inner.remote
    }

    /// What a worker process runs for proc `name`: the definition to look for, the proc's
    /// name and arguments, and the host answering it.
    pub(crate) fn worker_call(
        &self,
        name: &str,
        decl: &Decl,
        args: &Arc<[(String, String)]>,
        tracked: Option<Arc<Tracked>>,
    ) -> WorkerCall {
        WorkerCall {
            task: decl.def.to_string(),
            args: json!({ "name": name, "args": &**args }),
            host: Some(Arc::new(ProcHost {
                flow: Arc::downgrade(&self.inner),
                name: name.to_owned(),
                tracked,
            })),
            resources: decl.resources.clone(),
        }
    }
}
