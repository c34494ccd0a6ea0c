//! Slurm job arrays against the fake Slurm commands of `fake-slurm/` (each element of
//! `sbatch --array=0-K` runs in the background as `<id>_<index>`): a wave of same-shaped tasks
//! is one `sbatch`, each element's end (success, exit status, lost, timeout) is its task's
//! alone, a batch's dependencies name one element or the whole array, a stop cancels the array
//! by its id, a restarted run adopts the elements still running, and `job_arrays(false)`
//! submits one job per task. Runs everywhere; no Slurm needed.

mod common;
#[path = "common/fake_slurm.rs"]
mod fake_slurm;

use std::sync::Arc;
use std::time::Duration;

use common::alive;
use fake_slurm::{Fake, add, sh, task, wait_for};
use parade::engine::{Engine, Outcome, Reason, TaskState};
use parade::exec::ResourceHints;
use parade::exec::slurm::{SlurmBatch, SlurmExecutor};

#[test]
fn a_wave_of_same_shaped_tasks_is_one_array_and_each_element_ends_its_own_task() {
    let fake = Fake::new();
    let out = fake.path("out");
    let slurm = Arc::new(SlurmExecutor::new(fake.config("wave")));
    let engine = Engine::with_executor(slurm.clone());
    let ok: Vec<_> = (0..5)
        .map(|i| {
            let spec = sh(&format!("echo task {i} > {i}; echo said {i}")).cwd(&out);
            add(&engine, spec)
        })
        .collect();
    let failing = add(&engine, sh("exit 3"));
    // Its shell is killed before it records a status: lost, alone.
    let lost = add(&engine, sh("kill -9 $PPID"));
    let mut big = sh("echo big > big").cwd(&out);
    big.resources = ResourceHints {
        cpus: Some(2),
        ..ResourceHints::default()
    };
    let other = add(&engine, big);
    let all: Vec<_> = ok.iter().copied().chain([failing, lost, other]).collect();
    engine.want(all.iter().copied()).unwrap();
    let ends = engine.wait(all.iter().copied()).unwrap();
    for end in &ends[..5] {
        assert_eq!(end.state, TaskState::Succeeded, "{ends:?}");
    }
    assert_eq!(ends[5].reason, Some(Reason::Exit(3)), "{ends:?}");
    match &ends[6].reason {
        Some(Reason::Lost(why)) => assert!(
            why.contains("completed without recording an exit status") && why.contains('_'),
            "names the element: {why}"
        ),
        other => panic!("the killed element is lost, not {other:?}"),
    }
    assert_eq!(ends[7].state, TaskState::Succeeded, "{ends:?}");
    for i in 0..5 {
        assert_eq!(
            std::fs::read_to_string(out.join(i.to_string())).unwrap(),
            format!("task {i}\n")
        );
    }
    // Seven one-CPU tasks in one array, the two-CPU task in a job of its own.
    let log = fake.read("sbatch.log");
    assert_eq!(log.lines().count(), 2, "{log}");
    let arrays = fake.arrays();
    assert_eq!(arrays.len(), 1, "{log}");
    assert!(arrays[0].contains("--array=0-6"), "{log}");
    assert_eq!(slurm.stats().sbatch, 2);
    // Each element's output went to its own task.
    let files: Vec<String> = std::fs::read_dir(fake.path("work"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("_array7.") && n.rsplit('.').next() == Some("out"))
        .collect();
    assert_eq!(files.len(), 7, "{files:?}");
    drop(engine);
    fake.wait_idle();
}

#[test]
fn a_timeout_cancels_one_element_and_a_stop_cancels_the_array() {
    let fake = Fake::new();
    let slurm = Arc::new(SlurmExecutor::new(fake.config("stop")));
    let engine = Engine::with_executor(slurm.clone());
    let slow = engine
        .add(task("exec sleep 58.25").timeout(Duration::from_millis(300)))
        .unwrap();
    let quick = add(&engine, sh("true"));
    engine.want([slow, quick]).unwrap();
    let ends = engine.wait([slow, quick]).unwrap();
    assert_eq!(
        ends[0].reason,
        Some(Reason::Timeout(Duration::from_millis(300))),
        "{ends:?}"
    );
    assert_eq!(ends[1].state, TaskState::Succeeded, "{ends:?}");
    let array = fake.read("next");
    let first: u64 = 100;
    let cancels = fake.read("scancel.log");
    assert_eq!(
        cancels.trim(),
        format!("{first}_0"),
        "only the late element is cancelled (next id {array})"
    );

    // Three long tasks in one array; stopping the run cancels the array by its id.
    let long: Vec<_> = (0..3)
        .map(|_| add(&engine, sh("exec sleep 57.5")))
        .collect();
    engine.want(long.iter().copied()).unwrap();
    wait_for("the array to be submitted", || fake.arrays().len() == 2);
    let id = fake.arrays().len();
    assert_eq!(id, 2);
    engine.stop();
    let ends = engine.wait(long.iter().copied()).unwrap();
    assert!(
        ends.iter().all(|e| e.reason == Some(Reason::Cancelled)),
        "{ends:?}"
    );
    let cancels = fake.read("scancel.log");
    let last = cancels.lines().last().unwrap().trim().to_owned();
    assert!(
        !last.contains('_') && !last.is_empty(),
        "the whole array by its id: {cancels}"
    );
    wait_for("the sleeps to end", || {
        !alive("sleep 57.5") && !alive("sleep 58.25")
    });
    drop(engine);
    fake.wait_idle();
}

#[test]
fn a_batch_depends_on_one_element_or_on_the_whole_array() {
    let fake = Fake::new();
    let slurm = SlurmExecutor::new(fake.config("deps"));
    let mut batch = SlurmBatch::new();
    let firsts: Vec<_> = (0..3)
        .map(|i| batch.add(&format!("a{i}"), sh("true"), &[]))
        .collect();
    let on_one = batch.add("b", sh("true"), &[firsts[1]]);
    batch.add("d", sh("true"), &[firsts[1]]);
    batch.add("c", sh("true"), &firsts);
    batch.add("e", sh("true"), &[firsts[0], on_one]);
    let ends = batch.submit(&slurm).wait();
    assert!(
        ends.iter().all(|e| e.outcome == Outcome::Succeeded),
        "{ends:?}"
    );
    let log = fake.read("sbatch.log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "a0-a2, then b and d, then c, then e: {log}");
    let dep = |line: &str| {
        line.split_whitespace()
            .find_map(|a| a.strip_prefix("--dependency=afterok:"))
            .map(str::to_owned)
    };
    assert!(
        lines[0].contains("--array=0-2") && dep(lines[0]).is_none(),
        "{log}"
    );
    // The fake numbers the first job 100: the array is 100 (elements 100_0 .. 100_2).
    assert!(
        lines[1].contains("--array=0-1"),
        "b and d share their shape: {log}"
    );
    assert_eq!(dep(lines[1]).as_deref(), Some("100_1"), "{log}");
    assert!(!lines[2].contains("--array"), "{log}");
    assert_eq!(dep(lines[2]).as_deref(), Some("100"), "all of it: {log}");
    let b = ends[3].job.unwrap();
    assert_eq!(
        dep(lines[3]).as_deref(),
        Some(format!("100_0:{b}_0").as_str()),
        "{log}"
    );
    fake.wait_idle();
}

#[test]
fn a_restarted_run_adopts_the_elements_still_running() {
    let fake = Fake::new();
    let go = fake.path("go");
    let wait = format!("while [ ! -f {} ]; do sleep 0.02; done", go.display());
    let batch = || {
        let mut batch = SlurmBatch::new();
        for i in 0..3 {
            batch.add(&format!("t{i}"), sh(&format!("{wait}; echo {i}")), &[]);
        }
        batch
    };
    let first = SlurmExecutor::new(fake.config("again"));
    let run = batch().submit(&first);
    wait_for("the array to run", || fake.path("jobs/100_2").exists());
    drop(run);
    drop(first);
    // The same run again, while the elements still wait: nothing is submitted again.
    let second = SlurmExecutor::new(fake.config("again"));
    let run = batch().submit(&second);
    // Its second squeue call (the first poll) comes after the listing that found the jobs.
    wait_for("the restart's first poll", || second.stats().squeue >= 2);
    std::fs::write(&go, "").unwrap();
    let ends = run.wait();
    assert!(
        ends.iter()
            .all(|e| e.outcome == Outcome::Succeeded && e.adopted),
        "{ends:?}"
    );
    assert_eq!(second.stats().sbatch, 0, "{:?}", second.stats());
    assert_eq!(fake.read("sbatch.log").lines().count(), 1);
    // Each task got its own element's output.
    for (i, end) in ends.iter().enumerate() {
        let files = end.files.as_ref().unwrap();
        let text = std::fs::read_to_string(&files.stdout).unwrap();
        assert_eq!(text, format!("{i}\n"), "{files:?}");
    }
    fake.wait_idle();
}

#[test]
fn without_job_arrays_each_task_is_a_job() {
    let fake = Fake::new();
    let slurm = Arc::new(SlurmExecutor::new(fake.config("plain").job_arrays(false)));
    let engine = Engine::with_executor(slurm.clone());
    let ids: Vec<_> = (0..3).map(|_| add(&engine, sh("true"))).collect();
    engine.want(ids.iter().copied()).unwrap();
    let ends = engine.wait(ids.iter().copied()).unwrap();
    assert!(
        ends.iter().all(|e| e.state == TaskState::Succeeded),
        "{ends:?}"
    );
    assert_eq!(fake.read("sbatch.log").lines().count(), 3);
    assert!(fake.arrays().is_empty());
    drop(engine);
    fake.wait_idle();
}
