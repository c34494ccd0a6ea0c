//! The arithmetic flow procs that the process and Slurm suites send to workers: `square::[n]`
//! answers `n * n` times the flow param `factor` (1 when unset), and a proc that runs some
//! squares, waits for them and answers their sum with a tag of where it ran. Test binaries that
//! are their own workers define them the same way in the parent and in every worker. Included
//! with `#[path]` by the suites that use it (the other users of `common` define no flow).

#![allow(dead_code)] // each suite uses part of it

use parade::flow::Flow;
use serde::Serialize;

/// The proto `square::[n]`: `n * n * factor`.
pub fn square(flow: &Flow) {
    flow.proto("square::[n]", |ctx| {
        let n: u64 = ctx.arg("n")?;
        Ok(n * n * ctx.param::<u64>("factor").unwrap_or(1))
    })
    .add()
    .unwrap();
}

/// The proc `sum`: runs `square::1` to `square::<count>`, waits for them and answers
/// `(their sum, tag())`, `tag` run where the proc runs.
pub fn sum<T: Serialize + 'static>(flow: &Flow, count: u64, tag: fn() -> T) {
    flow.proc("sum", move |ctx| {
        let names: Vec<String> = (1..=count).map(|n| format!("square::{n}")).collect();
        for n in &names {
            ctx.run(n)?;
        }
        ctx.wait(&names)?;
        let sum: u64 = names.iter().map(|n| ctx.result::<u64>(n).unwrap()).sum();
        Ok((sum, tag()))
    })
    .add()
    .unwrap();
}
