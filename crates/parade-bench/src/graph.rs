//! `parade-bench graph`: the graph face against the raw engine on the same layered DAG.
//!
//! 100,000 trivial tasks in layers of 100; every task after the first layer takes the values of
//! two parents in the layer before (`i` and `i + 1`, wrapping). The raw engine builds the same
//! DAG with trivial jobs that pass no values. Both run on a fresh thread pool with one thread
//! per core; the figure includes building the graph and waiting for it.

use std::sync::Arc;

use parade::engine::{Engine, Outcome, TaskId, TaskSpec};
use parade::exec::{Executor, Inline, ThreadPool};
use parade::graph::{Graph, Handle};

use crate::report::Report;

const WIDTH: usize = 100;

fn pool() -> Arc<ThreadPool> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Arc::new(ThreadPool::new(cores))
}

/// Builds the layered DAG on the graph face and waits for it: the graph, and the last layer.
fn built_graph(exec: Arc<dyn Executor>, n: usize) -> (Graph, Vec<Handle<u64>>) {
    let g = Graph::with_executor(exec);
    let mut layer: Vec<Handle<u64>> = (0..WIDTH as u64).map(|i| g.submit(move || i)).collect();
    for _ in 1..n / WIDTH {
        layer = (0..WIDTH)
            .map(|i| {
                let a = &layer[i];
                let b = &layer[(i + 1) % WIDTH];
                g.submit_after((a, b), |(x, y)| x.wrapping_add(y))
            })
            .collect();
    }
    g.wait_all().expect("the layered DAG runs");
    (g, layer)
}

fn graph_face(exec: Arc<dyn Executor>, n: usize) -> u64 {
    let (_graph, layer) = built_graph(exec, n);
    layer[0].value().expect("the last layer has values")
}

fn raw_engine(exec: Arc<dyn Executor>, n: usize) -> Engine {
    let engine = Engine::with_executor(exec);
    let mut layer: Vec<TaskId> = (0..WIDTH)
        .map(|_| {
            let id = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
            engine.want([id]).unwrap();
            id
        })
        .collect();
    for _ in 1..n / WIDTH {
        layer = (0..WIDTH)
            .map(|i| {
                let spec = TaskSpec::new(|_| Outcome::Succeeded)
                    .dep(layer[i])
                    .dep(layer[(i + 1) % WIDTH]);
                let id = engine.add(spec).unwrap();
                engine.want([id]).unwrap();
                id
            })
            .collect();
    }
    engine.wait_all().expect("the layered DAG runs");
    engine
}

/// Runs the `graph` benchmark. `PARADE_BENCH_GRAPH=raw|graph` (with `-inline` or `-threads`,
/// e.g. `graph-inline`) runs that one measurement alone, to profile it.
pub fn run(out: &mut Report, quick: bool) {
    let n: usize = if quick { 10_000 } else { 100_000 };
    let only = std::env::var("PARADE_BENCH_GRAPH").ok();
    let runs_case = |face: &str, exec: &str| {
        only.as_deref()
            .is_none_or(|o| o == format!("{face}-{exec}") || o == face || o == exec)
    };
    let rounds = if quick { 1 } else { 5 };
    let pool = pool();
    // Each case times the raw engine and the graph in alternating rounds (best of each), so
    // that a shared machine's load falls on both alike.
    let measure =
        |out: &mut Report, case: &str, exec: &str, make: &dyn Fn() -> Arc<dyn Executor>| {
            let mut raw = || drop(raw_engine(make(), n));
            let mut graph = || {
                std::hint::black_box(graph_face(make(), n));
            };
            let mut impls: Vec<(&str, &mut dyn FnMut())> = Vec::new();
            if runs_case("raw", exec) {
                impls.push(("raw-engine", &mut raw));
            }
            if runs_case("graph", exec) {
                impls.push(("parade-graph", &mut graph));
            }
            crate::engine::interleaved(out, case, n, rounds, &mut impls);
            out.ratio(case, "parade-graph", "raw-engine");
        };
    measure(out, "layered-dag-w100", "threads", &|| pool.clone());
    // The same on one thread (inline executor): the per-task cost without contention.
    measure(out, "layered-dag-w100-inline", "inline", &|| {
        Arc::new(Inline::new())
    });
    if only.is_some() {
        return;
    }
    // Memory (inline, so that no pool thread frees inside the region): gross bytes allocated
    // per task, and what is still held per task once the run is over with the graph alive.
    let inline = || Arc::new(Inline::new()) as Arc<dyn Executor>;
    let (raw_gross, raw_live) = crate::engine::bytes_per_task(n, || raw_engine(inline(), n));
    let (gross, live) = crate::engine::bytes_per_task(n, || built_graph(inline(), n));
    out.note(&format!(
        "layered-dag-w100 at {n} tasks: the graph allocates {gross:.0} B per task and keeps \
         {live:.0} B; the raw engine {raw_gross:.0} B and {raw_live:.0} B"
    ));
}
