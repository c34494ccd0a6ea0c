//! What a glob's instances cost, counted (not timed): a global allocator counting calls and
//! bytes kept, around planning `all`, which depends on `t::*::*` over 100 x 100 choices.
//!
//! One test in this binary, so that nothing else allocates while it counts.

use parade::flow::Flow;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const SIDE: usize = 100;
const INSTANCES: usize = SIDE * SIDE;

/// The flow: `t::[a]::[b]` with `SIDE` choices each, `all` after `t::*::*`.
fn glob_flow() -> Flow {
    let flow = Flow::inline();
    let values: Vec<String> = (0..SIDE).map(|i| i.to_string()).collect();
    flow.proto("t::[a]::[b]", |_| Ok(()))
        .choices("a", values.iter().cloned())
        .choices("b", values)
        .add()
        .unwrap();
    flow
}

/// Allocation calls, and bytes allocated and not freed, per instance, while `f` runs.
fn per_instance<T>(f: impl FnOnce() -> T) -> (f64, f64, T) {
    let region = Region::new(GLOBAL);
    let out = f();
    let stats = region.change();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let (calls, kept, n) = (
        (stats.allocations + stats.reallocations) as f64,
        stats
            .bytes_allocated
            .saturating_sub(stats.bytes_deallocated) as f64,
        INSTANCES as f64,
    );
    (calls / n, kept / n, out)
}

#[test]
fn a_globs_instances_cost_few_allocations_and_bytes() {
    // Planning (what check asks): the instances are made, their plan is ordered, no step is
    // written out. Each instance's own allocations: its name, its job, and the engine's task;
    // its arguments are the glob's span (were four strings and a slice), its reason the
    // dependent's name (was a string per instance). Before the span, `plan` made 17 per
    // instance and kept over 1,000 bytes.
    let flow = glob_flow();
    flow.proc("all", |_| Ok(()))
        .deps(["t::*::*"])
        .add()
        .unwrap();
    drop(flow);
    let flow = glob_flow();
    let (calls, bytes, planned) = per_instance(|| {
        flow.proc("all", |_| Ok(()))
            .deps(["t::*::*"])
            .add()
            .unwrap();
        flow.plannable(["all"]).unwrap()
    });
    assert_eq!(planned, INSTANCES + 1);
    assert!(calls <= 3.5, "{calls:.2} allocations per instance");
    assert!(bytes <= 560.0, "{bytes:.0} bytes kept per instance");

    // The plan written out: a step each (its name's text, and nothing else of its own).
    let flow = glob_flow();
    let (calls, bytes, plan) = per_instance(|| {
        flow.proc("all", |_| Ok(()))
            .deps(["t::*::*"])
            .add()
            .unwrap();
        flow.plan(["all"]).unwrap()
    });
    assert_eq!(plan.len(), INSTANCES + 1);
    assert!(calls <= 5.5, "{calls:.2} allocations per instance");
    assert!(bytes <= 760.0, "{bytes:.0} bytes kept per instance");
    assert_eq!(plan[INSTANCES - 1].name, "t::99::99");
    assert_eq!(plan[INSTANCES - 1].args.get("b"), Some("99"));
}
