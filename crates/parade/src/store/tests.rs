//! Unit tests of the run store: schema checks, damage, busy, fingerprints, history, ETA.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use super::*;

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".parade").join(STATE_DB);
    (dir, path)
}

#[test]
fn a_new_store_is_made_in_wal_mode_and_opens_again() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    let run = store.begin_run(&["all".to_owned()]).unwrap();
    store.end_run(run, "succeeded").unwrap();
    drop(store);
    let again = Store::open(&path).unwrap();
    let runs = again.runs(5).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].targets, ["all"]);
    assert_eq!(runs[0].outcome.as_deref(), Some("succeeded"));
    let mode: String = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_damaged_file_is_an_error_that_says_how_to_move_it_aside() {
    let (_dir, path) = temp();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        b"this is not a database, it is a grocery list\n".repeat(200),
    )
    .unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("state.db.bad"), "{e}");
    // The file is left as it was.
    assert!(std::fs::read(&path).unwrap().starts_with(b"this is not"));
}

#[test]
fn a_foreign_or_newer_database_is_refused() {
    let (_dir, path) = temp();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE accounts (id INTEGER)")
        .unwrap();
    assert!(matches!(
        Store::open(&path).unwrap_err(),
        StoreError::Foreign { .. }
    ));
    let (_dir2, newer) = temp();
    drop(Store::open(&newer).unwrap());
    Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let e = Store::open(&newer).unwrap_err();
    assert!(matches!(e, StoreError::Newer { found: 99, .. }), "{e:?}");
}

#[test]
fn a_writer_that_holds_the_store_too_long_is_named() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    // Another process's run, alive (this test's parent shell stands in for it) and unfinished.
    let other = Connection::open(&path).unwrap();
    other
        .execute(
            "INSERT INTO runs (started, targets, pid) VALUES (?1, '[\"deploy\"]', ?2)",
            rusqlite::params![
                millis(SystemTime::now()),
                std::os::unix::process::parent_id()
            ],
        )
        .unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let waiting = Store::open_with(&path, Duration::from_millis(50)).unwrap();
    let e = waiting.begin_run(&[]).unwrap_err();
    assert!(matches!(e, StoreError::Busy { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("run 1") && text.contains("deploy"), "{text}");
    other.execute_batch("COMMIT").unwrap();
    waiting.begin_run(&[]).unwrap();
    drop(store);
}

#[test]
fn fingerprints_follow_content_not_times() {
    let (dir, path) = temp();
    let store = Store::open(&path).unwrap();
    let file = dir.path().join("a.c");
    std::fs::write(&file, "one").unwrap();
    let old = SystemTime::now() - Duration::from_secs(60);
    set_mtime(&file, old);
    let first = store.fingerprint(&file).unwrap();
    store.flush_files().unwrap();
    // A store opened later trusts the remembered hash while the stat is unchanged...
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.fingerprint(&file).unwrap(), first);
    // ...and a touch (new times, same content) gives the same fingerprint.
    set_mtime(&file, SystemTime::now() - Duration::from_secs(30));
    assert_eq!(store.fingerprint(&file).unwrap(), first);
    std::fs::write(&file, "two").unwrap();
    assert_ne!(store.fingerprint(&file).unwrap(), first);
}

#[test]
fn the_fast_path_trusts_the_stat() {
    // Same size, same mtime, different content, yet the inode and ctime change with a
    // rewrite: the fast path must not hide the change.
    let (dir, path) = temp();
    let store = Store::open(&path).unwrap();
    let file = dir.path().join("x");
    let t = SystemTime::now() - Duration::from_secs(100);
    std::fs::write(&file, "aaaa").unwrap();
    set_mtime(&file, t);
    let a = store.fingerprint(&file).unwrap();
    std::fs::write(&file, "bbbb").unwrap();
    set_mtime(&file, t);
    assert_ne!(store.fingerprint(&file).unwrap(), a);
}

#[test]
fn executions_are_read_back_per_run_and_per_task() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    let one = store.begin_run(&[]).unwrap();
    let mut e = Execution::new("build", "succeeded")
        .key("k1")
        .exit_status(0);
    e.result = Some(serde_json::json!({"artifact": "app"}));
    e.outputs = vec![("build/app".into(), "h".into())];
    store.record(one, &e).unwrap();
    store
        .record(one, &Execution::new("test", "failed").exit_status(3))
        .unwrap();
    let two = store.begin_run(&[]).unwrap();
    store
        .record(two, &Execution::new("build", "failed").key("k2"))
        .unwrap();
    let got = store.executions(one).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].result, e.result);
    assert_eq!(got[0].outputs, e.outputs);
    assert_eq!(got[1].exit_status, Some(3));
    // The last success is the one of run 1, not run 2's failure.
    let last = store.last_success("build").unwrap().unwrap();
    assert_eq!((last.run, last.key.as_deref()), (one, Some("k1")));
    assert_eq!(store.history("build", 10).unwrap().len(), 2);
    assert_eq!(store.unfinished_runs().unwrap().len(), 2);
    assert_eq!(store.forget(Some("build")).unwrap(), 2);
    assert!(store.last_success("build").unwrap().is_none());
}

#[test]
fn expected_duration_is_the_weighted_mean_of_recent_successes() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    let run = store.begin_run(&[]).unwrap();
    let at = |secs: u64, state: &str| {
        let mut e = Execution::new("t", state);
        e.started = Some(UNIX_EPOCH);
        e.ended = Some(UNIX_EPOCH + Duration::from_secs(secs));
        e
    };
    assert_eq!(store.expected_duration("t").unwrap(), None);
    store.record(run, &at(150, "succeeded")).unwrap();
    store.record(run, &at(999, "failed")).unwrap();
    store.record(run, &at(50, "succeeded")).unwrap();
    store
        .record(run, &Execution::new("t", "up-to-date"))
        .unwrap();
    // parproc's case: 0.15 then 0.05 (newest) → (0.05 + 0.8 * 0.15) / 1.8 ≈ 0.094
    let d = store.expected_duration("t").unwrap().unwrap().as_secs_f64();
    assert!((d - 94.444).abs() < 0.01, "{d}");
}

#[test]
fn running_tasks_are_noted_and_found_after_their_run_died() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    let run = store.begin_run(&[]).unwrap();
    store.set_running(run, "train", 4242).unwrap();
    store.set_running(run, "eval", 4343).unwrap();
    store.clear_running(run, "eval").unwrap();
    // This process is alive: nothing is left behind yet.
    assert!(store.left_running().unwrap().is_empty());
    // A dead owner: the run's pid is one that cannot exist.
    store
        .with(|c| c.execute("UPDATE runs SET pid = 2147483647 WHERE id = ?1", [run]))
        .unwrap();
    assert_eq!(
        store.left_running().unwrap(),
        [(run, "train".to_owned(), 4242)]
    );
    store.end_run(run, "interrupted").unwrap();
    assert!(store.left_running().unwrap().is_empty());
}

#[test]
fn old_runs_are_pruned_but_every_tasks_last_success_stays() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    // `once` succeeded in the first run only; `often` in every run, like a no-op rerun.
    let first = store.begin_run(&[]).unwrap();
    store
        .record(first, &Execution::new("once", "succeeded").key("k-once"))
        .unwrap();
    store
        .record(first, &Execution::new("often", "succeeded").key("k0"))
        .unwrap();
    store.end_run(first, "succeeded").unwrap();
    let runs = 3 * crate::store::KEPT_RUNS;
    for i in 1..runs {
        let run = store.begin_run(&[]).unwrap();
        store
            .record(
                run,
                &Execution::new("often", "up-to-date").key(format!("k{i}")),
            )
            .unwrap();
        store.end_run(run, "succeeded").unwrap();
    }
    let kept = store.history("often", usize::MAX).unwrap().len();
    let bound = usize::try_from(crate::store::KEPT_RUNS + crate::store::PRUNE_EVERY).unwrap();
    assert!(kept <= bound, "{kept} executions of `often` kept");
    assert!(kept >= usize::try_from(crate::store::KEPT_RUNS).unwrap());
    let once = store.last_success("once").unwrap().expect("kept");
    assert_eq!((once.run, once.key.as_deref()), (first, Some("k-once")));
    let last = store.last_success("often").unwrap().unwrap();
    assert_eq!(last.key, Some(format!("k{}", runs - 1)));
    assert!(
        store.run(first).unwrap().is_some(),
        "the run `once` stands on"
    );
    assert!(store.runs(usize::MAX).unwrap().len() <= bound + 1);
}

#[test]
fn a_tasks_last_skip_outlives_pruning_until_a_success_follows_it() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    // `skips` succeeded, then skipped itself (a flow records the skip under its key), then sat
    // out many runs; `later` skipped, then succeeded.
    let first = store.begin_run(&[]).unwrap();
    for e in [
        Execution::new("skips", "succeeded").key("k-ran"),
        Execution::new("later", "skipped").key("k-skip"),
    ] {
        store.record(first, &e).unwrap();
    }
    store.end_run(first, "succeeded").unwrap();
    let second = store.begin_run(&[]).unwrap();
    for e in [
        Execution::new("skips", "skipped").key("k-skip"),
        Execution::new("later", "succeeded").key("k-ran"),
    ] {
        store.record(second, &e).unwrap();
    }
    store.end_run(second, "succeeded").unwrap();
    for i in 0..2 * crate::store::KEPT_RUNS {
        let run = store.begin_run(&[]).unwrap();
        store
            .record(
                run,
                &Execution::new("other", "succeeded").key(format!("k{i}")),
            )
            .unwrap();
        store.end_run(run, "succeeded").unwrap();
    }
    // What a flow's next decision reads: the newest execution, the skip, with its key.
    let newest = store.history("skips", 4).unwrap();
    assert_eq!(
        newest
            .iter()
            .map(|e| (e.state.as_str(), e.key.as_deref()))
            .collect::<Vec<_>>(),
        [("skipped", Some("k-skip")), ("succeeded", Some("k-ran"))]
    );
    // A success after a skip replaces it: the old skip is pruned like any old execution.
    let later = store.history("later", 4).unwrap();
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].state, "succeeded");
}

#[test]
fn a_store_without_last_skips_gets_them_when_opened() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    let run = store.begin_run(&[]).unwrap();
    for e in [
        Execution::new("skips", "succeeded").key("k1"),
        Execution::new("skips", "skipped").key("k2"),
        Execution::new("later", "skipped").key("k3"),
        Execution::new("later", "succeeded").key("k4"),
        Execution::new("keyless", "skipped"),
    ] {
        store.record(run, &e).unwrap();
    }
    store.end_run(run, "succeeded").unwrap();
    drop(store);
    // As a build before the table left it.
    Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE latest_skip")
        .unwrap();
    drop(Store::open(&path).unwrap());
    let kept: Vec<(String, String)> = Connection::open(&path)
        .unwrap()
        .prepare("SELECT l.name, e.key FROM latest_skip l JOIN executions e ON e.id = l.execution")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kept, [("skips".to_owned(), "k2".to_owned())]);
}

#[test]
fn close_checkpoints_a_large_wal_and_leaves_a_small_one() {
    let (_dir, path) = temp();
    let wal = path.with_file_name(format!("{STATE_DB}-wal"));
    let store = Store::open(&path).unwrap();
    let run = store.begin_run(&[]).unwrap();
    store.end_run(run, "succeeded").unwrap();
    store.clone().close();
    assert!(store.runs(1).is_err(), "closed for every clone");
    assert!(wal.exists(), "a small WAL is not checkpointed at close");
    let store = Store::open(&path).unwrap();
    let run = store.begin_run(&[]).unwrap();
    let mut big = Execution::new("big", "succeeded").key("k");
    big.result = Some(serde_json::Value::String("x".repeat(5 << 20)));
    store.record(run, &big).unwrap();
    store.end_run(run, "succeeded").unwrap();
    assert!(std::fs::metadata(&wal).unwrap().len() > CHECKPOINT_AT);
    store.close();
    assert!(
        !wal.exists(),
        "a large WAL is checkpointed and removed at close"
    );
    // Nothing was lost either way.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.runs(5).unwrap().len(), 2);
    assert!(store.last_success("big").unwrap().is_some());
}

/// Sets `file`'s modification time to `t`.
fn set_mtime(file: &std::path::Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// What `look` finds once a journal is folded (`done` says so; tried again for up to 10 s
/// while it is not): a process that another test thread forks holds a copy of every
/// descriptor of this one, a writer's journal and its lock among them, until it execs, and a
/// journal whose lock is held is rightly left for a later open. On a loaded machine that can
/// outlast a test.
pub(super) fn once_folded<T>(mut look: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    for _ in 0..200 {
        let got = look();
        if done(&got) {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    look()
}

/// A recorder into run `run` of `store` naming task `i` `t<i>`.
pub(super) fn recorder_of(store: &Store, run: RunId) -> Recorder {
    Recorder::new(
        store.clone(),
        run,
        std::sync::Arc::new(|id: crate::engine::TaskId| Some(format!("t{}", id.index()))),
    )
}

/// The recorder's `n` tasks from `first` on, each started and succeeded.
pub(super) fn record_tasks(recorder: &Recorder, first: usize, n: usize) {
    use crate::engine::{Event, Observer, TaskId, TaskState};
    for i in first..first + n {
        let id = TaskId::from_index(i);
        recorder.on_event(&Event::Started { id });
        recorder.on_event(&Event::Finished {
            id,
            state: TaskState::Succeeded,
            duration: Duration::ZERO,
            reason: None,
        });
    }
}

#[test]
fn a_batch_that_could_not_be_written_is_written_with_the_next_each_row_once() {
    use record::WRITE_EVERY;
    let (_dir, path) = temp();
    // A short busy timeout: a write the holder blocks fails in 50 ms, not 10 s.
    let store = Store::open_with(&path, Duration::from_millis(50)).unwrap();
    let run = store.begin_run(&["all".to_owned()]).unwrap();
    let recorder = recorder_of(&store, run);
    let rows = || store.executions(run).unwrap().len();
    // Another connection holds the write lock while the first batch is due: it fails.
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    record_tasks(&recorder, 0, WRITE_EVERY);
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(rows(), 0, "the batch was written while the lock was held");
    // It is not tried again at every task (a busy store would hold each for its timeout)...
    record_tasks(&recorder, WRITE_EVERY, WRITE_EVERY - 1);
    assert_eq!(rows(), 0, "tried again before another batch waited");
    // ...but once another batch waits: both land, in order.
    record_tasks(&recorder, 2 * WRITE_EVERY - 1, 1);
    let written: Vec<String> = store
        .executions(run)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    let wanted: Vec<String> = (0..2 * WRITE_EVERY).map(|i| format!("t{i}")).collect();
    assert_eq!(
        written, wanted,
        "each row once, in the order the tasks ended"
    );
    // The run's end writes the rest; nothing twice.
    record_tasks(&recorder, 2 * WRITE_EVERY, 3);
    store.end_run(run, "succeeded").unwrap();
    let mut names: Vec<String> = store
        .executions(run)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names.len(), 2 * WRITE_EVERY + 3);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 2 * WRITE_EVERY + 3, "a row written twice");
}
