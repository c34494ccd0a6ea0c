//! [`LiveObserver`]: a status region at the bottom of a terminal, one row per running task
//! with the last line it printed, and finished tasks printed above it.
//!
//! Events only change state under a short lock; a render thread draws at most
//! [`FRAME`]-apart frames, so a run finishing a hundred tasks a second costs ten redraws, not a
//! hundred. The region is erased and the cursor shown again by [`LiveObserver::finish`] (or when
//! the last clone is dropped). The terminal's size is asked with an ioctl each frame
//! ([`terminal_size`](super::terminal_size)); a terminal that reports 0×0, or is gone, gets no
//! region: finished lines only, as plain output.

use std::io::{self, Write};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossterm::{cursor, queue, terminal};
use parking_lot::{Condvar, Mutex};

use crate::engine::{Event, Events, Observer, TaskId};

use super::ById;
use super::format::{Finished, Seen, Style};
use super::logs::LogFiles;
use super::names::{TaskNames, display_name};
use super::sink::{Sink, SinkError};
use super::symbols::Paint;
use super::tail::{TailLines, screen_line};

/// How much of a successful task's output is printed above the region when it ends.
pub const BLOCK_BYTES: usize = 16 * 1024;

/// The shortest time between two frames.
pub const FRAME: Duration = Duration::from_millis(100);

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The live terminal display: running tasks in a redrawn region at the bottom (spinner, name,
/// time so far), each finished task's line and log snippet printed above it.
///
/// Clones share one display. Call [`finish`](LiveObserver::finish) when the run is over: it
/// draws the last frame, erases the region and shows the cursor.
///
/// ```no_run
/// use std::sync::Arc;
/// use parade::display::{LiveObserver, NameTable};
/// use parade::engine::Engine;
///
/// let engine = Engine::new();
/// let names = Arc::new(NameTable::new());
/// let live = LiveObserver::stderr(names.clone());
/// engine.subscribe(live.clone());
/// // ... add and want tasks, naming them in `names` ...
/// engine.wait_all().unwrap();
/// live.finish();
/// ```
#[derive(Clone)]
pub struct LiveObserver {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    names: Arc<dyn TaskNames>,
    style: Style,
    logs: Option<LogFiles>,
    /// Fixed size (columns, rows), or `None` to ask the terminal each frame.
    size: Option<(u16, u16)>,
    /// Whether successful tasks' output is printed above when they end.
    output: bool,
    error: SinkError,
    state: Mutex<State>,
    wake: Condvar,
    eta: Option<super::eta::Eta>,
}

#[derive(Default)]
struct State {
    seen: Seen,
    /// Running tasks in the order they started.
    running: Vec<TaskId>,
    /// The last line each running task printed.
    last: ById<String>,
    /// The end of each running task's output, to print when it succeeds.
    blocks: ById<TailLines>,
    /// Finished text not yet printed.
    above: String,
    dirty: bool,
    done: bool,
}

/// Options for a [`LiveObserver`].
///
/// ```
/// use std::sync::Arc;
/// use parade::display::{live::LiveOptions, NameTable, SharedBuffer};
/// let live = LiveOptions::new().size(80, 24).color(false)
///     .start(SharedBuffer::default(), Arc::new(NameTable::new()));
/// live.finish();
/// ```
#[derive(Clone, Default)]
pub struct LiveOptions {
    color: Option<bool>,
    full_log: bool,
    size: Option<(u16, u16)>,
    logs: Option<LogFiles>,
    output: bool,
    expected: Option<super::eta::Expected>,
}

impl LiveOptions {
    /// Defaults: colours, snippets, the terminal's size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Colours on or off (default on).
    pub fn color(mut self, on: bool) -> Self {
        self.color = Some(on);
        self
    }

    /// Shows a failed task's whole output instead of its snippet.
    pub fn full_log(mut self, on: bool) -> Self {
        self.full_log = on;
        self
    }

    /// Draws for a screen of this many columns and rows instead of asking the terminal.
    pub fn size(mut self, columns: u16, rows: u16) -> Self {
        self.size = Some((columns, rows));
        self
    }

    /// Names the log file of failed tasks.
    pub fn log_files(mut self, logs: LogFiles) -> Self {
        self.logs = Some(logs);
        self
    }

    /// Prints a successful task's output (its last [`BLOCK_BYTES`]) under its end line, as a
    /// failed task's snippet is (default off).
    pub fn output(mut self, on: bool) -> Self {
        self.output = on;
        self
    }

    /// Shows each running task's expected remaining time and the run's ETA, from how long a
    /// task (by name) is expected to take (`parade::store::Store::expected_duration`).
    pub fn expected(mut self, f: super::eta::Expected) -> Self {
        self.expected = Some(f);
        self
    }

    /// Starts the display on `out`, naming tasks with `names`.
    pub fn start(
        self,
        out: impl Write + Send + 'static,
        names: Arc<dyn TaskNames>,
    ) -> LiveObserver {
        let (out, error) = Sink::new(out);
        let shared = Arc::new(Shared {
            names,
            style: Style {
                paint: Paint::new(self.color.unwrap_or(true)),
                full_log: self.full_log,
                snippets: true,
            },
            logs: self.logs,
            size: self.size,
            output: self.output,
            error,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            eta: self.expected.map(super::eta::Eta::new),
        });
        let render = shared.clone();
        let thread = std::thread::Builder::new()
            .name("parade-live".into())
            .spawn(move || render.run(out))
            .expect("spawn the live display thread");
        LiveObserver {
            inner: Arc::new(Inner {
                shared,
                thread: Mutex::new(Some(thread)),
            }),
        }
    }
}

impl LiveObserver {
    /// A live display on standard error with default options.
    pub fn stderr(names: Arc<dyn TaskNames>) -> Self {
        LiveOptions::new().start(io::stderr(), names)
    }

    /// A live display on `out` with default options.
    pub fn new(out: impl Write + Send + 'static, names: Arc<dyn TaskNames>) -> Self {
        LiveOptions::new().start(out, names)
    }

    /// The first error writing to the display, shared.
    pub fn error(&self) -> SinkError {
        self.inner.shared.error.clone()
    }

    /// Draws the last frame, erases the running region, shows the cursor and stops the render
    /// thread. Later events are ignored. Calling it again does nothing.
    pub fn finish(&self) {
        self.inner.finish();
    }
}

impl Inner {
    fn finish(&self) {
        let Some(thread) = self.thread.lock().take() else {
            return;
        };
        self.shared.state.lock().done = true;
        self.shared.wake.notify_all();
        let _ = thread.join();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Observer for LiveObserver {
    fn on_event(&self, event: &Event) {
        self.on_events(Events::from_slice(std::slice::from_ref(event)));
    }

    /// One lock, and one wake of the drawing thread, for the whole batch.
    fn on_events(&self, events: Events<'_>) {
        let shared = &self.inner.shared;
        let mut st = shared.state.lock();
        let mut dirty = false;
        for event in events {
            if let Some(eta) = &shared.eta {
                eta.on_event(event);
            }
            if !st.done {
                dirty |= Self::take(shared, &mut st, event);
            }
        }
        if dirty {
            st.dirty = true;
            drop(st);
            shared.wake.notify_all();
        }
    }
}

impl LiveObserver {
    /// Takes `event` into the display's state (the caller holds the lock): whether a frame
    /// must be drawn again.
    fn take(shared: &Shared, st: &mut State, event: &Event) -> bool {
        if let Some((id, state, duration, reason)) = event.finished() {
            let ran = st.seen.started.remove(&id).is_some();
            if ran {
                st.running.retain(|r| *r != id);
            }
            st.last.remove(&id);
            let block = st.blocks.remove(&id);
            let text = Finished {
                id,
                state,
                reason,
                duration: ran.then_some(duration),
                seen: &mut st.seen,
                log: shared.logs.as_ref().and_then(|l| l.path(id)),
            }
            .render(&*shared.names, shared.style);
            st.above.push_str(&text);
            if let Some(block) = block.filter(|_| state.is_success()) {
                push_block(&mut st.above, &block, shared.style.paint);
            }
            return true;
        }
        match event {
            Event::Finished { .. } => unreachable!("a task's end is taken above"),
            Event::Wanted { .. } => return false,
            Event::Output { id, line, .. } => {
                st.seen.line(*id, line, shared.style, &*shared.names);
                // Cut once for the block and the row.
                let shown = screen_line(line);
                if shared.output {
                    st.blocks
                        .entry(*id)
                        .or_insert_with(|| TailLines::new(BLOCK_BYTES))
                        .push_shown(&shown);
                }
                // The row's text is replaced in place: no allocation per line.
                let last = st.last.entry(*id).or_default();
                last.clear();
                last.push_str(&shown);
                return false;
            }
            Event::Started { id } => {
                st.seen.started.insert(*id, crate::engine::event_time());
                st.running.push(*id);
            }
        }
        true
    }
}

/// One frame's worth of state, taken under the lock and drawn outside it.
struct Frame {
    above: String,
    rows: Vec<Row>,
    done: bool,
    /// The run's ETA line, when known.
    footer: Option<String>,
}

/// A running task's row: its name, how long it has run, the last line it printed.
struct Row {
    name: String,
    elapsed: Duration,
    last: String,
}

/// A finished task's output under its end line, indented like a snippet.
fn push_block(above: &mut String, block: &TailLines, paint: Paint) {
    use std::fmt::Write as _;
    if block.dropped() > 0 {
        let _ = writeln!(
            above,
            "  {}",
            paint.dim(&format!("… {} earlier lines in the log", block.dropped()))
        );
    }
    for line in block.lines() {
        let _ = writeln!(above, "  {line}");
    }
}

impl Shared {
    fn run(&self, mut out: Sink) {
        let mut drawn = 0u16;
        let mut tick = 0usize;
        let _ = queue!(out, cursor::Hide);
        loop {
            let frame = self.next_frame();
            let _ = self.draw(&mut out, &mut drawn, tick, &frame);
            tick += 1;
            if frame.done {
                break;
            }
            // Hold back the next frame; only the end of the run cuts the pause short.
            let until = Instant::now() + FRAME;
            let mut st = self.state.lock();
            while !st.done && !self.wake.wait_until(&mut st, until).timed_out() {}
        }
        let _ = queue!(out, cursor::Show);
        let _ = out.flush();
    }

    /// Waits until there is something to draw: news, running tasks to animate, or the end.
    fn next_frame(&self) -> Frame {
        let mut st = self.state.lock();
        while !st.dirty && !st.done && st.running.is_empty() {
            self.wake.wait(&mut st);
        }
        st.dirty = false;
        let now = Instant::now();
        let rows = if st.done {
            Vec::new()
        } else {
            st.running
                .iter()
                .map(|id| {
                    let since = st.seen.started.get(id).copied().unwrap_or(now);
                    let mut name = display_name(&*self.names, *id);
                    if let Some(left) = self
                        .eta
                        .as_ref()
                        .and_then(|e| e.remaining(*id, now - since, &*self.names))
                    {
                        name = format!("{name}  {}", super::eta::left(left));
                    }
                    Row {
                        name,
                        elapsed: now - since,
                        last: st.last.get(id).cloned().unwrap_or_default(),
                    }
                })
                .collect()
        };
        let footer = (!st.done)
            .then(|| {
                self.eta.as_ref()?.run_eta(&*self.names, |id| {
                    now - st.seen.started.get(&id).copied().unwrap_or(now)
                })
            })
            .flatten()
            .map(|d| format!("ETA {}", super::eta::left(d)));
        Frame {
            above: std::mem::take(&mut st.above),
            rows,
            done: st.done,
            footer,
        }
    }

    fn draw(&self, out: &mut Sink, drawn: &mut u16, tick: usize, frame: &Frame) -> io::Result<()> {
        let size = self
            .size
            .or_else(|| super::term::terminal_size(io::stderr()))
            .filter(|&(c, r)| c > 0 && r > 0);
        let Some((columns, screen_rows)) = size else {
            // No usable terminal: what is finished, as plain output, and no region.
            out.write_all(frame.above.as_bytes())?;
            *drawn = 0;
            return out.flush();
        };
        queue!(out, cursor::MoveToColumn(0))?;
        if *drawn > 0 {
            queue!(out, cursor::MoveUp(*drawn))?;
        }
        queue!(out, terminal::Clear(terminal::ClearType::FromCursorDown))?;
        out.write_all(frame.above.as_bytes())?;
        let mut rows = render_rows(
            &frame.rows,
            tick,
            columns,
            screen_rows.saturating_sub(1 + u16::from(frame.footer.is_some())),
            self.style.paint,
        );
        if let Some(footer) = &frame.footer {
            rows.push(
                footer
                    .chars()
                    .take(usize::from(columns.max(10)) - 1)
                    .collect(),
            );
        }
        for row in &rows {
            out.write_all(row.as_bytes())?;
            out.write_all(b"\n")?;
        }
        *drawn = u16::try_from(rows.len()).unwrap_or(u16::MAX);
        out.flush()
    }
}

/// The region's rows: `⠋ name  1.2s  last line`, names padded to one width, each cut to fit in
/// `columns` (so no row wraps and the region's height stays known); when more tasks run than
/// `max_rows` allows, the last row counts the rest.
fn render_rows(
    rows: &[Row],
    tick: usize,
    columns: u16,
    max_rows: u16,
    paint: Paint,
) -> Vec<String> {
    let max_rows = usize::from(max_rows.max(1));
    let width = usize::from(columns.max(10)) - 1;
    let shown = if rows.len() > max_rows {
        max_rows - 1
    } else {
        rows.len()
    };
    let pad = rows[..shown]
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 2);
    let spinner = SPINNER[tick % SPINNER.len()];
    let mut out: Vec<String> = rows[..shown]
        .iter()
        .map(
            |Row {
                 name,
                 elapsed,
                 last,
             }| {
                let mut plain = format!("{spinner} {name:<pad$}  {:.1}s", elapsed.as_secs_f64());
                if !last.is_empty() {
                    plain.push_str("  ");
                    // Control characters would move the cursor and break the region.
                    plain.extend(last.chars().map(|c| if c.is_control() { ' ' } else { c }));
                }
                let cut: String = plain.chars().take(width).collect();
                if paint.color() && cut.starts_with(spinner) {
                    format!("\x1b[33m{spinner}\x1b[0m{}", &cut[spinner.len()..])
                } else {
                    cut
                }
            },
        )
        .collect();
    if shown < rows.len() {
        let more = format!("  … and {} more running", rows.len() - shown);
        out.push(more.chars().take(width).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| Row {
                name: format!("task{i}"),
                elapsed: Duration::from_millis(1500),
                last: String::new(),
            })
            .collect()
    }

    #[test]
    fn rows_are_padded_and_cut_to_the_width() {
        let mut r = rows(2);
        r[1].name = "a-much-longer-name".into();
        let out = render_rows(&r, 0, 80, 10, Paint::new(false));
        assert_eq!(out[0], format!("⠋ task0{}  1.5s", " ".repeat(13)));
        let narrow = render_rows(&r, 1, 12, 10, Paint::new(false));
        assert!(narrow.iter().all(|l| l.chars().count() <= 11), "{narrow:?}");
        assert!(narrow[0].starts_with("⠙ "));
    }

    #[test]
    fn rows_show_the_last_line_without_control_characters() {
        let mut r = rows(1);
        r[0].last = "compiling\x1b[2J foo".into();
        let out = render_rows(&r, 0, 80, 10, Paint::new(false));
        assert_eq!(out[0], "⠋ task0  1.5s  compiling [2J foo");
    }

    #[test]
    fn too_many_rows_end_with_a_count() {
        let out = render_rows(&rows(100), 0, 80, 5, Paint::new(false));
        assert_eq!(out.len(), 5);
        assert_eq!(out[4], "  … and 96 more running");
    }
}
