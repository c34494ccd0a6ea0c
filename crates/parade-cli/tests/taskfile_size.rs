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
