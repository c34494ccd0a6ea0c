//! The flow cases of `flow_common` (every `both!` case) with the procs in worker processes.
//! This test binary is its own worker program: its `main` serves workers first. A worker is
//! started with the case's name and the case's log directory as arguments; it runs the case
//! again, and its flow runs the requested proc when the case defines it.

#[macro_use]
mod flow_common;

#[path = "flow_common/deps.rs"]
mod deps;
#[path = "flow_common/lifecycle.rs"]
mod lifecycle;
#[path = "flow_common/names.rs"]
mod names;
#[path = "flow_common/rdeps.rs"]
mod rdeps;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parade::exec::Inline;
use parade::exec::process::{ProcessExecutor, WORKER_SOCKET_ENV};
use parade::flow::{Flow, FlowOptions};

type Case = fn(Flow, bool);

fn cases() -> Vec<(String, Case)> {
    let files: [(&str, &[(&str, Case)]); 4] = [
        ("lifecycle", lifecycle::PROCESS),
        ("deps", deps::PROCESS),
        ("names", names::PROCESS),
        ("rdeps", rdeps::PROCESS),
    ];
    files
        .iter()
        .flat_map(|(file, cases)| {
            cases
                .iter()
                .map(move |(name, case)| (format!("{file}::{name}"), *case))
        })
        .collect()
}

fn main() {
    parade::worker_entry();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os(WORKER_SOCKET_ENV).is_some() {
        // A worker: run the case again; its flow serves the requested proc and exits.
        let (name, dir) = (&args[0], &args[1]);
        let (_, case) = cases().into_iter().find(|(n, _)| n == name).unwrap();
        flow_common::set_log_dir(Some(PathBuf::from(dir)));
        let flow = Flow::with_executor(Arc::new(Inline::new()), FlowOptions::new()).unwrap();
        case(flow, false);
        return;
    }
    let filter: Option<&String> = args.iter().find(|a| !a.starts_with('-'));
    let (mut passed, mut failed) = (0, 0);
    for (name, case) in cases() {
        if filter.is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        flow_common::set_log_dir(Some(dir.path().to_path_buf()));
        let executor = ProcessExecutor::with_program(
            4,
            std::env::current_exe().unwrap(),
            vec![name.clone(), dir.path().to_string_lossy().into_owned()],
        )
        .unwrap()
        .grace(Duration::from_millis(500));
        let flow = Flow::with_executor(Arc::new(executor), FlowOptions::new().parallel(4)).unwrap();
        if catch_unwind(AssertUnwindSafe(|| case(flow, false))).is_ok() {
            println!("test {name}::process ... ok");
            passed += 1;
        } else {
            println!("test {name}::process ... FAILED");
            failed += 1;
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out"
    );
    std::process::exit(i32::from(failed > 0));
}
