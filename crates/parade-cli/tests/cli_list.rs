//! `parade list`, `-f`, finding the task file in a parent directory, the shipped examples, and
//! usage errors.

use assert_cmd::Command;
use predicates::prelude::*;

const FILE: &str = r#"
[params]
region = "eu"

[task.setup]
run = "echo setting up"

[task."build::[env]"]
description = "Build for one environment"
choices = { env = ["dev", "prod"] }
deps = ["setup"]
run = "echo build {env}"
"#;

fn parade() -> Command {
    Command::cargo_bin("parade").unwrap()
}

#[test]
fn list_shows_tasks_in_file_order_with_choices_and_deps() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("parade.toml"), FILE).unwrap();
    let sub = dir.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    let pad = " ".repeat(16);
    let expected = [
        "setup         $ echo setting up".to_owned(),
        "build::[env]  Build for one environment".to_owned(),
        format!("{pad}env: dev, prod"),
        format!("{pad}after: setup"),
        format!("{pad}- build::dev"),
        format!("{pad}- build::prod"),
    ];
    parade()
        .current_dir(&sub)
        .args(["list", "--expand"])
        .assert()
        .success()
        .stdout(expected.join("\n") + "\n");
}

#[test]
fn file_flag_names_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.toml");
    std::fs::write(&path, FILE).unwrap();
    parade()
        .args(["-f", path.to_str().unwrap(), "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 tasks, no problems"));
}

#[test]
fn examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["build-test-deploy", "data-pipeline", "param-sweep"] {
        let file = root.join(name).join("parade.toml");
        parade()
            .args(["-f", file.to_str().unwrap(), "list"])
            .assert()
            .success();
    }
}

#[test]
fn bad_usage_exits_2() {
    parade().args(["run"]).assert().code(2);
    parade().args(["run", "x", "-j", "0"]).assert().code(2);
}
