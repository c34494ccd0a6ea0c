//! The run store with a real engine: executions recorded by the `Recorder` observer, and the
//! live display's expected remaining time coming from a task's earlier runs.

use std::sync::Arc;
use std::time::Duration;

use parade::display::live::LiveOptions;
use parade::display::{NameTable, SharedBuffer};
use parade::engine::{Engine, Outcome, TaskSpec};
use parade::store::{Execution, Recorder, Store};

/// Runs one task named `name` that takes `took`, recorded in a new run of `store`; returns
/// what the display wrote.
fn run_once(store: &Store, name: &str, took: Duration, live: Option<&LiveOptions>) -> String {
    run_until(store, name, live, move |_| std::thread::sleep(took))
}

/// Runs one task named `name` whose body is `body` (given what the display wrote so far),
/// recorded in a new run of `store`; returns what the display wrote.
fn run_until(
    store: &Store,
    name: &str,
    live: Option<&LiveOptions>,
    body: impl Fn(&SharedBuffer) + Send + Sync + 'static,
) -> String {
    let run = store.begin_run(&[name.to_owned()]).unwrap();
    let engine = Engine::new();
    let names = Arc::new(NameTable::new());
    let buffer = SharedBuffer::default();
    let seen = buffer.clone();
    let t = engine
        .add(TaskSpec::new(move |_| {
            body(&seen);
            Outcome::Succeeded
        }))
        .unwrap();
    names.insert(t, name);
    engine.subscribe(Recorder::new(store.clone(), run, names.clone()));
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

/// Observers get events from a thread of their own, later when one of them is slow; the times
/// the recorder keeps are when things happened, not when it heard of them.
#[test]
fn a_slow_observer_does_not_bend_the_times_the_recorder_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    let run = store.begin_run(&["build".to_owned()]).unwrap();
    let engine = Engine::new();
    let names = Arc::new(NameTable::new());
    let t = engine
        .add(TaskSpec::new(|_| {
            std::thread::sleep(Duration::from_millis(30));
            Outcome::Succeeded
        }))
        .unwrap();
    names.insert(t, "build");
    // Subscribed first, so the recorder hears of the start only after this has slept.
    engine.subscribe(|e: &parade::engine::Event| {
        if matches!(e, parade::engine::Event::Started { .. }) {
            std::thread::sleep(Duration::from_millis(400));
        }
    });
    engine.subscribe(Recorder::new(store.clone(), run, names.clone()));
    engine.want([t]).unwrap();
    engine.wait_all().unwrap();
    store.end_run(run, "succeeded").unwrap();
    let e = &store.executions(run).unwrap()[0];
    let took = e.duration().unwrap();
    assert!(
        took >= Duration::from_millis(30) && took < Duration::from_millis(400),
        "recorded {took:?} for a 30 ms task"
    );
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
    // The task runs until a frame shows its time left (a fixed time could pass, on a loaded
    // machine, before the first frame is drawn), and `seen` is when that was, at the latest.
    let begun = std::time::Instant::now();
    let seen = Arc::new(parking_lot::Mutex::new(Duration::ZERO));
    let when = seen.clone();
    let screen = run_until(&store, "train", Some(&live), move |screen| {
        while !screen.contents().contains("s left") && begun.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(5));
        }
        *when.lock() = begun.elapsed();
    });
    let seen = seen.lock().as_secs_f64();
    // Frames drawn while it runs show what is left of the expectation from the three runs:
    // at most all of it, and at least what was left when the first frame had been seen.
    let shown: Vec<f64> = screen
        .split("train  ~")
        .skip(1)
        .filter_map(|rest| rest.split_once("s left"))
        .filter_map(|(secs, _)| secs.parse().ok())
        .collect();
    let most = shown.iter().copied().fold(0.0, f64::max);
    let want = expected.as_secs_f64();
    assert!(
        most <= want + 0.05 && most >= want - seen - 0.1,
        "expected {want:.2}s, seen after {seen:.2}s, shown {shown:?} in {screen:?}"
    );
    assert!(screen.contains("ETA ~"), "{screen:?}");
}

/// One "program run" of a small cached workflow: a fresh graph and a freshly opened store on
/// the same file. `calls` counts the calls of the cached function.
fn cached_square(
    path: &std::path::Path,
    x: i32,
    version: &str,
    calls: &Arc<std::sync::atomic::AtomicUsize>,
) -> (i32, Option<parade::graph::CacheUse>) {
    use parade::graph::Graph;
    let g = Graph::new();
    g.cache_in(Store::open(path).unwrap());
    let input = g.submit(move || x);
    let calls = calls.clone();
    let sq = g
        .task("square")
        .cache(version)
        .submit_after(&input, move |x: i32| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            x * x
        });
    let value = sq.value().unwrap();
    g.wait_all().unwrap();
    (value, g.cache_use(sq.id()))
}

#[test]
fn a_cached_graph_task_is_not_called_again_by_the_next_program_run() {
    use parade::graph::CacheUse;
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    assert_eq!(
        cached_square(&path, 7, "square@v1", &calls),
        (49, Some(CacheUse::Stored))
    );
    assert_eq!(calls.load(SeqCst), 1);
    assert_eq!(
        cached_square(&path, 7, "square@v1", &calls),
        (49, Some(CacheUse::Reused))
    );
    assert_eq!(calls.load(SeqCst), 1, "the second run called the function");
    // A changed input runs it again; the old result stays for the old input.
    assert_eq!(
        cached_square(&path, 8, "square@v1", &calls),
        (64, Some(CacheUse::Stored))
    );
    assert_eq!(calls.load(SeqCst), 2);
    assert_eq!(cached_square(&path, 7, "square@v1", &calls).0, 49);
    assert_eq!(calls.load(SeqCst), 2);
    // A changed version string runs it again.
    assert_eq!(
        cached_square(&path, 7, "square@v2", &calls),
        (49, Some(CacheUse::Stored))
    );
    assert_eq!(calls.load(SeqCst), 3);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.memo_count("square@v1").unwrap(), 2);
    // Forgetting everything forgets the results too.
    store.forget(None).unwrap();
    assert_eq!(store.memo_count("square@v1").unwrap(), 0);
}

#[test]
fn a_failed_cached_task_stores_nothing_and_a_store_less_graph_says_what_is_missing() {
    use parade::graph::Graph;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    let g = Graph::inline();
    g.cache_in(store.clone());
    let h = g
        .task("flaky")
        .cache("flaky@v1")
        .try_submit(|| Err::<i32, _>("no network"));
    assert!(h.value().unwrap_err().to_string().contains("no network"));
    assert_eq!(store.memo_count("flaky@v1").unwrap(), 0);

    let bare = Graph::inline();
    let h = bare.task("t").cache("t@v1").submit(|| 1);
    let err = h.value().unwrap_err().to_string();
    assert!(err.contains("Graph::cache_in"), "{err}");
}

#[test]
fn a_dry_run_says_which_cached_tasks_would_be_reused() {
    use parade::graph::{CacheUse, Graph};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    // What a closure captures is not an input: the version in the name says it changed.
    let build = |g: &Graph, n: i32| {
        let a = g
            .task("load")
            .mock(0)
            .cache(format!("load@v{n}"))
            .submit(move || n);
        let b = g
            .task("double")
            .mock(0)
            .cache("double@v1")
            .submit_after(&a, |a: i32| a * 2);
        let plain = g.task("plain").mock(0).submit_after(&b, |b| b + 1);
        let c = g
            .task("after plain")
            .mock(0)
            .cache("after@v1")
            .submit_after(&plain, |p: i32| p);
        (a, b, c)
    };
    let g = Graph::inline();
    g.cache_in(store.clone());
    let (_, b, c) = build(&g, 5);
    assert_eq!((b.value().unwrap(), c.value().unwrap()), (10, 11));

    let dry = Graph::dry_run();
    dry.cache_in(store.clone());
    let (a, b, c) = build(&dry, 5);
    // The reused results stand in for the values.
    assert_eq!(b.value().unwrap(), 10);
    assert_eq!(dry.cache_use(a.id()), Some(CacheUse::Reused));
    assert_eq!(dry.cache_use(b.id()), Some(CacheUse::Reused));
    // After a task that is not cached, its inputs are not known before running.
    assert!(matches!(dry.cache_use(c.id()), Some(CacheUse::WouldRun(_))));
    let text = dry.plan().to_string();
    assert!(text.contains("#0 load (mock) (cache: reused)"), "{text}");
    assert!(
        text.contains("would run: its inputs are known only when they run"),
        "{text}"
    );

    // Another version: the first task would run, and so would what depends on it.
    let other = Graph::dry_run();
    other.cache_in(store);
    let (a, b, _) = build(&other, 6);
    assert_eq!(
        other.cache_use(a.id()),
        Some(CacheUse::WouldRun(
            "no stored result for these inputs".into()
        ))
    );
    assert!(matches!(
        other.cache_use(b.id()),
        Some(CacheUse::WouldRun(_))
    ));
}

/// A process id no process has now (a child that ran and was reaped).
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Runs, recorded in a new run of `store` that never ends, `fetch` (which says where it ends
/// that it succeeded, as a face's body does) and `lint` (which fails); returns the run.
fn run_unended(store: &Store) -> i64 {
    let run = store.begin_run(&["all".to_owned()]).unwrap();
    let engine = Engine::new();
    let names = Arc::new(NameTable::new());
    let recorder = Recorder::new(store.clone(), run, names.clone());
    let (s, r) = (store.clone(), recorder.clone());
    let fetch = engine
        .add(TaskSpec::new(move |_| {
            r.note("fetch", Execution::new("fetch", "").key("k-fetch"));
            s.finished(run, "fetch", "succeeded");
            Outcome::Succeeded
        }))
        .unwrap();
    let lint = engine
        .add(TaskSpec::new(|_| Outcome::failed("bad style")))
        .unwrap();
    names.insert(fetch, "fetch");
    names.insert(lint, "lint");
    engine.subscribe(recorder);
    engine.want([fetch, lint]).unwrap();
    let _ = engine.wait_all();
    run
}

#[test]
fn a_run_writes_its_records_once_at_its_end_and_a_killed_run_is_taken_in_by_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let store = Store::open(&db).unwrap();
    let run = run_unended(&store);
    let journal = store.journal_path(run).unwrap();
    assert!(journal.exists());
    // No transaction per task: the database has none of the run's records yet, and another
    // open while this process (the run's owner) lives leaves the journal alone.
    let other = Store::open(&db).unwrap();
    assert!(other.executions(run).unwrap().is_empty());
    assert!(journal.exists());
    drop(other);
    drop(store);
    // The run's process dies (as with kill -9), a torn line at the end of its journal.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE runs SET pid = ?1", [dead_pid()])
        .unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"name\":\"half\",\"sta").unwrap();
    drop(f);
    let again = Store::open(&db).unwrap();
    assert!(!journal.exists(), "the journal was taken in");
    let mut got: Vec<(String, String)> = again
        .executions(run)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.state))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("fetch".to_owned(), "succeeded".to_owned()),
            ("lint".to_owned(), "failed".to_owned())
        ]
    );
    let last = again.last_success("fetch").unwrap().unwrap();
    assert_eq!(last.key.as_deref(), Some("k-fetch"));
    // Taken in once: a later open adds nothing.
    drop(again);
    assert_eq!(Store::open(&db).unwrap().executions(run).unwrap().len(), 2);
}

#[test]
fn a_run_that_ends_writes_its_records_and_removes_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    let run = run_unended(&store);
    store.end_run(run, "failed").unwrap();
    assert!(!store.journal_path(run).unwrap().exists());
    let fetch = store.last_success("fetch").unwrap().unwrap();
    // The recorder completed the record written where the task ended.
    assert!(
        fetch.started.is_some() && fetch.exit_status == Some(0),
        "{fetch:?}"
    );
    assert_eq!(store.executions(run).unwrap().len(), 2);
}

#[test]
fn an_up_to_date_task_is_counted_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    let run = store.begin_run(&[]).unwrap();
    let engine = Engine::new();
    let names = Arc::new(NameTable::new());
    let t = engine
        .add(TaskSpec::new(|_| Outcome::UpToDate("unchanged".into())))
        .unwrap();
    names.insert(t, "t");
    engine.subscribe(Recorder::new(store.clone(), run, names.clone()));
    engine.want([t]).unwrap();
    engine.wait_all().unwrap();
    store.end_run(run, "succeeded").unwrap();
    assert!(store.executions(run).unwrap().is_empty());
    assert_eq!(store.run(run).unwrap().unwrap().up_to_date, 1);
    // Nothing to keep: no journal was made.
    assert!(!store.journal_path(run).unwrap().exists());
}

#[test]
fn a_journal_that_cannot_be_written_is_reported_until_the_run_end_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state.db")).unwrap();
    // A directory where the first run's journal goes: no line can be written.
    std::fs::create_dir(store.journal_path(1).unwrap()).unwrap();
    let run = run_unended(&store);
    assert_eq!(run, 1);
    let recorder = Recorder::new(store.clone(), run, Arc::new(NameTable::new()));
    let error = recorder
        .error()
        .expect("the failed journal write is reported");
    assert!(error.contains("journal-1.jsonl"), "{error}");
    // The end is written: the records are in, nothing is lost.
    store.end_run(run, "failed").unwrap();
    assert_eq!(recorder.error(), None);
    assert_eq!(store.executions(run).unwrap().len(), 2);
}
