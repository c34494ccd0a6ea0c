//! `parade run --executor slurm --pilots N` against fake Slurm commands on `PATH` that run
//! each batch script in the background (the library's `tests/fake-slurm`): the tasks run on
//! the pilots (two `sbatch` calls for many tasks), a task whose pilot is lost is retried on
//! another pilot when it allows retries and fails "lost with pilot" otherwise, and no pilot is
//! left at the end. No Slurm needed.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Project;

const FAKE: [(&str, &str); 4] = [
    (
        "sbatch",
        include_str!("../../parade/tests/fake-slurm/sbatch"),
    ),
    (
        "squeue",
        include_str!("../../parade/tests/fake-slurm/squeue"),
    ),
    (
        "scancel",
        include_str!("../../parade/tests/fake-slurm/scancel"),
    ),
    (
        "scontrol",
        include_str!("../../parade/tests/fake-slurm/scontrol"),
    ),
];

/// A directory of fake Slurm commands, and `PATH` with it first.
fn fake_slurm() -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in FAKE {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir(dir.path().join("jobs")).unwrap();
    std::fs::create_dir(dir.path().join("pids")).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

fn running(fake: &Path) -> Vec<String> {
    std::fs::read_dir(fake.join("jobs"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .filter(|l| l.contains("|RUNNING|"))
        .collect()
}

fn pilot_pids(fake: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(fake.join("pids"))
        .unwrap()
        .flatten()
        .map(|e| {
            let pid = std::fs::read_to_string(e.path()).unwrap();
            PathBuf::from(format!("/proc/{}", pid.trim()))
        })
        .collect()
}

fn assert_nothing_left(fake: &Path) {
    // The run has returned: every pilot job has been cancelled (or stopped, which the fake
    // `squeue` notices).
    for _ in 0..200 {
        std::process::Command::new(fake.join("squeue"))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        let alive = pilot_pids(fake)
            .iter()
            .any(|p| std::fs::read_to_string(p.join("stat")).is_ok_and(|s| !s.contains(") Z ")));
        if running(fake).is_empty() && !alive {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("pilots left: {:?}", running(fake));
}

/// `parade ARGS... --output json` with the fake Slurm on `path`: the report, once the exit
/// status is `code`.
fn run_json(p: &Project, path: &str, args: &[&str], code: i32) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let mut cmd = p.parade(&all);
    cmd.env("PATH", path);
    common::json(&cmd.assert().code(code).get_output().stdout.clone())
}

#[test]
fn tasks_run_on_pilots_and_a_lost_pilot_costs_only_its_tasks() {
    let (fake, path) = fake_slurm();
    let p = Project::new(
        r#"
[task."many::[n]"]
run = "echo many {n} on $SLURM_JOB_ID"

[task.all]
deps = ["many::1", "many::2", "many::3", "many::4", "many::5", "many::6"]
run = "echo all"

[task.retried]
retries = 1
run = """
echo "try on $SLURM_JOB_ID" >> tries
if [ "$(wc -l < tries)" -eq 1 ]; then scancel "$SLURM_JOB_ID"; sleep 30; fi
"""

[task.lost]
deps = ["retried"]
run = "echo $SLURM_JOB_ID > lost.job; scancel $SLURM_JOB_ID; sleep 30"
"#,
    );
    let doc = run_json(
        &p,
        &path,
        &["run", "all", "--executor", "slurm", "--pilots", "2"],
        0,
    );
    assert_eq!(doc["tasks"]["all"]["state"], "succeeded", "{doc}");
    let log = std::fs::read_to_string(p.path(".parade/logs/latest/many::3.log")).unwrap();
    assert!(log.starts_with("many 3 on 10"), "{log}");
    let sbatch = std::fs::read_to_string(fake.path().join("sbatch.log")).unwrap();
    // Seven tasks, at most two pilot jobs (the first may run them all before the second is
    // submitted); the run's end cancels every one.
    let pilots = sbatch.lines().count();
    assert!((1..=2).contains(&pilots), "{sbatch}");
    let cancelled = std::fs::read_to_string(fake.path().join("scancel.log")).unwrap_or_default();
    let mut cancelled: Vec<&str> = cancelled.split_whitespace().collect();
    cancelled.sort_unstable();
    assert_eq!(
        cancelled,
        ["100", "101"][..pilots],
        "the run's end cancels its pilots"
    );
    assert_nothing_left(fake.path());

    let args = ["run", "lost", "--executor", "slurm", "--pilots", "1"];
    let doc = run_json(&p, &path, &args, 1);
    let tries = std::fs::read_to_string(p.path("tries")).unwrap();
    let tries: Vec<&str> = tries.lines().collect();
    assert_eq!(tries.len(), 2, "{tries:?} {doc}");
    assert_ne!(tries[0], tries[1], "the retry ran on another pilot");
    assert_eq!(doc["tasks"]["retried"]["state"], "succeeded", "{doc}");
    let job = std::fs::read_to_string(p.path("lost.job")).unwrap();
    let reason = doc["tasks"]["lost"]["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains(&format!("lost with pilot {}", job.trim())),
        "{reason}"
    );
    assert_nothing_left(fake.path());
}

#[test]
fn pilots_need_the_slurm_executor() {
    let p = Project::new("[task.a]\nrun = \"true\"\n");
    p.parade(&["run", "a", "--pilots", "2"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--executor slurm"));
}
