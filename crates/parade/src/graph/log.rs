//! A log of the graph's tasks as they start and end, naming them by their descriptions and
//! resource hints.

use std::sync::{Arc, Weak};

use super::{Graph, Inner};
use crate::engine::{Event, TaskId, TaskState};

impl Graph {
    /// Sends one line to `sink` each time a task starts or ends (`start`, `done`, `failed`,
    /// ...), naming it by its description and resource hints.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use parade::graph::Graph;
    /// let g = Graph::inline();
    /// let lines = Arc::new(Mutex::new(Vec::new()));
    /// let sink = lines.clone();
    /// g.log(move |line| sink.lock().unwrap().push(line.to_owned()));
    /// g.task("fetch").cores(1).submit(|| ()).wait().unwrap();
    /// let lines = lines.lock().unwrap();
    /// assert_eq!(lines[0], "start  \"fetch\" (task #0) [cores=1]");
    /// assert!(lines[1].starts_with("done   \"fetch\" (task #0) in "));
    /// ```
    pub fn log(&self, sink: impl Fn(&str) + Send + Sync + 'static) {
        let graph: Weak<Inner> = Arc::downgrade(&self.inner);
        self.inner.engine.subscribe(move |event: &Event| {
            let Some(inner) = graph.upgrade() else { return };
            let g = Graph { inner };
            let name = |id: TaskId| g.task_ref(id);
            let line = match event {
                Event::Started { id } => {
                    let hints = g
                        .inner
                        .tasks
                        .lock()
                        .get(id.index())
                        .and_then(Option::as_ref)
                        .and_then(|t| t.resources().map(ToString::to_string))
                        .unwrap_or_default();
                    if hints.is_empty() {
                        format!("start  {}", name(*id))
                    } else {
                        format!("start  {} [{hints}]", name(*id))
                    }
                }
                Event::Finished {
                    id,
                    state: TaskState::Succeeded,
                    duration,
                    ..
                } => format!("done   {} in {duration:?}", name(*id)),
                Event::Finished { id, .. } => {
                    let status = g.inner.engine.status(*id);
                    match status {
                        Ok(s) => format!("{:<6} {}", s.state.as_str(), g.error_now(&s)),
                        Err(_) => return,
                    }
                }
                Event::Output { id, line, .. } => format!("output {}: {line}", name(*id)),
                Event::Wanted { .. } => return,
            };
            sink(&line);
        });
    }
}
