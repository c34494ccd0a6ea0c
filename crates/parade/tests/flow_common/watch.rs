//! parproc's watch cases on `Flow::watch`, with real file edits: a change reruns the procs
//! it makes stale and their dependents, nothing else (unrelated procs, procs without inputs);
//! a touched but unchanged file reruns nothing; a burst is one round; changes to ignored files
//! start no round; a stop ends a running round with nothing left running. Edits are made when
//! the watch says it watches, and the cases wait for the watch's events, never for a time.
//! Every case runs inline, on threads and in worker processes (`flow_process`).

#![allow(unused_imports, clippy::wildcard_imports)]

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::flow_common::project::Project;
use crate::flow_common::*;
use parade::engine::TaskState::{self, Cancelled, Failed, Idle, Skipped, Succeeded, UpToDate};
use parade::flow::{Flow, FlowOptions, ProcError, WatchEvent, WatchStop};

/// What one watch round did: its number, the state of each name asked about, and the bodies
/// that ran (sorted).
type Round = (usize, Vec<TaskState>, Vec<String>);

/// A watch that gives up (and fails the case) if it has not stopped after a minute.
fn deadline(stop: &WatchStop) -> std::thread::JoinHandle<()> {
    let stop = stop.clone();
    std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(60);
        while !stop.is_stopped() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.stop();
    })
}

/// In a worker, false. In the parent: checks the watch ended well, stops it and the
/// [`deadline`] thread, and says true.
fn in_parent_ended(
    p: &Project,
    result: Result<(), parade::flow::FlowError>,
    stop: &WatchStop,
    guard: std::thread::JoinHandle<()>,
) -> bool {
    if p.in_worker() {
        return false;
    }
    result.unwrap();
    stop.stop();
    guard.join().unwrap();
    true
}

fn ran_sorted(log: &Log) -> Vec<String> {
    let mut ran = log.names();
    ran.sort();
    log.clear();
    ran
}

suite! {
both!(a_change_reruns_the_stale_procs_and_their_dependents_only, |flow| {
    let p = Project::new(&flow);
    p.write("src/b.txt", "b");
    let (a, b) = (p.text("src/a.txt"), p.text("src/b.txt"));
    let log = log();
    let stop = WatchStop::new();
    let guard = deadline(&stop);
    let names = ["gen", "use", "other", "lone", "idle", "skip"];
    let mut skip_reasons = Vec::new();
    let mut rounds: Vec<Round> = Vec::new();
    let mut changes: Vec<(Vec<PathBuf>, Vec<String>)> = Vec::new();
    let mut watching = 0;
    let watched = p.flow(FlowOptions::new());
    let result = watched
        .watch(|f: &Flow| {
            f.proc("gen", rec(&log)).inputs([a.as_str()]).add()?;
            f.proc("use", rec(&log)).deps(["gen"]).add()?;
            f.proc("other", rec(&log)).inputs([b.as_str()]).add()?;
            f.proc("lone", rec(&log)).add()?;
            // Reads the changed file, but no target wants it: it never starts.
            f.proc("idle", rec(&log)).inputs([a.as_str()]).add()?;
            let skip_log = log.clone();
            f.proc("skip", move |ctx| {
                skip_log.push(ctx.name());
                Err::<(), _>(ProcError::skipped("nothing to do"))
            })
            .add()
        })
        .targets(["use", "other", "lone", "skip"])
        .stop_with(stop.clone())
        .on_event(|e| match e {
            WatchEvent::Ran { round, flow } => {
                let states = names.iter().map(|n| flow.state(n).unwrap()).collect();
                skip_reasons.push(flow.status("skip").unwrap().reason.unwrap());
                rounds.push((*round, states, ran_sorted(&log)));
                if *round == 3 {
                    stop.stop();
                }
            }
            WatchEvent::Watching { .. } => {
                watching += 1;
                match watching {
                    1 => p.write("src/a.txt", "changed"),
                    // Same content: the stale proc is checked and stays up to date.
                    2 => p.write("src/b.txt", "b"),
                    _ => {}
                }
            }
            WatchEvent::Changed { files, rerun } => {
                changes.push((files.to_vec(), rerun.to_vec()));
            }
        })
        .run();
    if !in_parent_ended(&p, result, &stop, guard) {
        return;
    }
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(changes, [
        (vec![p.path("src/a.txt")], s(&["gen", "use"])),
        (vec![p.path("src/b.txt")], s(&["other"])),
    ]);
    assert_eq!(rounds, [
        (1, vec![Succeeded, Succeeded, Succeeded, Succeeded, Idle, Skipped], s(&["gen", "lone", "other", "skip", "use"])),
        (2, vec![Succeeded, Succeeded, UpToDate, UpToDate, Idle, Skipped], s(&["gen", "use"])),
        (3, vec![UpToDate, UpToDate, UpToDate, UpToDate, Idle, Skipped], vec![]),
    ]);
    // A kept skip skips again, for its own reason.
    assert_eq!(skip_reasons, ["skipped: nothing to do"; 3]);
});

both!(a_burst_of_changes_is_one_round_and_ignored_files_start_none, |flow| {
    let p = Project::new(&flow);
    p.write("src/b.txt", "b");
    let glob = p.text("src/*.txt");
    let ignore = p.text("src/skip*");
    let log = log();
    let stop = WatchStop::new();
    let guard = deadline(&stop);
    let mut events: Vec<String> = Vec::new();
    let mut watching = 0;
    // No store: the rounds share one in memory.
    let result = flow
        .watch(|f: &Flow| {
            f.proc("read", rec(&log))
                .inputs([glob.as_str()])
                .inputs_ignore([ignore.as_str()])
                .add()?;
            f.proc("after", rec(&log)).deps(["read"]).add()
        })
        .targets(["after"])
        .debounce(Duration::from_millis(500))
        .stop_with(stop.clone())
        .on_event(|e| match e {
            WatchEvent::Ran { round, .. } => {
                events.push(format!("ran {round}: {:?}", ran_sorted(&log)));
                if *round == 2 {
                    stop.stop();
                }
            }
            WatchEvent::Watching { .. } => {
                watching += 1;
                if watching == 1 {
                    p.write("src/skip.txt", "1");
                } else if watching == 2 {
                    for i in 0..5 {
                        p.write("src/a.txt", &format!("burst {i}"));
                    }
                    p.write("src/b.txt", "burst");
                }
            }
            WatchEvent::Changed { files, rerun } => {
                let files: Vec<String> = files
                    .iter()
                    .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
                    .collect();
                events.push(format!("changed {files:?}: {rerun:?}"));
            }
        })
        .run();
    if !in_parent_ended(&p, result, &stop, guard) {
        return;
    }
    assert_eq!(events, [
        r#"ran 1: ["after", "read"]"#,
        r#"changed ["skip.txt"]: []"#,
        r#"changed ["a.txt", "b.txt"]: ["read", "after"]"#,
        r#"ran 2: ["after", "read"]"#,
    ]);
});

both!(a_stop_ends_a_running_round_with_nothing_left_running, |flow| {
    let p = Project::new(&flow);
    let started = p.path("started");
    let ended = p.path("ended");
    let stop = WatchStop::new();
    let guard = deadline(&stop);
    if !p.in_worker() {
        // Stops once the slow proc runs (it says so in a file).
        let stop = stop.clone();
        let started = started.clone();
        std::thread::spawn(move || {
            while !started.exists() && !stop.is_stopped() {
                std::thread::sleep(Duration::from_millis(10));
            }
            stop.stop();
        });
    }
    let mut state = None;
    let (s, e) = (started.clone(), ended.clone());
    let result = flow
        .watch(move |f: &Flow| {
            let (s, e) = (s.clone(), e.clone());
            f.proc("slow", move |ctx| {
                std::fs::write(&s, std::process::id().to_string()).unwrap();
                // Threads see the cancel; a worker process is killed.
                while !ctx.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                std::fs::write(&e, "").unwrap();
                Err::<(), _>(ProcError::Stopped)
            })
            .add()
        })
        .targets(["slow"])
        .stop_with(stop.clone())
        .on_event(|e| {
            if let WatchEvent::Ran { flow, .. } = e {
                state = Some(flow.state("slow").unwrap());
            }
        })
        .run();
    if p.in_worker() {
        return;
    }
    result.unwrap();
    guard.join().unwrap();
    let state = state.expect("the round ended");
    assert!(matches!(state, Cancelled | Failed), "{state:?}");
    let pid: i32 = std::fs::read_to_string(&started).unwrap().parse().unwrap();
    if pid == i32::try_from(std::process::id()).unwrap() {
        // In this process: the body returned before the watch did.
        assert!(ended.exists(), "the proc was still running when the watch returned");
    } else {
        // In a worker: the worker is gone.
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
        assert!(!alive, "the worker {pid} of the stopped proc is still running");
    }
});
}
