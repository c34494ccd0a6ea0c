//! [`PlainObserver`]: one line when a task starts, one when it ends, and failure snippets, for
//! pipes, files and CI logs.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::engine::{Event, Observer};

use super::format::{Finished, Seen, Style};
use super::logs::LogFiles;
use super::names::{TaskNames, display_name};
use super::symbols::{Mark, Paint};

/// Writes `• name` when a task starts and `SYM name (1.23s) SUFFIX - detail` when it ends,
/// followed for failures by the useful part of the task's output (see
/// [`snippet`](super::snippet())).
///
/// Every line is written whole, and a task's end line and snippet are written together, so the
/// output of concurrent tasks never interleaves mid-line. The observer keeps the output lines of
/// running tasks in memory until they finish.
///
/// ```
/// use std::sync::Arc;
/// use parade::display::{NameTable, PlainObserver, SharedBuffer};
/// use parade::engine::{Engine, Outcome, TaskSpec};
///
/// let engine = Engine::inline();
/// let names = Arc::new(NameTable::new());
/// let out = SharedBuffer::default();
/// engine.subscribe(PlainObserver::new(out.clone(), names.clone()));
/// let t = engine.add(TaskSpec::new(|ctx| {
///     ctx.emit("error: disk full");
///     Outcome::failed("exit status 1")
/// })).unwrap();
/// names.insert(t, "backup");
/// engine.want([t]).unwrap();
/// engine.wait_all().unwrap();
/// let text = out.contents();
/// assert!(text.starts_with("• backup\n✗ backup ("));
/// assert!(text.ends_with(") failed - exit status 1\n  --- lines 1-1 ---\n  error: disk full\n"));
/// ```
pub struct PlainObserver {
    names: Arc<dyn TaskNames>,
    style: Style,
    logs: Option<LogFiles>,
    state: Mutex<PlainState>,
}

struct PlainState {
    out: Box<dyn Write + Send>,
    seen: Seen,
}

impl PlainObserver {
    /// An observer writing to `out`, naming tasks with `names`, without colours.
    pub fn new(out: impl Write + Send + 'static, names: Arc<dyn TaskNames>) -> Self {
        Self {
            names,
            style: Style::default(),
            logs: None,
            state: Mutex::new(PlainState {
                out: Box::new(out),
                seen: Seen::default(),
            }),
        }
    }

    /// Colours the marks (for terminals).
    pub fn color(mut self, on: bool) -> Self {
        self.style.paint = Paint::new(on);
        self
    }

    /// Shows a failed task's whole output instead of its snippet.
    pub fn full_log(mut self, on: bool) -> Self {
        self.style.full_log = on;
        self
    }

    /// Names the log file of failed tasks under their end line.
    pub fn log_files(mut self, logs: LogFiles) -> Self {
        self.logs = Some(logs);
        self
    }
}

impl Observer for PlainObserver {
    fn on_event(&self, event: &Event) {
        let mut state = self.state.lock();
        let state = &mut *state;
        let text = match event {
            Event::Wanted { .. } => return,
            Event::Output { id, line, .. } => {
                state.seen.lines.entry(*id).or_default().push(line.clone());
                return;
            }
            Event::Started { id } => {
                state.seen.started.insert(*id, Instant::now());
                format!(
                    "{} {}\n",
                    self.style.paint.mark(Mark::Running),
                    display_name(&*self.names, *id)
                )
            }
            Event::Finished {
                id,
                state: task_state,
                duration,
                reason,
            } => {
                let ran = state.seen.started.remove(id).is_some();
                let lines = state.seen.lines.remove(id).unwrap_or_default();
                Finished {
                    id: *id,
                    state: *task_state,
                    reason: reason.as_ref(),
                    duration: ran.then_some(*duration),
                    lines: &lines,
                    log: self.logs.as_ref().and_then(|l| l.path(*id)),
                }
                .render(&*self.names, self.style)
            }
        };
        // An observer cannot report a failed write; a closed pipe must not stop the run.
        let _ = state.out.write_all(text.as_bytes());
        let _ = state.out.flush();
    }
}
