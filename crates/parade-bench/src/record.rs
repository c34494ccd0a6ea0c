//! `parade-bench record`: what recording a run for its report costs. The engine on 100,000
//! trivial tasks (a binary tree) with no observer and with a no-op one, next to the same run
//! with a [`RunRecorder`] attached; then turning the recording into a `RunRecord`, `run.json`, the
//! HTML page and the Chrome trace, for 1,000 and for all the tasks.

use std::sync::Arc;

use parade::display::NameTable;
use parade::engine::Engine;
use parade::exec::ThreadPool;
use parade::report::{RunRecorder, chrome_trace, html};

use crate::engine::{Shape, run_engine};
use crate::report::Report;

/// Runs the `record` benchmarks.
pub fn run(out: &mut Report, quick: bool) {
    let n = if quick { 10_000 } else { 100_000 };
    let runs = if quick { 1 } else { 3 };
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let pool = Arc::new(ThreadPool::new(threads));
    out.measure("engine binary-tree", "no observer", n as u64, runs, || {
        run_engine(&Engine::with_executor(pool.clone()), Shape::BinaryTree, n);
    });
    out.measure(
        "engine binary-tree",
        "no-op observer",
        n as u64,
        runs,
        || {
            let engine = Engine::with_executor(pool.clone());
            engine.subscribe(|_: &parade::engine::Event| {});
            run_engine(&engine, Shape::BinaryTree, n);
        },
    );
    out.measure("engine binary-tree", "RunRecorder", n as u64, runs, || {
        let engine = Engine::with_executor(pool.clone());
        engine.subscribe(RunRecorder::new(Arc::new(NameTable::new())));
        run_engine(&engine, Shape::BinaryTree, n);
    });
    if let (Some(bare), Some(recorded)) = (
        out.find("engine binary-tree", "no-op observer"),
        out.find("engine binary-tree", "RunRecorder"),
    ) {
        #[allow(clippy::cast_precision_loss)] // a task count
        let per_task = (recorded - bare) / n as f64 * 1e6;
        out.note(&format!(
            "recording costs {:.2}x a run with a no-op observer ({:.2} µs per task)",
            recorded / bare,
            per_task
        ));
    }
    for size in [1_000, n] {
        let engine = Engine::with_executor(pool.clone());
        let recorder = RunRecorder::new(Arc::new(NameTable::new()));
        engine.subscribe(recorder.clone());
        run_engine(&engine, Shape::BinaryTree, size);
        let case = format!("{size} tasks");
        let mut run = None;
        out.measure(&case, "record", size as u64, runs, || {
            run = Some(recorder.record(&engine));
        });
        let run = run.expect("recorded");
        let mut bytes = (0, 0, 0);
        out.measure(&case, "run.json", size as u64, runs, || {
            bytes.0 = serde_json::to_vec(&run).expect("serializes").len();
        });
        out.measure(&case, "html", size as u64, runs, || {
            bytes.1 = html(&run).len();
        });
        out.measure(&case, "chrome trace", size as u64, runs, || {
            bytes.2 = chrome_trace(&run).to_string().len();
        });
        out.note(&format!(
            "{size} tasks: run.json {} KB, html {} KB, trace {} KB",
            bytes.0 / 1024,
            bytes.1 / 1024,
            bytes.2 / 1024
        ));
    }
}
