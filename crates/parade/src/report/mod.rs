//! See a run: a [`RunRecorder`] any face attaches to its engine, the [`RunRecord`] it makes
//! (saved as `run.json` in the run's log directory), and two pictures of it: a self-contained
//! HTML report ([`html`]: failures, a timeline by worker slot, the dependency graph with its
//! critical path, a summary) and a Chrome trace ([`chrome_trace`]) for `ui.perfetto.dev` and
//! `chrome://tracing`.
//!
//! This module owns the run's data model, the figures computed from it ([`Analysis`]) and
//! their rendering. It must not know how tasks are scheduled or what runs them: it hears
//! events like any observer, asks the engine only for dependencies, and takes commands from
//! the face that knows them. Stored runs are read through [`RunSource`], so a run store can
//! replace the log directory ([`LogDirRuns`]) as where they come from.
//!
//! The HTML, SVG and script are written by hand: a report must open with no network, and the
//! pictures are plain enough (bars and a layered graph) that no vendored library pays off.
//!
//! ```
//! use std::sync::Arc;
//! use parade::display::NameTable;
//! use parade::engine::{Engine, Outcome, TaskSpec};
//! use parade::report::{RunRecorder, chrome_trace, html};
//!
//! let engine = Engine::inline();
//! let names = Arc::new(NameTable::new());
//! let recorder = RunRecorder::new(names.clone());
//! engine.subscribe(recorder.clone());
//! let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
//! names.insert(t, "build");
//! engine.want([t]).unwrap();
//! engine.wait_all().unwrap();
//!
//! let run = recorder.record(&engine);
//! assert!(html(&run).contains(r#"data-task="build""#));
//! assert_eq!(chrome_trace(&run)["traceEvents"].as_array().unwrap().iter()
//!     .filter(|e| e["ph"] == "X").count(), 1);
//! ```

mod analysis;
mod depgraph;
mod escape;
mod html;
mod record;
mod recorder;
mod source;
mod timeline;
mod trace;
mod words;

pub use analysis::Analysis;
pub use depgraph::GRAPH_LIMIT;
pub use escape::{Html, script_json};
pub use html::html;
pub use record::{FORMAT, RUN_FILE, RunRecord, TaskRecord};
pub use recorder::{EXCERPT_LINES, KEEP_LINES, LINE_BYTES, QUIET_TAIL, RunRecorder};
pub use source::{LogDirRuns, RunSelector, RunSource, SourceError};
pub use trace::{NOT_RUN_TID, chrome_trace, write_chrome_trace};
pub use words::seconds;
