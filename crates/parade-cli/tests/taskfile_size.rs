//! What a checked task file costs per task, counted (not timed): the bytes a plain task keeps
//! and the allocations reading it makes. A large file is mostly plain tasks (a name, a command,
//! a few deps), and what most tasks leave empty takes no room in them.
//!
//! Its own test binary: the counts are the process's, so nothing else may allocate meanwhile.

use std::alloc::System;
use std::fmt::Write as _;
use std::path::PathBuf;

use parade_cli::taskfile::{SourceFile, Task, TaskFile, parse};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Plain tasks as a generated file has them: `t{i}` running `echo {i}`, needing two before it.
/// Fewer than `discard::LARGE`, so what reading frees is freed before `parse` returns.
fn plain(n: usize) -> String {
    let mut text = String::with_capacity(n * 56);
    for i in 0..n {
        let _ = write!(text, "[task.t{i}]\nrun = \"echo {i}\"\n");
        if i >= 2 {
            let _ = writeln!(text, "deps = [\"t{}\", \"t{}\"]", i - 1, i / 2);
        }
    }
    text
}

/// One counted test at a time: the counts are the process's.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn parse_counted(text: String) -> (TaskFile, stats_alloc::Stats) {
    let source = SourceFile {
        name: "parade.toml".into(),
        text,
    };
    let region = Region::new(GLOBAL);
    let file = parse(PathBuf::from("parade.toml"), source).expect("the file checks");
    (file, region.change())
}

#[test]
fn a_plain_task_keeps_a_few_hundred_bytes_and_reading_it_allocates_a_bounded_number_of_times() {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let n = 5_000;
    let text = plain(n);
    let text_bytes = text.capacity();
    let (file, read) = parse_counted(text);
    assert_eq!(file.tasks.len(), n);
    // What the checked file holds is what dropping it frees (its text aside).
    let region = Region::new(GLOBAL);
    drop(file);
    let freed = region.change();
    let per_task = freed.bytes_deallocated.saturating_sub(text_bytes) / n;
    let allocations = (read.allocations + read.reallocations) / n;
    // The task itself: a name, its parsed form, a command, two deps, and one pointer for all
    // that it leaves empty.
    assert!(
        size_of::<Task>() <= 256,
        "a task is {} bytes",
        size_of::<Task>()
    );
    assert!(per_task <= 400, "{per_task} bytes kept per plain task");
    // Reading: the TOML document's table and list, the task's strings as read and as
    // checked, its name's one part; nothing for what it leaves empty.
    assert!(
        allocations <= 16,
        "{allocations} allocations per plain task read"
    );
}

/// `layers` layers of `width` plain tasks, each needing every task of the layer before (the
/// shape of `parade-bench cli`'s `layered`), or without their `deps`.
fn layered(layers: usize, width: usize, deps: bool) -> String {
    let mut text = String::new();
    for l in 0..layers {
        for i in 0..width {
            let _ = write!(text, "[task.l{l}_{i}]\nrun = \"true\"\n");
            if deps && l > 0 {
                let deps: Vec<String> = (0..width).map(|j| format!("\"l{}_{j}\"", l - 1)).collect();
                let _ = writeln!(text, "deps = [{}]", deps.join(", "));
            }
        }
    }
    text
}

#[test]
fn a_dependency_name_is_one_string_however_many_tasks_need_it_and_an_edge_allocates_nothing() {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (layers, width) = (10, 30);
    let edges = (layers - 1) * width * width;
    // The same tasks without their edges: what the edges add is what they cost.
    let (_, bare) = parse_counted(layered(layers, width, false));
    let (file, read) = parse_counted(layered(layers, width, true));
    assert_eq!(file.tasks.len(), layers * width);
    let mut distinct = std::collections::HashSet::new();
    for task in &file.tasks {
        for dep in &task.deps {
            let parade_cli::taskfile::Dep::Task(name) = dep else {
                panic!("a task dep");
            };
            distinct.insert(std::sync::Arc::as_ptr(name).cast::<u8>() as usize);
        }
    }
    assert_eq!(
        distinct.len(),
        (layers - 1) * width,
        "one string per task named as a dependency, not one per edge"
    );
    let extra = (read.allocations + read.reallocations)
        .saturating_sub(bare.allocations + bare.reallocations);
    // An edge is an element of a TOML array and of two lists (as read, as checked), which grow
    // a few times per task: no string of its own (it was two: as read, as checked).
    assert!(extra * 2 <= edges, "{extra} allocations for {edges} edges");
}
