//! What the engine costs for a task defined after it was added (a placeholder given its job
//! later, as a flow's instances are), counted (not timed): allocations and bytes kept per
//! task, from a counting global allocator.
//!
//! One test in this binary, so that nothing else allocates while it counts.

use parade::engine::{Engine, Outcome, TaskId, TaskSpec};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const N: usize = 10_000;

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn per_task(count: usize) -> f64 {
    count as f64 / N as f64
}

#[test]
fn defining_a_placeholder_allocates_nothing_of_its_own_and_keeps_its_edges_packed() {
    let engine = Engine::inline();
    let base: Vec<TaskId> = (0..=N)
        .map(|_| engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap())
        .collect();
    let placeholders: Vec<TaskId> = (0..N)
        .map(|_| engine.add(TaskSpec::placeholder()).unwrap())
        .collect();
    // The jobs are boxed before the region: what is counted is the engine's own part.
    let mut specs: Vec<(TaskId, TaskSpec)> = (0..N)
        .map(|i| {
            let spec = TaskSpec::new(|_| Outcome::Succeeded).deps([base[i], base[i + 1]]);
            (placeholders[i], spec)
        })
        .collect();
    let region = Region::new(GLOBAL);
    // Popped, so that the vector's own buffer is not freed inside the region.
    while let Some((id, spec)) = specs.pop() {
        engine.define(id, spec).unwrap();
    }
    let change = region.change();
    drop(specs);
    let allocations = per_task(change.allocations + change.reallocations);
    let kept = per_task(change.bytes_allocated) - per_task(change.bytes_deallocated)
        + per_task(change.bytes_reallocated.max(0).unsigned_abs())
        - per_task(change.bytes_reallocated.min(0).unsigned_abs());
    eprintln!("per defined task: {allocations:.3} allocations, {kept:.1} bytes kept");
    // The edge arena and the dependents' lists grow by doubling: a few reallocations in all,
    // not one allocation per task or per edge (a cycle check per edge made 4, and growing the
    // new list edge by edge left blocks of 1 behind).
    assert!(
        allocations < 0.05,
        "{allocations:.3} allocations per defined task"
    );
    // Two edges each way, 16 bytes of ids, and a block of 1 a dependent list left behind
    // when it grew: the arena's vector, doubled, holds 52 bytes per task here.
    assert!(kept <= 56.0, "{kept:.1} bytes kept per defined task");
    // The tasks are whole: wanting them runs them after their dependencies.
    engine.want(placeholders.iter().copied()).unwrap();
    engine.wait_all().unwrap();
    let last = engine.status(placeholders[N - 1]).unwrap();
    assert!(last.state.is_success());
    assert_eq!(engine.deps(placeholders[0]).unwrap(), [base[0], base[1]]);
}
