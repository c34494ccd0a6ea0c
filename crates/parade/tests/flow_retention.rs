//! A flow's memory across more runs than the run store keeps whole (`store/retention.rs`): a
//! proc that skipped itself is remembered as skipped after runs in which it took no part, and
//! is up to date when it is wanted again, as parproc keeps it. Pruning runs at the end of a
//! run that ends in the store: the CLI's, on a project store a flow shares, and a flow's own,
//! which ends with its outcome when the flow is waited for to its end (or, cut short, when it
//! is dropped), so a flow-only store is pruned and its runs are not left unfinished.

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

/// A flow on the store in `dir` whose `ok` succeeds (recorded) and whose `fails` fails.
fn flow_on(dir: &Path) -> Flow {
    let flow = Flow::with_options(
        FlowOptions::new()
            .mode(parade::flow::Mode::Inline)
            .store(dir.join("state.db")),
    )
    .unwrap();
    flow.proc("ok", |_| Ok(1)).add().unwrap();
    flow.proc("fails", |_| Err::<(), _>(ProcError::failed("no")))
        .add()
        .unwrap();
    flow
}

/// How the store's newest run ended (`None`: it did not).
fn last_outcome(dir: &Path) -> Option<String> {
    let store = Store::open(dir.join("state.db")).unwrap();
    store.runs(1).unwrap().remove(0).outcome
}

#[test]
fn a_flow_only_store_is_pruned_and_no_run_is_left_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let runs = KEPT_RUNS + 2 * PRUNE_EVERY;
    for _ in 0..runs {
        let flow = flow_on(dir.path());
        flow.run("ok").unwrap();
        flow.wait_all().unwrap();
    }
    let store = Store::open(dir.path().join("state.db")).unwrap();
    let unfinished = store.unfinished_runs().unwrap();
    assert!(
        unfinished.is_empty(),
        "{} of the flow's {runs} runs are unfinished",
        unfinished.len()
    );
    let kept = store.history("ok", usize::MAX).unwrap().len();
    assert!(
        kept <= usize::try_from(KEPT_RUNS + PRUNE_EVERY).unwrap(),
        "{kept} of {runs} executions kept: the flow's store was never pruned"
    );
    let remembered = store.runs(usize::MAX).unwrap();
    assert!(remembered.len() < kept + 2, "{} runs", remembered.len());
    assert!(
        remembered
            .iter()
            .all(|r| r.outcome.as_deref() == Some("succeeded") && r.ended.is_some()),
        "{remembered:?}"
    );
}

#[test]
fn a_flows_run_ends_with_its_outcome_and_a_later_record_begins_another() {
    let dir = tempfile::tempdir().unwrap();
    let flow = flow_on(dir.path());
    flow.run("ok").unwrap();
    flow.run("fails").unwrap();
    assert!(flow.wait_all().is_err());
    assert_eq!(last_outcome(dir.path()).as_deref(), Some("failed"));
    // The flow goes on: what it records next is a run of its own.
    flow.proc("later", |_| Ok(2)).add().unwrap();
    flow.run("later").unwrap();
    flow.wait_all().unwrap_err();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    let runs = store.runs(10).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(store.executions(runs[0].id).unwrap()[0].name, "later");
    assert!(store.unfinished_runs().unwrap().is_empty());
    drop(flow);

    // Stopped: interrupted.
    let flow = flow_on(dir.path());
    flow.run("ok").unwrap();
    flow.wait(["ok"]).unwrap();
    flow.stop();
    let _ = flow.wait_all();
    assert_eq!(last_outcome(dir.path()).as_deref(), Some("interrupted"));
    drop(flow);

    // Dropped with its run open (recorded, never waited for to its end): ended, interrupted.
    let flow = flow_on(dir.path());
    flow.run("ok").unwrap();
    flow.wait(["ok"]).unwrap();
    flow.run("fails").unwrap();
    assert_eq!(last_outcome(dir.path()), None, "the run is open");
    drop(flow);
    assert_eq!(last_outcome(dir.path()).as_deref(), Some("interrupted"));
    let store = Store::open(dir.path().join("state.db")).unwrap();
    assert!(store.unfinished_runs().unwrap().is_empty());
}

#[test]
fn a_flows_run_records_what_it_was_asked_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let flow = flow_on(dir.path());
    flow.proc("last", |_| Ok(3)).deps(["ok"]).add().unwrap();
    // The run begins with ok's record: its targets so far.
    flow.run("ok").unwrap();
    flow.wait(["ok"]).unwrap();
    // Asked for more while the run goes on: they join its targets, each once.
    flow.start(["fails", "ok"]).unwrap();
    flow.wait(["last"]).unwrap();
    assert!(flow.wait_all().is_err());
    let store = Store::open(dir.path().join("state.db")).unwrap();
    let runs = store.runs(10).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].targets, ["ok", "fails", "last"], "{runs:?}");
    assert_eq!(runs[0].outcome.as_deref(), Some("failed"));
    drop(store);
    // The next run records only what it was asked for since.
    flow.proc("later", |_| Ok(2)).add().unwrap();
    flow.run("later").unwrap();
    flow.wait_all().unwrap_err();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    assert_eq!(store.runs(1).unwrap()[0].targets, ["later"]);
    drop(store);
    // A flow dropped with its run open keeps its targets too.
    flow.proc("again", |_| Ok(4)).add().unwrap();
    flow.run("again").unwrap();
    flow.wait(["again"]).unwrap();
    drop(flow);
    let store = Store::open(dir.path().join("state.db")).unwrap();
    let newest = store.runs(1).unwrap().remove(0);
    assert_eq!(newest.targets, ["again"]);
    assert_eq!(newest.outcome.as_deref(), Some("interrupted"));
}
