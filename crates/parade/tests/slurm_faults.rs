//! The Slurm executor against fake `sbatch`/`squeue`/`scontrol`/`scancel` scripts: faults a
//! real cluster cannot be asked for (a transient failure, a vanished job, a refusal). Runs
//! everywhere; no Slurm needed.

#[path = "common/fake_slurm.rs"]
mod fake_slurm;

#[path = "common/colliding_keys.rs"]
mod colliding_keys;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_slurm::{Fake, run_one, sh, task, wait_for};
use parade::engine::{Engine, Event, Outcome, Reason, Stream, TaskSpec, TaskState};
use parade::exec::CommandJob;
use parade::exec::slurm::{
    JobOptions, SlurmBatch, SlurmConfig, SlurmExecutor, job_identity, job_name,
};

/// The fake `sbatch` of faults (with `squeue`, `scontrol` and `scancel` below). Jobs live as `jobs/<id>` files holding one squeue line
/// (`id|name|STATE|reason|comment`). The file `mode` says what sbatch does: `run` (default)
/// runs the batch script at once and lists the job COMPLETED; `hold` lists it RUNNING and runs
/// nothing; `hidden` runs the script but never lists the job; `vanish` lists it RUNNING once,
/// then forgets it; `timeout` runs the script (its status file is there at once), lists the job
/// RUNNING once, then TIMEOUT. Further files: `sbatch.hang` (sbatch hangs), `sbatch.flaky` (the
/// first N calls fail transiently), `sbatch.refuse`, `squeue.fail`, `squeue.hide` (job ids
/// squeue leaves out), `cluster` (sbatch answers
/// `ID;CLUSTER` and squeue lists the jobs only when asked about that cluster).
const SBATCH: &str = r#"#!/bin/sh
D=$(dirname "$0")
echo "$@" >> "$D/sbatch.log"
if [ -f "$D/sbatch.hang" ]; then echo $$ >> "$D/sbatch.pids"; exec sleep 30; fi
if [ -f "$D/sbatch.refuse" ]; then cat "$D/sbatch.refuse" >&2; exit 1; fi
c=$(cat "$D/sbatch.count" 2>/dev/null || echo 0); echo $((c+1)) > "$D/sbatch.count"
if [ -f "$D/sbatch.flaky" ] && [ "$c" -lt "$(cat "$D/sbatch.flaky")" ]; then
  echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2; exit 1
fi
n=$(cat "$D/next" 2>/dev/null || echo 100); echo $((n+1)) > "$D/next"
comment=
for a; do
  case $a in --job-name=*) name=${a#--job-name=};; --output=*) out=${a#--output=};; --error=*) err=${a#--error=};; --comment=*) comment=${a#--comment=};; esac
  script=$a
done
out=$(echo "$out" | sed "s/%j/$n/"); err=$(echo "$err" | sed "s/%j/$n/")
mode=$(cat "$D/mode" 2>/dev/null || echo run)
case $mode in
  run) SLURM_JOB_ID=$n sh "$script" >"$out" 2>"$err"; echo "$n|$name|COMPLETED|None|$comment" > "$D/jobs/$n";;
  timeout) SLURM_JOB_ID=$n sh "$script" >"$out" 2>"$err"; echo "$n|$name|RUNNING|None|$comment" > "$D/jobs/$n";;
  hidden) SLURM_JOB_ID=$n sh "$script" >"$out" 2>"$err";;
  *) echo "$n|$name|RUNNING|None|$comment" > "$D/jobs/$n";;
esac
if [ -f "$D/cluster" ]; then echo "$n;$(cat "$D/cluster")"; else echo "$n"; fi
"#;

const SQUEUE: &str = r#"#!/bin/sh
D=$(dirname "$0")
echo "$@" >> "$D/squeue.log"
c=$(cat "$D/squeue.count" 2>/dev/null || echo 0); echo $((c+1)) > "$D/squeue.count"
if [ -f "$D/squeue.fail" ] && [ "$c" -lt "$(cat "$D/squeue.fail")" ]; then
  echo "squeue: error: slurm_load_jobs error: Socket timed out on send/recv operation" >&2; exit 1
fi
if [ -f "$D/cluster" ]; then
  case " $* " in *" --clusters=$(cat "$D/cluster") "*) echo "CLUSTER: $(cat "$D/cluster")";; *) exit 0;; esac
fi
for f in "$D"/jobs/*; do
  [ -f "$f" ] || continue
  grep -qx "$(basename "$f")" "$D/squeue.hide" 2>/dev/null || cat "$f"
done
mode=$(cat "$D/mode" 2>/dev/null)
if [ "$mode" = vanish ]; then rm -f "$D"/jobs/*; fi
if [ "$mode" = timeout ]; then
  for f in "$D"/jobs/*; do [ -f "$f" ] && sed -i 's/|RUNNING|/|TIMEOUT|/' "$f"; done
fi
exit 0
"#;

// Like `scontrol show job` listing an array or several jobs: the other jobs' records come
// first, then the one asked about.
const SCONTROL: &str = r#"#!/bin/sh
D=$(dirname "$0")
echo "$@" >> "$D/scontrol.log"
for last; do :; done
if [ -f "$D/jobs/$last" ]; then
  for f in "$D"/jobs/*; do
    [ "$f" = "$D/jobs/$last" ] && continue
    IFS='|' read -r i n s r k < "$f"
    echo "JobId=$i JobName=$n"; echo "   JobState=$s Reason=$r Dependency=(null)"; echo "   Comment=$k"; echo
  done
  IFS='|' read -r i n s r k < "$D/jobs/$last"
  echo "JobId=$i JobName=$n"; echo "   JobState=$s Reason=$r Dependency=(null)"; echo "   Comment=$k"
else
  echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1
fi
"#;

const SCANCEL: &str = r#"#!/bin/sh
D=$(dirname "$0")
echo "$@" >> "$D/scancel.log"
for id; do
  if [ -f "$D/jobs/$id" ]; then
    IFS='|' read -r i n s r k < "$D/jobs/$id"; echo "$i|$n|CANCELLED|None|$k" > "$D/jobs/$id"
  fi
done
"#;

/// The fake of faults in mode `mode` (see [`SBATCH`]).
fn faulty(mode: &str) -> Fake {
    let fake = Fake::with(
        &[
            ("sbatch", SBATCH),
            ("squeue", SQUEUE),
            ("scontrol", SCONTROL),
            ("scancel", SCANCEL),
        ],
        &["jobs"],
    );
    fake.write("mode", mode);
    fake
}

/// Run `run`'s configuration: one job per task (these fakes know no `--array`: job arrays
/// have their own suite, `slurm_arrays`, on the fake of `fake-slurm/`).
fn config(fake: &Fake, run: &str) -> SlurmConfig {
    fake.config(run)
        .retries(3, Duration::from_millis(10))
        .job_arrays(false)
}

fn engine_for(fake: &Fake, run: &str) -> Engine {
    Engine::with_executor(Arc::new(SlurmExecutor::new(config(fake, run))))
}

#[test]
fn exit_status_and_output_come_from_the_job() {
    let fake = faulty("run");
    let engine = engine_for(&fake, "out");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    engine.subscribe(move |e: &Event| {
        if let Event::Output { stream, line, .. } = e {
            seen.lock().unwrap().push((*stream, line.clone()));
        }
    });
    let ok = run_one(&engine, task("echo hello; echo oops >&2"));
    assert_eq!(ok.state, TaskState::Succeeded, "{ok:?}");
    let lines = lines.lock().unwrap().clone();
    assert!(
        lines.contains(&(Stream::Stdout, "hello".to_owned())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(Stream::Stderr, "oops".to_owned())),
        "{lines:?}"
    );
    let bad = run_one(&engine, task("exit 3"));
    assert_eq!(bad.reason, Some(Reason::Exit(3)));
    let log = fake.read("sbatch.log");
    assert!(log.contains("--parsable --job-name=parade-out-0"), "{log}");
    assert!(log.contains("--job-name=parade-out-1"), "{log}");
}

#[test]
fn resources_become_sbatch_options() {
    let fake = faulty("run");
    let engine = engine_for(&fake, "res");
    let spec = sh("true").resources(parade::exec::ResourceHints {
        cpus: Some(2),
        mem: Some("1G".into()),
        ..Default::default()
    });
    let st = run_one(&engine, TaskSpec::from_job(CommandJob::new(spec)));
    assert_eq!(st.state, TaskState::Succeeded);
    let log = fake.read("sbatch.log");
    assert!(log.contains("--cpus-per-task=2 --mem=1G"), "{log}");
}

#[test]
fn a_transient_squeue_failure_is_retried_and_the_run_goes_on() {
    let fake = faulty("hold");
    fake.write("squeue.fail", "2");
    let slurm = Arc::new(SlurmExecutor::new(config(&fake, "flaky")));
    let engine = Engine::with_executor(slurm.clone());
    let t = engine.add(task("true")).unwrap();
    engine.want([t]).unwrap();
    // Let polls fail and be retried, then let the job finish.
    wait_for("three squeue calls and the job submitted", || {
        fake.read("squeue.count").trim().parse::<u32>().unwrap_or(0) >= 3
            && std::fs::read_dir(fake.path("jobs"))
                .unwrap()
                .next()
                .is_some()
    });
    let job = std::fs::read_dir(fake.path("jobs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let line = std::fs::read_to_string(&job)
        .unwrap()
        .replace("RUNNING", "COMPLETED");
    let files = slurm.files(&job_name("flaky", "0"), 100);
    std::fs::write(&files.status, "0\n").unwrap();
    std::fs::write(&job, line).unwrap();
    let st = engine.wait([t]).unwrap().remove(0);
    assert_eq!(st.state, TaskState::Succeeded, "{st:?}");
    assert!(slurm.stats().squeue >= 3);
}

#[test]
fn squeue_failing_for_good_ends_the_jobs_as_lost() {
    let fake = faulty("hold");
    fake.write("squeue.fail", "1000000");
    let cfg = config(&fake, "down")
        .retries(1, Duration::from_millis(1))
        .max_failed_polls(3);
    let engine = Engine::with_executor(Arc::new(SlurmExecutor::new(cfg)));
    let st = run_one(&engine, task("true"));
    assert_eq!(st.state, TaskState::Failed);
    match st.reason {
        Some(Reason::Lost(why)) => assert!(why.contains("squeue failed 3 polls"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_job_id_falls_back_to_the_status_file() {
    let fake = faulty("hidden");
    let engine = engine_for(&fake, "hidden");
    assert_eq!(run_one(&engine, task("exit 0")).state, TaskState::Succeeded);
    assert_eq!(
        run_one(&engine, task("exit 5")).reason,
        Some(Reason::Exit(5))
    );
}

#[test]
fn a_job_that_vanishes_is_lost() {
    let fake = faulty("vanish");
    let engine = engine_for(&fake, "vanish");
    let st = run_one(&engine, task("true"));
    assert_eq!(st.state, TaskState::Failed);
    match st.reason {
        Some(Reason::Lost(why)) => assert!(why.contains("vanished"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(fake.read("scontrol.log").contains("show job"));
}

#[test]
fn sbatch_refusing_a_job_names_the_task() {
    let fake = faulty("run");
    fake.write(
        "sbatch.refuse",
        "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified",
    );
    let engine = engine_for(&fake, "refused");
    let st = run_one(&engine, task("true"));
    assert_eq!(st.state, TaskState::Failed);
    let why = st.reason.unwrap().to_string();
    assert!(why.contains("sbatch refused task #0"), "{why}");
    assert!(why.contains("Invalid account"), "{why}");
}

#[test]
fn a_job_without_a_command_fails_clearly() {
    let fake = faulty("run");
    let engine = engine_for(&fake, "nocmd");
    let st = run_one(&engine, TaskSpec::new(|_| Outcome::Succeeded));
    assert_eq!(st.state, TaskState::Failed);
    assert!(
        st.reason
            .unwrap()
            .to_string()
            .contains("no command to run on Slurm")
    );
}

#[test]
fn timeout_and_stop_end_jobs_with_scancel() {
    let fake = faulty("hold");
    let engine = engine_for(&fake, "stop");
    let slow = engine
        .add(task("sleep 100").timeout(Duration::from_millis(200)))
        .unwrap();
    let a = engine.add(task("sleep 100")).unwrap();
    let b = engine.add(task("sleep 100")).unwrap();
    engine.want([slow]).unwrap();
    let st = engine.wait([slow]).unwrap().remove(0);
    assert_eq!(st.reason, Some(Reason::Timeout(Duration::from_millis(200))));
    engine.want([a, b]).unwrap();
    wait_for("two jobs submitted", || {
        fake.read("sbatch.log").lines().count() == 3
    });
    engine.stop();
    let states: Vec<_> = engine
        .wait([a, b])
        .unwrap()
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(states, [TaskState::Cancelled, TaskState::Cancelled]);
    let cancelled = fake.read("scancel.log");
    assert!(cancelled.contains("100"), "{cancelled}");
    assert!(
        cancelled.contains("101") && cancelled.contains("102"),
        "{cancelled}"
    );
}

#[test]
fn a_restarted_run_adopts_its_queued_job_instead_of_submitting_again() {
    let fake = faulty("hold");
    let comment = format!("parade:{}", job_identity("0", &sh("true")));
    fake.write(
        "jobs/55",
        &format!("55|parade-again-0|PENDING|Priority|{comment}\n"),
    );
    let slurm = Arc::new(SlurmExecutor::new(config(&fake, "again")));
    let engine = Engine::with_executor(slurm.clone());
    let t = engine.add(task("true")).unwrap();
    engine.want([t]).unwrap();
    wait_for("a poll", || {
        fake.read("squeue.count").trim().parse::<u32>().unwrap_or(0) >= 2
    });
    let files = slurm.files(&job_name("again", "0"), 55);
    std::fs::create_dir_all(files.status.parent().unwrap()).unwrap();
    std::fs::write(&files.status, "0\n").unwrap();
    fake.write(
        "jobs/55",
        &format!("55|parade-again-0|COMPLETED|None|{comment}\n"),
    );
    assert_eq!(engine.wait([t]).unwrap()[0].state, TaskState::Succeeded);
    assert_eq!(fake.read("sbatch.log"), "", "nothing was submitted");
}

#[test]
fn a_batch_hands_dependencies_to_slurm() {
    let fake = faulty("run");
    let slurm = SlurmExecutor::new(config(&fake, "batch"));
    let mut batch = SlurmBatch::new();
    let a = batch.add("a", sh("true"), &[]);
    let b = batch.add("b", sh("true"), &[a]);
    batch.add("c", sh("exit 2"), &[a, b]);
    let ends = batch.submit(&slurm).wait();
    assert_eq!(ends[0].outcome, Outcome::Succeeded);
    assert_eq!(ends[2].outcome, Outcome::Failed(Reason::Exit(2)));
    let log = fake.read("sbatch.log");
    assert!(
        log.contains("--dependency=afterok:100 --kill-on-invalid-dep=yes"),
        "{log}"
    );
    assert!(log.contains("--dependency=afterok:100:101"), "{log}");
    assert!(Path::new(&ends[1].files.as_ref().unwrap().status).exists());
}

#[test]
fn keys_that_sanitize_alike_get_their_own_job_and_files() {
    let fake = faulty("run");
    let slurm = SlurmExecutor::new(config(&fake, "coll"));
    let ends = colliding_keys::submit_colliding_keys(&slurm);
    let (f0, f1) = (
        ends[0].files.clone().unwrap(),
        ends[1].files.clone().unwrap(),
    );
    assert_ne!(f0.stdout, f1.stdout);
    assert_ne!(f0.status, f1.status);
    assert_eq!(std::fs::read_to_string(&f0.stdout).unwrap(), "colons\n");
    assert_eq!(
        std::fs::read_to_string(&f1.stdout).unwrap(),
        "underscores\n"
    );
    let log = fake.read("sbatch.log");
    let names: std::collections::BTreeSet<&str> = log
        .split_whitespace()
        .filter_map(|a| a.strip_prefix("--job-name="))
        .collect();
    assert_eq!(names.len(), 2, "two job names: {log}");
}

#[test]
fn a_queued_job_doing_something_else_is_not_adopted() {
    let fake = faulty("run");
    // An earlier run of the same task with another parameter left this job queued.
    let other = format!("parade:{}", job_identity("t", &sh("echo one")));
    fake.write(
        "jobs/55",
        &format!("55|{}|PENDING|Priority|{other}\n", job_name("p", "t")),
    );
    let slurm = SlurmExecutor::new(config(&fake, "p"));
    // Were it adopted, it would end at once with this status.
    let theirs = slurm.files(&job_name("p", "t"), 55);
    std::fs::create_dir_all(theirs.status.parent().unwrap()).unwrap();
    std::fs::write(&theirs.status, "0\n").unwrap();
    let end = slurm.run_one("t", sh("echo two"));
    assert_eq!(end.outcome, Outcome::Succeeded);
    assert!(!end.adopted);
    assert_ne!(end.job, Some(55));
    let out = std::fs::read_to_string(&end.files.unwrap().stdout).unwrap();
    assert_eq!(out, "two\n", "the run's own command ran");
    assert_eq!(fake.read("sbatch.log").lines().count(), 1);
    assert_eq!(
        fake.read("scancel.log"),
        "",
        "the other run's job is left alone"
    );
}

#[test]
fn an_adopted_job_keeps_the_result_it_wrote_and_a_new_one_starts_clean() {
    let fake = faulty("hold");
    let work = tempfile::tempdir().unwrap();
    let result = work.path().join("result.json");
    let spec = sh("echo '{\"v\": 1}' > \"$R\"").env("R", result.to_string_lossy());
    let comment = format!("parade:{}", job_identity("t", &spec));
    let name = job_name("res", "t");
    // The job of the killed run is still running and has written its result already.
    fake.write("jobs/55", &format!("55|{name}|RUNNING|None|{comment}\n"));
    std::fs::write(&result, "{\"v\": 1}\n").unwrap();
    let slurm = Arc::new(SlurmExecutor::new(config(&fake, "res")));
    let runner = slurm.clone();
    let (s2, stale) = (spec.clone(), vec![result.clone()]);
    let waiter = std::thread::spawn(move || {
        let options = JobOptions {
            stale,
            ..JobOptions::default()
        };
        runner.run_one_with("t", s2, options)
    });
    wait_for("a poll", || {
        fake.read("squeue.count").trim().parse::<u32>().unwrap_or(0) >= 2
    });
    let files = slurm.files(&name, 55);
    std::fs::create_dir_all(files.status.parent().unwrap()).unwrap();
    std::fs::write(&files.status, "0\n").unwrap();
    let end = waiter.join().unwrap();
    assert!(end.adopted && end.outcome == Outcome::Succeeded, "{end:?}");
    assert_eq!(std::fs::read_to_string(&result).unwrap(), "{\"v\": 1}\n");
    assert_eq!(fake.read("sbatch.log"), "", "nothing was submitted");

    // A fresh submission removes what an earlier job left before the new job runs.
    fake.write("mode", "run");
    std::fs::write(&result, "left over").unwrap();
    let options = JobOptions {
        stale: vec![result.clone()],
        ..JobOptions::default()
    };
    let end = slurm.run_one_with(
        "t",
        sh("test ! -e \"$R\"").env("R", result.to_string_lossy()),
        options,
    );
    assert_eq!(end.outcome, Outcome::Succeeded, "the stale result was gone");
}

#[test]
fn a_job_ended_by_its_time_limit_is_a_timeout_even_when_its_status_came_first() {
    let fake = faulty("timeout");
    let slurm = SlurmExecutor::new(config(&fake, "limit"));
    // The command is killed by SIGTERM (143) and the status file is there before Slurm's
    // listing says TIMEOUT: the state decides.
    let spec = sh("exit 143").resources(parade::exec::ResourceHints {
        time: Some("0:01".into()),
        ..Default::default()
    });
    let end = slurm.run_one("slow", spec);
    assert_eq!(
        end.outcome,
        Outcome::Failed(Reason::Timeout(Duration::from_secs(1)))
    );
    assert_eq!(end.files.unwrap().read_status(), Some(143));
    // A command that fails with 143 by itself stays an exit status.
    fake.write("mode", "run");
    let end = slurm.run_one("fails", sh("exit 143"));
    assert_eq!(end.outcome, Outcome::Failed(Reason::Exit(143)));
}

#[test]
fn an_old_job_writing_its_status_late_does_not_touch_the_new_job() {
    let fake = faulty("hold");
    let first = engine_for(&fake, "late");
    let t = first.add(task("sleep 100")).unwrap();
    first.want([t]).unwrap();
    wait_for("the first job submitted", || {
        fake.read("sbatch.log").lines().count() == 1
    });
    first.stop();
    assert_eq!(first.wait([t]).unwrap()[0].state, TaskState::Cancelled);
    // A new run submits the same task; its job ends (status 0), and the cancelled job writes
    // its status (143) late, just after.
    let slurm = Arc::new(SlurmExecutor::new(config(&fake, "late")));
    let second = Engine::with_executor(slurm.clone());
    let t = second.add(task("sleep 100")).unwrap();
    second.want([t]).unwrap();
    wait_for("the second job submitted", || {
        fake.read("sbatch.log").lines().count() == 2
    });
    let name = job_name("late", "0");
    std::fs::write(slurm.files(&name, 101).status, "0\n").unwrap();
    std::fs::write(slurm.files(&name, 100).status, "143\n").unwrap();
    fake.write("jobs/101", &format!("101|{name}|COMPLETED|None|\n"));
    let st = second.wait([t]).unwrap().remove(0);
    assert_eq!(st.state, TaskState::Succeeded, "{st:?}");
}

#[test]
fn a_hanging_sbatch_is_killed_and_reported() {
    let fake = faulty("run");
    fake.write("sbatch.hang", "");
    let cfg = config(&fake, "hang")
        .retries(1, Duration::from_millis(10))
        .command_timeout(Duration::from_millis(300));
    let slurm = SlurmExecutor::new(cfg);
    let began = std::time::Instant::now();
    let end = slurm.run_one("t", sh("true"));
    let why = format!("{:?}", end.outcome);
    assert!(why.contains("no answer within"), "{why}");
    assert!(
        began.elapsed() < Duration::from_secs(25),
        "the hanging calls were not waited out"
    );
    assert_eq!(slurm.stats().sbatch, 2, "tried once more");
    for pid in fake.read("sbatch.pids").lines() {
        let alive = Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "sbatch {pid} was left running");
    }
}

#[test]
fn a_transient_sbatch_failure_is_retried() {
    let fake = faulty("run");
    fake.write("sbatch.flaky", "2");
    let slurm = SlurmExecutor::new(config(&fake, "retry"));
    let end = slurm.run_one("t", sh("echo ok"));
    assert_eq!(end.outcome, Outcome::Succeeded, "{end:?}");
    assert_eq!(slurm.stats().sbatch, 3);
}

#[test]
fn a_job_on_a_named_cluster_is_polled_and_cancelled_there() {
    let fake = faulty("hold");
    fake.write("cluster", "west");
    let engine = engine_for(&fake, "multi");
    let st = run_one(
        &engine,
        task("sleep 100").timeout(Duration::from_millis(300)),
    );
    assert_eq!(st.reason, Some(Reason::Timeout(Duration::from_millis(300))));
    let squeue = fake.read("squeue.log");
    assert!(squeue.contains("--clusters=west"), "{squeue}");
    let scancel = fake.read("scancel.log");
    assert_eq!(scancel.trim(), "--clusters=west 100");
}

#[test]
fn scontrol_listing_several_jobs_is_read_job_by_job() {
    // squeue leaves the job out, so scontrol is asked; it answers with another job's record
    // (still running) before the one asked about.
    let fake = faulty("hold");
    fake.write("squeue.hide", "100\n");
    fake.write("jobs/7", "7|other|RUNNING|None|\n");
    let slurm = Arc::new(SlurmExecutor::new(config(&fake, "show")));
    let (tx, rx) = crossbeam_channel::bounded(1);
    let runner = slurm.clone();
    std::thread::spawn(move || {
        let _ = tx.send(runner.run_one("t", sh("exit 4")));
    });
    wait_for("the job submitted", || fake.path("jobs/100").exists());
    let name = job_name("show", "t");
    std::fs::write(slurm.files(&name, 100).status, "4\n").unwrap();
    fake.write("jobs/100", &format!("100|{name}|FAILED|NonZeroExitCode|\n"));
    let end = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the job ended (its own record was read, not the first one)");
    assert_eq!(end.outcome, Outcome::Failed(Reason::Exit(4)));
    assert!(fake.read("scontrol.log").contains("show job 100"));
}
