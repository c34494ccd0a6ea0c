//! Task files against parproc's behaviour, through the real binary: a task's own `args` fill
//! its dependency patterns and its command, and a pattern rdep on a plain task (parproc's
//! README `Proc(name='setup', rdeps=['deploy::[env]'])`) runs it before every wanted instance.

mod common;

use common::Project;
use predicates::prelude::*;

fn order(p: &Project) -> Vec<String> {
    std::fs::read_to_string(p.path("order.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
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
