//! A flow's memory across more runs than the run store keeps whole (`store/retention.rs`): a
//! proc that skipped itself is remembered as skipped after runs in which it took no part, and
//! is up to date when it is wanted again, as parproc keeps it. Pruning runs at the end of a
//! run that ends in the store (the CLI's, on a project store a flow shares; a flow's own
//! record has no end).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parade::engine::TaskState;
use parade::flow::{Flow, FlowOptions, ProcError};
use parade::store::{Execution, KEPT_RUNS, PRUNE_EVERY, Store};

/// One run of a flow on the store in `dir` wanting `skips`, which counts its runs in `ran`,
/// reads `in.txt` and skips itself; its state.
fn run(dir: &Path, ran: &Arc<AtomicUsize>) -> TaskState {
    let flow = Flow::with_options(FlowOptions::new().store(dir.join("state.db"))).unwrap();
    let count = Arc::clone(ran);
    flow.proc("skips", move |_| {
        count.fetch_add(1, Ordering::SeqCst);
        Err::<(), _>(ProcError::skipped("nothing to do"))
    })
    .inputs([dir.join("in.txt").to_string_lossy().into_owned()])
    .add()
    .unwrap();
    flow.run("skips").unwrap();
    flow.wait_all().unwrap();
    flow.state("skips").unwrap()
}

#[test]
fn a_skipped_proc_stays_up_to_date_after_sitting_out_more_runs_than_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), "same").unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    assert_eq!(run(dir.path(), &ran), TaskState::Skipped);
    // Runs of other tasks on the same store (as `parade run` records them), enough for
    // pruning to reach the run that skipped it.
    let store = Store::open(dir.path().join("state.db")).unwrap();
    for i in 0..KEPT_RUNS + 2 * PRUNE_EVERY {
        let other = store.begin_run(&["other".to_owned()]).unwrap();
        let e = Execution::new("other", "succeeded").key(format!("k{i}"));
        store.record(other, &e).unwrap();
        store.end_run(other, "succeeded").unwrap();
    }
    drop(store);
    assert_eq!(run(dir.path(), &ran), TaskState::UpToDate);
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the skipped proc ran again");
}
