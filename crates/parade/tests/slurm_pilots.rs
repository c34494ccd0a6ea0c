//! Pilot jobs against fake Slurm commands that run each batch script in the background, as a
//! cluster of one machine would: tasks (commands and flow procs) pulled by a few pilots, a
//! pilot cancelled under its tasks, a task too big for any pilot, and nothing left running at
//! the end. Runs everywhere; no Slurm needed. This test binary is its own pilot and worker
//! program: its `main` calls `parade::worker_entry()` first.

mod common;
#[path = "common/fake_slurm.rs"]
mod fake_slurm;
#[path = "common/squares.rs"]
mod squares;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fake_slurm::{Fake, add, sh, task, wait_for};
use parade::engine::{Engine, Reason, Stream, TaskSpec, TaskState};
use parade::exec::slurm::{JobOptions, PilotConfig, SlurmBatch, SlurmConfig, SlurmExecutor};
use parade::exec::{CommandJob, ResourceHints};
use parade::flow::{Flow, FlowOptions};

/// Run `pilots`' configuration on the fake: this binary is the pilot and worker program.
fn on_pilots(fake: &Fake, pilots: PilotConfig) -> SlurmConfig {
    fake.config("pilots")
        .poll_interval(Duration::from_millis(100))
        .worker_program(std::env::current_exe().unwrap(), vec!["flow".into()])
        .pilots(pilots)
}

fn cpus(n: u32) -> ResourceHints {
    ResourceHints {
        cpus: Some(n),
        ..ResourceHints::default()
    }
}

fn commands_run_on_a_few_pilots_and_nothing_is_left(_: &Path) {
    let fake = Fake::new();
    let out = fake.path("out");
    let slurm = Arc::new(SlurmExecutor::new(on_pilots(
        &fake,
        PilotConfig::new(2).resources(cpus(2)),
    )));
    let engine = Engine::with_executor(slurm.clone());
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    engine.subscribe(move |e: &parade::engine::Event| {
        if let parade::engine::Event::Output { stream, line, .. } = e {
            seen.lock().unwrap().push((*stream, line.clone()));
        }
    });
    let ids: Vec<_> = (0..40)
        .map(|i| {
            let spec = sh(&format!(
                "echo task {i} on $SLURM_JOB_ID > {i}; echo said {i}; echo warned {i} >&2"
            ))
            .cwd(&out);
            add(&engine, spec)
        })
        .collect();
    let failing = add(&engine, sh("exit 3"));
    engine.want(ids.iter().copied().chain([failing])).unwrap();
    let ends = engine.wait(ids.iter().copied()).unwrap();
    assert!(
        ends.iter().all(|s| s.state == TaskState::Succeeded),
        "{ends:?}"
    );
    let failed = &engine.wait([failing]).unwrap()[0];
    assert_eq!(failed.reason, Some(Reason::Exit(3)));
    // At most two pilot jobs ran every task: forty-one tasks, two sbatch calls at most (the
    // first pilot may run them all before the second is submitted).
    let pilots = fake.read("sbatch.log").lines().count();
    assert!((1..=2).contains(&pilots), "{pilots} sbatch calls");
    let on: std::collections::BTreeSet<String> = (0..40)
        .map(|i| std::fs::read_to_string(out.join(i.to_string())).unwrap())
        .map(|t| t.split_whitespace().last().unwrap().to_owned())
        .collect();
    assert!(on.iter().all(|j| j == "100" || j == "101"), "{on:?}");
    let lines = lines.lock().unwrap().clone();
    assert!(
        lines.contains(&(Stream::Stdout, "said 7".to_owned())),
        "{lines:?}"
    );
    assert!(lines.contains(&(Stream::Stderr, "warned 7".to_owned())));
    assert!(slurm.pilots_connected() >= 1);
    drop(engine);
    drop(slurm);
    fake.wait_all_gone();
}

fn a_task_bigger_than_a_pilot_fails_at_once(_: &Path) {
    let fake = Fake::new();
    let slurm = SlurmExecutor::new(on_pilots(&fake, PilotConfig::new(1).resources(cpus(2))));
    let engine = Engine::with_executor(Arc::new(slurm));
    let mut big = sh("true");
    big.resources = cpus(3);
    let t = add(&engine, big);
    engine.want([t]).unwrap();
    let end = &engine.wait([t]).unwrap()[0];
    let why = end.reason.as_ref().unwrap().to_string();
    assert!(
        why.contains("asks for 3 CPUs, more than a pilot has (2 CPUs)"),
        "{why}"
    );
    drop(engine);
    fake.wait_all_gone();
}

fn counted_uses_are_packed_within_what_each_pilot_offers(_: &Path) {
    let fake = Fake::new();
    let out = fake.path("out");
    // One pilot of four CPUs offering two licences: at most two licence tasks at a time.
    let slurm = SlurmExecutor::new(on_pilots(
        &fake,
        PilotConfig::new(1).resources(cpus(4)).uses("licence", 2),
    ));
    let licence = |n: u32| JobOptions {
        uses: vec![("licence".into(), n)],
        ..JobOptions::default()
    };
    // Each task counts the tasks running beside it (itself included) and records the count.
    let count = "touch run.$$; ls run.* | wc -l >> counts; sleep 0.3; rm run.$$";
    let mut batch = SlurmBatch::new();
    for i in 0..6 {
        batch.add_with(&format!("l{i}"), sh(count).cwd(&out), &[], licence(1));
    }
    let too_many = batch.add_with("greedy", sh("true"), &[], licence(3));
    let tape = batch.add_with(
        "tape",
        sh("true"),
        &[],
        JobOptions {
            uses: vec![("tape".into(), 1)],
            ..JobOptions::default()
        },
    );
    let ends = batch.submit(&slurm).wait();
    for end in &ends[..6] {
        assert_eq!(end.outcome, parade::engine::Outcome::Succeeded, "{end:?}");
    }
    let counts = running_counts(&out);
    assert_eq!(counts.len(), 6, "{counts:?}");
    assert!(
        counts.iter().all(|&n| n <= 2),
        "never more than the two licences at once: {counts:?}"
    );
    let why = |i: usize| format!("{:?}", ends[i].outcome);
    assert!(
        why(too_many.index())
            .contains("asks for 1 CPU, licence:3, more than a pilot has (4 CPUs, licence:2)"),
        "{}",
        why(too_many.index())
    );
    assert!(
        why(tape.index()).contains("tape:1"),
        "{}",
        why(tape.index())
    );
    drop(slurm);
    fake.wait_all_gone();
}

/// The counted resources of tasks that come through the engine (not a `SlurmBatch`) are
/// matched to what each pilot offers: the engine's capacity (5) would let more run.
fn engine_uses_are_packed_within_what_each_pilot_offers(_: &Path) {
    let fake = Fake::new();
    let out = fake.path("out");
    let slurm = Arc::new(SlurmExecutor::new(on_pilots(
        &fake,
        PilotConfig::new(1).resources(cpus(4)).uses("licence", 2),
    )));
    let engine = Engine::with_executor(slurm.clone());
    engine.set_limit(8);
    let licence = engine.resource("licence", 5);
    let count = "touch run.$$; ls run.* | wc -l >> counts; sleep 0.3; rm run.$$";
    let ids: Vec<_> = (0..6)
        .map(|_| {
            let job = CommandJob::new(sh(count).cwd(&out));
            engine
                .add(TaskSpec::from_job(job).uses(licence, 1))
                .unwrap()
        })
        .collect();
    let greedy = engine
        .add(TaskSpec::from_job(CommandJob::new(sh("true"))).uses(licence, 3))
        .unwrap();
    engine.want(ids.iter().copied().chain([greedy])).unwrap();
    let ends = engine.wait(ids.iter().copied()).unwrap();
    assert!(
        ends.iter().all(|s| s.state == TaskState::Succeeded),
        "{ends:?}"
    );
    let counts = running_counts(&out);
    assert_eq!(counts.len(), 6, "{counts:?}");
    assert!(
        counts.iter().all(|&n| n <= 2),
        "never more than the pilot's two licences at once: {counts:?}"
    );
    let end = &engine.wait([greedy]).unwrap()[0];
    assert_eq!(end.state, TaskState::Failed, "{end:?}");
    let why = end.reason.as_ref().unwrap().to_string();
    assert!(
        why.contains("licence:3, more than a pilot has (4 CPUs, licence:2)"),
        "{why}"
    );
    drop(engine);
    drop(slurm);
    fake.wait_all_gone();
}

fn a_task_past_its_timeout_is_killed_on_its_pilot(_: &Path) {
    let fake = Fake::new();
    let slurm = Arc::new(SlurmExecutor::new(on_pilots(
        &fake,
        PilotConfig::new(1).resources(cpus(2)),
    )));
    let engine = Engine::with_executor(slurm.clone());
    // The first task holds the pilot's other CPU long past the second's limit: the limit
    // counts from when a pilot took the task, not from when it was queued.
    let slow = engine
        .add(task("exec sleep 59.125").timeout(Duration::from_millis(500)))
        .unwrap();
    let quick = engine
        .add(task("sleep 1").timeout(Duration::from_secs(20)))
        .unwrap();
    engine.want([slow, quick]).unwrap();
    let ends = engine.wait([slow, quick]).unwrap();
    assert_eq!(
        ends[0].reason,
        Some(Reason::Timeout(Duration::from_millis(500))),
        "{ends:?}"
    );
    assert_eq!(ends[1].state, TaskState::Succeeded, "{ends:?}");
    wait_for("the timed-out task's process to end", || {
        !common::alive("sleep 59.125")
    });
    drop(engine);
    drop(slurm);
    fake.wait_all_gone();
}

fn a_cancelled_pilot_loses_only_its_running_tasks(_: &Path) {
    let fake = Fake::new();
    let out = fake.path("out");
    let slurm = Arc::new(SlurmExecutor::new(on_pilots(
        &fake,
        PilotConfig::new(2).resources(cpus(1)).replacements(1),
    )));
    let engine = Engine::with_executor(slurm.clone());
    // One long task per pilot (one CPU each); each writes which pilot job runs it.
    let long = |n: u32| {
        let spec = sh(&format!("echo $SLURM_JOB_ID > long{n}; exec sleep 60.4242")).cwd(&out);
        add(&engine, spec)
    };
    let (a, b) = (long(1), long(2));
    engine.want([a, b]).unwrap();
    wait_for("both long tasks to start", || {
        out.join("long1").exists() && out.join("long2").exists()
    });
    let victim = std::fs::read_to_string(out.join("long1"))
        .unwrap()
        .trim()
        .to_owned();
    let status = std::process::Command::new(fake.path("scancel"))
        .arg(&victim)
        .status()
        .unwrap();
    assert!(status.success());
    let lost = &engine.wait([a]).unwrap()[0];
    let why = format!("{lost:?}");
    assert!(matches!(lost.reason, Some(Reason::Lost(_))), "{why}");
    assert!(why.contains(&format!("lost with pilot {victim}")), "{why}");
    // The run goes on: a new task runs on the replacement pilot while the other long one runs.
    let more = add(&engine, sh("echo $SLURM_JOB_ID > more").cwd(&out));
    engine.want([more]).unwrap();
    assert_eq!(engine.wait([more]).unwrap()[0].state, TaskState::Succeeded);
    let ran_on = std::fs::read_to_string(out.join("more")).unwrap();
    assert_eq!(ran_on.trim(), "102", "the replacement pilot ran it");
    // Stopping the run ends the other long task and every pilot.
    engine.stop();
    let other = &engine.wait([b]).unwrap()[0];
    assert_eq!(other.reason, Some(Reason::Cancelled));
    drop(engine);
    drop(slurm);
    fake.wait_all_gone();
    wait_for("the long tasks' processes to end", || {
        !common::alive("sleep 60.4242")
    });
}

fn flow_procs_run_on_pilots_and_call_back(work: &Path) {
    let fake = Fake::new();
    let (slurm, flow) = flow_on_pilots(&fake, 2, work);
    flow.run("sum").unwrap();
    flow.wait_all().unwrap();
    let (sum, pilot): (u64, String) = flow.result("sum").unwrap();
    assert_eq!(sum, 1 + 4 + 9);
    assert!(pilot == "100" || pilot == "101", "ran on pilot job {pilot}");
    let pilots = fake.read("sbatch.log").lines().count();
    assert!(
        (1..=2).contains(&pilots),
        "pilots only: {pilots} sbatch calls"
    );
    drop(flow);
    drop(slurm);
    fake.wait_all_gone();
}

/// A flow of the procs of [`define`] on `pilots` pilots of two CPUs, its workers logging in
/// `work`.
fn flow_on_pilots(fake: &Fake, pilots: usize, work: &Path) -> (Arc<SlurmExecutor>, Flow) {
    let cfg = on_pilots(fake, PilotConfig::new(pilots).resources(cpus(2))).worker_program(
        std::env::current_exe().unwrap(),
        vec!["flow".into(), work.to_string_lossy().into_owned()],
    );
    let slurm = Arc::new(SlurmExecutor::new(cfg));
    let flow = Flow::with_executor(slurm.clone(), FlowOptions::new().log_dir(work)).unwrap();
    define(&flow);
    (slurm, flow)
}

/// The procs of the flow test, defined the same way in the parent and in every worker.
fn define(flow: &Flow) {
    flow.proc("huge", |_| {
        Ok("x".repeat(parade::exec::process::MESSAGE_MAX + 1))
    })
    .add()
    .unwrap();
    flow.proc("dies", |_| -> Result<(), parade::flow::ProcError> {
        std::process::exit(3)
    })
    .add()
    .unwrap();
    squares::square(flow);
    squares::sum(flow, 3, || {
        std::env::var("SLURM_JOB_ID").unwrap_or_default()
    });
}

fn an_oversized_message_or_a_vanished_worker_fails_only_its_task(work: &Path) {
    let fake = Fake::new();
    let (slurm, flow) = flow_on_pilots(&fake, 1, work);
    for name in ["huge", "dies", "sum"] {
        flow.run(name).unwrap();
    }
    assert!(flow.wait_all().is_err());
    let huge = flow.status("huge").unwrap();
    assert_eq!(huge.state, TaskState::Failed);
    let why = huge.reason.unwrap_or_default();
    assert!(why.contains("a message over"), "{why}");
    let dies = flow.status("dies").unwrap();
    let why = dies.reason.unwrap_or_default();
    assert!(
        why.starts_with("lost: ")
            && why.contains("went away without reporting")
            && why.contains("exit status 3"),
        "{why}"
    );
    // The parent and the other procs go on.
    let (sum, _): (u64, String) = flow.result("sum").unwrap();
    assert_eq!(sum, 14);
    drop(flow);
    drop(slurm);
    fake.wait_all_gone();
}

const TESTS: &[(&str, common::WorkTest)] = common::work_tests![
    commands_run_on_a_few_pilots_and_nothing_is_left,
    a_task_bigger_than_a_pilot_fails_at_once,
    a_task_past_its_timeout_is_killed_on_its_pilot,
    counted_uses_are_packed_within_what_each_pilot_offers,
    a_cancelled_pilot_loses_only_its_running_tasks,
    flow_procs_run_on_pilots_and_call_back,
    an_oversized_message_or_a_vanished_worker_fails_only_its_task,
    engine_uses_are_packed_within_what_each_pilot_offers,
];

fn main() {
    parade::worker_entry();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if common::served_as_worker(&args, define) {
        return;
    }
    common::Harness::from_args().run_all(TESTS)
}

/// The numbers the tasks of a licence test appended to `out/counts`: how many of them were
/// running when each started.
fn running_counts(out: &Path) -> Vec<u32> {
    std::fs::read_to_string(out.join("counts"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}
