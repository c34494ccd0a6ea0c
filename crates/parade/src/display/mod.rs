//! Observers that turn engine [`Event`](crate::engine::Event)s into something people read:
//! terminal lines, a live status region, per-task log files and a JSON report.
//!
//! This module owns presentation only: symbols and colours, the rule that picks the useful part
//! of a log ([`snippet`](mod@snippet)), file naming for logs, and rendering. It must not know how tasks are
//! scheduled or named: names come from a [`TaskNames`] that the face running the tasks (the
//! `flow`, the `parade` command) provides, and everything else arrives as events.
//!
//! | observer | for |
//! |---|---|
//! | [`PlainObserver`] | pipes, CI logs: one line when a task starts and one when it ends |
//! | [`StreamObserver`] | tasks' own output: prefixed lines, grouped blocks or passed through |
//! | [`LiveObserver`] | terminals: finished lines above a redrawn region of running tasks, each with its last line |
//! | [`LogFiles`] | one `<name>.log` per task in a run directory ([`run_dir`]) |
//! | [`JsonReport`] | `--output json`: one JSON document at the end |
//!
//! ```
//! use std::sync::Arc;
//! use parade::display::{NameTable, PlainObserver};
//! use parade::engine::{Engine, Outcome, TaskSpec};
//!
//! let engine = Engine::inline();
//! let names = Arc::new(NameTable::new());
//! let out = parade::display::SharedBuffer::default();
//! engine.subscribe(PlainObserver::new(out.clone(), names.clone()));
//! let t = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
//! names.insert(t, "hello");
//! engine.want([t]).unwrap();
//! engine.wait_all().unwrap();
//! assert!(out.contents().contains("✓ hello"));
//! ```

mod batch;
mod buffer;
pub mod eta;
mod format;
mod ignore;
mod json;
pub mod live;
mod logs;
mod names;
mod plain;
mod sink;
pub mod snippet;
mod stream;
mod symbols;
mod tail;
mod term;

/// A map keyed by task id, hashed with foldhash: observers look one up per output line, and
/// the default `SipHash` was a measured share of that (`parade-bench cli`, throughput).
pub(crate) type ById<V> =
    std::collections::HashMap<crate::engine::TaskId, V, foldhash::fast::RandomState>;

pub use batch::{BATCH_BYTES, FLUSH_AFTER};
pub use buffer::SharedBuffer;
pub use ignore::{IgnoreWhen, InvalidLogIgnore, LogIgnore};
pub use json::JsonReport;
pub use live::LiveObserver;
pub use logs::{LogFiles, run_dir, run_dir_in, sanitize_file_name};
pub use names::{NameTable, TaskNames, describe_reason, display_name};
pub use plain::PlainObserver;
pub use sink::{Sink, SinkError};
pub use snippet::{Chunk, snippet};
pub use stream::{GROUP_BYTES, GROUP_TOTAL_BYTES, StreamObserver, StreamStyle};
pub use symbols::{Mark, Paint};
pub use tail::{SCREEN_LINE, TailLines, screen_line};
pub use term::{terminal_size, usable_terminal};
