//! `parade run` on real task files: order, exit statuses, logs, results, params, quoting
//! against injection, `--dry-run`, `--output json`, `--fail-fast`, timeouts, `-j`, and
//! `parade graph`.

mod common;

use std::fmt::Write as _;

use common::{Project, dies, pids};
use predicates::prelude::*;

const CHAIN: &str = r#"
[params]
region = "eu"

[task.setup]
run = "echo setup >> order.txt"

[task."build::[env]"]
choices = { env = ["dev", "prod"] }
deps = ["setup"]
locks = ["compiler"]
run = "echo build {env} {params.region} >> order.txt"

[task."deploy::[env]"]
choices = { env = ["dev", "prod"] }
deps = ["build::[env]"]
wave = 1
run = "echo deploy {env} >> order.txt"
"#;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn a_run_follows_dependencies_and_exits_0() {
    let p = Project::new(CHAIN);
    p.parade(&["run", "deploy::prod"])
        .assert()
        .success()
        .stderr(predicate::str::contains("✓ deploy::prod"))
        .stderr(predicate::str::contains("3 succeeded"));
    let order = std::fs::read_to_string(p.path("order.txt")).unwrap();
    assert_eq!(lines(&order), ["setup", "build prod eu", "deploy prod"]);
}

#[test]
fn globs_expand_over_choices_and_waves_hold_back_deploys() {
    let p = Project::new(CHAIN);
    p.parade(&["run", "deploy::*", "-j", "4"])
        .assert()
        .success();
    let order = std::fs::read_to_string(p.path("order.txt")).unwrap();
    let order = lines(&order);
    assert_eq!(order.len(), 5);
    assert_eq!(order[0], "setup");
    // Wave 1: both deploys come after both builds.
    assert!(order[3].starts_with("deploy") && order[4].starts_with("deploy"));
}

#[test]
fn logs_go_to_a_run_directory_linked_as_latest() {
    let p = Project::new("[task.hello]\nrun = \"echo hello out; echo hello err >&2\"\n");
    p.parade(&["run", "hello"]).assert().success();
    let log = std::fs::read_to_string(p.path(".parade/logs/latest/hello.log")).unwrap();
    assert!(
        log.contains("hello out") && log.contains("hello err"),
        "{log}"
    );
}

#[test]
fn a_failure_exits_1_shows_the_useful_lines_and_fails_dependents() {
    let p = Project::new(
        r#"
[task.build]
run = "echo compiling; echo 'error: missing semicolon' >&2; exit 3"

[task.test]
deps = ["build"]
run = "touch tested"
"#,
    );
    p.parade(&["run", "test"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("✗ build"))
        .stderr(predicate::str::contains("exit status 3"))
        .stdout(predicate::str::contains("build | error: missing semicolon"))
        .stderr(predicate::str::contains("test"));
    // Without the task's output on screen, the failure's snippet shows the useful lines.
    p.parade(&["run", "test", "--output", "plain"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error: missing semicolon"));
    assert!(!p.path("tested").exists());
}

#[test]
fn usage_and_plan_errors_exit_2() {
    let p = Project::new(CHAIN);
    p.parade(&["run", "nosuchtask"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nosuchtask"));
    p.parade(&["run", "build::staging"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not one of its choices"));
    p.parade(&["run", "--bogus", "setup"]).assert().code(2);
    assert!(!p.path("order.txt").exists());
}

#[test]
fn placeholder_and_param_values_are_quoted() {
    let p = Project::new(
        r#"
[params]
who = "me"

[task."build::[what]"]
run = "echo built {what} for {params.who} > out.txt"
"#,
    );
    p.parade(&[
        "run",
        "build::$(touch x); touch y",
        "--param",
        "who=`touch z`",
    ])
    .assert()
    .success();
    for f in ["x", "y", "z"] {
        assert!(!p.path(f).exists(), "{f} was created");
    }
    let out = std::fs::read_to_string(p.path("out.txt")).unwrap();
    assert_eq!(out, "built $(touch x); touch y for `touch z`\n");
}

#[test]
fn tasks_see_their_environment_and_params_override() {
    let p = Project::new(
        r#"
[params]
region = "eu"

[task."show::[env]"]
env = { GREETING = "hi" }
run = "echo $PARADE_TASK $PARADE_ARG_ENV $PARADE_PARAM_REGION $GREETING > env.txt"
"#,
    );
    p.parade(&["run", "show::prod", "-p", "region=us"])
        .assert()
        .success();
    let out = std::fs::read_to_string(p.path("env.txt")).unwrap();
    assert_eq!(out, "show::prod prod us hi\n");
}

#[test]
fn dry_run_prints_the_plan_in_order_and_runs_nothing() {
    let p = Project::new(CHAIN);
    let out = p
        .parade(&["run", "--dry-run", "deploy::*"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    // Where the line of a task (or a wave heading) is.
    let pos = |s: &str| {
        out.lines()
            .position(|l| l.starts_with(s) || l.contains(&format!(". {s} ")))
            .unwrap_or_else(|| panic!("no {s} in\n{out}"))
    };
    assert!(pos("setup") < pos("build::dev"));
    assert!(pos("build::prod") < pos("wave 1:"));
    assert!(pos("wave 1:") < pos("deploy::dev"));
    assert!(out.contains("locks: compiler"), "{out}");
    assert!(out.contains("requested"), "{out}");
    assert!(out.contains("dependency of \"deploy::prod\""), "{out}");
    assert!(out.contains("5 tasks would run"), "{out}");
    assert!(!p.path("order.txt").exists());
    assert!(!p.path(".parade").exists());
}

#[test]
fn json_output_has_every_task_with_state_duration_reason_and_result() {
    let p = Project::new(
        r#"
[task.a]
run = "printf '{\"n\": 1}' > \"$PARADE_RESULT\""

[task.b]
deps = ["a"]
run = "cat \"$PARADE_RESULTS_DIR/a.json\" > seen.json; exit 2"

[task.c]
deps = ["b"]
run = "true"

[task.bad-result]
run = "echo 'not json' > \"$PARADE_RESULT\""
"#,
    );
    let doc = p.json_report(&["run", "c", "bad-result"], 1);
    assert_eq!(doc["ok"], false);
    let tasks = &doc["tasks"];
    assert_eq!(tasks["a"]["state"], "succeeded");
    assert_eq!(tasks["a"]["result"]["n"], 1);
    assert!(tasks["a"]["duration"].as_f64().unwrap() >= 0.0);
    assert_eq!(tasks["b"]["state"], "failed");
    assert_eq!(tasks["b"]["reason"], "exit status 2");
    assert_eq!(tasks["c"]["state"], "dep-failed");
    assert!(tasks["c"]["reason"].as_str().unwrap().contains('b'));
    assert_eq!(tasks["bad-result"]["state"], "failed");
    assert!(
        tasks["bad-result"]["reason"]
            .as_str()
            .unwrap()
            .contains("not JSON")
    );
    assert_eq!(
        std::fs::read_to_string(p.path("seen.json")).unwrap(),
        "{\"n\": 1}"
    );
}

#[test]
fn fail_fast_starts_nothing_after_a_failure() {
    let file = r#"
[task.bad]
run = "exit 1"

[task.later]
wave = 1
run = "touch later"
"#;
    let p = Project::new(file);
    p.parade(&["run", "bad", "later", "--fail-fast", "--output", "json"])
        .assert()
        .code(1);
    assert!(!p.path("later").exists());
    // Without it, independent work goes on.
    p.parade(&["run", "bad", "later"]).assert().code(1);
    assert!(p.path("later").exists());
}

#[test]
fn a_timeout_kills_the_whole_process_group_and_says_timeout() {
    let p = Project::new(
        r#"
[settings]
grace = "200ms"

[task.slow]
timeout = "1s"
run = "trap '' TERM; sleep 100 & echo $$ $! > pids.txt; wait"
"#,
    );
    let doc = p.json_report(&["run", "slow"], 1);
    assert_eq!(doc["tasks"]["slow"]["state"], "failed");
    assert!(
        doc["tasks"]["slow"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("timeout"),
        "{doc}"
    );
    for pid in pids(&std::fs::read_to_string(p.path("pids.txt")).unwrap()) {
        assert!(dies(pid), "process {pid} survived the timeout");
    }
}

#[test]
fn jobs_1_runs_one_task_at_a_time() {
    let mut file = String::new();
    for i in 0..6 {
        let _ = writeln!(
            file,
            "[task.t{i}]\nrun = \"mkdir busy || exit 9; sleep 0.05; rmdir busy\""
        );
    }
    let p = Project::new(&file);
    let targets: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
    let mut args = vec!["run", "-j", "1"];
    args.extend(targets.iter().map(String::as_str));
    p.parade(&args).assert().success();
}

#[test]
fn parallel_output_never_interleaves_mid_line() {
    let p = Project::new(
        r#"
[task."spam::[c]"]
choices = { c = ["a", "b", "c"] }
run = "i=0; while [ $i -lt 200 ]; do printf '%0200d\n' 0 | tr 0 {c}; i=$((i+1)); done; exit 1"
"#,
    );
    let out = p.stderr(
        &[
            "run",
            "spam::*",
            "--full-log",
            "-j",
            "3",
            "--output",
            "plain",
        ],
        1,
    );
    let mut long = 0;
    for line in out.lines() {
        let body = line.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
        if body.len() >= 100 {
            long += 1;
            let first = body.chars().next().unwrap();
            assert!(body.chars().all(|c| c == first), "mixed line: {line}");
        }
    }
    assert_eq!(long, 600, "{out}");
}

#[test]
fn graph_formats() {
    let p = Project::new(CHAIN);
    p.parade(&["graph", "deploy::prod", "--format", "dot"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"build::prod\" -> \"deploy::prod\";",
        ));
    p.parade(&["graph", "deploy::prod", "--format", "mermaid"])
        .assert()
        .success()
        .stdout(predicate::str::contains("flowchart LR"));
    p.parade(&["graph", "deploy::*"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "deploy::dev (wave 1)\n  <- build::dev\n",
        ));
    p.parade(&["graph", "nosuch"]).assert().code(2);
}
