//! Up to date, decided before the engine: the tasks a run wants are decided in the order of
//! its plan (dependencies first), so that an up-to-date task no running task needs never
//! becomes an engine job. A no-op rerun starts nothing: no job, no worker, no observer thread.
//!
//! A task is decided here only when every dependency was decided up to date here (a task is up
//! to date only if its dependencies are): then nothing can change its sources before it would
//! start, and the decision is the one its body would make. The rest (a dependency runs, a
//! source cannot be read yet) is decided by its body, after its dependencies ran, as before.
//! Decisions made here that a body needs (a task that runs, an up-to-date dependency of one)
//! are kept in [`Memory`] for it. The up-to-date tasks left out of the engine are noted for
//! the run store and given back as [`Ahead::skipped`] for the run to report to its observers
//! and in its report, exactly as an engine job's end would be.
//!
//! Task files with rdeps or `when_scheduled` rules are not decided ahead (their edges exist only
//! once the engine starts them): their tasks are decided by their bodies.
//!
//! It owns the order and the split; [`crate::uptodate`] owns each decision. It must not know
//! how tasks run or are shown.

use std::collections::BTreeMap;

use parade::engine::TaskId;
use parade::flow::{Flow, PlanStep};
use serde_json::Value;

use crate::runner::RunRequest;
use crate::task::{ResultsDir, TaskRun};
use crate::taskfile::Task;
use crate::uptodate::{Decision, Memory, Verdict};

/// A task decided up to date here: its decision, its definition, its placeholder values.
type Up<'t> = (Decision, &'t Task, BTreeMap<String, String>);

/// An up-to-date task that is not an engine job in this run.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// Its name.
    pub name: String,
    /// Its id in the flow's engine (for its observers' events).
    pub id: TaskId,
    /// Why it is up to date: `unchanged since run 3`.
    pub why: String,
    /// Its stored result (`Null` for none).
    pub result: Value,
}

/// What is decided before the engine starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ahead {
    /// Up-to-date tasks no engine job needs, in plan order.
    pub skipped: Vec<Skipped>,
    /// What to start in the engine (empty: nothing runs).
    pub start: Vec<String>,
}

/// Decides the plan `steps` of `names` on `flow` (the flow of `request.file`, and its plan of
/// the targets: each step's dependencies, definition and arguments are read from it, no
/// proc's record is copied out) with `memory`, on up to `threads` threads, writing the result
/// of each skipped task under `request.results_dir` (its dependents' `$PARADE_RESULTS_DIR`)
/// and noting it for the run store.
#[allow(clippy::too_many_lines)] // one sequence: order, levels, decisions, the engine's share
pub fn decide(
    flow: &Flow,
    request: &RunRequest<'_>,
    steps: &[PlanStep],
    memory: &Memory,
    names: &[String],
    threads: usize,
) -> Ahead {
    let (file, params) = (request.file, &request.params);
    let results = ResultsDir::new(request.results_dir.clone());
    let everything = || Ahead {
        skipped: Vec::new(),
        start: names.to_vec(),
    };
    if file.tasks.iter().any(|t| {
        !t.rdeps.is_empty() || !t.when_scheduled.is_empty() || !t.when_target_scheduled.is_empty()
    }) {
        return everything();
    }
    // Without rdeps and `when_scheduled` rules a step's dependencies are all its proc's.
    let index: foldhash::HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (&*s.name, i))
        .collect();
    // Each step's dependencies as positions in the plan, each name looked up once (a
    // dependency the plan lacks has none); the levels, the candidates and what the engine
    // needs all read these.
    let deps = Positions::of(steps, &index);
    // Levels: a task comes after all its dependencies (the plan's order is topological), and
    // the tasks of one level are decided side by side, on `threads` threads.
    let mut level = vec![0usize; steps.len()];
    for i in 0..steps.len() {
        level[i] = deps
            .of_step(i)
            .iter()
            .map(|&j| level[j as usize] + 1)
            .max()
            .unwrap_or(0);
    }
    let mut by_level: Vec<usize> = (0..steps.len()).collect();
    by_level.sort_by_key(|&i| level[i]);
    // Each decided step's decision, definition (looked up once) and placeholder values.
    let mut decided: Vec<Option<Up<'_>>> = (0..steps.len()).map(|_| None).collect();
    let mut is_up = vec![false; steps.len()];
    for group in by_level.chunk_by(|&a, &b| level[a] == level[b]) {
        // Decided here: a task every dependency of which was decided up to date here.
        let candidates: Vec<(usize, &Task)> = group
            .iter()
            .filter_map(|&i| {
                let step = &steps[i];
                // Every dependency is a step of the plan, each decided up to date.
                let ready = !step.missing
                    && deps.of_step(i).len() == step.deps.len()
                    && deps.of_step(i).iter().all(|&j| is_up[j as usize]);
                if !ready {
                    return None;
                }
                Some((i, file.task(&step.defined_as)?))
            })
            .collect();
        let results = in_parallel(&candidates, threads, |&(i, task)| {
            let step = &steps[i];
            let args: BTreeMap<String, String> = step
                .args
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let run = TaskRun::planned(file, task, &step.name, &args, params);
            // A decision that fails here (a source not there yet) is its body's to make.
            let d = memory.decide(&run, &step.deps).ok()?;
            Some((i, d, task, args))
        });
        for (i, d, task, args) in results.into_iter().flatten() {
            is_up[i] = matches!(d.verdict, Verdict::UpToDate { .. });
            decided[i] = Some((d, task, args));
        }
    }
    // `--explain` lists what was decided here in the plan's order.
    memory.order_explanations(&index);
    // What is not up to date runs (its decision, if made here, kept for its body); the
    // up-to-date decisions stay in `decided` for the split below.
    let mut runs: Vec<usize> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if is_up[i] {
            continue;
        }
        if let Some((d, _, _)) = decided[i].take() {
            memory.keep_ahead(&step.name, d);
        }
        runs.push(i);
    }
    // The engine's jobs: what runs, and what it needs (its dependencies, transitively).
    let mut needed = vec![false; steps.len()];
    for &i in &runs {
        needed[i] = true;
    }
    let mut stack = runs.clone();
    while let Some(i) = stack.pop() {
        for &j in deps.of_step(i) {
            let j = j as usize;
            if !needed[j] {
                needed[j] = true;
                stack.push(j);
            }
        }
    }
    let mut skipped = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let name = &*step.name;
        let Some((decision, task, args)) = decided[i].take() else {
            continue;
        };
        let (Some(id), false) = (flow.id(name), needed[i]) else {
            memory.keep_ahead(name, decision);
            continue;
        };
        let Verdict::UpToDate { why, last } = &decision.verdict else {
            continue;
        };
        let result = last.result.clone().unwrap_or(Value::Null);
        if !result.is_null() {
            let run = TaskRun {
                results: &results,
                ..TaskRun::planned(file, task, name, &args, params)
            };
            let _ = std::fs::write(run.result_path(), result.to_string());
        }
        memory.note(name, &decision, Some(&result), last.outputs.clone());
        skipped.push(Skipped {
            name: name.to_owned(),
            id,
            why: why.clone(),
            result,
        });
    }
    Ahead {
        skipped,
        start: runs
            .into_iter()
            .map(|i| steps[i].name.to_string())
            .collect(),
    }
}

/// Each plan step's dependencies as positions in the plan, in one buffer.
struct Positions {
    /// Where each step's positions end in `at` (its start is the step before's end).
    ends: Vec<usize>,
    at: Vec<u32>,
}

impl Positions {
    /// The positions of `steps`' dependencies, each name found by `index` (the steps'
    /// positions by name); a dependency the plan lacks has none.
    fn of(steps: &[PlanStep], index: &foldhash::HashMap<&str, usize>) -> Self {
        let mut ends = Vec::with_capacity(steps.len());
        let mut at = Vec::with_capacity(steps.iter().map(|s| s.deps.len()).sum());
        for step in steps {
            at.extend(
                step.deps
                    .iter()
                    .filter_map(|d| index.get(&**d))
                    .map(|&j| u32::try_from(j).expect("fewer than 2^32 steps")),
            );
            ends.push(at.len());
        }
        Positions { ends, at }
    }

    /// The positions of step `i`'s dependencies.
    fn of_step(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.at[start..self.ends[i]]
    }
}

/// `f` of each item, in order: on this thread for a few items, else on up to `threads` scoped
/// threads, each a contiguous share.
fn in_parallel<I: Sync, T: Send>(
    items: &[I],
    threads: usize,
    f: impl Fn(&I) -> T + Sync,
) -> Vec<T> {
    if threads <= 1 || items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    let share = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(share)
            .map(|chunk| scope.spawn(|| chunk.iter().map(&f).collect::<Vec<T>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use parade::engine::{Event, TaskState};
    use parade::store::Store;

    use crate::observers::Subscribe;
    use crate::runner::{self, RunReport, RunRequest};
    use crate::uptodate::{Memory, Mode};

    /// Compile steps (enough to be decided on several threads).
    const STEPS: usize = 100;

    /// `STEPS` compile steps joined by `all`, and `other`, which nothing needs.
    fn task_file() -> String {
        let values: Vec<String> = (0..STEPS).map(|i| format!("\"{i}\"")).collect();
        format!(
            r#"
[task."gen::[i]"]
choices = {{ i = [{}] }}
run = "mkdir -p out && cp src/{{i}}.txt out/{{i}}.txt"
sources = ["src/{{i}}.txt"]
outputs = ["out/{{i}}.txt"]

[task.all]
deps = ["gen::*"]
run = "cat out/*.txt > out/all"
sources = ["out/*.txt"]
outputs = ["out/all"]

[task.other]
run = "cp src/other.txt out-other.txt"
sources = ["src/other.txt"]
outputs = ["out-other.txt"]
"#,
            values.join(", ")
        )
    }

    /// What one run did: its report, the engine's own events (jobs), and what the run's
    /// observers saw.
    struct Seen {
        report: RunReport,
        engine_events: usize,
        engine_started: usize,
        observed_finished: Vec<(String, TaskState)>,
    }

    fn run_once(dir: &std::path::Path) -> Seen {
        let file = crate::taskfile::load(Some(&dir.join("parade.toml"))).expect("the file loads");
        let store = Store::for_project(dir).expect("a store");
        let targets = ["all".to_owned(), "other".to_owned()];
        let run = store.begin_run(&targets).expect("a run");
        let memory = Arc::new(Memory::new(store.clone(), run, Mode::default()));
        let request = RunRequest {
            jobs: Some(2),
            memory: Some(memory),
            ..RunRequest::new(&file, &targets, dir.join("results"))
        };
        let events = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(Mutex::new(Vec::new()));
        let report = runner::run(&request, &mut |engine, observers, names| {
            let (events, started) = (events.clone(), started.clone());
            engine.subscribe(move |e: &Event| {
                events.fetch_add(1, Ordering::SeqCst);
                if matches!(e, Event::Started { .. }) {
                    started.fetch_add(1, Ordering::SeqCst);
                }
            });
            let finished = finished.clone();
            observers.subscribe(move |e: &Event| {
                if let Event::Finished { id, state, .. } = e {
                    let name = names.name(*id).unwrap_or_default();
                    finished.lock().unwrap().push((name, *state));
                }
            });
        })
        .expect("it runs");
        store.end_run(run, "succeeded").expect("the run ends");
        let observed_finished = finished.lock().unwrap().clone();
        Seen {
            report,
            engine_events: events.load(Ordering::SeqCst),
            engine_started: started.load(Ordering::SeqCst),
            observed_finished,
        }
    }

    fn state_of(seen: &Seen, name: &str) -> TaskState {
        seen.report
            .states
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
            .expect("the task is in the report")
    }

    #[test]
    fn a_no_op_rerun_makes_no_engine_job_and_its_observers_still_see_every_task() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("parade.toml"), task_file()).unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        for i in 0..STEPS {
            std::fs::write(dir.path().join(format!("src/{i}.txt")), format!("{i}\n")).unwrap();
        }
        std::fs::write(dir.path().join("src/other.txt"), "other\n").unwrap();

        let first = run_once(dir.path());
        assert!(first.report.ok(), "{:?}", first.report.states);
        let all = STEPS + 2;
        assert_eq!(first.engine_started, all, "every task ran in the engine");
        assert_eq!(first.observed_finished.len(), all);

        let second = run_once(dir.path());
        assert!(second.report.ok(), "{:?}", second.report.states);
        assert_eq!(second.engine_events, 0, "the engine saw nothing at all");
        assert_eq!(second.report.states.len(), all);
        assert!(
            second
                .report
                .states
                .iter()
                .all(|(_, s)| *s == TaskState::UpToDate),
            "{:?}",
            second.report.states
        );
        // The observers saw each task end up to date, dependencies first.
        assert_eq!(second.observed_finished.len(), all);
        assert!(
            second
                .observed_finished
                .iter()
                .all(|(_, s)| *s == TaskState::UpToDate)
        );
        let at = |name: &str| {
            second
                .observed_finished
                .iter()
                .position(|(n, _)| n == name)
                .expect("seen")
        };
        assert!(at("gen::7") < at("all"));

        // `other` changes: it is the only engine job; the rest is reported up to date.
        std::fs::write(dir.path().join("src/other.txt"), "changed\n").unwrap();
        let third = run_once(dir.path());
        assert!(third.report.ok(), "{:?}", third.report.states);
        assert_eq!(third.engine_started, 1, "only `other` became a job");
        assert_eq!(state_of(&third, "other"), TaskState::Succeeded);
        assert_eq!(state_of(&third, "all"), TaskState::UpToDate);
        assert_eq!(third.observed_finished.len(), all);

        // One source of `all` changes: `gen::3` and `all` run, the other compile steps are
        // up-to-date jobs `all` waits for; `other` is no job.
        std::fs::write(dir.path().join("src/3.txt"), "three\n").unwrap();
        let fourth = run_once(dir.path());
        assert!(fourth.report.ok(), "{:?}", fourth.report.states);
        assert_eq!(state_of(&fourth, "gen::3"), TaskState::Succeeded);
        assert_eq!(state_of(&fourth, "all"), TaskState::Succeeded);
        assert_eq!(state_of(&fourth, "gen::4"), TaskState::UpToDate);
        assert_eq!(state_of(&fourth, "other"), TaskState::UpToDate);
        assert_eq!(
            fourth.engine_started,
            all - 1,
            "everything `all` needs, not `other`"
        );
        let joined = std::fs::read_to_string(dir.path().join("out/all")).unwrap();
        assert!(joined.contains("three"), "{joined}");
    }
}
