//! What describing a flow's procs costs ([`Flow::procs`], which the command asks for every
//! proc when a run ends), counted (not timed): allocations per proc of a layered flow whose
//! procs have many dependencies each.
//!
//! One test in this binary, so that nothing else allocates while it counts.

use parade::flow::Flow;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const LAYERS: usize = 4;
const WIDTH: usize = 50;

#[test]
fn describing_procs_allocates_per_proc_not_per_dependency() {
    let flow = Flow::inline();
    for layer in 0..LAYERS {
        for i in 0..WIDTH {
            let deps: Vec<String> = if layer == 0 {
                Vec::new()
            } else {
                (0..WIDTH).map(|j| format!("t{}_{j}", layer - 1)).collect()
            };
            flow.proc(&format!("t{layer}_{i}"), |_| Ok(()))
                .deps(deps)
                .add()
                .unwrap();
        }
    }
    let region = Region::new(GLOBAL);
    let procs = flow.procs();
    let change = region.change();
    let deps: usize = procs.iter().map(|p| p.deps.len()).sum();
    assert_eq!(procs.len(), LAYERS * WIDTH);
    assert_eq!(deps, (LAYERS - 1) * WIDTH * WIDTH);
    #[allow(clippy::cast_precision_loss)] // small counts
    let per_proc = change.allocations as f64 / procs.len() as f64;
    eprintln!("{per_proc:.1} allocations per proc for {deps} dependencies");
    // A proc's own name, its lists and the engine's answer: a few each. A copy of every
    // dependency's name was one more per dependency (37.5 per proc here).
    assert!(per_proc < 10.0, "{per_proc:.1} allocations per proc");
    // The names are the flow's.
    let last = &procs[procs.len() - 1];
    assert_eq!(&*last.deps[0], format!("t{}_0", LAYERS - 2));
}
