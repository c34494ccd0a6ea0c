//! What deciding up to date ahead of the engine allocates per dependency edge, counted (not
//! timed): a layered file, every task needing every task of the layer before, decided on a
//! fresh store and again once all of it ran (every task up to date). The decisions read the run's plan steps, whose dependency names are shared:
//! no string is made per edge.
//!
//! Its own test binary: the counts are the process's, so nothing else may allocate meanwhile.

use std::alloc::System;
use std::fmt::Write as _;
use std::sync::Arc;

use parade::store::Store;
use parade_cli::runner::{self, RunHooks, RunRequest};
use parade_cli::taskfile;
use parade_cli::uptodate::{Memory, Mode};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn deciding_ahead_makes_no_string_per_dependency_edge() {
    let (layers, width) = (3, 200);
    let mut text = String::new();
    for l in 0..layers {
        for i in 0..width {
            // An output: a task that makes nothing always runs, never up to date.
            let _ = write!(
                text,
                "[task.l{l}_{i}]\nrun = \"touch l{l}_{i}.out\"\noutputs = [\"l{l}_{i}.out\"]\n"
            );
            if l > 0 {
                let deps: Vec<String> = (0..width).map(|j| format!("\"l{}_{j}\"", l - 1)).collect();
                let _ = writeln!(text, "deps = [{}]", deps.join(", "));
            }
        }
    }
    let dir = tempfile::tempdir().expect("a directory");
    std::fs::write(dir.path().join("parade.toml"), text).expect("the file");
    let file = taskfile::load(Some(&dir.path().join("parade.toml"))).expect("the file loads");
    let targets: Vec<String> = (0..width).map(|i| format!("l{}_{i}", layers - 1)).collect();
    let store = Store::for_project(dir.path()).expect("a store");
    let results_dir = dir.path().join("results");
    // Counted twice: deciding on a fresh store (everything runs), then after that run, when
    // every task is up to date and each decision reads its dependencies' keys.
    for (round, wanted_to_run) in [(0, layers * width), (1, 0)] {
        let run = store.begin_run(&targets).expect("a run");
        let memory = Arc::new(Memory::new(store.clone(), run, Mode::default()));
        let flow = runner::build(
            &file,
            file.params.clone(),
            results_dir.clone(),
            Some(1),
            false,
            None,
            RunHooks {
                memory: Some(memory.clone()),
                ..RunHooks::default()
            },
        )
        .expect("the flow");
        let mut names = Vec::new();
        for t in &targets {
            names.extend(flow.create(t).expect("a target"));
        }
        let steps = flow.plan(&targets).expect("a plan");
        let request = RunRequest {
            jobs: Some(1),
            memory: Some(memory.clone()),
            ..RunRequest::new(&file, &targets, results_dir.clone())
        };
        let region = Region::new(GLOBAL);
        let ahead = parade_cli::ahead::decide(&flow, &request, &steps, &memory, &names, 1);
        let counted = region.change();
        let edges = (layers - 1) * width * width;
        assert_eq!(
            ahead.start.len(),
            wanted_to_run,
            "round {round}: tasks to run"
        );
        let allocations = counted.allocations + counted.reallocations;
        // A copy of each proc's record (a String per dependency) was 1.13 per edge; now ~0.12
        // on the fresh store. Up to date, each of the 600 tasks makes ~64 of its own (its last
        // success cloned, its outputs' fingerprints, the texts of its verdict): ~0.48 per
        // edge, where one string per edge would add 1.
        let tenths = if round == 0 { 3 } else { 6 };
        assert!(
            allocations * 10 < edges * tenths,
            "round {round}: {allocations} allocations for {edges} edges: 0.{tenths} per edge \
             at most"
        );
        drop(flow);
        if round == 0 {
            let report = runner::run(&request, &mut |_, _, _| {}).expect("the first run");
            assert!(report.ok(), "the first run succeeds");
        }
        store.end_run(run, "succeeded").expect("the run ends");
    }
}
