//! Tasks in worker mode on the Slurm executor, against a real cluster: flow procs whose
//! results, errors and calls cross back from Slurm jobs, and a worker job with its own
//! resources. This test binary is its own worker program: its `main` serves workers first (a
//! worker is started with `flow <log dir>` or `registry` as arguments).
//!
//! With no cluster answering (`scripts/slurm-up.sh --check` fails, e.g. no `sinfo`), the tests
//! are reported as NOT run, and the binary passes with every test ignored.

mod common;
#[path = "common/hosts.rs"]
mod hosts;
#[path = "common/squares.rs"]
mod squares;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use parade::engine::{Engine, TaskSpec, TaskState};
use parade::exec::Inline;
use parade::exec::ResourceHints;
use parade::exec::process::{Done, Registry, WORKER_SOCKET_ENV, WorkerCall, WorkerHost, WorkerJob};
use parade::exec::slurm::{SlurmConfig, SlurmExecutor};
use parade::flow::{Flow, FlowOptions, ProcError};
use serde_json::{Value, json};

const TESTS: &[(&str, common::WorkTest)] = common::work_tests![
    flow_procs_run_as_slurm_jobs,
    worker_jobs_get_their_resources,
    flow_procs_on_other_nodes_call_back_over_tcp,
];

/// A run id no earlier test run used.
fn run_id(test: &str) -> String {
    common::unique_run_id("w", test)
}

fn config(work: &Path, test: &str, worker_args: &[&str]) -> SlurmConfig {
    SlurmConfig::new(work.join("slurm"))
        .run_id(run_id(test))
        .poll_interval(Duration::from_millis(200))
        .worker_program(
            std::env::current_exe().unwrap(),
            worker_args.iter().map(ToString::to_string).collect(),
        )
}

/// The procs of the flow test, defined the same way in the parent and in every worker.
fn define(flow: &Flow) {
    squares::square(flow);
    squares::sum(flow, 2, || std::env::var("SLURM_JOB_ID").is_ok());
    hosts::define(flow);
    flow.proc("fails", |_| -> Result<(), ProcError> {
        Err(ProcError::failed("failed on purpose"))
    })
    .add()
    .unwrap();
}

/// The address of this machine on the test cluster's bridge (scripts/slurm-up.sh --nodes 3).
const BRIDGE_HOST: &str = "10.199.77.1";

fn flow_procs_on_other_nodes_call_back_over_tcp(work: &Path) {
    let sinfo = Command::new("sinfo")
        .args(["--noheader", "--Node", "--format=%N"])
        .output()
        .unwrap();
    let nodes = String::from_utf8_lossy(&sinfo.stdout).to_string();
    assert!(
        ["node1", "node2", "node3"]
            .iter()
            .all(|n| nodes.contains(n)),
        "needs the 3-node cluster (scripts/slurm-up.sh --nodes 3); sinfo lists {nodes}"
    );
    let logs = work.join("logs");
    let cfg = config(work, "tcp", &["flow", &logs.to_string_lossy()])
        .worker_listen(BRIDGE_HOST.parse().unwrap())
        .sbatch_arg("--exclude=node1");
    let slurm = Arc::new(SlurmExecutor::new(cfg));
    let flow =
        Flow::with_executor(slurm.clone(), FlowOptions::new().parallel(4).log_dir(&logs)).unwrap();
    define(&flow);
    flow.run("hosts").unwrap();
    flow.wait_all().unwrap();
    // The proc and those it started ran on node2 or node3 (never here), and their results
    // crossed back over TCP to the parent and, through it, to the proc that waited for them.
    let (host, got): (String, Vec<(u64, String)>) = flow.result("hosts").unwrap();
    let remote = |h: &str| h == "node2" || h == "node3";
    assert!(remote(&host), "the proc ran on {host}");
    assert_eq!(got.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(got.iter().all(|(_, h)| remote(h)), "{got:?}");
    // The proc, then its three procs: one job each, or fewer jobs as they share their shape
    // (the three procs started together become one job array).
    let sbatch = slurm.stats().sbatch;
    assert!((2..=4).contains(&sbatch), "{:?}", slurm.stats());
    // No socket file, and the secret file is readable by the user only.
    let files: Vec<PathBuf> = std::fs::read_dir(work.join("slurm"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        !files
            .iter()
            .any(|f| f.extension().is_some_and(|x| x == "sock"))
    );
    let secret = files
        .iter()
        .find(|f| f.to_string_lossy().contains(".worker-secret-"))
        .expect("a secret file");
    assert_eq!(
        std::fs::metadata(secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

fn flow_procs_run_as_slurm_jobs(work: &Path) {
    let logs = work.join("logs");
    let cfg = config(work, "flow", &["flow", &logs.to_string_lossy()]);
    let slurm = Arc::new(SlurmExecutor::new(cfg));
    let options = FlowOptions::new().parallel(4).log_dir(&logs);
    let flow = Flow::with_executor(slurm.clone(), options).unwrap();
    define(&flow);
    flow.set_param("factor", 10).unwrap();
    flow.run("sum").unwrap();
    flow.run("fails").unwrap();
    assert!(flow.wait_all().is_err());
    // Each proc ran as a Slurm job of its own, and its result and calls crossed back.
    let (sum, in_slurm): (u64, bool) = flow.result("sum").unwrap();
    assert_eq!(sum, 50);
    assert!(in_slurm, "the proc did not run in a Slurm job");
    assert_eq!(flow.state("square::2").unwrap(), TaskState::Succeeded);
    assert!(slurm.stats().sbatch >= 2, "{:?}", slurm.stats());
    let status = flow.status("fails").unwrap();
    assert_eq!(status.state, TaskState::Failed);
    let reason = status.reason.unwrap_or_default();
    assert!(reason.contains("failed on purpose"), "{reason}");
    // The worker sockets are gone with their jobs.
    let sockets = std::fs::read_dir(work.join("slurm"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "sock"))
        .count();
    assert_eq!(sockets, 0);
}

/// Answers the worker's calls and keeps its report.
#[derive(Default)]
struct Keep {
    done: parking_lot::Mutex<Vec<Done>>,
}

impl WorkerHost for Keep {
    fn call(&self, method: &str, args: Value) -> Result<Value, String> {
        match method {
            "double" => Ok(json!(args.as_u64().ok_or("expected a number")? * 2)),
            other => Err(format!("no method `{other}`")),
        }
    }
    fn done(&self, done: &Done) {
        self.done.lock().push(done.clone());
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register("describe", |args, session| {
        let doubled = session.call("double", args.clone())?;
        let cpus = std::env::var("SLURM_CPUS_PER_TASK").unwrap_or_default();
        Ok(json!({ "doubled": doubled, "cpus": cpus }))
    });
    registry
}

fn worker_jobs_get_their_resources(work: &Path) {
    let slurm = SlurmExecutor::new(config(work, "resources", &["registry"]));
    let engine = Engine::with_executor(Arc::new(slurm));
    let host = Arc::new(Keep::default());
    let call = WorkerCall {
        task: "describe".into(),
        args: json!(21),
        host: Some(host.clone()),
        resources: Some(ResourceHints {
            cpus: Some(1),
            time: Some("5".into()),
            ..ResourceHints::default()
        }),
    };
    let missing = WorkerCall {
        task: "nope".into(),
        args: Value::Null,
        host: None,
        resources: None,
    };
    let ids = [
        engine
            .add(TaskSpec::from_job(WorkerJob::new(call)))
            .unwrap(),
        engine
            .add(TaskSpec::from_job(WorkerJob::new(missing)))
            .unwrap(),
    ];
    engine.want(ids).unwrap();
    let got = engine.wait(ids).unwrap();
    assert_eq!(got[0].state, TaskState::Succeeded, "{:?}", got[0]);
    assert_eq!(
        *host.done.lock(),
        [Done::Ok(json!({ "doubled": 42, "cpus": "1" }))]
    );
    assert_eq!(got[1].state, TaskState::Failed);
    let reason = got[1]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(reason.contains("no task named `nope`"), "{reason}");
}

/// Why the cluster cannot be used, or `None` when one answers.
fn no_cluster() -> Option<String> {
    let check = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/slurm-up.sh");
    match Command::new(&check).arg("--check").status() {
        Ok(s) if s.success() => None,
        Ok(_) => Some(format!(
            "no Slurm cluster answers (`{} --check` failed; start one with scripts/slurm-up.sh)",
            check.display()
        )),
        Err(e) => Some(format!("cannot run {}: {e}", check.display())),
    }
}

fn main() {
    parade::worker_entry();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os(WORKER_SOCKET_ENV).is_some() {
        // A worker: define what the parent defined; the requested task runs and the process
        // exits there.
        match args.first().map(String::as_str) {
            Some("registry") => registry().serve(),
            Some("flow") => {
                let options = FlowOptions::new().log_dir(&args[1]);
                define(&Flow::with_executor(Arc::new(Inline::new()), options).unwrap());
            }
            _ => {}
        }
        return;
    }
    if let Some(why) = no_cluster() {
        common::Harness::not_run("Slurm worker tests", &why, TESTS.len());
        return;
    }
    common::Harness::from_args().run_all(TESTS)
}
