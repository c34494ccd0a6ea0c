//! `--executor slurm` and `[settings] executor = "slurm"` on a real cluster (ignored without
//! one), and `parade jobs clean` (no cluster needed).

mod common;

use common::{Project, json};
use predicates::prelude::*;

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade-cli --test cli_slurm -- --ignored"]
fn the_parameter_sweep_runs_unchanged_on_slurm() {
    let p = Project::example("param-sweep");
    let doc = p.json_report(&["run", "best", "--executor", "slurm"], 0);
    assert_eq!(doc["tasks"].as_object().unwrap().len(), 10);
    assert_eq!(doc["tasks"]["trial::0.1::64"]["result"]["score"], 1.0);
    let log = std::fs::read_to_string(p.path(".parade/logs/latest/best.log")).unwrap();
    assert!(log.contains("\"rate\": 0.1, \"batch\": 64"), "{log}");
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade-cli --test cli_slurm -- --ignored"]
fn settings_choose_slurm_and_resources_reach_sbatch() {
    let p = Project::new(
        r#"
[settings]
executor = "slurm"

[task.sized]
cpus = 1
mem = "100M"
time = "5"
sbatch_args = ["--job-name-is-set-by-parade-so-this-is-not-used"]
run = "echo cpus=$SLURM_CPUS_PER_TASK"

[task.plain]
run = "echo on $SLURM_JOB_ID; exit 3"
"#,
    );
    // An unknown sbatch option fails that task's submission; the other runs and fails by itself.
    let doc = p.json_report(&["run", "sized", "plain"], 1);
    assert_eq!(doc["tasks"]["plain"]["reason"], "exit status 3");
    assert_eq!(doc["tasks"]["sized"]["state"], "failed");
    let log = std::fs::read_to_string(p.path(".parade/logs/latest/plain.log")).unwrap();
    assert!(log.starts_with("on "), "{log}");
    // With valid resources, the job sees them.
    let text = std::fs::read_to_string(p.path("parade.toml"))
        .unwrap()
        .replace(
            "sbatch_args = [\"--job-name-is-set-by-parade-so-this-is-not-used\"]",
            "",
        );
    std::fs::write(p.path("parade.toml"), text).unwrap();
    p.parade(&["run", "sized"]).assert().success();
    let log = std::fs::read_to_string(p.path(".parade/logs/latest/sized.log")).unwrap();
    assert_eq!(log.trim(), "cpus=1");
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade-cli --test cli_slurm -- --ignored"]
fn a_run_started_again_waits_for_its_queued_job_instead_of_submitting_it_twice() {
    let p = Project::new(
        r#"
[settings]
executor = "slurm"

[task.slow]
run = """
echo '{"n": 1}' > "$PARADE_RESULT"
echo start >> starts; echo > started; while [ ! -e release ]; do sleep 0.2; done; echo done
"""
"#,
    );
    // The first run is killed hard (no chance to cancel its job) while the job runs.
    let mut first = p.spawn_parade(&["run", "slow"]).spawn().unwrap();
    p.wait_for("started");
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = p.spawn_parade(&["run", "slow", "--output", "json"]);
    second.stdout(std::process::Stdio::piped());
    let second = second.spawn().unwrap();
    // Only one job of that task exists while the second run waits for it.
    let jobs = || {
        let out = std::process::Command::new("squeue")
            .args(["--noheader", "--format=%j"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.ends_with("-slow"))
            .count()
    };
    std::fs::write(p.path("release"), "").unwrap();
    let out = second.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["tasks"]["slow"]["state"], "succeeded");
    // The result the job wrote before the restart is the task's result.
    assert_eq!(doc["tasks"]["slow"]["result"]["n"], 1, "{doc}");
    // The second run waited for the first job: the task's command ran once.
    let starts = std::fs::read_to_string(p.path("starts")).unwrap();
    assert_eq!(starts.lines().count(), 1, "the task ran twice: {starts}");
    // The job may still be completing when parade has read its exit status.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while jobs() != 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(jobs(), 0, "nothing left queued");
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade-cli --test cli_slurm -- --ignored"]
fn a_run_with_other_params_does_not_adopt_the_job_of_a_killed_run() {
    let p = Project::new(
        r#"
[settings]
executor = "slurm"

[params]
v = "one"

[task.waits]
run = "echo > started-{params.v}; while [ ! -e release ]; do sleep 0.2; done; echo ran {params.v}"
"#,
    );
    let mut first = p.spawn_parade(&["run", "waits"]).spawn().unwrap();
    p.wait_for("started-one");
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = p.spawn_parade(&["run", "waits", "--param", "v=two", "--output", "json"]);
    second.stdout(std::process::Stdio::piped());
    let second = second.spawn().unwrap();
    // The second run submits a job of its own (it starts), then both are released.
    p.wait_for("started-two");
    std::fs::write(p.path("release"), "").unwrap();
    let out = second.wait_with_output().unwrap();
    let doc = json(&out.stdout);
    assert_eq!(doc["tasks"]["waits"]["state"], "succeeded", "{doc}");
    let log = std::fs::read_to_string(p.path(".parade/logs/latest/waits.log")).unwrap();
    assert_eq!(log.trim(), "ran two", "the run got its own job's output");
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade-cli --test cli_slurm -- --ignored"]
fn tasks_whose_names_sanitize_alike_keep_their_own_jobs() {
    let p = Project::new(
        r#"
[settings]
executor = "slurm"

[task."x::[k]"]
run = "echo colons {k}; exit 3"

[task."x__1"]
run = "echo underscores"
"#,
    );
    let doc = p.json_report(&["run", "x::1", "x__1"], 1);
    assert_eq!(doc["tasks"]["x::1"]["reason"], "exit status 3", "{doc}");
    assert_eq!(doc["tasks"]["x__1"]["state"], "succeeded", "{doc}");
    let log = |name: &str| {
        std::fs::read_to_string(p.path(&format!(".parade/logs/latest/{name}.log"))).unwrap()
    };
    assert_eq!(log("x::1").trim(), "colons 1");
    assert_eq!(log("x__1").trim(), "underscores");
}

#[test]
fn jobs_clean_removes_unfinished_job_directories() {
    let p = Project::new("");
    for (dir, done) in [("a", true), ("b/c", false)] {
        let d = p.path(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("kwargs.json"), "{}").unwrap();
        if done {
            std::fs::write(d.join("result.json"), "1").unwrap();
        }
    }
    p.parade(&["jobs", "clean", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("would remove"));
    assert!(p.path("b/c").exists());
    p.parade(&["jobs", "clean", "."])
        .assert()
        .success()
        .stdout(predicate::str::contains("removed"));
    assert!(!p.path("b/c").exists() && p.path("a").exists());
}
