//! Memory across runs on the real binary: the run store `.parade/state.db`, up to date
//! (`sources`/`outputs`), `--force`, `--explain`, `--dry-run` decisions, file targets,
//! `outputs not refreshed`, `--resume` after `kill -9`, a damaged store, two runs at once, and
//! `parade state show/clean`.

mod common;

use std::fmt::Write as _;
use std::process::Stdio;
use std::time::Duration;

use common::{Project, dies};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use predicates::prelude::*;

/// Two compile steps with their own sources, a link that needs both, a test that always runs.
/// Every command appends its name to `ran.txt`.
const BUILD: &str = r#"
[task.compile-a]
run = "echo compile-a >> ran.txt && mkdir -p build && cat src/a.c > build/a.o"
sources = ["src/a.c", "include/*.h"]
outputs = ["build/a.o"]

[task.compile-b]
run = "echo compile-b >> ran.txt && mkdir -p build && cat src/b.c > build/b.o"
sources = ["src/b.c"]
outputs = ["build/b.o"]

[task.link]
run = "echo link >> ran.txt && cat build/a.o build/b.o > build/app"
deps = ["compile-a", "compile-b"]
sources = ["build/a.o", "build/b.o"]
outputs = ["build/app"]

[task.test]
run = "echo test >> ran.txt"
deps = ["link"]
"#;

fn project() -> Project {
    let p = Project::new(BUILD);
    std::fs::create_dir_all(p.path("src")).unwrap();
    std::fs::create_dir_all(p.path("include")).unwrap();
    std::fs::write(p.path("src/a.c"), "int a;\n").unwrap();
    std::fs::write(p.path("src/b.c"), "int b;\n").unwrap();
    std::fs::write(p.path("include/x.h"), "#define X\n").unwrap();
    p
}

/// Runs `args` (plain output), checks it exits 0, and returns the tasks that ran, in order.
fn ran(p: &Project, args: &[&str]) -> Vec<String> {
    let _ = std::fs::remove_file(p.path("ran.txt"));
    let mut all = args.to_vec();
    all.extend(["--output", "plain"]);
    p.parade(&all).assert().success();
    let mut tasks: Vec<String> = std::fs::read_to_string(p.path("ran.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    tasks.sort();
    tasks
}

fn states(p: &Project, args: &[&str]) -> serde_json::Value {
    p.json_report(args, 0)["tasks"].clone()
}

#[test]
fn a_second_run_skips_what_is_up_to_date() {
    let p = project();
    assert_eq!(
        ran(&p, &["run", "test"]),
        ["compile-a", "compile-b", "link", "test"]
    );
    assert!(p.path(".parade/state.db").exists());
    // Only `test` (no sources, no outputs) runs again.
    assert_eq!(ran(&p, &["run", "test"]), ["test"]);
    let t = states(&p, &["run", "test"]);
    assert_eq!(t["compile-a"]["state"], "up-to-date");
    assert_eq!(t["link"]["state"], "up-to-date");
    assert_eq!(t["test"]["state"], "succeeded");
    p.parade(&["run", "link", "--output", "plain"])
        .assert()
        .success()
        .stderr(predicate::str::contains("↷ link").and(predicate::str::contains("up-to-date")));
}

#[test]
fn a_changed_source_reruns_exactly_that_task_and_its_dependents() {
    let p = project();
    ran(&p, &["run", "test"]);
    std::fs::write(p.path("src/b.c"), "int b = 2;\n").unwrap();
    assert_eq!(ran(&p, &["run", "test"]), ["compile-b", "link", "test"]);
    // A file a glob newly matches counts too.
    std::fs::write(p.path("include/y.h"), "#define Y\n").unwrap();
    assert_eq!(ran(&p, &["run", "test"]), ["compile-a", "link", "test"]);
}

#[test]
fn a_touched_but_unchanged_source_reruns_nothing() {
    let p = project();
    ran(&p, &["run", "link"]);
    for f in ["src/a.c", "src/b.c", "include/x.h"] {
        let file = std::fs::File::options()
            .append(true)
            .open(p.path(f))
            .unwrap();
        file.set_modified(std::time::SystemTime::now() + Duration::from_secs(60))
            .unwrap();
    }
    assert!(ran(&p, &["run", "link"]).is_empty());
}

#[test]
fn a_deleted_output_reruns_its_task_and_dependents() {
    let p = project();
    ran(&p, &["run", "link"]);
    std::fs::remove_file(p.path("build/a.o")).unwrap();
    let text = p.stderr(&["run", "link", "--explain", "--output", "plain"], 0);
    assert!(
        text.contains("compile-a: runs: output build/a.o missing"),
        "{text}"
    );
    assert!(text.contains("compile-b: up to date"), "{text}");
    // compile-a wrote the same bytes again, so link is stale only because compile-a ran.
    assert!(
        text.contains("link: runs: dependency \"compile-a\" ran again"),
        "{text}"
    );
}

#[test]
fn a_task_that_does_not_make_its_outputs_fails() {
    let p = Project::new(
        r#"
[task.gen]
run = "true"
outputs = ["out/one.txt", "out/two.txt"]
"#,
    );
    p.parade(&["run", "gen", "--output", "plain"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "outputs not refreshed: out/one.txt, out/two.txt",
        ));
    // A failure is not remembered as a success: it runs (and fails) again.
    p.parade(&["run", "gen", "--output", "plain"])
        .assert()
        .code(1);
}

#[test]
fn a_changed_command_reruns_and_force_runs_everything() {
    let p = project();
    ran(&p, &["run", "link"]);
    let toml = std::fs::read_to_string(p.path("parade.toml")).unwrap();
    std::fs::write(
        p.path("parade.toml"),
        toml.replace("cat src/b.c > build/b.o", "cat src/b.c src/b.c > build/b.o"),
    )
    .unwrap();
    let text = p.stderr(&["run", "link", "--explain", "--output", "plain"], 0);
    assert!(text.contains("compile-b: runs: command changed"), "{text}");
    assert!(ran(&p, &["run", "link"]).is_empty());
    assert_eq!(
        ran(&p, &["run", "link", "--force"]),
        ["compile-a", "compile-b", "link"]
    );
}

#[test]
fn explain_names_the_changed_file_and_dry_run_shows_the_decision() {
    let p = project();
    p.parade(&["run", "link", "--explain", "--output", "plain"])
        .assert()
        .success()
        .stderr(predicate::str::contains("compile-a: runs: never ran"));
    std::fs::write(p.path("src/a.c"), "int a = 1;\n").unwrap();
    std::fs::remove_file(p.path("ran.txt")).unwrap();
    p.parade(&["run", "link", "--dry-run"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("compile-a: runs: source src/a.c changed")
                .and(predicate::str::contains("compile-b: up to date"))
                // link runs because compile-a runs: 2 would run, 1 is up to date.
                .and(predicate::str::contains(
                    "2 tasks would run, 1 up to date (dry run: nothing ran)",
                )),
        );
    assert!(!p.path("ran.txt").exists(), "a dry run ran something");
    p.parade(&["run", "link", "--explain", "--output", "plain"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "compile-a: runs: source src/a.c changed",
        ));
}

#[test]
fn a_file_target_runs_the_task_that_makes_it() {
    let p = project();
    assert_eq!(ran(&p, &["run", "build/b.o"]), ["compile-b"]);
    assert_eq!(
        ran(&p, &["run", "./build/../build/app"]),
        ["compile-a", "link"]
    );
}

#[test]
fn state_show_prints_what_is_remembered_and_clean_forgets() {
    let p = project();
    ran(&p, &["run", "link"]);
    p.parade(&["state", "show", "compile-a"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("succeeded")
                .and(predicate::str::contains("why: never ran"))
                .and(predicate::str::contains("sources: include/x.h, src/a.c"))
                .and(predicate::str::contains("outputs: build/a.o")),
        );
    p.parade(&["state", "clean", "compile-a"])
        .assert()
        .success();
    assert_eq!(ran(&p, &["run", "link"]), ["compile-a", "link"]);
    p.parade(&["state", "clean", "--all"]).assert().success();
    assert_eq!(
        ran(&p, &["run", "link"]),
        ["compile-a", "compile-b", "link"]
    );
}

#[test]
fn a_damaged_store_is_a_clear_error_not_a_fresh_start() {
    let p = project();
    std::fs::create_dir_all(p.path(".parade")).unwrap();
    std::fs::write(p.path(".parade/state.db"), vec![b'x'; 8192]).unwrap();
    p.parade(&["run", "link", "--output", "plain"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("state.db is damaged")
                .and(predicate::str::contains("mv "))
                .and(predicate::str::contains("panicked").not()),
        );
    assert!(!p.path("ran.txt").exists());
    // A SQLite database of something else is refused too.
    std::fs::remove_file(p.path(".parade/state.db")).unwrap();
    let other = foreign_db(&p.path(".parade/state.db"));
    if other {
        p.parade(&["run", "link", "--output", "plain"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is not a parade run store"));
    }
}

/// Makes a `SQLite` database with a table of its own, with the `sqlite3` command when there is
/// one. Returns whether it made it.
fn foreign_db(path: &std::path::Path) -> bool {
    std::process::Command::new("sqlite3")
        .arg(path)
        .arg("CREATE TABLE accounts (id INTEGER);")
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn two_runs_at_once_both_finish_correctly() {
    let p = Project::new(
        r#"
[task."a::[i]"]
choices = { i = ["1", "2", "3", "4", "5", "6", "7", "8"] }
run = "echo {i} > a{i}.txt"
outputs = ["a{i}.txt"]

[task."b::[i]"]
choices = { i = ["1", "2", "3", "4", "5", "6", "7", "8"] }
run = "echo {i} > b{i}.txt"
outputs = ["b{i}.txt"]
"#,
    );
    let spawn = |target: &str| {
        p.spawn_parade(&["run", target, "--output", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("a::*"), spawn("b::*"));
    for child in [a, b] {
        let out = common::succeeded("", child.wait_with_output().unwrap());
        let report = common::json(&out.stdout);
        assert_eq!(report["counts"]["succeeded"], 8, "{report}");
    }
    // Both runs were recorded: everything is up to date now.
    let report = p.json_report(&["run", "a::*", "b::*"], 0);
    assert_eq!(report["counts"]["up-to-date"], 16, "{report}");
}

#[test]
fn resume_after_kill_9_runs_only_what_had_not_finished() {
    let p = Project::new(&common::task_file(&[
        ("fetch", "echo fetch >> ran.txt", &[]),
        ("prepare", "echo prepare >> ran.txt", &["fetch"]),
        (
            "train",
            "echo train >> ran.txt; echo $$ > train.pid; if [ ! -e resumed ]; then sleep 60; fi",
            &["prepare"],
        ),
        ("report", "echo report >> ran.txt", &["train"]),
    ]));
    let mut child = p
        .spawn_parade(&["run", "report", "--output", "plain"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid: i32 = p.wait_for("train.pid").trim().parse().unwrap();
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    // What parade left behind is not this test's subject; end it.
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    assert!(dies(pid));
    std::fs::write(p.path("resumed"), "").unwrap();
    assert_eq!(ran(&p, &["run", "report", "--resume"]), ["report", "train"]);
    // Without --resume, tasks without sources or outputs always run.
    assert_eq!(
        ran(&p, &["run", "report"]),
        ["fetch", "prepare", "report", "train"]
    );
}

/// Waits until `path`'s text contains `needle`; returns the text.
fn wait_until_contains(path: &std::path::Path, needle: &str) -> String {
    let until = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            std::time::Instant::now() < until,
            "{} never said {needle:?}: {text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watch_reruns_what_an_edit_makes_stale_and_stops_on_sigint_with_nothing_left() {
    let p = Project::new(
        r#"
[task.compile-a]
run = "echo compile-a >> ran.txt; echo $$ > a.pid; if grep -q slow src/a.c; then sleep 60; fi"
sources = ["src/*.c"]

[task.compile-b]
run = "echo compile-b >> ran.txt"
sources = ["lib/b.c"]

[task.all]
run = "echo all >> ran.txt"
deps = ["compile-a", "compile-b"]
"#,
    );
    std::fs::create_dir_all(p.path("src")).unwrap();
    std::fs::create_dir_all(p.path("lib")).unwrap();
    std::fs::write(p.path("src/a.c"), "fast\n").unwrap();
    std::fs::write(p.path("lib/b.c"), "b\n").unwrap();
    let log = std::fs::File::create(p.path("watch.log")).unwrap();
    let mut child = p
        .spawn_parade(&["run", "all", "--watch", "--output", "plain"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_until_contains(&p.path("watch.log"), "watching the sources of 3 tasks");
    assert_eq!(
        std::fs::read_to_string(p.path("ran.txt"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    // An edit makes compile-a stale (and `all`, which depends on it); compile-b is untouched.
    std::fs::remove_file(p.path("a.pid")).unwrap();
    std::fs::write(p.path("src/a.c"), "slow\n").unwrap();
    let log = wait_until_contains(&p.path("watch.log"), "rerunning");
    assert!(
        log.contains("changed: src/a.c; rerunning: compile-a, all"),
        "{log}"
    );
    let pid: i32 = p.wait_for("a.pid").trim().parse().unwrap();
    let text = wait_until_contains(&p.path("ran.txt"), "all\ncompile-a\n");
    assert!(common::alive(pid), "compile-a is not running: {text}");
    // Ctrl-C while compile-a runs: the run stops, the task's process ends, the watch ends.
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(dies(pid), "compile-a was left running");
    // Only compile-a ran again: compile-b was up to date, `all` never started.
    let ran = std::fs::read_to_string(p.path("ran.txt")).unwrap();
    assert_eq!(ran.lines().count(), 4, "{ran}");
    assert!(
        std::fs::read_to_string(p.path("watch.log"))
            .unwrap()
            .contains("watch stopped")
    );
}

#[test]
fn an_up_to_date_task_keeps_its_result_for_the_report_and_its_dependents() {
    let p = Project::new(
        r#"
[task.version]
run = "echo 1.2.3 > version.txt && echo '{\"version\": \"1.2.3\"}' > \"$PARADE_RESULT\""
outputs = ["version.txt"]

[task.show]
run = "cat \"$PARADE_RESULTS_DIR/version.json\" > shown.txt"
deps = ["version"]
"#,
    );
    let first = p.json_report(&["run", "show"], 0);
    assert_eq!(first["tasks"]["version"]["result"]["version"], "1.2.3");
    std::fs::remove_file(p.path("shown.txt")).unwrap();
    let second = p.json_report(&["run", "show"], 0);
    assert_eq!(second["tasks"]["version"]["state"], "up-to-date");
    assert_eq!(second["tasks"]["version"]["result"]["version"], "1.2.3");
    let shown = std::fs::read_to_string(p.path("shown.txt")).unwrap();
    assert!(shown.contains("1.2.3"), "{shown}");
}

#[test]
fn explain_names_the_changed_file_after_a_rerun_that_was_up_to_date() {
    // An up-to-date execution does not store its inputs again: the explanation finds them
    // under its key.
    let p = project();
    assert_eq!(
        ran(&p, &["run", "link"]),
        ["compile-a", "compile-b", "link"]
    );
    assert!(ran(&p, &["run", "link"]).is_empty());
    assert!(ran(&p, &["run", "link"]).is_empty());
    std::fs::write(p.path("src/a.c"), "int a = 2;\n").unwrap();
    p.parade(&["run", "link", "--explain", "--output", "plain"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("compile-a: runs: source src/a.c changed")
                .and(predicate::str::contains("compile-b: up to date")),
        );
}

#[test]
fn a_dry_run_in_a_project_that_remembers_nothing_decides_quietly_and_writes_no_store() {
    let p = project();
    p.parade(&["run", "link", "--dry-run"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("compile-a: runs: never ran")
                .and(predicate::str::contains("3 tasks would run")),
        )
        // The empty store a dry run decides against is in memory: it has no WAL to complain of.
        .stderr(predicate::str::is_empty());
    assert!(
        !p.path(".parade/state.db").exists(),
        "a dry run made a store"
    );
}

#[test]
fn a_task_record_the_store_could_not_write_is_reported_not_lost() {
    let p = Project::new(
        "[task.t]\nrun = \"echo started > started.txt; while [ ! -e go ]; do sleep 0.05; done\"\n\
         outputs = [\"started.txt\"]\n",
    );
    let child = p
        .spawn_parade(&["run", "t", "--output", "plain"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    p.wait_for("started.txt");
    // Another writer holds the store while the task ends, longer than parade waits for it.
    let db = rusqlite::Connection::open(p.path(".parade/state.db")).unwrap();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    std::fs::write(p.path("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    db.execute_batch("ROLLBACK").unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is busy"), "{stderr}");
    assert!(
        stderr.contains("is kept in ./.parade/journal-1.jsonl for the next run to take in"),
        "{stderr}"
    );
    // Nothing was lost: the next run takes the journal in, and t is up to date.
    assert!(p.path(".parade/journal-1.jsonl").exists());
    let report = p.json_report(&["run", "t"], 0);
    assert_eq!(report["tasks"]["t"]["state"], "up-to-date", "{report}");
    assert!(!p.path(".parade/journal-1.jsonl").exists());
}

/// A chain of fast tasks, parade killed (`kill -9`) at a different point of it each time: a
/// task whose dependent had started is never run again by `--resume`, and every task that had
/// not started runs, once. Each task prints lines after its mark, so the events of its end
/// reach observers late, behind them (a record written by an observer would come after its
/// dependent started).
#[test]
fn a_run_killed_anywhere_in_a_chain_resumes_exactly_what_had_not_finished() {
    const N: usize = 6;
    let mut toml = String::new();
    for i in 0..N {
        let _ = writeln!(
            toml,
            "[task.t{i:02}]\nrun = \"echo t{i:02} >> ran.txt; seq 1 20000\""
        );
        if i > 0 {
            let _ = writeln!(toml, "deps = [\"t{:02}\"]", i - 1);
        }
    }
    let last = format!("t{:02}", N - 1);
    for k in 1..N {
        let p = Project::new(&toml);
        let mut child = p
            .spawn_parade(&["run", &last, "--output", "plain"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(60);
        while std::fs::read_to_string(p.path("ran.txt"))
            .unwrap_or_default()
            .lines()
            .count()
            < k
        {
            assert!(std::time::Instant::now() < until, "task {k} never started");
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = kill(
            Pid::from_raw(i32::try_from(child.id()).unwrap()),
            Signal::SIGKILL,
        );
        child.wait().unwrap();
        // A task's shell parade left behind ends its one echo.
        std::thread::sleep(Duration::from_millis(100));
        let first: Vec<usize> = std::fs::read_to_string(p.path("ran.txt"))
            .unwrap()
            .lines()
            .map(|l| l[1..].parse().unwrap())
            .collect();
        let started = *first.iter().max().unwrap();
        let again = ran(&p, &["run", &last, "--resume"]);
        let again: Vec<usize> = again.iter().map(|l| l[1..].parse().unwrap()).collect();
        // The last task that started may have ended unrecorded: it may run again; those
        // before it had a dependent start, so they ended and were recorded.
        let from = again.first().copied().unwrap_or(N);
        assert!(
            from == started || from == started + 1,
            "killed after t{started:02} started (at {k}), --resume ran {again:?}"
        );
        assert_eq!(again, (from..N).collect::<Vec<_>>(), "at {k}");
    }
}

#[test]
fn a_dependency_that_succeeded_since_in_another_run_is_named() {
    let p = Project::new(
        r#"
[task.gen]
run = "echo gen >> ran.txt && cat src.txt > out.txt"
sources = ["src.txt"]
outputs = ["out.txt"]

[task.use]
run = "echo use >> ran.txt && touch use.txt"
deps = ["gen"]
outputs = ["use.txt"]
"#,
    );
    std::fs::write(p.path("src.txt"), "one\n").unwrap();
    assert_eq!(ran(&p, &["run", "use"]), ["gen", "use"]);
    std::fs::write(p.path("src.txt"), "two\n").unwrap();
    assert_eq!(ran(&p, &["run", "gen"]), ["gen"]);
    // gen is up to date now; use's key holds gen's new key (the inputs keep one digest of the
    // dependencies): the dependency that succeeded since is named.
    let text = p.stderr(&["run", "use", "--explain", "--output", "plain"], 0);
    assert!(text.contains("gen: up to date"), "{text}");
    assert!(
        text.contains("use: runs: dependency \"gen\" changed"),
        "{text}"
    );
    // That run ran use on gen's new output; nothing changed since: use is up to date and no
    // dependency is named.
    let text = p.stderr(&["run", "use", "--explain", "--output", "plain"], 0);
    assert!(text.contains("use: up to date"), "{text}");
    assert!(!text.contains("dependency"), "{text}");
}
