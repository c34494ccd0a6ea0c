//! `parade-bench engine`: the scheduling engine on trivial tasks in five graph shapes, next to
//! `rayon::scope` spawning as many empty tasks (the floor a scheduler with dependencies cannot
//! beat), measured in the same run.

use std::sync::Arc;

use parade::engine::{Engine, Outcome, TaskId, TaskSpec};
use parade::exec::ThreadPool;

use crate::report::Report;

/// The graph shapes measured, each with `n` tasks.
#[derive(Clone, Copy)]
pub enum Shape {
    /// No dependencies at all.
    Independent,
    /// Each task after the one before.
    Chain,
    /// One root, `n - 2` tasks after it, one task after all of them.
    FanOutFanIn,
    /// Task `i` after task `(i - 1) / 2`.
    BinaryTree,
    /// Layers of 1,000 tasks, each after three random tasks of the layer before.
    LayeredRandom,
}

impl Shape {
    const ALL: [Shape; 5] = [
        Shape::Independent,
        Shape::Chain,
        Shape::FanOutFanIn,
        Shape::BinaryTree,
        Shape::LayeredRandom,
    ];

    fn name(self) -> &'static str {
        match self {
            Shape::Independent => "independent",
            Shape::Chain => "chain",
            Shape::FanOutFanIn => "fan-out-fan-in",
            Shape::BinaryTree => "binary-tree",
            Shape::LayeredRandom => "layered-random-w1000",
        }
    }

    /// The dependencies of task `i` (all lower than `i`), into `out` (cleared first): one
    /// buffer serves every task, so the bytes per task the benchmark reports are the engine's.
    pub fn deps(self, i: usize, n: usize, rng: &mut u64, out: &mut Vec<usize>) {
        out.clear();
        match self {
            Shape::Independent => {}
            Shape::Chain | Shape::FanOutFanIn | Shape::BinaryTree if i == 0 => {}
            Shape::Chain => out.push(i - 1),
            Shape::FanOutFanIn if i == n - 1 => out.extend(1..n - 1),
            Shape::FanOutFanIn => out.push(0),
            Shape::BinaryTree => out.push((i - 1) / 2),
            Shape::LayeredRandom => {
                const WIDTH: usize = 1000;
                if i < WIDTH {
                    return;
                }
                let layer_start = (i / WIDTH - 1) * WIDTH;
                out.extend((0..3).map(|_| {
                    layer_start + (usize::try_from(next(rng) % WIDTH as u64).expect("below WIDTH"))
                }));
                out.sort_unstable();
                out.dedup();
            }
        }
    }
}

/// A small xorshift generator: the benchmark's graphs are the same in every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Builds `shape` with `n` trivial tasks on `engine`, wants them all and waits.
pub fn run_engine(engine: &Engine, shape: Shape, n: usize) {
    let mut rng = 0x2545_f491_4f6c_dd1d;
    let mut ids: Vec<TaskId> = Vec::with_capacity(n);
    let mut deps = Vec::new();
    engine.reserve(n);
    for i in 0..n {
        shape.deps(i, n, &mut rng, &mut deps);
        let deps = deps.iter().map(|&d| ids[d]);
        ids.push(
            engine
                .add(TaskSpec::new(|_| Outcome::Succeeded).deps(deps))
                .expect("valid graph"),
        );
    }
    engine.want(ids).expect("known tasks");
    engine.wait_all().expect("no deadlock");
}

/// Bytes allocated per task by `f`, which handles `n` tasks: (all allocated, still live
/// when `f` returns its value, before the value is dropped).
pub(crate) fn bytes_per_task<T>(n: usize, f: impl FnOnce() -> T) -> (f64, f64) {
    // A pool thread may still hold the last clone of the engine measured before (it lets go
    // once its job's report returns): give it time, or that engine's memory would be freed
    // inside this region and make what this one keeps look smaller.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let region = stats_alloc::Region::new(crate::GLOBAL);
    let kept = f();
    let change = region.change();
    drop(kept);
    #[allow(clippy::cast_precision_loss)]
    let per = |bytes: isize| bytes as f64 / n as f64;
    (
        per(isize::try_from(change.bytes_allocated).unwrap_or(isize::MAX)),
        per(change.bytes_allocated.cast_signed() - change.bytes_deallocated.cast_signed()),
    )
}

/// Records, for each of `impls`, its best of `rounds` runs of `case` (and their median), the
/// rounds taken in turn (a, b, a, b, ...): [`Report::interleaved`].
pub(crate) fn interleaved(
    out: &mut Report,
    case: &str,
    n: usize,
    rounds: usize,
    impls: &mut [(&str, &mut dyn FnMut())],
) {
    out.interleaved(case, n as u64, rounds, impls);
}

/// Runs the `engine` benchmarks. `PARADE_BENCH_ENGINE` runs one measurement alone, to profile
/// it: `rayon`, or a shape with its executor (`independent-threads`, `chain-inline`, ...), or a
/// shape or an executor for all that match; the memory figures are then left out.
pub fn run(out: &mut Report, quick: bool) {
    let n = if quick { 10_000 } else { 100_000 };
    let runs = if quick { 1 } else { 3 };
    let only = std::env::var("PARADE_BENCH_ENGINE").ok();
    let runs_case = |shape: &str, exec: &str| {
        only.as_deref()
            .is_none_or(|o| o == format!("{shape}-{exec}") || o == shape || o == exec)
    };
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let pool = Arc::new(ThreadPool::new(threads));
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    // The floor and parade's threads in alternating rounds, so that the load of a shared
    // machine falls on both alike (best round of each).
    let mut floor = || {
        rayon.scope(|s| {
            for _ in 0..n {
                s.spawn(|_| {});
            }
        });
    };
    let mut threaded = || {
        run_engine(&Engine::with_executor(pool.clone()), Shape::Independent, n);
    };
    let mut impls: Vec<(&str, &mut dyn FnMut())> = Vec::new();
    if only.as_deref().is_none_or(|o| o == "rayon") {
        impls.push(("rayon::scope (floor)", &mut floor));
    }
    if runs_case("independent", "threads") {
        impls.push(("parade threads", &mut threaded));
    }
    interleaved(out, "independent", n, if quick { 1 } else { 5 }, &mut impls);
    for shape in Shape::ALL {
        if !matches!(shape, Shape::Independent) && runs_case(shape.name(), "threads") {
            out.measure(shape.name(), "parade threads", n as u64, runs, || {
                run_engine(&Engine::with_executor(pool.clone()), shape, n);
            });
        }
        if runs_case(shape.name(), "inline") {
            out.measure(shape.name(), "parade inline", n as u64, runs, || {
                run_engine(&Engine::inline(), shape, n);
            });
        }
    }
    if only.is_some() {
        return;
    }
    // Memory at 1M tasks (100k with --quick): gross bytes allocated per task, and what is
    // still held per task once the run is over (the graph, states and reasons).
    let big = if quick { 100_000 } else { 1_000_000 };
    let (rayon_gross, _) = bytes_per_task(big, || {
        rayon.scope(|s| {
            for _ in 0..big {
                s.spawn(|_| {});
            }
        });
    });
    for shape in [Shape::Independent, Shape::Chain, Shape::LayeredRandom] {
        let (gross, live) = bytes_per_task(big, || {
            let engine = Engine::with_executor(pool.clone());
            run_engine(&engine, shape, big);
            engine
        });
        out.note(&format!(
            "{} at {big} tasks: parade allocates {gross:.0} B per task, keeps {live:.0} B; \
             rayon::scope allocates {rayon_gross:.0} B per empty spawn (target: 64 B or less)",
            shape.name()
        ));
    }
    let floor = out.find("independent", "rayon::scope (floor)");
    let ours = out.find("independent", "parade threads");
    if let (Some(floor), Some(ours)) = (floor, ours) {
        out.note(&format!(
            "independent: parade threads takes {:.1}x the time of the rayon::scope floor",
            ours / floor
        ));
    }
}
