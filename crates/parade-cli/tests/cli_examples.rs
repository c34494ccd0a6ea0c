//! The shipped task files in `examples/` run to the end and do what their comments say.

mod common;

use common::Project;
use predicates::prelude::*;

#[test]
fn build_test_deploy_ships_both_environments() {
    let p = Project::example("build-test-deploy");
    let doc = p.json_report(&["run", "deploy::*"], 0);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["tasks"].as_object().unwrap().len(), 9);
    assert_eq!(doc["tasks"]["deploy::prod"]["result"]["env"], "prod");
    assert_eq!(doc["tasks"]["deploy::prod"]["result"]["version"], "1.4.2");
    assert_eq!(p.read("out/app-dev.txt"), "1.4.2-dev\n");
}

#[test]
fn data_pipeline_fans_out_and_in() {
    let p = Project::example("data-pipeline");
    p.parade(&["run", "report"])
        .assert()
        .success()
        .stderr(predicate::str::contains("✓ report"));
    let log = p.read(".parade/logs/latest/report.log");
    // 4000 rows over 7 categories: the totals add up to 4000.
    let total: u64 = log
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1)?.parse::<u64>().ok())
        .sum();
    assert_eq!(total, 4000, "{log}");
    assert!(!p.path("data.csv").exists());
}

#[test]
fn param_sweep_finds_the_best_trial() {
    let p = Project::example("param-sweep");
    let doc = p.json_report(&["run", "best"], 0);
    assert_eq!(doc["tasks"].as_object().unwrap().len(), 10);
    assert_eq!(doc["tasks"]["trial::0.1::64"]["result"]["score"], 1.0);
    let log = p.read(".parade/logs/latest/best.log");
    assert!(log.contains("\"rate\": 0.1, \"batch\": 64"), "{log}");
}

/// A copy of the whole example directory `name` (for examples of more than one file).
fn example_dir(name: &str) -> Project {
    let p = Project::new("");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, p.path(path.file_name().unwrap().to_str().unwrap())).unwrap();
    }
    p
}

#[test]
fn justfile_port_runs_its_default_aliases_arguments_and_shebang_recipe() {
    let p = example_dir("justfile-port");
    let doc = p.json_report(&["run"], 0);
    assert_eq!(doc["tasks"].as_object().unwrap().len(), 4, "{doc}");
    assert_eq!(p.read("target/test.txt"), "running all tests\n");
    p.parade(&["run", "t", "--output", "plain", "--", "unit"])
        .assert()
        .success();
    assert_eq!(p.read("target/test.txt"), "running unit tests\n");
    p.json_report(&["run", "stats"], 0);
    assert_eq!(p.read("target/stats.txt"), "2\n");
}

#[test]
fn taskfile_port_composes_files_and_reads_a_command_var() {
    let p = example_dir("taskfile-port");
    let doc = p.json_report(&["run"], 0);
    assert_eq!(doc["tasks"].as_object().unwrap().len(), 4, "{doc}");
    assert_eq!(p.read("site/index.html"), "theme=plain\n");
    p.parade(&[
        "run",
        "build",
        "--param",
        "version=2.0",
        "--output",
        "plain",
        "--",
        "-v",
    ])
    .assert()
    .success();
    let bin = p.read("bin/greeter");
    assert!(
        bin.starts_with("greeter 2.0 for linux (flags: -v) from "),
        "{bin}"
    );
}

#[test]
fn snakemake_port_gathers_every_sample_once() {
    let p = Project::example("snakemake-port");
    let doc = p.json_report(&["run", "report"], 0);
    assert_eq!(doc["tasks"].as_object().unwrap().len(), 14, "{doc}");
    let calls = p.read("calls/all.tsv");
    let samples: Vec<&str> = calls
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(samples, ["A", "B", "C"]);
    let mapped: u64 = ["A", "B", "C"]
        .iter()
        .map(|s| {
            p.read(&format!("sorted/{s}.idx"))
                .trim()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    let report = p.read("report.txt");
    assert_eq!(report, format!("samples=3 mapped={mapped}\n"));
}
