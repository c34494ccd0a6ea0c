//! What a glob's instances cost the command, counted (not timed): the peak of bytes live per
//! instance while `check`, `graph` and a dry run plan a task file with one pattern over
//! 99 x 99 choices and `all` needing `t::*::*` (the benchmark's 1000 x 1000 case, smaller),
//! through the functions the command calls. Peak RSS follows the peak of bytes live.
//!
//! One test in this binary, so that nothing else allocates while it counts. Fewer procs than
//! `discard::LARGE`: the flow is freed on the planning thread, so the peak does not depend on
//! when another thread frees it.

#[path = "../../parade/tests/common/peaked.rs"]
mod peaked;

use std::collections::BTreeMap;
use std::path::PathBuf;

use parade::store::Store;
use parade_cli::taskfile::{SourceFile, TaskFile, parse};
use parade_cli::{render, runner, uptodate};
use peaked::Peaked;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region};

#[global_allocator]
static GLOBAL: Peaked = Peaked(&INSTRUMENTED_SYSTEM);

const SIDE: usize = 99;
const INSTANCES: usize = SIDE * SIDE;

/// The benchmark's glob file (`parade-bench plan`) with `SIDE` choices a placeholder.
fn glob_file() -> TaskFile {
    let values: Vec<String> = (0..SIDE).map(|i| i.to_string()).collect();
    let values = values.join(", ");
    let text = format!(
        "[task.\"t::[a]::[b]\"]\nchoices = {{ a = [{values}], b = [{values}] }}\n\
         run = \"echo {{a}} {{b}}\"\n\n[task.all]\nrun = \"true\"\ndeps = [\"t::*::*\"]\n"
    );
    let source = SourceFile {
        name: "parade.toml".into(),
        text,
    };
    parse(PathBuf::from("parade.toml"), source).expect("the file checks")
}

/// The bytes live at the peak per instance while `f` runs, printed.
fn peak(what: &str, f: impl FnOnce()) -> f64 {
    let (peak, ()) = peaked::peak_per(INSTANCES, f);
    eprintln!("{what}: {peak:.0} bytes live at the peak per instance");
    peak
}

#[test]
fn check_graph_and_a_dry_run_of_a_glob_keep_a_bounded_peak_per_instance() {
    let file = glob_file();
    let targets = vec!["all".to_owned()];
    let params: BTreeMap<String, String> = BTreeMap::new();
    // What a first plan allocates once (lazy statics, thread-locals) is not counted.
    runner::plannable(&file, &targets, &params).unwrap();
    let store = Store::in_memory().unwrap();

    let check = peak("check", || {
        runner::plannable(&file, &targets, &params).unwrap();
    });
    let graph = peak("graph", || {
        let plan = runner::plan_order(&file, &targets, &params).unwrap();
        assert_eq!(plan.tasks.len(), INSTANCES + 1);
        render::write_dot(&plan, &mut std::io::sink()).unwrap();
    });
    let dry_run = peak("dry run", || {
        let plan = runner::plan(&file, &targets, &params).unwrap();
        let mode = uptodate::Mode::default();
        let decisions = uptodate::dry_run(&store, &file, &plan, &params, mode);
        assert_eq!(decisions.len(), INSTANCES + 1);
        let mut out = Vec::new();
        render::write_dry_run(&plan, Some(&decisions), &mut out).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.trim_start().starts_with("1. t::0::0"),
            "{}",
            &text[..40]
        );
    });
    // The dry run's commands: `plan` is `plan_order` with each step's command made. The
    // task's `run` is read once for all its instances and each command written in one string
    // (read per instance, with a string per piece of text and per value, it was 9
    // allocations a command).
    let calls = |f: &dyn Fn()| {
        let region = Region::new(GLOBAL.0);
        f();
        let stats = region.change();
        stats.allocations + stats.reallocations
    };
    let ordered = calls(&|| drop(runner::plan_order(&file, &targets, &params).unwrap()));
    let commanded = calls(&|| drop(runner::plan(&file, &targets, &params).unwrap()));
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let per_command = commanded.saturating_sub(ordered) as f64 / INSTANCES as f64;
    eprintln!("dry run: {per_command:.2} allocations per command");
    assert!(
        per_command <= 1.5,
        "{per_command:.2} allocations per command"
    );
    assert!(check <= CHECK, "check: {check:.0} B per instance");
    assert!(graph <= GRAPH, "graph: {graph:.0} B per instance");
    assert!(dry_run <= DRY_RUN, "dry run: {dry_run:.0} B per instance");
}

/// The bounds, bytes live at the peak per instance (measured 393, 393 and 416; graph and
/// dry run were 509 while the steps were written beside the whole flow, the dry run 432
/// with a step of 136 bytes and a planned task in a buffer of its own). The flow is a
/// planner (`Flow::planner`: no job and no observers' name per instance), a closure's reason
/// is shared by a run of tasks, a step's names are the flow's own, shared, and the flow is
/// spent on its plan (`Flow::into_plan`: its engine tasks and name index freed before the
/// steps are written, the records before the steps' dependencies are named).
const CHECK: f64 = 420.0;
const GRAPH: f64 = 420.0;
const DRY_RUN: f64 = 425.0;
