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

const ALIASED: &str = r#"
[settings]
default = "b"

[task.build]
description = "Build it"
aliases = ["b", "bld"]
run = "echo build"

[task."test::[kind]"]
choices = { kind = ["unit", "e2e"] }
run = "echo {kind}"
"#;

#[test]
fn list_shows_aliases_and_marks_the_default_task() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("parade.toml"), ALIASED).unwrap();
    let pad = " ".repeat(16);
    let expected = [
        "build         Build it (default)".to_owned(),
        format!("{pad}aliases: b, bld"),
        "test::[kind]  $ echo {kind}".to_owned(),
        format!("{pad}kind: unit, e2e"),
    ];
    parade()
        .current_dir(dir.path())
        .arg("list")
        .assert()
        .success()
        .stdout(expected.join("\n") + "\n");
}

#[test]
fn a_default_instance_of_a_pattern_is_named_where_the_pattern_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let file = ALIASED.replace("default = \"b\"", "default = \"test::e2e\"");
    std::fs::write(dir.path().join("parade.toml"), file).unwrap();
    parade()
        .current_dir(dir.path())
        .arg("list")
        .assert()
        .success()
        .stdout(predicate::str::contains("build         Build it\n"))
        .stdout(predicate::str::contains(
            "test::[kind]  $ echo {kind} (default: test::e2e)\n",
        ));
}

#[test]
fn list_json_carries_aliases_default_choices_and_instances() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("parade.toml"), ALIASED).unwrap();
    let out = parade()
        .current_dir(dir.path())
        .args(["list", "--json", "--expand"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(list["default"], "b");
    let tasks = list["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["name"], "build");
    assert_eq!(tasks[0]["description"], "Build it");
    assert_eq!(tasks[0]["aliases"], serde_json::json!(["b", "bld"]));
    assert_eq!(tasks[0]["default"], true);
    assert_eq!(tasks[1]["name"], "test::[kind]");
    assert_eq!(tasks[1]["default"], false);
    assert_eq!(tasks[1]["aliases"], serde_json::json!([]));
    assert_eq!(
        tasks[1]["choices"]["kind"],
        serde_json::json!(["unit", "e2e"])
    );
    assert_eq!(
        tasks[1]["instances"],
        serde_json::json!(["test::unit", "test::e2e"])
    );
    // Without --expand there is no instance list; without a default, `default` is null.
    std::fs::write(
        dir.path().join("parade.toml"),
        ALIASED.replace("default = \"b\"", ""),
    )
    .unwrap();
    let out = parade()
        .current_dir(dir.path())
        .args(["list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(list["default"].is_null());
    assert_eq!(list["tasks"][0]["default"], false);
    assert!(list["tasks"][1].get("instances").is_none());
}
