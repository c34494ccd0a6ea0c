//! `parade list`, `-f`, finding the task file in a parent directory, the shipped examples, and
//! usage errors.

mod common;

use common::Project;
use predicates::prelude::*;

/// The task file `parade init` writes: plain tasks, a pattern with choices, deps, an alias and
/// a default.
const FILE: &str = parade_cli::init::STARTER;

#[test]
fn list_shows_tasks_in_file_order_with_choices_and_deps() {
    let p = Project::new(FILE);
    let sub = p.path("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    let pad = " ".repeat(17);
    let expected = [
        "build          Build the project".to_owned(),
        "test           Test what was built (arguments after -- are \"$@\") (default)".to_owned(),
        format!("{pad}aliases: t"),
        format!("{pad}after: build"),
        "deploy::[env]  Deploy to one environment: parade run deploy::dev, or deploy::* for all"
            .to_owned(),
        format!("{pad}env: dev, prod"),
        format!("{pad}after: test"),
        format!("{pad}- deploy::dev"),
        format!("{pad}- deploy::prod"),
    ];
    p.parade(&["list", "--expand"])
        .current_dir(&sub)
        .assert()
        .success()
        .stdout(expected.join("\n") + "\n");
}

#[test]
fn file_flag_names_another_file() {
    let p = Project::empty();
    let path = p.write("other.toml", FILE);
    common::parade(&["-f", path.to_str().unwrap(), "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 tasks, no problems"));
}

#[test]
fn examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["build-test-deploy", "data-pipeline", "param-sweep"] {
        let file = root.join(name).join("parade.toml");
        common::parade(&["-f", file.to_str().unwrap(), "list"])
            .assert()
            .success();
    }
}

#[test]
fn bad_usage_exits_2() {
    common::parade(&["run"]).assert().code(2);
    common::parade(&["run", "x", "-j", "0"]).assert().code(2);
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
    let p = Project::new(ALIASED);
    let pad = " ".repeat(16);
    let expected = [
        "build         Build it (default)".to_owned(),
        format!("{pad}aliases: b, bld"),
        "test::[kind]  $ echo {kind}".to_owned(),
        format!("{pad}kind: unit, e2e"),
    ];
    assert_eq!(p.stdout(&["list"]), expected.join("\n") + "\n");
}

#[test]
fn a_default_instance_of_a_pattern_is_named_where_the_pattern_is_listed() {
    let p = Project::new(&ALIASED.replace("default = \"b\"", "default = \"test::e2e\""));
    p.parade(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("build         Build it\n"))
        .stdout(predicate::str::contains(
            "test::[kind]  $ echo {kind} (default: test::e2e)\n",
        ));
}

#[test]
fn list_json_carries_aliases_default_choices_and_instances() {
    let p = Project::new(ALIASED);
    let list = common::json(p.stdout(&["list", "--json", "--expand"]).as_bytes());
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
    p.write("parade.toml", &ALIASED.replace("default = \"b\"", ""));
    let list = common::json(p.stdout(&["list", "--json"]).as_bytes());
    assert!(list["default"].is_null());
    assert_eq!(list["tasks"][0]["default"], false);
    assert!(list["tasks"][1].get("instances").is_none());
}

/// `list --expand` of a 500 x 500 pattern writes each of the 250,000 instances from the choices'
/// positions as it goes: parade's peak memory stays under 300 bytes an instance (it held a map
/// of arguments and a name for every instance first: 740 bytes an instance).
#[test]
fn expanding_a_large_pattern_does_not_hold_every_instance() {
    use nix::sys::resource::{UsageWho, getrusage};
    let side = 500;
    let values: Vec<String> = (0..side).map(|i| i.to_string()).collect();
    let values = values.join(", ");
    let p = Project::new(&format!(
        "[task.\"t::[a]::[b]\"]\nchoices = {{ a = [{values}], b = [{values}] }}\nrun = \"echo {{a}} {{b}}\"\n"
    ));
    let out = common::succeeded(
        "",
        std::process::Command::new(assert_cmd::cargo::cargo_bin("parade"))
            .current_dir(p.path(""))
            .args(["list", "--expand"])
            .output()
            .unwrap(),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect();
    assert_eq!(names.len(), side * side);
    assert_eq!((names[0], names[1]), ("t::0::0", "t::0::1"));
    assert_eq!(names[side * side - 1], "t::499::499");
    // The largest child this test process waited for (the others here are small listings).
    let peak_kb = u64::try_from(getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss()).unwrap();
    let per_instance = peak_kb * 1024 / (side * side) as u64;
    assert!(
        per_instance <= 300,
        "{per_instance} bytes an instance ({peak_kb} KB)"
    );
}
