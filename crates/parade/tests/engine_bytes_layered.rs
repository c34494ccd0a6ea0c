//! What a layered graph costs per task, counted (not timed) with a counting global allocator:
//! layers of 1,000 tasks, each after three random tasks of the layer before (as
//! `parade-bench engine`'s `layered-random-w1000`). Beside a task's record and job, its edges
//! (about three each way) are what it costs: they live packed in the edge arena, with little
//! rounding and no allocation per task.
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

/// A small xorshift generator: the graph is the same in every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn layered_tasks_cost_their_record_job_and_edges_and_little_else() {
    const N: usize = 100_000;
    const WIDTH: usize = 1000;
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let engine = Engine::inline();
    let mut ids = Vec::with_capacity(N);
    let mut deps = Vec::new();
    let all = Region::new(GLOBAL);
    engine.reserve(N);
    for i in 0..N {
        deps.clear();
        if i >= WIDTH {
            let layer_start = (i / WIDTH - 1) * WIDTH;
            deps.extend(
                (0..3).map(|_| ids[layer_start + usize::try_from(next(&mut rng) % 1000).unwrap()]),
            );
        }
        ids.push(
            engine
                .add(TaskSpec::new(|_| Outcome::Succeeded).deps(deps.iter().copied()))
                .unwrap(),
        );
    }
    let add = per_task(all.change().bytes_allocated, N);
    engine.want(ids.iter().copied()).unwrap();
    engine.wait_all().unwrap();
    let total = per_task(all.change().bytes_allocated, N);
    eprintln!("layered: {add:.1} B per task added, {total:.1} B per task in all");
    // A record (28 B), a job's cell (24 B), the ids wanted (4 B), and the edges: about three
    // ids each way (three dependencies in a block of three, not four) and the arena's tail.
    // 98 B with blocks of powers of two in an arena that doubled.
    assert!(total <= 82.0, "{total:.1} bytes per layered task");
    assert!(
        ids.iter()
            .all(|&id| engine.status(id).unwrap().state.is_success())
    );
}
