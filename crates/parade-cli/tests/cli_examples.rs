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
    assert_eq!(
        std::fs::read_to_string(p.path("out/app-dev.txt")).unwrap(),
        "1.4.2-dev\n"
    );
}

#[test]
fn data_pipeline_fans_out_and_in() {
    let p = Project::example("data-pipeline");
    p.parade(&["run", "report"])
        .assert()
        .success()
        .stderr(predicate::str::contains("✓ report"));
    let log = std::fs::read_to_string(p.path(".parade/logs/latest/report.log")).unwrap();
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
    let log = std::fs::read_to_string(p.path(".parade/logs/latest/best.log")).unwrap();
    assert!(log.contains("\"rate\": 0.1, \"batch\": 64"), "{log}");
}
