//! The worker's side of a proc running in a worker process: when the program defines the proc
//! the parent asked for, the worker runs its body with a context whose flow operations go to
//! the parent, reports how it ended, and exits. A warm worker (the process executor's) then
//! serves the parent's next call: at once if the program defined that proc already (the
//! worker remembers the bodies it passed), or when the program comes to define it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::engine::{Outcome, Reason, Stream};
use crate::exec::process::{Done, WorkerSession, is_pending_worker, set_pending, take_pending};

use super::job::run_body;
use super::ops::Ops;
use super::proc::Body;
use super::{Context, Decl, Flow, FlowError};

/// A context's operations, asked of the parent over the worker protocol.
struct Remote<'a> {
    session: &'a WorkerSession,
}

impl Remote<'_> {
    fn ask<T: DeserializeOwned>(&self, method: &str, args: impl Serialize) -> Result<T, FlowError> {
        let args = serde_json::to_value(args).map_err(|e| FlowError::Parent(e.to_string()))?;
        let value = self.session.call(method, args).map_err(FlowError::Parent)?;
        serde_json::from_value(value).map_err(|e| FlowError::Parent(e.to_string()))
    }
}

impl Ops for Remote<'_> {
    fn create(&self, name: &str) -> Result<Vec<String>, FlowError> {
        self.ask("create", name)
    }
    fn create_as(&self, name: &str, proc_name: &str) -> Result<Vec<String>, FlowError> {
        self.ask("create_as", (name, proc_name))
    }
    fn start(&self, names: Vec<String>) -> Result<(), FlowError> {
        self.ask("start", names)
    }
    fn run(&self, name: &str) -> Result<Vec<String>, FlowError> {
        self.ask("run", name)
    }
    fn wait(&self, names: Vec<String>) -> Result<(), FlowError> {
        self.ask("wait", names)
    }
    fn result(&self, name: &str) -> Result<Value, FlowError> {
        self.ask("result", name)
    }
    fn results(&self) -> BTreeMap<String, Value> {
        self.ask("results", ()).unwrap_or_default()
    }
    fn params(&self) -> Map<String, Value> {
        self.ask("params", ()).unwrap_or_default()
    }
    fn emit(&self, stream: Stream, line: String) {
        // The worker's output is the proc's output.
        match stream {
            Stream::Stdout => println!("{line}"),
            Stream::Stderr => eprintln!("{line}"),
        }
    }
    fn is_cancelled(&self) -> bool {
        false
    }
    fn deadline(&self) -> Option<Instant> {
        None
    }
    fn on_cancel(&self, hook: Box<dyn FnOnce() + Send>) {
        drop(hook);
    }
    fn changed_deps(&self, name: &str) -> Vec<String> {
        self.ask("changed_deps", name).unwrap_or_default()
    }
}

/// The bodies a worker process's flows defined so far, by the flow's engine and the name
/// they were defined under: a warm worker's later call may ask for one of them.
static DEFINED: parking_lot::Mutex<Option<Bodies>> = parking_lot::Mutex::new(None);

/// Bodies by the flow's engine and the name they were defined under.
type Bodies = HashMap<(usize, Arc<str>), Body>;

impl Flow {
    /// In a worker process started for the proc or proto `def`: runs it, reports its end and
    /// exits (a warm worker serves its next calls first, as long as this program defined
    /// them already). Otherwise does nothing.
    pub(crate) fn serve_if_asked(&self, def: &str, decl: &Decl) {
        let Some(mut session) = take_pending(|task| task == def) else {
            self.remember_body(def, decl);
            return;
        };
        loop {
            let body = if session.task() == def {
                decl.body.clone()
            } else if let Some(body) = self.recall_body(session.task()) {
                body
            } else {
                // Defined further on, or never (the program's next run of a task says so).
                // Pending first: only a pending worker remembers bodies.
                set_pending(session);
                self.remember_body(def, decl);
                return;
            };
            let done = self.serve_call(&session, &body);
            session = session.next(done);
        }
    }

    /// Keeps `decl`'s body for a warm worker's later calls (only in a worker process).
    fn remember_body(&self, def: &str, decl: &Decl) {
        if is_pending_worker() {
            DEFINED
                .lock()
                .get_or_insert_with(HashMap::new)
                .insert((self.engine().key(), Arc::from(def)), decl.body.clone());
        }
    }

    fn recall_body(&self, def: &str) -> Option<Body> {
        DEFINED
            .lock()
            .as_ref()?
            .get(&(self.engine().key(), Arc::from(def)))
            .cloned()
    }

    /// Runs `body` for the call of `session` and says how it ended.
    fn serve_call(&self, session: &WorkerSession, body: &Body) -> Done {
        let call = session.args();
        let name: Arc<str> = Arc::from(call["name"].as_str().unwrap_or(session.task()));
        let args: Vec<(String, String)> =
            serde_json::from_value(call["args"].clone()).unwrap_or_default();
        let ops = Remote { session };
        let ctx = Context {
            ops: &ops,
            task: None,
            flow: self,
            name: &name,
            args: &args,
        };
        let ending = run_body(body, &ctx);
        match ending.outcome {
            Outcome::Succeeded => Done::Ok(ending.value),
            Outcome::Skipped(why) => Done::Skip(why),
            Outcome::UpToDate(why) => Done::UpToDate(ending.value, why),
            Outcome::Failed(Reason::Panic(m)) => Done::Panic(m),
            Outcome::Failed(Reason::Exit(code)) => exit_like(code),
            Outcome::Failed(Reason::Signal(sig)) => signal_like(sig),
            Outcome::Failed(reason) => Done::Err(reason.to_string()),
        }
    }
}

/// Ends the worker with the exit status a command of the proc ended with.
fn exit_like(code: i32) -> Done {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// Ends the worker by the signal a command of the proc ended by.
fn signal_like(sig: i32) -> Done {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    if let Ok(signal) = nix::sys::signal::Signal::try_from(sig) {
        let _ = nix::sys::signal::raise(signal);
    }
    Done::Err(format!("signal {sig}"))
}
