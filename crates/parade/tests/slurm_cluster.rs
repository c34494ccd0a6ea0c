//! The Slurm executor against a real cluster. Every test here is ignored by default; start a
//! single-node cluster with `scripts/slurm-up.sh` (as root), then run
//! `cargo test -p parade --test slurm_cluster -- --ignored`.
//!
//! Tests wait on states, never on fixed sleeps: the scheduler takes a few seconds to start
//! jobs and to release dependencies.

#[path = "common/colliding_keys.rs"]
mod colliding_keys;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use parade::engine::{Engine, Outcome, Reason, TaskId, TaskSpec, TaskState};
use parade::exec::slurm::{SlurmBatch, SlurmConfig, SlurmExecutor};
use parade::exec::{CommandJob, CommandSpec, ResourceHints};

const NEEDS: &str = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored";

/// A test's run on the cluster: a work directory of its own and a run id no earlier test run
/// used.
struct Run {
    dir: tempfile::TempDir,
    id: String,
}

impl Run {
    fn new(test: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Run {
            dir: tempfile::tempdir().unwrap(),
            id: format!("{test}-{}-{nanos}", std::process::id()),
        }
    }

    /// The work directory.
    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A new executor of this run (a restart: the same run id and work directory).
    fn executor(&self) -> SlurmExecutor {
        SlurmExecutor::new(
            SlurmConfig::new(self.dir().join("slurm"))
                .run_id(&self.id)
                .poll_interval(Duration::from_millis(200)),
        )
    }

    /// The run's jobs that `squeue` still shows as pending or running.
    fn queued(&self) -> Vec<String> {
        self.jobs(&[])
    }

    /// Every job of the run Slurm still remembers, in any state.
    fn all_jobs(&self) -> Vec<String> {
        self.jobs(&["--states=all"])
    }

    fn jobs(&self, args: &[&str]) -> Vec<String> {
        let out = Command::new("squeue")
            .args(["--noheader", "--array", "--format=%j"])
            .args(args)
            .output()
            .expect("squeue runs");
        let prefix = format!("parade-{}-", self.id);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.trim().starts_with(&prefix))
            .map(|l| l.trim().to_owned())
            .collect()
    }

    /// Waits until `squeue` shows no job of the run.
    fn wait_unqueued(&self) {
        wait_for("no job of the run in squeue", || self.queued().is_empty());
    }
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::shell(&["sh", "-c"], script)
}

/// A task running `sh -c script`.
fn task(script: &str) -> TaskSpec {
    TaskSpec::from_job(CommandJob::new(sh(script)))
}

/// Adds a task running `spec` to `engine`.
fn add(engine: &Engine, spec: CommandSpec) -> TaskId {
    engine
        .add(TaskSpec::from_job(CommandJob::new(spec)))
        .unwrap()
}

/// Three long tasks queued, then a stop: each ends cancelled.
fn a_stop_cancels_three_queued_tasks(engine: &Engine, run: &Run) {
    let ids: Vec<TaskId> = (0..3).map(|_| add(engine, sh("sleep 300"))).collect();
    engine.want(ids.clone()).unwrap();
    wait_for("three tasks queued", || run.queued().len() == 3);
    engine.stop();
    let st = engine.wait(ids).unwrap();
    assert!(st.iter().all(|s| s.state == TaskState::Cancelled), "{st:?}");
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..600 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

/// A fan-out/fan-in of shell commands in `dir`: one source, four workers, one sum.
fn fan(engine: &Engine, dir: &Path) -> Vec<TaskId> {
    let job = |script: &str| TaskSpec::from_job(CommandJob::new(sh(script).cwd(dir)));
    let source = engine.add(job("seq 1 100 > numbers")).unwrap();
    let workers: Vec<TaskId> = (1..=4)
        .map(|k| {
            let script = format!("awk '{{ s += $1 * {k} }} END {{ print s }}' numbers > part{k}");
            engine.add(job(&script).dep(source)).unwrap()
        })
        .collect();
    let sum = engine
        .add(
            job("cat part1 part2 part3 part4 | awk '{ s += $1 } END { print s }' > sum")
                .deps(workers.clone()),
        )
        .unwrap();
    let mut all = vec![source];
    all.extend(workers);
    all.push(sum);
    engine.want([sum]).unwrap();
    all
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn fan_out_fan_in_matches_a_local_run() {
    let local_dir = tempfile::tempdir().unwrap();
    let local = Engine::new();
    let ids = fan(&local, local_dir.path());
    assert!(
        local
            .wait(ids)
            .unwrap()
            .iter()
            .all(|s| s.state == TaskState::Succeeded)
    );

    let run = Run::new("fan");
    let slurm = Arc::new(run.executor());
    let engine = Engine::with_executor(slurm.clone());
    let ids = fan(&engine, run.dir());
    let states = engine.wait(ids).unwrap();
    assert!(
        states.iter().all(|s| s.state == TaskState::Succeeded),
        "{states:?}\n{NEEDS}"
    );
    let read = |d: &Path| std::fs::read_to_string(d.join("sum")).unwrap();
    assert_eq!(read(run.dir()), read(local_dir.path()));
    assert_eq!(read(run.dir()).trim(), "50500");
    // The source, the four workers as one job array (ready together, one shape), the sum.
    assert_eq!(slurm.stats().sbatch, 3);
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn a_job_array_keeps_each_elements_end_and_its_dependencies() {
    let run = Run::new("array");
    let slurm = run.executor();
    let d = run.dir().display().to_string();
    let mut batch = SlurmBatch::new();
    // Five nodes of one shape: one array; element 4 fails.
    let mut wave: Vec<_> = (0..4)
        .map(|i| {
            let script = format!("sleep 2; echo \"$SLURM_ARRAY_TASK_ID $(hostname)\" > {d}/a{i}");
            batch.add(&format!("a{i}"), sh(&script), &[])
        })
        .collect();
    wave.push(batch.add("bad", sh("exit 3"), &[]));
    // On one element, on two, and on the whole array (which a failed element holds back).
    let one = batch.add("one", sh(&format!("cat {d}/a1 > {d}/one")), &[wave[1]]);
    let two = batch.add(
        "two",
        sh(&format!("cat {d}/a0 {d}/a2 > {d}/two")),
        &[wave[0], wave[2]],
    );
    let whole = batch.add("whole", sh(&format!("touch {d}/whole")), &wave);
    let ends = batch.submit(&slurm).wait();
    for end in &ends[..4] {
        assert_eq!(end.outcome, Outcome::Succeeded, "{end:?}");
    }
    assert_eq!(
        ends[4].outcome,
        Outcome::Failed(Reason::Exit(3)),
        "{:?}",
        ends[4]
    );
    assert_eq!(ends[one.index()].outcome, Outcome::Succeeded);
    assert_eq!(ends[two.index()].outcome, Outcome::Succeeded);
    let never = format!("{:?}", ends[whole.index()].outcome);
    assert!(never.contains("never ran"), "{never}");
    assert!(!run.dir().join("whole").exists());
    let read = |f: &str| std::fs::read_to_string(run.dir().join(f)).unwrap();
    // Each element ran its own task's script: index i wrote a{i}.
    let mut hosts = std::collections::BTreeSet::new();
    for i in 0..4 {
        let line = read(&format!("a{i}"));
        let (index, host) = line.trim().split_once(' ').unwrap();
        assert_eq!(index, i.to_string(), "{line}");
        hosts.insert(host.to_owned());
    }
    assert_eq!(read("one"), read("a1"));
    assert_eq!(read("two"), read("a0") + &read("a2"));
    assert!(hosts.len() >= 2, "the elements ran side by side: {hosts:?}");
    assert_eq!(
        slurm.stats().sbatch,
        4,
        "the array, then one job per dependency shape"
    );
    run.wait_unqueued();
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn an_elements_timeout_is_its_own_and_a_stop_cancels_the_array() {
    let run = Run::new("arrstop");
    let slurm = Arc::new(run.executor());
    let engine = Engine::with_executor(slurm.clone());
    let slow = engine
        .add(task("sleep 300").timeout(Duration::from_secs(2)))
        .unwrap();
    let quick = add(&engine, sh("sleep 3"));
    engine.want([slow, quick]).unwrap();
    let st = engine.wait([slow, quick]).unwrap();
    assert_eq!(
        st[0].reason,
        Some(Reason::Timeout(Duration::from_secs(2))),
        "{st:?}"
    );
    assert_eq!(st[1].state, TaskState::Succeeded, "{st:?}");
    assert_eq!(slurm.stats().sbatch, 1, "one array of two");
    // The three are one array, cancelled by its id.
    a_stop_cancels_three_queued_tasks(&engine, &run);
    assert_eq!(slurm.stats().sbatch, 2, "{:?}", slurm.stats());
    run.wait_unqueued();
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn failing_and_timed_out_jobs_end_failed_and_leave_nothing_queued() {
    let run = Run::new("fail");
    let engine = Engine::with_executor(Arc::new(run.executor()));
    let fails = add(&engine, sh("echo failing; exit 7"));
    let ours = engine
        .add(task("sleep 300").timeout(Duration::from_secs(2)))
        .unwrap();
    let theirs = add(
        &engine,
        sh("sleep 300").resources(ResourceHints {
            time: Some("1".into()),
            ..ResourceHints::default()
        }),
    );
    engine.want([fails, ours, theirs]).unwrap();
    let st = engine.wait([fails, ours, theirs]).unwrap();
    assert_eq!(st[0].reason, Some(Reason::Exit(7)));
    assert_eq!(st[1].reason, Some(Reason::Timeout(Duration::from_secs(2))));
    // Slurm's own time limit (one minute) is a timeout, never the command's exit status 143,
    // whatever parade learns first (the status file or Slurm's TIMEOUT state).
    assert_eq!(
        st[2].reason,
        Some(Reason::Timeout(Duration::from_secs(60))),
        "{:?}",
        st[2]
    );
    run.wait_unqueued();
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn a_stopped_run_cancels_its_jobs() {
    let run = Run::new("stop");
    let engine = Engine::with_executor(Arc::new(run.executor()));
    a_stop_cancels_three_queued_tasks(&engine, &run);
    run.wait_unqueued();
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn a_restarted_run_waits_for_its_running_job_instead_of_resubmitting() {
    let run = Run::new("restart");
    let marker = run.dir().join("marker");
    let script = format!(
        "while [ ! -e {m} ]; do sleep 0.2; done; echo ran >> {c}",
        m = marker.display(),
        c = run.dir().join("count").display()
    );
    // The first run submits the job and is abandoned while the job runs.
    let first = Engine::with_executor(Arc::new(run.executor()));
    let t = add(&first, sh(&script));
    first.want([t]).unwrap();
    wait_for("the job queued", || run.queued().len() == 1);
    // The second run, same run id and work directory, finds the job by name.
    let slurm = Arc::new(run.executor());
    let second = Engine::with_executor(slurm.clone());
    let t2 = add(&second, sh(&script));
    second.want([t2]).unwrap();
    std::fs::write(&marker, "").unwrap();
    assert_eq!(second.wait([t2]).unwrap()[0].state, TaskState::Succeeded);
    assert_eq!(slurm.stats().sbatch, 0, "the second run submitted nothing");
    assert_eq!(run.all_jobs().len(), 1);
    assert_eq!(
        std::fs::read_to_string(run.dir().join("count")).unwrap(),
        "ran\n"
    );
    assert_eq!(first.wait([t]).unwrap()[0].state, TaskState::Succeeded);
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn a_batch_queues_a_chain_with_afterok() {
    let run = Run::new("batch");
    let slurm = run.executor();
    let d = run.dir().display().to_string();
    let mut batch = SlurmBatch::new();
    let a = batch.add("a", sh(&format!("echo 1 > {d}/a")), &[]);
    let b = batch.add(
        "b",
        sh(&format!("cat {d}/a > {d}/b; echo 2 >> {d}/b")),
        &[a],
    );
    let bad = batch.add("bad", sh("exit 4"), &[b]);
    batch.add("never", sh(&format!("touch {d}/never")), &[bad]);
    let ends = batch.submit(&slurm).wait();
    assert_eq!(ends[0].outcome, Outcome::Succeeded);
    assert_eq!(ends[1].outcome, Outcome::Succeeded);
    assert_eq!(ends[2].outcome, Outcome::Failed(Reason::Exit(4)));
    let never = format!("{:?}", ends[3].outcome);
    assert!(never.contains("never ran"), "{never}");
    assert_eq!(
        std::fs::read_to_string(run.dir().join("b")).unwrap(),
        "1\n2\n"
    );
    assert!(!run.dir().join("never").exists());
    assert_eq!(
        slurm.stats().sbatch,
        4,
        "the whole chain was submitted at once"
    );
    run.wait_unqueued();
}

#[derive(serde::Serialize)]
struct Args {
    n: u32,
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Out {
    square: u32,
    host: String,
}

/// A template whose `run` waits for `go` (if `WAIT` is set), counts its runs and squares `n`.
fn square_template(root: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let t = root.join("square");
    std::fs::create_dir_all(&t).unwrap();
    let run = r#"#!/bin/sh
echo run >> runs.txt
if [ -n "$WAIT" ]; then while [ ! -e "$WAIT" ]; do sleep 0.2; done; fi
n=$(sed -n 's/.*"n": *\([0-9]*\).*/\1/p' kwargs.json)
echo "{\"square\": $((n*n)), \"host\": \"$(hostname)\"}" > result.json
"#;
    std::fs::write(t.join("run"), run).unwrap();
    std::fs::set_permissions(t.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn template_jobs_on_slurm_are_reused_and_check_their_parameters() {
    use parade::exec::slurm::{JobError, TemplateJob};
    let run = Run::new("template");
    let slurm = Arc::new(run.executor());
    let job = TemplateJob::new(square_template(run.dir()), run.dir().join("results/sq"))
        .on_slurm(slurm.clone());
    let out: Out = job.run(&Args { n: 6 }).unwrap();
    assert_eq!(out.square, 36);
    let again: Out = job.run(&Args { n: 6 }).unwrap();
    assert_eq!(again, out);
    assert_eq!(slurm.stats().sbatch, 1, "the finished job was reused");
    let err = job.run::<_, Out>(&Args { n: 7 }).unwrap_err();
    assert!(matches!(err, JobError::KwargsChanged { .. }), "{err}");
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn an_interrupted_template_job_is_waited_for_not_resubmitted() {
    use parade::exec::slurm::TemplateJob;
    let run = Run::new("tjrestart");
    let go = run.dir().join("go");
    let template = square_template(run.dir());
    let job_dir = run.dir().join("results/slow");
    // The first process submits the job and is interrupted while it runs.
    let first = TemplateJob::new(&template, &job_dir)
        .env("WAIT", go.to_string_lossy())
        .on_slurm(Arc::new(run.executor()));
    let abandoned = std::thread::spawn(move || first.run::<_, Out>(&Args { n: 3 }));
    wait_for("the job queued", || run.queued().len() == 1);
    // The second finds it by name and waits for it.
    let slurm = Arc::new(run.executor());
    let second = TemplateJob::new(&template, &job_dir)
        .env("WAIT", go.to_string_lossy())
        .on_slurm(slurm.clone());
    let waiter = std::thread::spawn(move || second.run::<_, Out>(&Args { n: 3 }));
    // The second waits on the job directory's lock while the first holds it (or, once the
    // first has let go, finds the job by name): either way it submits nothing.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, "").unwrap();
    assert_eq!(waiter.join().unwrap().unwrap().square, 9);
    assert_eq!(slurm.stats().sbatch, 0);
    assert_eq!(
        std::fs::read_to_string(job_dir.join("runs.txt")).unwrap(),
        "run\n",
        "the script ran once"
    );
    assert_eq!(abandoned.join().unwrap().unwrap().square, 9);
}

/// The node names `sinfo` lists.
fn nodes() -> Vec<String> {
    let out = Command::new("sinfo")
        .args(["--noheader", "--Node", "--format=%N"])
        .output()
        .expect("sinfo runs");
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .collect();
    names.dedup();
    names
}

#[test]
#[ignore = "needs the 3-node cluster: run scripts/slurm-up.sh --nodes 3, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn jobs_run_on_the_node_asked_for_with_its_hostname() {
    let names = nodes();
    assert!(
        ["node1", "node2", "node3"]
            .iter()
            .all(|n| names.iter().any(|m| m == n)),
        "needs the 3-node cluster (scripts/slurm-up.sh --nodes 3); sinfo lists {names:?}"
    );
    let run = Run::new("nodes");
    let slurm = run.executor();
    let mut batch = SlurmBatch::new();
    for node in ["node2", "node3"] {
        let spec = sh("hostname").resources(ResourceHints {
            extra: vec![format!("--nodelist={node}")],
            ..ResourceHints::default()
        });
        batch.add(node, spec, &[]);
    }
    let ends = batch.submit(&slurm).wait();
    for (end, node) in ends.iter().zip(["node2", "node3"]) {
        assert_eq!(end.outcome, Outcome::Succeeded, "{end:?}");
        let out = std::fs::read_to_string(&end.files.as_ref().unwrap().stdout).unwrap();
        assert_eq!(out.trim(), node);
    }
}

#[test]
#[ignore = "needs a Slurm cluster: run scripts/slurm-up.sh, then cargo test -p parade --test slurm_cluster -- --ignored"]
fn keys_that_sanitize_alike_keep_their_own_jobs_and_files() {
    let run = Run::new("collide");
    let slurm = run.executor();
    let ends = colliding_keys::submit_colliding_keys(&slurm);
    let out = |i: usize| std::fs::read_to_string(&ends[i].files.as_ref().unwrap().stdout).unwrap();
    assert_eq!((out(0).trim(), out(1).trim()), ("colons", "underscores"));
    assert_eq!(run.all_jobs().len(), 2);
    run.wait_unqueued();
}
