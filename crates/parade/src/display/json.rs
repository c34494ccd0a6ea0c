//! [`JsonReport`]: what `--output json` prints, one document at the end of a run.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::engine::{Event, Observer, Reason, TaskId, TaskState};

use super::names::{TaskNames, describe_reason, display_name};

/// Collects how each task ended and writes it as one JSON document:
///
/// ```json
/// {
///   "ok": false,
///   "counts": { "succeeded": 1, "failed": 1 },
///   "tasks": {
///     "build": { "state": "succeeded", "duration": 1.5, "reason": null, "result": {"size": 3} },
///     "test":  { "state": "failed", "duration": 0.2, "reason": "exit status 1", "result": null }
///   }
/// }
/// ```
///
/// `ok` is true when every task succeeded or was skipped. Results come from the caller at the
/// end (the observer sees no results), by task id.
///
/// ```
/// use std::sync::Arc;
/// use parade::display::{JsonReport, NameTable};
/// use parade::engine::{Engine, Outcome, TaskSpec};
///
/// let engine = Engine::inline();
/// let names = Arc::new(NameTable::new());
/// let report = JsonReport::new(names.clone());
/// engine.subscribe(report.clone());
/// let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
/// names.insert(t, "build");
/// engine.want([t]).unwrap();
/// engine.wait_all().unwrap();
/// let doc = report.to_value(|_| Some(serde_json::json!(42)));
/// assert_eq!(doc["tasks"]["build"]["state"], "succeeded");
/// assert_eq!(doc["tasks"]["build"]["result"], 42);
/// assert_eq!(doc["ok"], true);
/// ```
///
/// Clones share the same report: subscribe one clone, write the other.
#[derive(Clone)]
pub struct JsonReport {
    names: Arc<dyn TaskNames>,
    ended: Arc<Mutex<BTreeMap<TaskId, Ended>>>,
}

struct Ended {
    state: TaskState,
    duration: Duration,
    reason: Option<Reason>,
}

impl JsonReport {
    /// An empty report naming tasks with `names`.
    pub fn new(names: Arc<dyn TaskNames>) -> Self {
        Self {
            names,
            ended: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// The document, with each finished task's result from `result` (`null` when it gives
    /// `None`).
    pub fn to_value(&self, result: impl Fn(TaskId) -> Option<Value>) -> Value {
        let ended = self.ended.lock();
        let mut tasks = Map::new();
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let mut ok = true;
        for (id, e) in ended.iter() {
            ok &= e.state.is_success();
            *counts.entry(e.state.as_str()).or_default() += 1;
            tasks.insert(
                display_name(&*self.names, *id),
                json!({
                    "state": e.state.as_str(),
                    "duration": e.duration.as_secs_f64(),
                    "reason": e.reason.as_ref().map(|r| describe_reason(r, &*self.names)),
                    "result": result(*id).unwrap_or(Value::Null),
                }),
            );
        }
        json!({ "ok": ok, "counts": counts, "tasks": tasks })
    }

    /// Writes the document, pretty-printed, followed by a newline.
    pub fn write(
        &self,
        mut out: impl Write,
        result: impl Fn(TaskId) -> Option<Value>,
    ) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut out, &self.to_value(result))?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

impl Observer for JsonReport {
    fn on_event(&self, event: &Event) {
        if let Event::Finished {
            id,
            state,
            duration,
            reason,
        } = event
        {
            self.ended.lock().insert(
                *id,
                Ended {
                    state: *state,
                    duration: *duration,
                    reason: reason.clone(),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::NameTable;

    #[test]
    fn failures_and_reasons_are_reported_by_name() {
        let names = Arc::new(NameTable::new());
        names.insert(TaskId::from_index(0), "a");
        names.insert(TaskId::from_index(1), "b");
        let report = JsonReport::new(names);
        report.on_event(&Event::Finished {
            id: TaskId::from_index(0),
            state: TaskState::Failed,
            duration: Duration::from_millis(250),
            reason: Some(Reason::Exit(3)),
        });
        report.on_event(&Event::Finished {
            id: TaskId::from_index(1),
            state: TaskState::DepFailed,
            duration: Duration::ZERO,
            reason: Some(Reason::DepFailed {
                dep: TaskId::from_index(0),
                root: TaskId::from_index(0),
            }),
        });
        let mut out = Vec::new();
        report.write(&mut out, |_| None).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["counts"]["failed"], 1);
        assert_eq!(doc["tasks"]["a"]["reason"], "exit status 3");
        assert_eq!(doc["tasks"]["a"]["duration"], 0.25);
        assert_eq!(doc["tasks"]["b"]["reason"], "\"a\" failed");
        assert_eq!(doc["tasks"]["b"]["result"], Value::Null);
    }
}
