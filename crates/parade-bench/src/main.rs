//! `parade-bench`: side-by-side figures for parade and its peers, measured in one run.
//!
//! Each subcommand measures parade and the peers it names in the same process, one after the
//! other, and prints a table with the ratio between them; `--json` prints one JSON object per
//! measurement instead. `--quick` shrinks every case so the whole subcommand finishes in seconds.

mod cli;
mod engine;
mod flow;
mod graph;
mod incremental;
mod iter;
mod iter_adapters;
mod join;
mod plan;
mod process;
mod record;
mod report;
mod slurm;

use clap::{Parser, Subcommand};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

/// Counts every allocation, so benchmarks can print bytes per task.
#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Command-line options shared by every subcommand.
#[derive(Parser, Debug)]
#[command(
    name = "parade-bench",
    about = "Side-by-side benchmarks of parade against its peers"
)]
struct Cli {
    /// Print one JSON object per measurement instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Run every case small enough to finish in seconds.
    #[arg(long, global = true)]
    quick: bool,
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand, Debug)]
enum Bench {
    /// The scheduling engine on 100,000 trivial tasks in five shapes, against `rayon::scope`.
    Engine,
    /// Fork-join of 3 trivial calls, against `std::thread::scope` and `rayon::join`.
    Join,
    /// Parallel pipelines, against rayon `par_iter`, `par_bridge`, `pariter` and sequential.
    Iter,
    /// The graph face on 100,000 tasks in a layered DAG (width 100), against the raw engine.
    Graph,
    /// 200 trivial jobs on a real Slurm cluster, against a shell loop of `sbatch --wait`.
    Slurm,
    /// Named task flows: 10,000 procs from a proto as a chain, a fan-out and a diamond.
    Flow,
    /// 1,000 trivial procs as a fan-out, each in a worker process, next to threads.
    Process,
    /// The `parade` command: 1,000 `true` tasks (fan-out/fan-in) against `make -j 2`, and
    /// `parade list` on 1,000 tasks.
    Cli,
    /// What recording a run for its report costs: 100,000 tasks with and without a
    /// `RunRecorder`, and making the record, `run.json`, the HTML page and the trace.
    Record,
    /// Reruns of a 1,000-task x 10-file build: no-op and one file changed, against ninja and
    /// make on the same build.
    Incremental,
    /// Planning without running: `parade check`, `list` and `run --dry-run` on 1k to 1M plain
    /// tasks and a 1,000 x 1,000 glob, against `make -n` on the same graph.
    Plan,
}

fn main() {
    // A worker process runs the proc it was started for (the process bench) and exits.
    parade::worker_entry();
    let cli = Cli::parse();
    let mut out = report::Report::new("", cli.json);
    match cli.bench {
        Bench::Engine => engine::run(out.named("engine"), cli.quick),
        Bench::Join => join::run(out.named("join"), cli.quick),
        Bench::Iter => iter::run(out.named("iter"), cli.quick),
        Bench::Graph => graph::run(out.named("graph"), cli.quick),
        Bench::Slurm => slurm::run(out.named("slurm"), cli.quick),
        Bench::Flow => flow::run(out.named("flow"), cli.quick),
        Bench::Process => process::run(out.named("process"), cli.quick),
        Bench::Cli => cli::run(out.named("cli"), cli.quick),
        Bench::Record => record::run(out.named("record"), cli.quick),
        Bench::Incremental => incremental::run(out.named("incremental"), cli.quick),
        Bench::Plan => plan::run(out.named("plan"), cli.quick),
    }
}
