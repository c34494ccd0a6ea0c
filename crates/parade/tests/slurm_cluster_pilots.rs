//! Pilot jobs on the real 3-node test cluster (`scripts/slurm-up.sh --nodes 3`): commands and
//! flow procs pulled by pilots on the nodes, a pilot killed (as its node would be) and one
//! cancelled under their tasks, a connection with a wrong secret refused, and nothing left in
//! `squeue`. This test binary is its own pilot and worker program: its `main` calls
//! `parade::worker_entry()` first. With no cluster answering, the tests are reported as NOT run.

mod common;
#[path = "common/hosts.rs"]
mod hosts;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hosts::{define, hostname};
use parade::engine::{Engine, Reason, TaskId, TaskSpec, TaskState};
use parade::exec::slurm::{PilotConfig, SlurmConfig, SlurmExecutor};
use parade::exec::{CommandJob, CommandSpec, ResourceHints};
use parade::flow::{Flow, FlowOptions};

/// The address of this machine on the test cluster's bridge.
const BRIDGE_HOST: &str = "10.199.77.1";

const NODES: [&str; 3] = ["node1", "node2", "node3"];

/// A run id no earlier test run used.
fn run_id(test: &str) -> String {
    common::unique_run_id("p", test)
}

fn config(work: &Path, run: &str, pilots: PilotConfig) -> SlurmConfig {
    let logs = work.join("logs");
    SlurmConfig::new(work.join("slurm"))
        .run_id(run)
        .poll_interval(Duration::from_millis(200))
        .worker_listen(BRIDGE_HOST.parse().unwrap())
        .worker_program(
            std::env::current_exe().unwrap(),
            vec!["flow".into(), logs.to_string_lossy().into_owned()],
        )
        .pilots(pilots)
}

fn cpus(n: u32) -> ResourceHints {
    ResourceHints {
        cpus: Some(n),
        time: Some("10".into()),
        ..ResourceHints::default()
    }
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::shell(&["sh", "-c"], script)
}

/// The run's jobs `squeue` still shows as pending or running.
fn queued(run: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["--noheader", "--format=%j"])
        .output()
        .expect("squeue runs");
    let prefix = format!("parade-{run}-");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..600 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn command(engine: &Engine, script: &str, dir: &Path) -> TaskId {
    engine
        .add(TaskSpec::from_job(CommandJob::new(sh(script).cwd(dir))))
        .unwrap()
}

fn pilots_on_the_nodes_run_commands_and_flow_procs(work: &Path) {
    let run = run_id("nodes");
    let out = work.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let slurm = Arc::new(SlurmExecutor::new(config(
        work,
        &run,
        PilotConfig::new(3).resources(cpus(1)),
    )));
    let engine = Engine::with_executor(slurm.clone());
    let ids: Vec<TaskId> = (0..30)
        .map(|i| command(&engine, &format!("hostname > {i}"), &out))
        .collect();
    engine.want(ids.iter().copied()).unwrap();
    let ends = engine.wait(ids.iter().copied()).unwrap();
    assert!(
        ends.iter().all(|s| s.state == TaskState::Succeeded),
        "{ends:?}"
    );
    for i in 0..30 {
        let host = std::fs::read_to_string(out.join(i.to_string())).unwrap();
        assert!(NODES.contains(&host.trim()), "task {i} ran on {host}");
    }
    // Flow procs on the same pilots: each starts a worker on its pilot's node that calls back.
    let flow = Flow::with_executor(
        slurm.clone(),
        FlowOptions::new().parallel(4).log_dir(work.join("logs")),
    )
    .unwrap();
    define(&flow);
    flow.run("hosts").unwrap();
    flow.wait_all().unwrap();
    let (host, got): (String, Vec<(u64, String)>) = flow.result("hosts").unwrap();
    assert!(NODES.contains(&host.as_str()), "the proc ran on {host}");
    assert!(
        got.iter().all(|(_, h)| NODES.contains(&h.as_str())),
        "{got:?}"
    );
    // Thirty-four tasks, three pilot jobs at most.
    let stats = slurm.stats();
    assert!((1..=3).contains(&stats.sbatch), "{stats:?}");
    drop(flow);
    drop(engine);
    drop(slurm);
    wait_for("no pilot job left in squeue", || queued(&run).is_empty());
}

fn a_lost_pilot_costs_only_its_tasks_and_nothing_is_left(work: &Path) {
    let run = run_id("lost");
    let out = work.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let slurm = Arc::new(SlurmExecutor::new(config(
        work,
        &run,
        PilotConfig::new(2).resources(cpus(1)),
    )));
    let engine = Engine::with_executor(slurm.clone());
    // One long task per pilot (one CPU each); each says which pilot job runs it, the pilot's
    // pid (its parent) and its own process group.
    let long = |n: u32| {
        command(
            &engine,
            &format!(
                "echo $SLURM_JOB_ID $PPID $$ > long{n}.tmp; mv long{n}.tmp long{n}; exec sleep 301.5"
            ),
            &out,
        )
    };
    let (a, b) = (long(1), long(2));
    engine.want([a, b]).unwrap();
    wait_for("both long tasks to start", || {
        out.join("long1").exists() && out.join("long2").exists()
    });
    let read = |f: &str| -> Vec<String> {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        text.split_whitespace().map(str::to_owned).collect()
    };
    let (first_task, second_task) = (read("long1"), read("long2"));
    let (job1, job2) = (first_task[0].clone(), second_task[0].clone());
    assert_ne!(job1, job2);
    // The first pilot dies as on a failed node: it and its task, SIGKILL, no goodbye.
    let group = format!("-{}", first_task[2]);
    let killed = Command::new("kill")
        .args(["-9", &first_task[1], "--", &group])
        .status()
        .unwrap();
    assert!(killed.success());
    let first = &engine.wait([a]).unwrap()[0];
    let why = first
        .reason
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(matches!(first.reason, Some(Reason::Lost(_))), "{first:?}");
    assert!(why.contains(&format!("lost with pilot {job1}")), "{why}");
    // ...and the run goes on: a new task runs (on a replacement pilot) while the other runs.
    let quick = command(&engine, "echo $SLURM_JOB_ID > quick", &out);
    engine.want([quick]).unwrap();
    assert_eq!(engine.wait([quick]).unwrap()[0].state, TaskState::Succeeded);
    // The second pilot is cancelled under its task.
    let cancelled = Command::new("scancel").arg(&job2).status().unwrap();
    assert!(cancelled.success());
    let second = &engine.wait([b]).unwrap()[0];
    let why = second
        .reason
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(why.contains(&format!("lost with pilot {job2}")), "{why}");
    drop(engine);
    drop(slurm);
    wait_for("no pilot job left in squeue", || queued(&run).is_empty());
    wait_for("the long tasks' processes to end", || {
        !common::alive("sleep 301.5")
    });
}

fn a_wrong_secret_is_refused(work: &Path) {
    let run = run_id("secret");
    let out = work.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let slurm = Arc::new(SlurmExecutor::new(config(
        work,
        &run,
        PilotConfig::new(1).resources(cpus(1)),
    )));
    let engine = Engine::with_executor(slurm.clone());
    let first = command(&engine, "true", &out);
    engine.want([first]).unwrap();
    assert_eq!(engine.wait([first]).unwrap()[0].state, TaskState::Succeeded);
    // The pilot's address, from its batch script.
    let script = std::fs::read_dir(work.join("slurm"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "sh"))
        .unwrap();
    let text = std::fs::read_to_string(script).unwrap();
    let addr = text
        .split("PARADE_PILOT=tcp://")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    // An intruder on node2 that does not know the secret gets nothing and is closed.
    let plain = SlurmExecutor::new(
        SlurmConfig::new(work.join("intruder"))
            .run_id(run_id("intruder"))
            .poll_interval(Duration::from_millis(200)),
    );
    let mut spec = CommandSpec::new(
        std::env::current_exe().unwrap().to_string_lossy(),
        ["intruder", addr.as_str()],
    );
    spec.resources.extra = vec!["--nodelist=node2".into()];
    let end = plain.run_one("intruder", spec);
    let said = std::fs::read_to_string(&end.files.as_ref().unwrap().stdout).unwrap();
    assert_eq!(said.trim(), "node2 refused", "{end:?}");
    assert_eq!(slurm.pilots_connected(), 1, "the intruder is no pilot");
    let after = command(&engine, "true", &out);
    engine.want([after]).unwrap();
    assert_eq!(engine.wait([after]).unwrap()[0].state, TaskState::Succeeded);
    drop(engine);
    drop(slurm);
    wait_for("no pilot job left in squeue", || queued(&run).is_empty());
}

/// The intruder: connects to `addr`, sends a wrong secret and a pilot's greeting, and says
/// whether the parent answered.
fn intruder(addr: &str) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let _ = s.write_all(b"not-the-secret\n{\"hello\":{\"job\":\"1\",\"host\":\"x\"}}\n");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 64];
    let answer = match s.read(&mut buf) {
        Ok(0) | Err(_) => "refused",
        Ok(_) => "answered",
    };
    println!("{} {answer}", hostname());
}

/// Why the cluster cannot be used, or `None` when the 3-node one answers.
fn no_cluster() -> Option<String> {
    let check = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/slurm-up.sh");
    match Command::new(&check).arg("--check").status() {
        Ok(s) if s.success() => {}
        Ok(_) => {
            return Some(
                "no Slurm cluster answers (start one with scripts/slurm-up.sh --nodes 3)".into(),
            );
        }
        Err(e) => return Some(format!("cannot run {}: {e}", check.display())),
    }
    let sinfo = Command::new("sinfo")
        .args(["--noheader", "--Node", "--format=%N"])
        .output()
        .ok()?;
    let nodes = String::from_utf8_lossy(&sinfo.stdout).to_string();
    (!NODES.iter().all(|n| nodes.contains(n))).then(|| {
        format!("needs the 3-node cluster (scripts/slurm-up.sh --nodes 3); sinfo lists {nodes}")
    })
}

const TESTS: &[(&str, common::WorkTest)] = common::work_tests![
    pilots_on_the_nodes_run_commands_and_flow_procs,
    a_lost_pilot_costs_only_its_tasks_and_nothing_is_left,
    a_wrong_secret_is_refused,
];

fn main() {
    parade::worker_entry();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if common::served_as_worker(&args, define) {
        return;
    }
    if args.first().map(String::as_str) == Some("intruder") {
        intruder(&args[1]);
        return;
    }
    if let Some(why) = no_cluster() {
        common::Harness::not_run("Slurm pilot cluster tests", &why, TESTS.len());
        return;
    }
    // Each test's work directory is on the cluster's shared file system (jobs write there).
    common::Harness::from_args().run_all(TESTS)
}
