//! Task files against parproc's behaviour, through the real binary: a task's own `args` fill
//! its dependency patterns and its command, and a pattern rdep on a plain task (parproc's
//! README `Proc(name='setup', rdeps=['deploy::[env]'])`) runs it before every wanted instance.

mod common;

use common::Project;
use predicates::prelude::*;

fn order(p: &Project) -> Vec<String> {
    p.read("order.txt").lines().map(str::to_owned).collect()
}

#[test]
fn pattern_rdeps_on_a_plain_task_run_it_before_every_wanted_instance() {
    let p = Project::new(
        r#"
[task.setup]
rdeps = ["deploy::[env]"]
run = "echo setup >> order.txt"

[task."deploy::[env]"]
choices = { env = ["dev", "prod"] }
run = "echo deploy {env} >> order.txt"

[task.other]
run = "echo other >> order.txt"
"#,
    );
    p.parade(&["run", "deploy::prod"]).assert().success();
    assert_eq!(order(&p), ["setup", "deploy prod"]);
    // A rule does not pull its task into runs that want no deploy.
    std::fs::remove_file(p.path("order.txt")).unwrap();
    p.parade(&["run", "other"]).assert().success();
    assert_eq!(order(&p), ["other"]);
}

#[test]
fn a_pattern_rdep_matching_no_task_is_an_error() {
    let p = Project::new(
        "[task.setup]\nrdeps = [\"deplyo::[env]\"]\nrun = \"true\"\n\n[task.\"deploy::[env]\"]\nrun = \"true\"\n",
    );
    p.parade(&["list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no task matches \"deplyo::[env]\"",
        ))
        .stderr(predicate::str::contains("parade.toml:2:"));
}

#[test]
fn a_tasks_own_args_fill_its_dependency_patterns_and_command() {
    let p = Project::new(
        r#"
[task."dep::[x]::[y]"]
run = "echo dep {x} {y} >> order.txt"

[task."top::[y]"]
args = { x = "test" }
deps = ["dep::[x]::[y]"]
run = "echo top {x} {y} >> order.txt"

[task.setup]
args = { env = "prod" }
deps = ["build::[env]"]
run = "echo setup {env} $PARADE_ARG_ENV >> order.txt"

[task."build::[env]"]
choices = { env = ["dev", "prod"] }
run = "echo build {env} >> order.txt"
"#,
    );
    p.parade(&["run", "top::1"]).assert().success();
    assert_eq!(order(&p), ["dep test 1", "top test 1"]);
    std::fs::remove_file(p.path("order.txt")).unwrap();
    p.parade(&["run", "setup"]).assert().success();
    assert_eq!(order(&p), ["build prod", "setup prod prod"]);
}

#[test]
fn a_really_missing_argument_is_named() {
    let p = Project::new(
        r#"
[task."dep::[x]::[y]"]
run = "true"

[task."top::[z]"]
args = { x = "test" }
deps = ["dep::[x]::[y]"]
run = "true"
"#,
    );
    p.parade(&["list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`[y]` is not a placeholder of \"top::[z]\"",
        ));
}

/// A template whose script says it started, then waits for `go` in the project.
const WAITING_RUN: &str = r#"#!/bin/sh
echo started > "$PARMAN_WORKDIR/started.txt"
while [ ! -e "$PARMAN_WORKDIR/go" ]; do sleep 0.05; done
echo '{"ok": true}' > result.json
"#;

#[test]
fn jobs_clean_skips_a_running_template_job_and_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let p =
        Project::new("[task.wait]\ntemplate = \"templates/wait\"\njob_dir = \"results/wait\"\n");
    let run = p.write("templates/wait/run", WAITING_RUN);
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut running = p
        .spawn_parade(&["run", "wait", "--output", "plain"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    p.wait_for("started.txt");
    p.parade(&["jobs", "clean", "results"])
        .assert()
        .success()
        .stderr(predicate::str::contains("skipped"))
        .stderr(predicate::str::contains("a run is working in it"));
    assert!(
        p.path("results/wait/kwargs.json").exists(),
        "the running job was kept"
    );
    p.write("go", "");
    assert!(running.wait().unwrap().success());
    assert!(p.path("results/wait/result.json").exists());
}
