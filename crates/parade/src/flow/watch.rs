//! [`Flow::watch`]: parproc's watch mode. Run the targets; then watch the files the procs
//! that took part read (their [`inputs`](super::Define::inputs), less their ignores); a change
//! reruns the procs it makes stale and their dependents, and nothing else; bursts of changes
//! are coalesced by a quiet period; a [`WatchStop`] ends it, with the round that is running
//! stopped and waited for, so no proc is left running.
//!
//! An engine task runs once, so each round after the first is a new flow made like the first
//! (its options, its executor) on which the program (`define`) is run again, as the command's
//! `run --watch` runs `parade run` again. In a round, a proc the change does not make stale
//! ends as it did in the round before, without running: a success (or up to date) with its
//! result, a skip with its reason; a proc that failed runs again. A stale proc is checked as
//! usual, so one whose file was only touched stays up to date. The rounds share one run store
//! (the flow's, or one in memory when it has none).
//!
//! What a change makes stale is [`Staleness`]'s (shared with the command); waiting for changes
//! is [`FileWatch`](crate::store::FileWatch)'s. This module owns the rounds.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::engine::{Outcome, Reason, TaskState};
use crate::exec::process::is_pending_worker;
use crate::store::{DEBOUNCE, Staleness, Store};

use super::incremental::Kept;
use super::{Flow, FlowError, Mode};

/// Ends a [`Flow::watch`] from another thread (or a signal handler's flag): cheap to clone;
/// clones share one flag.
///
/// ```
/// let stop = parade::flow::WatchStop::new();
/// let other = stop.clone();
/// other.stop();
/// assert!(stop.is_stopped());
/// ```
#[derive(Clone, Debug, Default)]
pub struct WatchStop(Arc<AtomicBool>);

impl WatchStop {
    /// Not stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the watch to end: a round that runs is stopped (its procs cancelled) and waited
    /// for; waiting for changes ends.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`WatchStop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What a watch reports, to the closure given to [`Watch::on_event`].
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// A round ended: the first (everything the targets want) is round 1. `flow` is the
    /// round's (its states and results).
    Ran {
        /// 1, 2, 3...
        round: usize,
        /// The round's flow.
        flow: &'a Flow,
    },
    /// Waiting for a change to the files of `procs` procs.
    Watching {
        /// How many procs' files are watched.
        procs: usize,
        /// Whether the watch fell back to polling.
        polling: bool,
    },
    /// Files changed; `rerun` (in the order the procs were first made) runs again, with
    /// their dependents. An empty `rerun` (only ignored files changed) starts no round.
    Changed {
        /// The changed files.
        files: &'a [PathBuf],
        /// The procs that rerun.
        rerun: &'a [String],
    },
}

impl fmt::Display for WatchEvent<'_> {
    /// parproc's lines: `! Watch: detected changes in N proc(s); changes:` with the paths and
    /// the procs rescheduled, each on its own indented line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchEvent::Ran { round, flow } => {
                let failed = flow.failures().len();
                write!(f, "! Watch: round {round} done")?;
                if failed > 0 {
                    write!(f, ", {failed} failed")?;
                }
                Ok(())
            }
            WatchEvent::Watching { procs, polling } => write!(
                f,
                "! Watch: watching the inputs of {procs} proc(s){}",
                if *polling { ", by polling" } else { "" }
            ),
            WatchEvent::Changed { files, rerun } => {
                write!(
                    f,
                    "! Watch: detected changes in {} proc(s); changes:",
                    rerun.len()
                )?;
                for p in *files {
                    write!(f, "\n    {}", p.display())?;
                }
                write!(f, "\n  rescheduling:")?;
                for n in *rerun {
                    write!(f, "\n    {n}")?;
                }
                Ok(())
            }
        }
    }
}

type Handler<'f> = Box<dyn FnMut(&WatchEvent<'_>) + 'f>;

/// A watch being set up by [`Flow::watch`]; [`Watch::run`] runs it.
#[must_use = "a watch does nothing until `.run()`"]
pub struct Watch<'f, D> {
    flow: &'f Flow,
    define: D,
    targets: Vec<String>,
    debounce: Duration,
    stop: WatchStop,
    on_event: Option<Handler<'f>>,
}

impl Flow {
    /// parproc's watch mode: `define` (the program: procs, protos, params, observers) is run
    /// on this flow (which must not define them already), the targets are run, then the files
    /// the procs that took part read are watched; each change reruns the procs it makes stale
    /// and their dependents, nothing else, on a new flow made like this one (its options and
    /// executor; the rounds share one run store), until the [`WatchStop`] given to
    /// [`Watch::stop_with`] is stopped. In a round, a proc the change leaves alone ends as it
    /// did in the round before without running (up to date with its result, or skipped); a
    /// proc that failed runs again; a stale proc is checked as usual, so a touched but
    /// unchanged file reruns nothing.
    /// This flow keeps the first round; [`WatchEvent::Ran`] gives each round's flow.
    ///
    /// ```
    /// use parade::flow::{Flow, FlowOptions, Mode, WatchEvent, WatchStop};
    /// let dir = tempfile::tempdir().unwrap();
    /// let src = dir.path().join("a.txt");
    /// std::fs::write(&src, "1").unwrap();
    /// let input = src.display().to_string();
    /// let flow = Flow::with_options(FlowOptions::new().mode(Mode::Inline)).unwrap();
    /// let stop = WatchStop::new();
    /// let mut rounds = Vec::new();
    /// flow.watch(|f: &Flow| {
    ///         f.proc("read", |_| Ok(1)).inputs([input.as_str()]).add()?;
    ///         f.proc("unrelated", |_| Ok(2)).add()
    ///     })
    ///     .targets(["read", "unrelated"])
    ///     .stop_with(stop.clone())
    ///     .on_event(|e| match e {
    ///         WatchEvent::Watching { .. } if rounds.is_empty() => {
    ///             rounds.push(1);
    ///             std::fs::write(&src, "2").unwrap();
    ///         }
    ///         WatchEvent::Ran { round: 2, flow } => {
    ///             assert_eq!(flow.state("read").unwrap(), parade::engine::TaskState::Succeeded);
    ///             assert_eq!(flow.state("unrelated").unwrap(), parade::engine::TaskState::UpToDate);
    ///             stop.stop();
    ///         }
    ///         _ => {}
    ///     })
    ///     .run()
    ///     .unwrap();
    /// ```
    pub fn watch<D>(&self, define: D) -> Watch<'_, D>
    where
        D: Fn(&Flow) -> Result<(), FlowError>,
    {
        Watch {
            flow: self,
            define,
            targets: Vec::new(),
            debounce: DEBOUNCE,
            stop: WatchStop::new(),
            on_event: None,
        }
    }

    /// A new flow made like this one: its options, and its executor when it has its own.
    fn again(&self) -> Result<Flow, FlowError> {
        let options = self.options();
        match self.inner.memory.base.get() {
            Some(base) => Ok(Flow::gated(
                base.clone(),
                options.mode.unwrap_or(Mode::Custom),
                options,
            )),
            None => Flow::with_options(options),
        }
    }
}

impl<'f, D> Watch<'f, D>
where
    D: Fn(&Flow) -> Result<(), FlowError>,
{
    /// The procs (names, patterns, globs) each round runs; none: every proc `define` makes.
    pub fn targets<S: Into<String>>(mut self, targets: impl IntoIterator<Item = S>) -> Self {
        self.targets.extend(targets.into_iter().map(Into::into));
        self
    }

    /// The quiet period that coalesces a burst of changes (default 300 ms, parproc's).
    pub fn debounce(mut self, quiet: Duration) -> Self {
        self.debounce = quiet;
        self
    }

    /// Ends the watch when `stop` is stopped.
    pub fn stop_with(mut self, stop: WatchStop) -> Self {
        self.stop = stop;
        self
    }

    /// Receives what the watch does: rounds ended, changes and what they rerun.
    pub fn on_event(mut self, f: impl FnMut(&WatchEvent<'_>) + 'f) -> Self {
        self.on_event = Some(Box::new(f));
        self
    }

    /// Runs the rounds until stopped. In a worker process, only defines (the worker serves
    /// its proc when it is defined).
    ///
    /// Errors: what `define` returns, a target that names nothing, a file that cannot be
    /// watched.
    pub fn run(mut self) -> Result<(), FlowError> {
        self.flow.set_watching();
        if is_pending_worker() {
            return (self.define)(self.flow);
        }
        // One store for every round: the flow's, or one in memory.
        let store = if let Some(s) = self.flow.open_store() {
            s
        } else {
            let s = Store::in_memory().map_err(|e| FlowError::Options(e.to_string()))?;
            self.flow.use_store(&s);
            s
        };
        let mut staleness = Staleness::new();
        let mut last: HashMap<String, Last> = HashMap::new();
        let mut flow = self.flow.clone();
        let mut round = 1;
        loop {
            (self.define)(&flow)?;
            self.run_round(&flow)?;
            self.emit(&WatchEvent::Ran { round, flow: &flow });
            for (name, tracked) in flow.all_tracked() {
                let Ok(status) = flow.status(&name) else {
                    continue;
                };
                if status.state == TaskState::Idle {
                    continue;
                }
                let (paths, globs): (Vec<String>, Vec<String>) = tracked
                    .inc
                    .inputs
                    .iter()
                    .cloned()
                    .partition(|i| !i.contains(['*', '?', '[']));
                staleness
                    .task(
                        &name,
                        paths.into_iter().map(PathBuf::from),
                        globs,
                        tracked.inc.ignore.iter().cloned(),
                        flow.deps_of(&name),
                    )
                    .map_err(FlowError::Options)?;
                let value = flow.result::<Value>(&name).unwrap_or(Value::Null);
                let skipped = flow
                    .id(&name)
                    .and_then(|id| flow.engine().status(id).ok()?.reason)
                    .and_then(|r| match r {
                        Reason::Skipped(why) => Some(why),
                        _ => None,
                    });
                last.insert(
                    name.to_string(),
                    Last {
                        state: status.state,
                        skipped,
                        no_change: status.no_change,
                        value,
                    },
                );
            }
            if self.stop.is_stopped() {
                return Ok(());
            }
            // Watched from the end of the round: what the round wrote is not a change.
            let watch = staleness
                .watch()
                .map_err(|e| FlowError::Options(format!("cannot watch the inputs: {e}")))?;
            let rerun = loop {
                self.emit(&WatchEvent::Watching {
                    procs: staleness.len(),
                    polling: watch.polling(),
                });
                let stop = self.stop.clone();
                let Some(files) = watch.next(self.debounce, &move || stop.is_stopped()) else {
                    return Ok(());
                };
                let rerun = staleness.stale(&files);
                self.emit(&WatchEvent::Changed {
                    files: &files,
                    rerun: &rerun,
                });
                if !rerun.is_empty() {
                    break rerun;
                }
            };
            let next = flow.again()?;
            next.use_store(&store);
            next.set_watching();
            next.set_keep(kept(&last, &rerun));
            flow = next;
            round += 1;
        }
    }

    fn emit(&mut self, event: &WatchEvent<'_>) {
        if let Some(f) = self.on_event.as_mut() {
            f(event);
        }
    }

    /// Runs the targets on `flow` and waits for them; a stop cancels the round and still
    /// waits, so nothing is left running. A failed proc does not end the watch.
    fn run_round(&self, flow: &Flow) -> Result<(), FlowError> {
        if self.targets.is_empty() {
            let all: Vec<String> = flow
                .all_tracked()
                .iter()
                .map(|(n, _)| n.to_string())
                .collect();
            flow.start(all)?;
        } else {
            for t in &self.targets {
                flow.run(t)?;
            }
        }
        let done = AtomicBool::new(false);
        let stop = &self.stop;
        std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::Acquire) {
                    if stop.is_stopped() {
                        flow.engine().stop();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
            let _ = flow.wait_all();
            done.store(true, Ordering::Release);
        });
        Ok(())
    }
}

/// How a proc ended in a round.
struct Last {
    state: TaskState,
    /// Why, if it skipped.
    skipped: Option<String>,
    no_change: bool,
    value: Value,
}

/// The procs of the last round that `rerun` leaves alone, with how they end this round: as
/// they ended (a success or up to date: up to date with their result; a skip: skipped
/// again, for the same reason). Failed procs are not kept: they run again.
fn kept(last: &HashMap<String, Last>, rerun: &[String]) -> HashMap<String, Kept> {
    let rerun: HashSet<&str> = rerun.iter().map(String::as_str).collect();
    last.iter()
        .filter(|(name, _)| !rerun.contains(name.as_str()))
        .filter_map(|(name, l)| {
            let outcome = match l.state {
                TaskState::Succeeded | TaskState::UpToDate => {
                    Outcome::UpToDate("nothing it reads changed since the last round".to_owned())
                }
                TaskState::Skipped => Outcome::Skipped(l.skipped.clone().unwrap_or_default()),
                _ => return None,
            };
            let kept = Kept {
                outcome,
                value: l.value.clone(),
                no_change: l.no_change,
            };
            Some((name.clone(), kept))
        })
        .collect()
}
