//! The run store with a real engine: executions recorded by the `Recorder` observer, and the
//! live display's expected remaining time coming from a task's earlier runs.

use std::sync::Arc;
use std::time::Duration;

use parade::display::live::LiveOptions;
use parade::display::{NameTable, SharedBuffer};
use parade::engine::{Engine, Outcome, TaskSpec};
use parade::store::{Recorder, Store};

/// Runs one task named `name` that takes `took`, recorded in a new run of `store`.
fn run_once(store: &Store, name: &str, took: Duration, live: Option<&LiveOptions>) -> String {
    let run = store.begin_run(&[name.to_owned()]).unwrap();
    let engine = Engine::new();
    let names = Arc::new(NameTable::new());
    let t = engine
        .add(TaskSpec::new(move |_| {
            std::thread::sleep(took);
            Outcome::Succeeded
        }))
        .unwrap();
    names.insert(t, name);
    engine.subscribe(Recorder::new(store.clone(), run, names.clone()));
    let buffer = SharedBuffer::default();
    let display = live.map(|l| l.clone().start(buffer.clone(), names.clone()));
    if let Some(d) = &display {
        engine.subscribe(d.clone());
    }
    engine.want([t]).unwrap();
    engine.wait_all().unwrap();
    if let Some(d) = display {
        d.finish();
    }
    store.end_run(run, "succeeded").unwrap();
    buffer.contents()
}

#[test]
fn the_recorder_keeps_every_execution_with_its_times() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    run_once(&store, "build", Duration::from_millis(30), None);
    let runs = store.runs(10).unwrap();
    assert_eq!(runs.len(), 1);
    let e = &store.executions(runs[0].id).unwrap()[0];
    assert_eq!((e.name.as_str(), e.state.as_str()), ("build", "succeeded"));
    assert!(e.duration().unwrap() >= Duration::from_millis(30));
    assert_eq!(e.exit_status, Some(0));
}

#[test]
fn the_live_display_shows_the_time_left_from_earlier_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    for _ in 0..3 {
        run_once(&store, "train", Duration::from_millis(600), None);
    }
    let expected = store.expected_duration("train").unwrap().unwrap();
    assert!(
        expected >= Duration::from_millis(600) && expected < Duration::from_secs(5),
        "{expected:?}"
    );
    let s = store.clone();
    let live = LiveOptions::new()
        .size(100, 20)
        .color(false)
        .expected(Arc::new(move |n: &str| {
            s.expected_duration(n).ok().flatten()
        }));
    let screen = run_once(&store, "train", Duration::from_millis(400), Some(&live));
    // Frames drawn while it runs show what is left of the expectation from the three runs.
    let shown: Vec<f64> = screen
        .split("train  ~")
        .skip(1)
        .filter_map(|rest| rest.split_once("s left"))
        .filter_map(|(secs, _)| secs.parse().ok())
        .collect();
    let most = shown.iter().copied().fold(0.0, f64::max);
    let want = expected.as_secs_f64();
    assert!(
        most <= want + 0.05 && most >= want - 0.4,
        "expected {want:.2}s, shown {shown:?} in {screen:?}"
    );
    assert!(screen.contains("ETA ~"), "{screen:?}");
}
