//! The Slurm executor against fake `sbatch`/`squeue`/`scontrol`/`scancel` scripts: faults a
//! real cluster cannot be asked for (a transient failure, a vanished job, a refusal). Runs
//! everywhere; no Slurm needed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parade::engine::{Engine, Event, Outcome, Reason, Stream, TaskSpec, TaskState, TaskStatus};
use parade::exec::slurm::{SlurmBatch, SlurmConfig, SlurmExecutor, job_name};
use parade::exec::{CommandJob, CommandSpec};

/// A directory of fake Slurm commands. Jobs live as `jobs/<id>` files holding one squeue line
/// (`id|name|STATE|reason`). The file `mode` says what sbatch does: `run` (default) runs the
/// batch script at once and lists the job COMPLETED; `hold` lists it RUNNING and runs nothing;
/// `hidden` runs the script but never lists the job; `vanish` lists it RUNNING once, then
/// forgets it.
struct Fake {
    dir: tempfile::TempDir,
}

const SBATCH: &str = r#"#!/bin/sh
D=$(dirname "$0")
echo "$@" >> "$D/sbatch.log"
if [ -f "$D/sbatch.refuse" ]; then cat "$D/sbatch.refuse" >&2; exit 1; fi
n=$(cat "$D/next" 2>/dev/null || echo 100); echo $((n+1)) > "$D/next"
for a; do
  case $a in --job-name=*) name=${a#--job-name=};; --output=*) out=${a#--output=};; --error=*) err=${a#--error=};; esac
  script=$a
done
mode=$(cat "$D/mode" 2>/dev/null || echo run)
case $mode in
  run) sh "$script" >"$out" 2>"$err"; echo "$n|$name|COMPLETED|None" > "$D/jobs/$n";;
  hidden) sh "$script" >"$out" 2>"$err";;
  *) echo "$n|$name|RUNNING|None" > "$D/jobs/$n";;
esac
echo "$n"
"#;

const SQUEUE: &str = r#"#!/bin/sh
D=$(dirname "$0")
c=$(cat "$D/squeue.count" 2>/dev/null || echo 0); echo $((c+1)) > "$D/squeue.count"
if [ -f "$D/squeue.fail" ] && [ "$c" -lt "$(cat "$D/squeue.fail")" ]; then
  echo "squeue: error: slurm_load_jobs error: Socket timed out on send/recv operation" >&2; exit 1
fi
cat "$D"/jobs/* 2>/dev/null
if [ "$(cat "$D/mode" 2>/dev/null)" = vanish ]; then rm -f "$D"/jobs/*; fi
exit 0
"#;

const SCONTROL: &str = r#"#!/bin/sh
D=$(dirname "$0")
echo "$@" >> "$D/scontrol.log"
if [ -f "$D/jobs/$3" ]; then
  IFS='|' read -r i n s r < "$D/jobs/$3"
  echo "JobId=$i JobName=$n"; echo "   JobState=$s Reason=$r Dependency=(null)"
else
  echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1
fi
"#;

const SCANCEL: &str = r#"#!/bin/sh
D=$(dirname "$0")
echo "$@" >> "$D/scancel.log"
for id; do
  if [ -f "$D/jobs/$id" ]; then
    IFS='|' read -r i n s r < "$D/jobs/$id"; echo "$i|$n|CANCELLED|None" > "$D/jobs/$id"
  fi
done
"#;

impl Fake {
    fn new(mode: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("sbatch", SBATCH),
            ("squeue", SQUEUE),
            ("scontrol", SCONTROL),
            ("scancel", SCANCEL),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::create_dir(dir.path().join("jobs")).unwrap();
        std::fs::write(dir.path().join("mode"), mode).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    fn config(&self, run: &str) -> SlurmConfig {
        SlurmConfig::new(self.path("work"))
            .bin_dir(self.dir.path())
            .run_id(run)
            .poll_interval(Duration::from_millis(50))
            .retries(3, Duration::from_millis(10))
    }

    fn engine(&self, run: &str) -> Engine {
        Engine::with_executor(Arc::new(SlurmExecutor::new(self.config(run))))
    }
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::shell(&["sh", "-c"], script)
}

fn run_one(engine: &Engine, spec: TaskSpec) -> TaskStatus {
    let t = engine.add(spec).unwrap();
    engine.want([t]).unwrap();
    engine.wait([t]).unwrap().remove(0)
}

fn task(script: &str) -> TaskSpec {
    TaskSpec::from_job(CommandJob::new(sh(script)))
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..600 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn exit_status_and_output_come_from_the_job() {
    let fake = Fake::new("run");
    let engine = fake.engine("out");
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
    let fake = Fake::new("run");
    let engine = fake.engine("res");
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
    let fake = Fake::new("hold");
    fake.write("squeue.fail", "2");
    let slurm = Arc::new(SlurmExecutor::new(fake.config("flaky")));
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
    let files = slurm.files(&job_name("flaky", "0"));
    std::fs::write(&files.status, "0\n").unwrap();
    std::fs::write(&job, line).unwrap();
    let st = engine.wait([t]).unwrap().remove(0);
    assert_eq!(st.state, TaskState::Succeeded, "{st:?}");
    assert!(slurm.stats().squeue >= 3);
}

#[test]
fn squeue_failing_for_good_ends_the_jobs_as_lost() {
    let fake = Fake::new("hold");
    fake.write("squeue.fail", "1000000");
    let cfg = fake
        .config("down")
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
    let fake = Fake::new("hidden");
    let engine = fake.engine("hidden");
    assert_eq!(run_one(&engine, task("exit 0")).state, TaskState::Succeeded);
    assert_eq!(
        run_one(&engine, task("exit 5")).reason,
        Some(Reason::Exit(5))
    );
}

#[test]
fn a_job_that_vanishes_is_lost() {
    let fake = Fake::new("vanish");
    let engine = fake.engine("vanish");
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
    let fake = Fake::new("run");
    fake.write(
        "sbatch.refuse",
        "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified",
    );
    let engine = fake.engine("refused");
    let st = run_one(&engine, task("true"));
    assert_eq!(st.state, TaskState::Failed);
    let why = st.reason.unwrap().to_string();
    assert!(why.contains("sbatch refused task #0"), "{why}");
    assert!(why.contains("Invalid account"), "{why}");
}

#[test]
fn a_job_without_a_command_fails_clearly() {
    let fake = Fake::new("run");
    let engine = fake.engine("nocmd");
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
    let fake = Fake::new("hold");
    let engine = fake.engine("stop");
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
    let fake = Fake::new("hold");
    fake.write("jobs/55", "55|parade-again-0|PENDING|Priority\n");
    let slurm = Arc::new(SlurmExecutor::new(fake.config("again")));
    let engine = Engine::with_executor(slurm.clone());
    let t = engine.add(task("true")).unwrap();
    engine.want([t]).unwrap();
    wait_for("a poll", || {
        fake.read("squeue.count").trim().parse::<u32>().unwrap_or(0) >= 2
    });
    let files = slurm.files(&job_name("again", "0"));
    std::fs::create_dir_all(files.status.parent().unwrap()).unwrap();
    std::fs::write(&files.status, "0\n").unwrap();
    fake.write("jobs/55", "55|parade-again-0|COMPLETED|None\n");
    assert_eq!(engine.wait([t]).unwrap()[0].state, TaskState::Succeeded);
    assert_eq!(fake.read("sbatch.log"), "", "nothing was submitted");
}

#[test]
fn a_batch_hands_dependencies_to_slurm() {
    let fake = Fake::new("run");
    let slurm = SlurmExecutor::new(fake.config("batch"));
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
