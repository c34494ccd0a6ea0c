//! An active-learning workflow on the `graph` face, in the shape of parman's `jobdemo`:
//!
//! ```text
//! boot ─▶ compute ×15 ─▶ train ×3 (a committee) ─▶ sample ×2 (two temperatures)
//!                ▲                                          │ 15 new configs each
//!                └──────────── next generation ◀────────────┘
//! ```
//!
//! Three generations make 89 tasks. The work is in-process arithmetic standing in for the
//! simulations: a config is a point, "compute" evaluates a potential energy there, "train" fits
//! a small model to every example so far, and "sample" walks new configs under the committee.
//!
//! Real simulations would leave this process. Two ways, both with the same workflow code:
//!
//! - a step as a **named task** in worker processes: register its function at the top of
//!   `main` (`parade::graph::Functions::new().add("compute", compute).serve()`), submit it with
//!   `g.task(..).named("compute").submit_after(c, compute)`, and run the graph on a
//!   `ProcessExecutor`; configs and examples cross as JSON (see `tests/graph_process.rs`). On
//!   that executor every task needs a name; `Graph::dry_run_for` reports the ones without.
//! - a step as a **template job** (a script in a directory template, run locally or on Slurm,
//!   reused when its parameters are unchanged): `g.task(..).submit_template(&job, c, |c|
//!   kwargs)` makes the job's `kwargs.json` from the values of handles and reads its
//!   `result.json` as the task's value (see `tests/graph_template.rs`).
//!
//! ```text
//! cargo run --example graph_active_learning -- --dry-run        # plan only, nothing runs
//! cargo run --example graph_active_learning -- --dry-run --dot  # the plan as Graphviz DOT
//! cargo run --example graph_active_learning                     # for real, on the thread pool
//! cargo run --example graph_active_learning -- --inline         # for real, serially
//! ```

use parade::graph::{Graph, GraphError, Handle};

const BOOT_SIZE: usize = 15;
const COMMITTEE: u64 = 3;
const TEMPERATURES: [f64; 2] = [0.5, 1.5];
const SAMPLE_SIZE: usize = 15;
const GENERATIONS: usize = 3;

/// A point in configuration space.
type Config = [f64; 2];
/// A computed example: a config and its energy.
type Example = (Config, f64);

/// A fitted model: a quadratic bowl whose center and depth match the examples it saw.
#[derive(Clone, Debug)]
struct Model {
    center: Config,
    scale: f64,
}

/// A small deterministic random stream (a linear congruential generator).
fn rng(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        #[allow(clippy::cast_precision_loss)]
        let unit = (state >> 11) as f64 / (1_u64 << 53) as f64;
        unit * 2.0 - 1.0
    }
}

fn boot(size: usize) -> Vec<Config> {
    let mut r = rng(7);
    (0..size).map(|_| [2.0 * r(), 2.0 * r()]).collect()
}

/// The "expensive simulation": a double-well potential.
fn compute(c: Config) -> Example {
    let [x, y] = c;
    (c, (x * x - 1.0).powi(2) + 0.5 * y * y)
}

fn train(examples: &[Example], seed: u64) -> Model {
    let mut r = rng(seed);
    // each committee member sees a bootstrap resample of the examples
    let picks: Vec<&Example> = (0..examples.len())
        .map(|_| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let i = (f64::midpoint(r(), 1.0) * examples.len() as f64) as usize;
            &examples[i.min(examples.len() - 1)]
        })
        .collect();
    let best = picks
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("at least one example");
    #[allow(clippy::cast_precision_loss)]
    let mean = picks.iter().map(|e| e.1).sum::<f64>() / picks.len() as f64;
    Model {
        center: best.0,
        scale: mean.max(1e-3),
    }
}

fn sample(models: &[Model], temperature: f64, size: usize, seed: u64) -> Vec<Config> {
    let mut r = rng(seed);
    (0..size)
        .map(|i| {
            let m = &models[i % models.len()];
            let step = temperature * m.scale.sqrt().min(1.0);
            [m.center[0] + step * r(), m.center[1] + step * r()]
        })
        .collect()
}

/// The workflow: the same code builds a dry run and a real run.
fn workflow(g: &Graph) -> Result<Vec<Handle<Model>>, GraphError> {
    let booted = g
        .task("g00/boot")
        .mock(vec![[0.0, 0.0]; BOOT_SIZE])
        .submit(|| boot(BOOT_SIZE));
    // The workflow reads a value itself here (it waits for boot; a dry run uses the mock).
    let n = booted.with(Vec::len)?;
    let mut configs: Vec<Handle<Config>> = booted.split_vec(n);
    let mut examples: Vec<Handle<Example>> = Vec::new();
    let mut models = Vec::new();
    for generation in 0..GENERATIONS {
        for (i, c) in configs.iter().enumerate() {
            examples.push(
                g.task(format!("g{generation:02}/compute/{i:02}"))
                    .submit_after(c, compute),
            );
        }
        models = (0..COMMITTEE)
            .map(|seed| {
                g.task(format!("g{generation:02}/train/{seed}"))
                    .cores(1)
                    .submit_after(examples.as_slice(), move |ex: Vec<Example>| {
                        train(&ex, seed)
                    })
            })
            .collect();
        if generation + 1 == GENERATIONS {
            break;
        }
        configs = TEMPERATURES
            .iter()
            .enumerate()
            .flat_map(|(t, &temperature)| {
                g.task(format!("g{generation:02}/sample/{t}"))
                    .mock(vec![[0.0, 0.0]; SAMPLE_SIZE])
                    .submit_after(&models, move |ms: Vec<Model>| {
                        sample(&ms, temperature, SAMPLE_SIZE, 100 + t as u64)
                    })
                    .split_vec(SAMPLE_SIZE)
            })
            .collect();
    }
    Ok(models)
}

fn main() -> Result<(), GraphError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--dry-run") {
        let g = Graph::dry_run();
        workflow(&g)?;
        let plan = g.plan();
        if has("--dot") {
            print!("{}", plan.to_dot());
        } else if has("--mermaid") {
            print!("{}", plan.to_mermaid());
        } else {
            print!("{plan}");
        }
        return plan.check();
    }
    let g = if has("--inline") {
        Graph::inline()
    } else {
        Graph::new()
    };
    if has("--log") {
        g.log(|line| eprintln!("{line}"));
    }
    let models = workflow(&g)?;
    let committee = g.wait_for(&models)?;
    g.wait_all()?;
    println!("{} tasks on the {} executor", g.len(), g.executor());
    for (i, m) in committee.iter().enumerate() {
        println!(
            "model {i}: center ({:+.3}, {:+.3}), scale {:.3}",
            m.center[0], m.center[1], m.scale
        );
    }
    Ok(())
}
