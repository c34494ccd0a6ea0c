//! [`PlainObserver`]: one line when a task starts, one when it ends, and failure snippets, for
//! pipes, files and CI logs.

use std::io::Write;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::engine::{Event, Events, Observer};

use super::format::{Finished, Seen, Style};
use super::logs::LogFiles;
use super::names::{TaskNames, display_name};
use super::sink::{Sink, SinkError};
use super::symbols::{Mark, Paint};

/// Writes `• name` when a task starts and `SYM name (1.23s) SUFFIX - detail` when it ends,
/// followed for failures by the useful part of the task's output (see
/// [`snippet`](super::snippet())).
///
/// Every line is written whole, and a task's end line and snippet are written together, so the
/// output of concurrent tasks never interleaves mid-line. Of running tasks' output it keeps only
/// what a snippet can show ([`SnippetLines`](super::snippet::SnippetLines)). A failed write is
/// kept for [`error`](PlainObserver::error), and nothing more is written.
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
    quiet_starts: bool,
    error: SinkError,
    state: Mutex<PlainState>,
}

struct PlainState {
    out: Sink,
    seen: Seen,
}

impl PlainObserver {
    /// An observer writing to `out`, naming tasks with `names`, without colours.
    pub fn new(out: impl Write + Send + 'static, names: Arc<dyn TaskNames>) -> Self {
        let (out, error) = Sink::new(out);
        Self {
            names,
            style: Style::default(),
            logs: None,
            quiet_starts: false,
            error,
            state: Mutex::new(PlainState {
                out,
                seen: Seen::default(),
            }),
        }
    }

    /// Whether a failed task's snippet follows its end line (default on; off when its output
    /// was on screen already). Its log file is named either way.
    pub fn snippets(mut self, on: bool) -> Self {
        self.style.snippets = on;
        self
    }

    /// Whether `• name` is written when a task starts (default on).
    pub fn start_lines(mut self, on: bool) -> Self {
        self.quiet_starts = !on;
        self
    }

    /// The first error writing to `out`, shared.
    pub fn error(&self) -> SinkError {
        self.error.clone()
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
        if !self.style.snippets && matches!(event, Event::Output { .. }) {
            // Nothing of a line is kept when no snippet is shown: not even the lock.
            return;
        }
        let mut state = self.state.lock();
        if self.take(&mut state, event) {
            let _ = state.out.flush();
        }
    }

    /// One lock and one flush for the whole batch.
    fn on_events(&self, events: Events<'_>) {
        let mut state = self.state.lock();
        let mut wrote = false;
        for event in events {
            wrote |= self.take(&mut state, event);
        }
        if wrote {
            let _ = state.out.flush();
        }
    }
}

impl PlainObserver {
    /// Takes `event` (the caller holds the lock): whether it wrote something, not flushed.
    fn take(&self, state: &mut PlainState, event: &Event) -> bool {
        let text = match event {
            Event::Wanted { .. } => return false,
            Event::Output { .. } if !self.style.snippets => return false,
            Event::Output { id, line, .. } => {
                state.seen.line(*id, line, self.style, &*self.names);
                return false;
            }
            Event::Started { id } => {
                state.seen.started.insert(*id, crate::engine::event_time());
                if self.quiet_starts {
                    return false;
                }
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
                Finished {
                    id: *id,
                    state: *task_state,
                    reason: reason.as_ref(),
                    duration: ran.then_some(*duration),
                    seen: &mut state.seen,
                    log: self.logs.as_ref().and_then(|l| l.path(*id)),
                }
                .render(&*self.names, self.style)
            }
        };
        // A sink keeps its first error for `error()`; a closed pipe must not stop the run.
        let _ = state.out.write_all(text.as_bytes());
        true
    }
}
