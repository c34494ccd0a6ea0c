//! What a run of many independent tasks allocates per task, counted (not timed) with a
//! counting global allocator: the engine's tables made once at their size, and a run that
//! adds almost nothing to them (wanting and readying a hundred thousand tasks needs no list as
//! long as them beside the ids asked for, and a chain allocates nothing per link).
//!
//! One test in this binary, so that nothing else allocates while it counts.

use parade::engine::{Engine, Outcome, TaskSpec};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn per_task(bytes: usize, n: usize) -> f64 {
    bytes as f64 / n as f64
}

#[test]
fn independent_tasks_cost_their_record_and_job_and_a_run_adds_little() {
    const N: usize = 100_000;
    let engine = Engine::inline();
    let mut ids = Vec::with_capacity(N);
    let added = Region::new(GLOBAL);
    engine.reserve(N);
    for _ in 0..N {
        ids.push(engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap());
    }
    let add = per_task(added.change().bytes_allocated, N);
    let ran = Region::new(GLOBAL);
    engine.want(ids.iter().copied()).unwrap();
    engine.wait_all().unwrap();
    let run = per_task(ran.change().bytes_allocated, N);
    eprintln!("{add:.1} B per task added, {run:.1} B per task run");
    // A record (28 B) and a job's cell (24 B).
    assert!(add <= 52.5, "{add:.1} bytes per task added");
    // The ids wanted (4 B), and no stack, ready queue or free list as long as the run.
    assert!(run <= 6.0, "{run:.1} bytes per task run");
    assert!(
        ids.iter()
            .all(|&id| engine.status(id).unwrap().state.is_success())
    );

    // Ids handed over in their vector are wanted in it: no copy of them.
    let moved = Engine::inline();
    moved.reserve(N);
    let ids: Vec<_> = (0..N)
        .map(|_| moved.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap())
        .collect();
    let ran = Region::new(GLOBAL);
    moved.want(ids).unwrap();
    moved.wait_all().unwrap();
    let run = per_task(ran.change().bytes_allocated, N);
    eprintln!("{run:.1} B per task run, ids wanted in their vector");
    assert!(run <= 2.0, "{run:.1} bytes per task run from a vector");

    // A chain: each task ends alone in its wave and readies the next, so the ready set empties
    // and fills again after every task; that must not cost an allocation per task.
    let chain = Engine::inline();
    chain.reserve(N);
    let mut last = chain.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
    let first = last;
    for _ in 1..N {
        last = chain
            .add(TaskSpec::new(|_| Outcome::Succeeded).dep(last))
            .unwrap();
    }
    let ran = Region::new(GLOBAL);
    chain.want([last]).unwrap();
    chain.wait_all().unwrap();
    let change = ran.change();
    let run = per_task(change.bytes_allocated, N);
    eprintln!(
        "chain: {run:.1} B per task run, {} allocations",
        change.allocations
    );
    assert!(run <= 2.0, "{run:.1} bytes per chained task run");
    assert!(chain.status(first).unwrap().state.is_success());
}
