//! Template jobs from a task file (`template = "DIR"`): the job runs once with its kwargs, its
//! `result.json` is the task's result, a second run reuses it, and changed kwargs or inputs are
//! an error that says what changed.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::Project;
use predicates::prelude::*;

const FILE: &str = r#"
[params]
steps = "10"

[task."sim::[seed]"]
choices = { seed = [1, 2] }
template = "templates/sim"
job_dir = "results/sim-{seed}"
kwargs = { seed = "{seed}", steps = "{params.steps}", scale = 0.5, tags = ["a", "{seed}"] }
inputs = ["data/base.csv"]

[task.solo]
template = "templates/sim"
"#;

/// Counts its runs in `count.txt` (in the directory `parade` runs from) and writes its
/// kwargs back, with its job directory's name, as the result.
const RUN: &str = r#"#!/bin/sh
echo "$PARADE_TASK" >> "$PARADE_WORKDIR/count.txt"
echo "{\"dir\": \"$(basename "$PWD")\", \"kwargs\": $(cat kwargs.json)}" > result.json
"#;

fn project() -> Project {
    let p = Project::new(FILE);
    std::fs::create_dir_all(p.path("templates/sim")).unwrap();
    std::fs::create_dir_all(p.path("data")).unwrap();
    std::fs::write(p.path("data/base.csv"), "x\n1\n").unwrap();
    let run = p.path("templates/sim/run");
    std::fs::write(&run, RUN).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn runs(p: &Project) -> Vec<String> {
    std::fs::read_to_string(p.path("count.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_template_job_runs_once_and_its_result_is_the_task_result() {
    let p = project();
    for state in ["succeeded", "up-to-date"] {
        let doc = p.json_report(&["run", "sim::2"], 0);
        assert_eq!(doc["tasks"]["sim::2"]["state"], state);
        let result = &doc["tasks"]["sim::2"]["result"];
        assert_eq!(result["dir"], "sim-2");
        assert_eq!(result["kwargs"]["seed"], "2");
        assert_eq!(result["kwargs"]["steps"], "10");
        assert_eq!(result["kwargs"]["scale"], 0.5);
        assert_eq!(result["kwargs"]["tags"], serde_json::json!(["a", "2"]));
    }
    // The second run reused the finished job.
    assert_eq!(runs(&p), ["sim::2"]);
    assert!(p.path("results/sim-2/kwargs.sha256").exists());
    // Kept in the run's results directory, like a PARADE_RESULT.
    let kept: Vec<_> = std::fs::read_dir(p.path(".parade/logs/latest/results"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].contains("\"sim-2\""), "{}", kept[0]);
}

#[test]
fn the_job_directory_defaults_to_parade_jobs() {
    let p = project();
    p.parade(&["run", "solo"]).assert().success();
    assert!(p.path(".parade/jobs/solo/result.json").exists());
    assert!(p.path(".parade/jobs/solo/run.out").exists());
}

#[test]
fn changed_kwargs_fail_the_task_and_name_the_change() {
    let p = project();
    p.parade(&["run", "sim::1"]).assert().success();
    p.parade(&["run", "sim::1", "--param", "steps=20"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`steps`"))
        .stderr(predicate::str::contains("20"))
        .stderr(predicate::str::contains("other parameters"));
    assert_eq!(runs(&p), ["sim::1"]);
    assert!(p.path("results/sim-1/kwargs-new.json").exists());
}

#[test]
fn a_changed_input_fails_the_task_and_names_the_file() {
    let p = project();
    p.parade(&["run", "sim::1"]).assert().success();
    std::fs::write(p.path("data/base.csv"), "x\n2\n").unwrap();
    p.parade(&["run", "sim::1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("base.csv"))
        .stderr(predicate::str::contains("other input files"));
    assert_eq!(runs(&p), ["sim::1"]);
}

#[test]
fn a_failing_script_fails_the_task_with_its_stderr() {
    let p = project();
    std::fs::write(
        p.path("templates/sim/run"),
        "#!/bin/sh\necho 'bad steps' >&2\nexit 4\n",
    )
    .unwrap();
    p.parade(&["run", "solo"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad steps"));
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade-cli --test cli_template -- --ignored"]
fn with_the_slurm_executor_the_script_runs_as_a_slurm_job() {
    let p = project();
    std::fs::write(
        p.path("templates/sim/run"),
        "#!/bin/sh\necho \"{\\\"job\\\": \\\"$SLURM_JOB_ID\\\"}\" > result.json\n",
    )
    .unwrap();
    let doc = p.json_report(&["run", "solo", "--executor", "slurm"], 0);
    let job = doc["tasks"]["solo"]["result"]["job"].as_str().unwrap();
    assert!(!job.is_empty(), "{doc}");
}

#[test]
fn a_timeout_stops_a_running_template_job_and_leaves_no_process() {
    let p = Project::new(
        r#"
[task.hang]
template = "templates/hang"
timeout = "300ms"
"#,
    );
    std::fs::create_dir_all(p.path("templates/hang")).unwrap();
    let run = p.path("templates/hang/run");
    // The script and its child both ignore SIGTERM: only the SIGKILL after the grace ends them.
    std::fs::write(
        &run,
        "#!/bin/sh\ntrap '' TERM\nsh -c \"trap '' TERM; sleep 1000\" &\necho \"$$ $!\" > \"$PARADE_WORKDIR/pids\"\nwait\n",
    )
    .unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let doc = p.json_report(&["run", "hang"], 1);
    assert_eq!(doc["tasks"]["hang"]["state"], "failed");
    assert!(
        doc["tasks"]["hang"]["reason"]
            .as_str()
            .unwrap()
            .contains("timeout"),
        "{doc}"
    );
    let pids = common::pids(&std::fs::read_to_string(p.path("pids")).unwrap());
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(
            common::dies(pid),
            "process {pid} of the stopped template job survived"
        );
    }
}
