//! What reading and checking a task file allocates per dependency, counted (not timed): the
//! benchmark's layered file (`parade-bench cli`), 10 layers of 100 tasks, each needing every
//! task of the layer before (90,000 dependencies). A dependency is its span and a shared
//! name: no string and no list growth per dependency, only what each task's table and the
//! TOML reader's own tree cost.
//!
//! Its own test binary: the counts are the process's, so nothing else may allocate meanwhile.

use std::alloc::System;
use std::path::PathBuf;

use parade_cli::taskfile::{SourceFile, parse};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[path = "../src/taskfile/fixture.rs"]
mod fixture;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn checking_a_layered_file_allocates_per_task_not_per_dependency() {
    let (layers, width) = (10, 100);
    let text = fixture::layered(layers, width);
    let tasks = layers * width;
    let deps = (layers - 1) * width * width;
    let source = SourceFile {
        name: "parade.toml".into(),
        text,
    };
    let region = Region::new(GLOBAL);
    let file = parse(PathBuf::from("parade.toml"), source).expect("the file checks");
    let stats = region.change();
    assert_eq!(file.tasks.len(), tasks);
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let (per_dep, per_task) = (
        stats.allocations as f64 / deps as f64,
        stats.allocations as f64 / tasks as f64,
    );
    eprintln!(
        "{} allocations: {per_dep:.3} per dependency, {per_task:.1} per task",
        stats.allocations
    );
    // Measured 0.140 a dependency (12.6 a task: the TOML reader's tree and each task's own
    // values). A string per dependency adds 1; a task's list of dependencies grown step by
    // step instead of made to size adds 0.05 (an early version of the tree reader: 0.19).
    assert!(
        per_dep < 0.16,
        "{per_dep:.3} allocations per dependency ({} in all)",
        stats.allocations
    );
}
