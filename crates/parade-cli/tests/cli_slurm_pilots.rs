//! `parade run --executor slurm --pilots N` against fake Slurm commands on `PATH` that run
//! each batch script in the background (the library's `tests/fake-slurm`): the tasks run on
//! the pilots (two `sbatch` calls for many tasks), a task whose pilot is lost is retried on
//! another pilot when it allows retries and fails "lost with pilot" otherwise, counted `uses`
//! are packed within what each pilot offers, and no pilot is left at the end; and, without
//! pilots, same-shaped tasks share a job array unless `--no-job-arrays`. No Slurm needed.

mod common;
#[path = "../../parade/tests/common/fake_slurm.rs"]
mod fake_slurm;

use std::time::Duration;

use common::Project;
use fake_slurm::Fake;

/// The library's fake Slurm, and `PATH` with its commands first.
fn fake_slurm() -> (Fake, String) {
    let fake = Fake::new();
    let path = format!(
        "{}:{}",
        fake.path("").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (fake, path)
}

/// A task file's pattern task `NAME::[n]` running `run`, and `all`, which depends on its
/// instances 1 to 6 and runs `all_run` (commands as TOML basic strings: no `"` or `\\`).
fn fan_in(name: &str, run: &str, all_run: &str) -> String {
    let deps: Vec<String> = (1..=6).map(|n| format!("\"{name}::{n}\"")).collect();
    format!(
        "[task.\"{name}::[n]\"]\nrun = \"{run}\"\n\n[task.all]\ndeps = [{}]\nrun = \"{all_run}\"\n",
        deps.join(", ")
    )
}

/// The run has returned: every pilot job has been cancelled (or stopped, which the fake
/// `squeue` notices), and every pilot's process is gone.
fn assert_nothing_left(fake: &Fake) {
    fake.wait_idle();
    fake.wait_all_gone();
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
        &(fan_in("many", "echo many {n} on $SLURM_JOB_ID", "echo all")
            + r#"
[task.retried]
retries = 1
run = """
echo "try on $SLURM_JOB_ID" >> tries
if [ "$(wc -l < tries)" -eq 1 ]; then scancel "$SLURM_JOB_ID"; sleep 30; fi
"""

[task.lost]
deps = ["retried"]
run = "echo $SLURM_JOB_ID > lost.job; scancel $SLURM_JOB_ID; sleep 30"
"#),
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
    let sbatch = fake.read("sbatch.log");
    // Seven tasks, at most two pilot jobs (the first may run them all before the second is
    // submitted); the run's end cancels every one.
    let pilots = sbatch.lines().count();
    assert!((1..=2).contains(&pilots), "{sbatch}");
    let cancelled = fake.read("scancel.log");
    let mut cancelled: Vec<&str> = cancelled.split_whitespace().collect();
    cancelled.sort_unstable();
    assert_eq!(
        cancelled,
        ["100", "101"][..pilots],
        "the run's end cancels its pilots"
    );
    assert_nothing_left(&fake);

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
    assert_nothing_left(&fake);
}

#[test]
fn pilots_need_the_slurm_executor() {
    let p = Project::new("[task.a]\nrun = \"true\"\n");
    p.parade(&["run", "a", "--pilots", "2"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--executor slurm"));
}

/// Starts `parade run long --executor slurm --pilots 1` with the fake Slurm, and waits until
/// its task runs on the pilot (which it reports in `on`).
fn start_long_run(p: &Project, path: &str) -> std::process::Child {
    let mut cmd = p.spawn_parade(&["run", "long", "--executor", "slurm", "--pilots", "1"]);
    let child = cmd
        .env("PATH", path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    p.wait_for("on");
    child
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("parade did not exit");
}

const LONG: &str =
    "[task.long]\nrun = \"echo $$ > task.pid; echo $SLURM_JOB_ID > on; exec sleep 120.25\"\n";

#[test]
fn ctrl_c_cancels_the_pilots_and_a_killed_parent_leaves_none() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let (fake, path) = fake_slurm();
    let p = Project::new(LONG);
    // Ctrl-C: the run stops its task, tells the pilot to stop and cancels its job.
    let mut child = start_long_run(&p, &path);
    let pilot = std::fs::read_to_string(p.path("on")).unwrap();
    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGINT,
    )
    .unwrap();
    let status = wait_exit(&mut child);
    assert!(!status.success());
    let cancelled = fake.read("scancel.log");
    assert_eq!(
        cancelled.trim(),
        pilot.trim(),
        "Ctrl-C cancels the pilot job"
    );
    assert_nothing_left(&fake);
    // A parent killed outright cancels nothing, but its pilot sees it go and exits, and
    // stops its task.
    std::fs::remove_file(p.path("on")).unwrap();
    let mut child = start_long_run(&p, &path);
    child.kill().unwrap();
    wait_exit(&mut child);
    assert_nothing_left(&fake);
    // This run's task only: another run of this suite on the machine has the same command.
    let task: u32 = std::fs::read_to_string(p.path("task.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for _ in 0..600 {
        if !alive(task) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the task outlived its pilot");
}

/// Whether process `pid` is alive (a zombie has ended).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

#[test]
fn counted_uses_are_packed_within_what_a_pilot_offers() {
    let (fake, path) = fake_slurm();
    let p = Project::new(
        r#"
[settings]
resources = { licence = 4 }

[task."lic::[n]"]
uses = { licence = 1 }
run = "touch run.$$; ls run.* | wc -l >> counts; sleep 0.3; rm run.$$"

[task.all]
deps = ["lic::1", "lic::2", "lic::3", "lic::4", "lic::5"]
run = "true"

[task.greedy]
uses = { licence = 3 }
run = "true"
"#,
    );
    // One pilot of four CPUs with two licences: two licence tasks at a time, though the run
    // allows four.
    let args = [
        "run",
        "all",
        "greedy",
        "--executor",
        "slurm",
        "--pilots",
        "1",
        "--pilot-resources",
        "cpus=4,uses=licence:2",
    ];
    let doc = run_json(&p, &path, &args, 1);
    assert_eq!(doc["tasks"]["all"]["state"], "succeeded", "{doc}");
    let counts = std::fs::read_to_string(p.path("counts")).unwrap();
    assert_eq!(counts.lines().count(), 5, "{counts}");
    assert!(
        counts
            .lines()
            .all(|n| n.trim().parse::<u32>().unwrap() <= 2),
        "{counts}"
    );
    let greedy = &doc["tasks"]["greedy"];
    assert_eq!(greedy["state"], "failed", "{doc}");
    let why = greedy["reason"].as_str().unwrap_or_default();
    assert!(
        why.contains("licence:3, more than a pilot has (4 CPUs, licence:2)"),
        "{why}"
    );
    assert_nothing_left(&fake);
}

#[test]
fn same_shaped_tasks_share_a_job_array_unless_told_not_to() {
    let p = Project::new(&fan_in(
        "t",
        "echo t {n} in $SLURM_ARRAY_JOB_ID > out.{n}",
        "cat out.* > all",
    ));
    for (extra, arrays) in [(None, true), (Some("--no-job-arrays"), false)] {
        let (fake, path) = fake_slurm();
        let mut args = vec!["run", "all", "--executor", "slurm", "--force"];
        args.extend(extra);
        let doc = run_json(&p, &path, &args, 0);
        assert_eq!(doc["tasks"]["all"]["state"], "succeeded", "{doc}");
        let all = std::fs::read_to_string(p.path("all")).unwrap();
        assert_eq!(all.lines().count(), 6, "{all}");
        let sbatch = fake.read("sbatch.log");
        let array_calls = sbatch.lines().filter(|l| l.contains("--array=")).count();
        if arrays {
            // The six tasks start together: one array (two if the machine is slow to start
            // their threads), then `all`.
            assert!(array_calls >= 1 && sbatch.lines().count() < 7, "{sbatch}");
            assert!(all.lines().any(|l| !l.ends_with(" in")), "{all}");
        } else {
            assert_eq!((array_calls, sbatch.lines().count()), (0, 7), "{sbatch}");
        }
        assert_nothing_left(&fake);
    }
}
