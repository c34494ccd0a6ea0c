//! What wanting costs when tasks are wanted one call at a time (as the graph face wants each
//! task it is given), counted (not timed): allocations per call, from a counting global
//! allocator.
//!
//! One test in this binary, so that nothing else allocates while it counts.

use parade::engine::{Engine, Outcome, TaskId, TaskSpec};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const N: usize = 10_000;

#[test]
fn wanting_one_task_at_a_time_allocates_nothing_per_call() {
    let engine = Engine::inline();
    // Every task waits for a placeholder that is not defined yet: wanting them walks their
    // dependencies and runs nothing, so all that is counted is the want itself.
    let gate = engine.add(TaskSpec::placeholder()).unwrap();
    engine.want([gate]).unwrap();
    let tasks: Vec<TaskId> = (0..N)
        .map(|_| {
            engine
                .add(TaskSpec::new(|_| Outcome::Succeeded).deps([gate]))
                .unwrap()
        })
        .collect();
    let region = Region::new(GLOBAL);
    for &t in &tasks {
        engine.want([t]).unwrap();
    }
    let change = region.change();
    let allocations = change.allocations + change.reallocations;
    eprintln!("{allocations} allocations for {N} calls");
    // The walk's stack is kept between calls (a new one per call was an allocation per task).
    assert!(
        allocations < N / 100,
        "{allocations} allocations for {N} calls to want"
    );
    // The tasks were wanted: defining the gate runs every one of them.
    engine
        .define(gate, TaskSpec::new(|_| Outcome::Succeeded))
        .unwrap();
    engine.wait_all().unwrap();
    assert!(
        tasks
            .iter()
            .all(|&t| engine.status(t).unwrap().state.is_success())
    );
}
