//! [`StreamObserver`]: tasks' own output on screen, as go-task's `--output` modes show it:
//! each line as it comes with its task's name before it ([`StreamStyle::Prefixed`]), each
//! task's output as one block when it ends ([`StreamStyle::Grouped`]), or the lines as they are
//! ([`StreamStyle::Raw`], for a run of one task).
//!
//! It owns only how output lines are laid out; start and end lines come from the
//! [`PlainObserver`](super::PlainObserver) beside it. Every line is put whole into the
//! observer's batch under its lock, so two tasks' lines never mix within a line; the batch is
//! written when it holds [`BATCH_BYTES`](super::BATCH_BYTES), when a task starts or ends (so
//! an end line on stderr comes after the task's lines), and at the latest
//! [`FLUSH_AFTER`](super::FLUSH_AFTER) after its first line. A grouped block keeps
//! only the last [`GROUP_BYTES`] of a task's output in memory, and all blocks together about
//! [`GROUP_TOTAL_BYTES`] (the log keeps all of it).

use std::io::Write;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::engine::{Event, Events, Observer, TaskId};

use super::ById;
use super::batch::{BATCH_BYTES, Batch};
use super::logs::LogFiles;
use super::names::{TaskNames, display_name};
use super::sink::{Sink, SinkError};
use super::symbols::Paint;
use super::tail::{TailLines, screen_line};

/// How much of one task's output a grouped block keeps; earlier lines are named as cut.
pub const GROUP_BYTES: usize = 1 << 20;

/// How much all running tasks' grouped blocks keep together: with many tasks running, each
/// keeps its share (at least 4 KiB).
pub const GROUP_TOTAL_BYTES: usize = 32 << 20;

/// The widest a name column gets in prefixed output.
const MAX_PAD: usize = 24;

/// How output lines are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStyle {
    /// `name | line`, as lines come, names padded to one width and coloured.
    Prefixed,
    /// A task's lines together when it ends.
    Grouped,
    /// The lines as they come, nothing added.
    Raw,
}

/// Writes tasks' output lines to `out`: each line whole, lines gathered into writes of up to
/// [`BATCH_BYTES`](super::BATCH_BYTES) (written when a task starts or ends, and at the latest
/// [`FLUSH_AFTER`](super::FLUSH_AFTER) after the first), so that two tasks' lines never mix
/// within a line; a grouped block keeps only the last [`GROUP_BYTES`] of a
/// task's output (the log keeps all of it).
///
/// ```
/// use std::sync::Arc;
/// use parade::display::{NameTable, SharedBuffer, StreamObserver, StreamStyle};
/// use parade::engine::{Engine, Outcome, TaskSpec};
///
/// let engine = Engine::inline();
/// let names = Arc::new(NameTable::new());
/// let out = SharedBuffer::default();
/// engine.subscribe(StreamObserver::new(out.clone(), names.clone(), StreamStyle::Prefixed));
/// let t = engine.add(TaskSpec::new(|ctx| { ctx.emit("42"); Outcome::Succeeded })).unwrap();
/// names.insert(t, "answer");
/// engine.want([t]).unwrap();
/// engine.wait_all().unwrap();
/// assert_eq!(out.contents(), "answer | 42\n");
/// ```
pub struct StreamObserver {
    names: Arc<dyn TaskNames>,
    style: StreamStyle,
    paint: Paint,
    logs: Option<LogFiles>,
    error: SinkError,
    /// The lines gathered, with the prefixes they need, under the batch's one lock.
    out: Batch<Prefixes>,
    state: Mutex<StreamState>,
}

struct StreamState {
    groups: ById<TailLines>,
}

/// Kept with the batch, so that a prefixed line takes one lock.
#[derive(Default)]
struct Prefixes {
    pad: usize,
    /// Each running task's `name | ` (for the current `pad`), made at its first line.
    by_id: ById<Vec<u8>>,
}

/// Colours names cycle through (ANSI SGR): cyan, magenta, blue, green, yellow, bright variants.
const NAME_COLOURS: [&str; 8] = ["36", "35", "34", "32", "33", "96", "95", "94"];

impl StreamObserver {
    /// An observer writing `style` output to `out`, without colours.
    pub fn new(
        out: impl Write + Send + 'static,
        names: Arc<dyn TaskNames>,
        style: StreamStyle,
    ) -> Self {
        let (out, error) = Sink::new(out);
        Self {
            names,
            style,
            paint: Paint::new(false),
            logs: None,
            error,
            out: Batch::new(out),
            state: Mutex::new(StreamState {
                groups: ById::default(),
            }),
        }
    }

    /// Colours the name prefixes.
    pub fn color(mut self, on: bool) -> Self {
        self.paint = Paint::new(on);
        self
    }

    /// Names the log file where a grouped block was cut.
    pub fn log_files(mut self, logs: LogFiles) -> Self {
        self.logs = Some(logs);
        self
    }

    /// The first error writing to `out`, shared.
    pub fn error(&self) -> SinkError {
        self.error.clone()
    }

    fn prefix(&self, id: TaskId, pad: usize, into: &mut Vec<u8>) {
        let name = display_name(&*self.names, id);
        let width = name.chars().count();
        let spaces = pad.saturating_sub(width);
        if self.paint.color() {
            let colour = NAME_COLOURS[id.index() % NAME_COLOURS.len()];
            let _ = write!(into, "\x1b[{colour}m{name}\x1b[0m");
        } else {
            into.extend_from_slice(name.as_bytes());
        }
        into.resize(into.len() + spaces, b' ');
        into.extend_from_slice(b" | ");
    }
}

impl Observer for StreamObserver {
    /// The lines of a batch that follow each other go into the output's buffer under one lock
    /// (up to [`BATCH_BYTES`] at a time); every other event as [`Observer::on_event`].
    fn on_events(&self, events: Events<'_>) {
        let mut events = events.peekable();
        while let Some(event) = events.next() {
            if self.style == StreamStyle::Grouped || !matches!(event, Event::Output { .. }) {
                self.on_event(event);
                continue;
            }
            self.out.push_with(|buf, prefixes| {
                self.put_line(buf, prefixes, event);
                while buf.len() < BATCH_BYTES {
                    let Some(next) = events.next_if(|e| matches!(e, Event::Output { .. })) else {
                        break;
                    };
                    self.put_line(buf, prefixes, next);
                }
            });
        }
    }

    fn on_event(&self, event: &Event) {
        match event {
            Event::Output { .. } if self.style != StreamStyle::Grouped => {
                // Gathered with the lines before it and written with them (a task's start and
                // end write what is gathered: see `Batch`); one lock, the batch's.
                self.out
                    .push_with(|buf, prefixes| self.put_line(buf, prefixes, event));
                return;
            }
            Event::Wanted { id } => {
                if self.style == StreamStyle::Prefixed {
                    let width = display_name(&*self.names, *id).chars().count();
                    self.out.with_extra(|p| {
                        let pad = p.pad.max(width.min(MAX_PAD));
                        if pad != p.pad {
                            p.pad = pad;
                            p.by_id.clear();
                        }
                    });
                }
                return;
            }
            Event::Started { .. } => {
                self.out.flush();
                return;
            }
            Event::Output { .. } | Event::Finished { .. } => {}
        }
        let mut state = self.state.lock();
        let state = &mut *state;
        match event {
            Event::Output { id, line, .. } => {
                let share =
                    (GROUP_TOTAL_BYTES / (state.groups.len() + 1)).clamp(4 << 10, GROUP_BYTES);
                let group = state
                    .groups
                    .entry(*id)
                    .or_insert_with(|| TailLines::new(share));
                group.set_budget(share);
                group.push(line);
            }
            Event::Finished { id, .. } => {
                self.out.with_extra(|p| p.by_id.remove(id));
                let Some(group) = state.groups.remove(id) else {
                    // What the task printed is out before anything says it ended.
                    self.out.flush();
                    return;
                };
                let mut block = Vec::new();
                if group.dropped() > 0 {
                    let log = self
                        .logs
                        .as_ref()
                        .and_then(|l| l.path(*id))
                        .map(|p| format!(" (all of it in {})", p.display()))
                        .unwrap_or_default();
                    let _ = writeln!(
                        block,
                        "{}",
                        self.paint.dim(&format!(
                            "… {} earlier lines of {} not shown{log}",
                            group.dropped(),
                            display_name(&*self.names, *id)
                        ))
                    );
                }
                for line in group.lines() {
                    block.extend_from_slice(line.as_bytes());
                    block.push(b'\n');
                }
                self.out.push(&block);
                self.out.flush();
            }
            Event::Wanted { .. } | Event::Started { .. } => {}
        }
    }
}

impl StreamObserver {
    /// Adds the line of an [`Event::Output`] to `buf`, with its prefix when prefixed.
    fn put_line(&self, buf: &mut Vec<u8>, prefixes: &mut Prefixes, event: &Event) {
        let Event::Output { id, line, .. } = event else {
            return;
        };
        let shown = screen_line(line);
        if self.style == StreamStyle::Prefixed {
            let pad = prefixes.pad;
            let prefix = prefixes.by_id.entry(*id).or_insert_with(|| {
                let mut p = Vec::new();
                self.prefix(*id, pad, &mut p);
                p
            });
            buf.extend_from_slice(prefix);
        }
        buf.extend_from_slice(shown.as_bytes());
        buf.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::{NameTable, SharedBuffer};
    use crate::engine::{Engine, Outcome, TaskId, TaskSpec};

    fn run(style: StreamStyle) -> String {
        let engine = Engine::new();
        let names = Arc::new(NameTable::new());
        let out = SharedBuffer::default();
        engine.subscribe(StreamObserver::new(out.clone(), names.clone(), style));
        let mut ids = Vec::new();
        for n in 0..4 {
            let id = engine
                .add(TaskSpec::new(move |ctx| {
                    for i in 0..200 {
                        ctx.emit(format!("task{n} line {i} {}", "x".repeat(i)));
                    }
                    Outcome::Succeeded
                }))
                .unwrap();
            names.insert(
                id,
                if n == 0 {
                    "a".into()
                } else {
                    format!("task{n}")
                },
            );
            ids.push(id);
        }
        engine.want(ids).unwrap();
        engine.wait_all().unwrap();
        out.contents()
    }

    #[test]
    fn prefixed_lines_are_whole_and_aligned() {
        let text = run(StreamStyle::Prefixed);
        assert_eq!(text.lines().count(), 800);
        for line in text.lines() {
            let (name, rest) = line.split_once(" | ").unwrap();
            let task = rest.split(' ').next().unwrap();
            assert_eq!(name.trim_end(), if task == "task0" { "a" } else { task });
            assert_eq!(name.len(), 5, "{line}");
            let i: usize = rest.split(' ').nth(2).unwrap().parse().unwrap();
            assert_eq!(rest.split(' ').nth(3).unwrap(), "x".repeat(i));
        }
    }

    #[test]
    fn grouped_blocks_of_many_running_tasks_share_one_budget() {
        let names = Arc::new(NameTable::new());
        let observer = StreamObserver::new(SharedBuffer::default(), names, StreamStyle::Grouped);
        let line = "x".repeat(1023);
        for round in 0..64 {
            for task in 0..200 {
                observer.on_event(&Event::Output {
                    id: TaskId::from_index(task),
                    stream: crate::engine::Stream::Stdout,
                    line: format!("{round} {line}"),
                });
            }
        }
        let held: usize = observer
            .state
            .lock()
            .groups
            .values()
            .flat_map(|g| g.lines().map(str::len))
            .sum();
        assert!(held <= GROUP_TOTAL_BYTES, "{held} bytes held");
        assert!(held > 1 << 20, "{held}: the blocks keep what fits");
    }

    #[test]
    fn grouped_blocks_hold_one_task_each() {
        let text = run(StreamStyle::Grouped);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 800);
        for block in lines.chunks(200) {
            let task = block[0].split(' ').next().unwrap();
            for (i, line) in block.iter().enumerate() {
                assert!(line.starts_with(&format!("{task} line {i} ")), "{line}");
            }
        }
    }
}
