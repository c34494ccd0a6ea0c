//! What the engine's tables cost while tasks are added after [`Engine::reserve`], counted
//! (not timed) with a counting global allocator.
//!
//! One test in this binary, so that nothing else allocates while it counts.

use parade::engine::{Engine, Outcome, TaskSpec};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

#[test]
fn tasks_added_after_a_reserve_grow_no_table() {
    const N: usize = 100_000;
    let engine = Engine::inline();
    // Made before the region: the specs' jobs (empty closures box nothing) and the vector.
    let mut specs: Vec<TaskSpec> = (0..N)
        .map(|_| TaskSpec::new(|_| Outcome::Succeeded))
        .collect();
    let mut ids = Vec::with_capacity(N);
    let region = Region::new(GLOBAL);
    engine.reserve(N);
    while let Some(spec) = specs.pop() {
        ids.push(engine.add(spec).unwrap());
    }
    let change = region.change();
    drop(specs);
    eprintln!(
        "{} allocations, {} reallocations, {} bytes copied in reallocation for {N} tasks",
        change.allocations, change.reallocations, change.bytes_reallocated
    );
    // The slots and the pending entries, each made once at its size; without the reserve
    // they double their way there: 30 reallocations copying 7.9 MB.
    assert!(
        change.allocations + change.reallocations <= 2,
        "{} allocations and {} reallocations",
        change.allocations,
        change.reallocations
    );
    engine.want(ids.iter().copied()).unwrap();
    engine.wait_all().unwrap();
    assert!(
        ids.iter()
            .all(|&id| engine.status(id).unwrap().state.is_success())
    );
}
