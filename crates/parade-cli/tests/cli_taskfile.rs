//! Every task-file error, through the real binary: the message, the `file:line:column`, the hint,
//! and exit status 2.

mod common;

use common::Project;
use predicates::prelude::*;

/// Runs `parade list` on a task file with `text`; returns stderr after checking status 2.
fn problem(text: &str) -> String {
    Project::new(text).stderr(&["list"], 2)
}

fn has(stderr: &str, parts: &[&str]) {
    for p in parts {
        assert!(stderr.contains(p), "missing {p:?} in\n{stderr}");
    }
}

#[test]
fn unknown_key_suggests_the_nearest() {
    let err = problem("[task.setup]\nrun = \"echo hi\"\ntiemout = \"5s\"\n");
    has(
        &err,
        &[
            "unknown key `tiemout`",
            "[parade.toml:3:1]",
            "did you mean `timeout`?",
        ],
    );
}

#[test]
fn unknown_settings_key() {
    let err = problem("[settings]\nparalel = 2\n");
    has(
        &err,
        &[
            "unknown key `paralel`",
            "[parade.toml:2:1]",
            "did you mean `parallel`?",
        ],
    );
}

#[test]
fn bad_duration_says_what_is_allowed() {
    let err = problem("[task.a]\nrun = \"x\"\ntimeout = \"10x\"\n");
    has(
        &err,
        &[
            "invalid duration \"10x\"",
            "[parade.toml:3:11]",
            "30s",
            "1h30m",
            "500ms",
        ],
    );
}

#[test]
fn wrong_type() {
    let err = problem("[task.a]\nrun = 5\n");
    has(
        &err,
        &[
            "invalid type: integer `5`, expected a string",
            "[parade.toml:2:7]",
        ],
    );
}

#[test]
fn run_and_template_together() {
    let err = problem("[task.a]\nrun = \"x\"\ntemplate = \"t\"\n");
    has(
        &err,
        &[
            "a task has either `run` or `template`, not both",
            "[parade.toml:3:12]",
            "remove `run`",
        ],
    );
}

#[test]
fn template_keys_need_a_template_and_known_fields() {
    let err = problem("[task.a]\nrun = \"x\"\njob_dir = \"out\"\n");
    has(&err, &["`job_dir` needs `template`", "[parade.toml:3:11]"]);
    let err = problem("[task.\"b::[env]\"]\ntemplate = \"t\"\nkwargs = { env = \"{envv}\" }\n");
    has(
        &err,
        &[
            "`{envv}` is neither a placeholder of this task nor a param",
            "did you mean",
        ],
    );
}

#[test]
fn missing_run() {
    let err = problem("[task.a]\ndescription = \"x\"\n");
    has(&err, &["missing key `run`", "parade.toml:", "run = "]);
}

#[test]
fn choice_for_a_placeholder_not_in_the_name() {
    let err =
        problem("[task.\"b::[env]\"]\nrun = \"x\"\nchoices = { env = [\"a\"], envv = [\"b\"] }\n");
    has(
        &err,
        &[
            "`envv` is not a placeholder of \"b::[env]\"",
            "[parade.toml:3:26]",
            "did you mean `env`?",
        ],
    );
}

#[test]
fn unknown_dependency_names_the_nearest_tasks() {
    let err = problem(
        "[task.\"lint::[env]\"]\nrun = \"y\"\n[task.\"b::[env]\"]\nrun = \"x\"\ndeps = [\"lnt::[env]\"]\n",
    );
    has(
        &err,
        &[
            "unknown task \"lnt::[env]\"",
            "[parade.toml:5:9]",
            "did you mean `lint::[env]`?",
        ],
    );
}

#[test]
fn dependency_with_a_placeholder_the_task_lacks() {
    let err = problem("[task.\"b::[env]\"]\nrun = \"x\"\ndeps = [\"b::[region]\"]\n");
    has(
        &err,
        &[
            "`[region]` is not a placeholder of \"b::[env]\"",
            "[parade.toml:3:9]",
        ],
    );
}

#[test]
fn glob_without_choices_and_glob_matching_nothing() {
    let err = problem(
        "[task.\"shard::[n]\"]\nrun = \"x\"\n[task.all]\nrun = \"y\"\ndeps = [\"shard::*\"]\n",
    );
    has(
        &err,
        &[
            "glob \"*\" for `n` of \"shard::[n]\" needs choices",
            "[parade.toml:5:9]",
        ],
    );
    let err = problem(
        "[task.\"shard::[n]\"]\nrun = \"x\"\nchoices = { n = [1, 2] }\n[task.all]\nrun = \"y\"\ndeps = [\"shard::9*\"]\n",
    );
    has(
        &err,
        &[
            "glob \"9*\" matches none of the choices for `n`",
            "[parade.toml:6:9]",
            "choices: 1, 2",
        ],
    );
}

#[test]
fn dependency_on_a_value_outside_the_choices() {
    let err = problem(
        "[task.\"build::[env]\"]\nrun = \"x\"\nchoices = { env = [\"dev\", \"prod\"] }\n[task.ship]\nrun = \"y\"\ndeps = [\"build::qa\"]\n",
    );
    has(
        &err,
        &[
            "\"qa\" is not a choice for `env`",
            "[parade.toml:6:9]",
            "choices: dev, prod",
        ],
    );
}

#[test]
fn unknown_field_in_run_and_unknown_special_dependency() {
    let err = problem(
        "[params]\nregion = \"eu\"\n[task.a]\nrun = \"echo {params.regoin}\"\ndeps = [\"@no-failure\"]\n",
    );
    has(
        &err,
        &[
            "2 problems in parade.toml",
            "`{params.regoin}` is neither a placeholder of this task nor a param",
            "[parade.toml:4:13]",
            "did you mean `params.region`?",
            "unknown special dependency `@no-failure`",
            "[parade.toml:5:9]",
            "did you mean `@no-failures`?",
        ],
    );
}

#[test]
fn bad_names_and_separators() {
    let err = problem("[task.\"a::[x\"]\nrun = \"x\"\n");
    has(&err, &["unclosed `[`", "[parade.toml:1:7]"]);
    let err = problem("[task.\"foo-[x]-[y]\"]\nrun = \"x\"\n");
    has(
        &err,
        &[
            "must be separated by \"::\", found \"-\"",
            "[parade.toml:1:7]",
        ],
    );
}

#[test]
fn bad_settings() {
    let err = problem("[settings]\nparallel = 0\nshell = []\n");
    has(
        &err,
        &[
            "`parallel` must be at least 1",
            "[parade.toml:2:12]",
            "`shell` needs a program",
            "[parade.toml:3:9]",
        ],
    );
}

#[test]
fn allow_missing_deps_accepts_unknown_dependencies() {
    Project::new(
        "[settings]\nallow_missing_deps = true\n[task.a]\nrun = \"x\"\ndeps = [\"ghost\"]\n",
    )
    .parade(&["check"])
    .assert()
    .success();
}

#[test]
fn no_task_file_is_a_usage_error() {
    Project::empty()
        .parade(&["list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no parade.toml in"));
}
