//! [`RunRecorder`]: the observer that turns a run's events into a [`RunRecord`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::display::{TaskNames, describe_reason, display_name, snippet};
use crate::engine::{Engine, Event, Events, Observer, TaskId, TaskState};

use super::record::{FORMAT, RunRecord, TaskRecord};

/// How many of a task's last output lines the recorder keeps to pick an excerpt from.
pub const KEEP_LINES: usize = 200;
/// The longest excerpt kept for a task, in lines.
pub const EXCERPT_LINES: usize = 40;
/// How many last lines a task that did not fail keeps when nothing in its log stands out.
pub const QUIET_TAIL: usize = 3;
/// The longest output line kept, in bytes (longer ones are cut, with `…`).
pub const LINE_BYTES: usize = 500;

/// Records a run for a picture of it: attach it to any face's engine (an
/// [`Engine`], a [`Flow`](crate::flow::Flow) through `flow.observe`, a
/// [`Graph`](crate::graph::Graph) through `graph.engine()`), then ask for the
/// [`RunRecord`] and render it ([`html`](super::html()), [`chrome_trace`](super::chrome_trace())).
///
/// It keeps, per task: when it was wanted, started and ended, its final state and reason, a
/// worker slot (the lowest slot free when it started) and the last [`KEEP_LINES`] lines of
/// output, from which the excerpt is picked when it ends. Times are on the recorder's clock:
/// create it just before the run starts.
///
/// ```
/// use std::sync::Arc;
/// use parade::display::NameTable;
/// use parade::engine::{Engine, Outcome, TaskSpec};
/// use parade::report::RunRecorder;
///
/// let engine = Engine::inline();
/// let names = Arc::new(NameTable::new());
/// let recorder = RunRecorder::new(names.clone());
/// engine.subscribe(recorder.clone());
/// let a = engine.add(TaskSpec::new(|ctx| { ctx.emit("hi"); Outcome::Succeeded })).unwrap();
/// let b = engine.add(TaskSpec::new(|_| Outcome::failed("no")).dep(a)).unwrap();
/// names.insert(a, "fetch");
/// names.insert(b, "build");
/// engine.want([b]).unwrap();
/// let _ = engine.wait_all();
/// let run = recorder.record(&engine);
/// assert_eq!(run.task("build").unwrap().deps, ["fetch".into()]);
/// assert_eq!(run.task("build").unwrap().state, "failed");
/// assert_eq!(run.task("fetch").unwrap().log, ["hi"]);
/// assert_eq!(run.slots, 1);
/// ```
///
/// Clones share one recording: subscribe one clone, read the other.
#[derive(Clone)]
pub struct RunRecorder {
    names: Arc<dyn TaskNames>,
    origin: Instant,
    started_unix_ms: u64,
    state: Arc<Mutex<Recording>>,
}

/// A task id not in [`Recording::tasks`].
const UNSEEN: u32 = u32::MAX;

#[derive(Default)]
struct Recording {
    /// Where each task id's entry is in `tasks` ([`UNSEEN`] if nowhere): ids are dense.
    position: Vec<u32>,
    /// The tasks in the order they were first heard of.
    tasks: Vec<(TaskId, Seen)>,
    /// Slots free for reuse (few: at most the run's peak parallelism).
    free_slots: Vec<u32>,
    slots: u32,
    last: f64,
}

#[derive(Default)]
struct Seen {
    wanted: Option<f64>,
    start: Option<f64>,
    end: Option<f64>,
    state: Option<TaskState>,
    reason: Option<String>,
    duration: f64,
    slot: Option<u32>,
    lines: VecDeque<String>,
    line_count: u64,
    excerpt: Vec<String>,
    command: Option<String>,
}

impl Seen {
    /// Keeps `line` among the task's last [`KEEP_LINES`].
    fn line(&mut self, line: &str) {
        self.line_count += 1;
        // Once a task kept its last KEEP_LINES lines, the oldest line's room takes the new
        // one: no allocation per line.
        let mut kept = if self.lines.len() == KEEP_LINES {
            self.lines.pop_front().unwrap_or_default()
        } else {
            String::new()
        };
        cut_into(line, &mut kept);
        self.lines.push_back(kept);
    }
}

impl RunRecorder {
    /// A recorder naming tasks with `names`; its clock starts now.
    pub fn new(names: Arc<dyn TaskNames>) -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            names,
            origin: Instant::now(),
            started_unix_ms: u64::try_from(since.as_millis()).unwrap_or(u64::MAX),
            state: Arc::new(Mutex::new(Recording::default())),
        }
    }

    /// Tells the recorder the command a task runs (faces that run commands know it; the
    /// engine does not).
    pub fn set_command(&self, id: TaskId, command: impl Into<String>) {
        let mut rec = self.state.lock();
        rec.seen(id).command = Some(command.into());
    }

    /// The run so far, dependencies taken from `engine` (the engine the recorder observes).
    pub fn record(&self, engine: &Engine) -> RunRecord {
        self.record_with(|id| engine.deps(id).unwrap_or_default())
    }

    /// The run so far, with each task's dependencies from `deps`.
    pub fn record_with(&self, deps: impl Fn(TaskId) -> Vec<TaskId>) -> RunRecord {
        let rec = self.state.lock();
        let names = &*self.names;
        // Each task's name is asked for once: a dependency's is a copy of its own (a layered
        // graph's 90,000 dependencies were 90,000 lookups in the name table).
        let own_names: Vec<Arc<str>> = rec
            .tasks
            .iter()
            .map(|(id, _)| display_name(names, *id).into())
            .collect();
        let name_of = |id: TaskId| match rec.position.get(id.index()) {
            Some(&at) if at != UNSEEN => Arc::clone(&own_names[at as usize]),
            _ => display_name(names, id).into(),
        };
        let tasks = rec
            .tasks
            .iter()
            .zip(&own_names)
            .map(|((id, seen), name)| {
                let state = seen.state.unwrap_or(if seen.start.is_some() {
                    TaskState::Running
                } else {
                    TaskState::Wanted
                });
                let log = if seen.state.is_some() {
                    seen.excerpt.clone()
                } else {
                    seen.lines.iter().cloned().collect()
                };
                TaskRecord {
                    name: name.to_string(),
                    deps: deps(*id).into_iter().map(name_of).collect(),
                    state: state.as_str().to_owned(),
                    reason: seen.reason.clone(),
                    wanted: seen.wanted,
                    start: seen.start,
                    end: seen.end,
                    duration: seen.duration,
                    command: seen.command.clone(),
                    slot: seen.slot,
                    log,
                    log_lines: seen.line_count,
                }
            })
            .collect();
        RunRecord {
            format: FORMAT,
            run_id: None,
            started_unix_ms: self.started_unix_ms,
            elapsed: rec.last,
            slots: rec.slots,
            tasks,
        }
    }

    fn now(&self) -> f64 {
        crate::engine::event_time()
            .saturating_duration_since(self.origin)
            .as_secs_f64()
    }
}

impl Recording {
    fn seen(&mut self, id: TaskId) -> &mut Seen {
        let i = id.index();
        if i >= self.position.len() {
            self.position.resize(i + 1, UNSEEN);
        }
        if self.position[i] == UNSEEN {
            self.position[i] = u32::try_from(self.tasks.len()).unwrap_or(UNSEEN);
            self.tasks.push((id, Seen::default()));
        }
        let at = self.position[i] as usize;
        &mut self.tasks[at].1
    }

    /// The lowest free slot, or a new one.
    fn take_slot(&mut self) -> u32 {
        if let Some(k) = (0..self.free_slots.len()).min_by_key(|&k| self.free_slots[k]) {
            self.free_slots.swap_remove(k)
        } else {
            self.slots += 1;
            self.slots - 1
        }
    }
}

impl Observer for RunRecorder {
    fn on_event(&self, event: &Event) {
        self.take(&mut self.state.lock(), event);
    }

    /// One lock for the whole batch.
    fn on_events(&self, events: Events<'_>) {
        let mut rec = self.state.lock();
        for event in events {
            self.take(&mut rec, event);
        }
    }
}

impl RunRecorder {
    /// Records `event` (the caller holds the lock).
    fn take(&self, rec: &mut Recording, event: &Event) {
        if let Event::Output { id, line, .. } = event {
            // No clock for a line: nothing keeps its time, and the task's end comes later.
            rec.seen(*id).line(line);
            return;
        }
        // Read the clock under the lock, so times follow the order events are recorded in.
        let now = self.now();
        rec.last = rec.last.max(now);
        if let Some((id, state, duration, reason)) = event.finished() {
            let reason = reason.map(|r| describe_reason(r, &*self.names));
            let seen = rec.seen(id);
            seen.end = Some(now);
            seen.state = Some(state);
            seen.reason = reason;
            seen.duration = duration.as_secs_f64();
            let mut lines = std::mem::take(&mut seen.lines);
            seen.excerpt = excerpt(lines.make_contiguous(), state.is_failure());
            if let Some(slot) = seen.slot {
                rec.free_slots.push(slot);
            }
            return;
        }
        match event {
            Event::Wanted { id } => {
                rec.seen(*id).wanted.get_or_insert(now);
            }
            Event::Started { id } => {
                let slot = rec.take_slot();
                let seen = rec.seen(*id);
                seen.start = Some(now);
                seen.slot = Some(slot);
            }
            Event::Output { .. } => {}
            Event::Finished { .. } => unreachable!("a task's end is taken above"),
        }
    }
}

/// The lines of a log worth showing: its [`snippet`], else (for a task that did not fail)
/// its last [`QUIET_TAIL`] lines; at most [`EXCERPT_LINES`], the last ones.
fn excerpt(lines: &[String], failed: bool) -> Vec<String> {
    let mut out: Vec<String> = snippet(lines, failed, false)
        .into_iter()
        .flat_map(|c| c.lines)
        .collect();
    if out.is_empty() {
        out = lines[lines.len().saturating_sub(QUIET_TAIL)..].to_vec();
    }
    if out.len() > EXCERPT_LINES {
        out.drain(..out.len() - EXCERPT_LINES);
    }
    out
}

/// `line` into `kept` (replacing what it held; its room is reused), cut to [`LINE_BYTES`]
/// with `…` when longer.
fn cut_into(line: &str, kept: &mut String) {
    kept.clear();
    if line.len() <= LINE_BYTES {
        kept.push_str(line);
        return;
    }
    let mut end = LINE_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    kept.push_str(&line[..end]);
    kept.push('…');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::NameTable;
    use crate::engine::Reason;
    use std::time::Duration;

    fn id(i: usize) -> TaskId {
        TaskId::from_index(i)
    }

    fn finished(i: usize, state: TaskState) -> Event {
        Event::Finished {
            id: id(i),
            state,
            duration: Duration::from_millis(10),
            reason: (state == TaskState::Failed).then_some(Reason::Exit(2)),
        }
    }

    #[test]
    fn slots_are_reused_lowest_first_and_never_shared() {
        let r = RunRecorder::new(Arc::new(NameTable::new()));
        for i in 0..3 {
            r.on_event(&Event::Started { id: id(i) });
        }
        r.on_event(&finished(1, TaskState::Succeeded));
        r.on_event(&finished(0, TaskState::Succeeded));
        r.on_event(&Event::Started { id: id(3) });
        r.on_event(&Event::Started { id: id(4) });
        let run = r.record_with(|_| Vec::new());
        let slots: Vec<_> = run.tasks.iter().map(|t| t.slot).collect();
        assert_eq!(slots, [Some(0), Some(1), Some(2), Some(0), Some(1)]);
        assert_eq!(run.slots, 3);
        assert_eq!(run.tasks[3].state, "running");
    }

    #[test]
    fn a_failure_keeps_its_tail_and_long_lines_are_cut() {
        let names = Arc::new(NameTable::new());
        names.insert(id(0), "t");
        let r = RunRecorder::new(names);
        r.on_event(&Event::Started { id: id(0) });
        for i in 0..(KEEP_LINES + 10) {
            r.on_event(&Event::Output {
                id: id(0),
                stream: crate::engine::Stream::Stdout,
                line: format!("line {i}"),
            });
        }
        r.on_event(&Event::Output {
            id: id(0),
            stream: crate::engine::Stream::Stderr,
            line: "é".repeat(LINE_BYTES),
        });
        r.on_event(&finished(0, TaskState::Failed));
        let run = r.record_with(|_| Vec::new());
        let t = &run.tasks[0];
        assert_eq!(t.log_lines, KEEP_LINES as u64 + 11);
        assert_eq!(t.log.len(), crate::display::snippet::TAIL);
        assert!(t.log.last().unwrap().ends_with('…'));
        assert!(t.log.last().unwrap().len() <= LINE_BYTES + '…'.len_utf8());
        assert_eq!(t.reason.as_deref(), Some("exit status 2"));
    }

    #[test]
    fn each_name_is_asked_for_once() {
        // Three tasks, each needing the ones before: 3 names, not 3 + 3 (one per dependency).
        let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counting = Arc::clone(&asked);
        let names = move |t: TaskId| {
            counting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(format!("t{}", t.index()))
        };
        let r = RunRecorder::new(Arc::new(names));
        for i in 0..3 {
            r.on_event(&Event::Started { id: id(i) });
            r.on_event(&finished(i, TaskState::Succeeded));
        }
        let run = r.record_with(|t| (0..t.index()).map(id).collect());
        assert_eq!(run.tasks[2].deps, ["t0", "t1"].map(Arc::from));
        assert_eq!(run.tasks[1].deps, ["t0"].map(Arc::from));
        assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 3);
        // A dependency the recorder never heard of is named by the table.
        let run = r.record_with(|_| vec![id(7)]);
        assert_eq!(run.tasks[0].deps, ["t7"].map(Arc::from));
    }

    #[test]
    fn a_quiet_success_keeps_its_last_lines() {
        let lines: Vec<String> = (0..10).map(|i| format!("ok {i}")).collect();
        assert_eq!(excerpt(&lines, false), ["ok 7", "ok 8", "ok 9"]);
        assert!(excerpt(&[], true).is_empty());
    }
}
