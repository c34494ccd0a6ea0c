//! `parade run --watch`: run, then watch the sources of the wanted tasks; a change reruns the
//! tasks it makes stale and their dependents (nothing else), after a quiet period that
//! coalesces bursts; Ctrl-C ends it, with the current run stopped cleanly.
//!
//! Each run is the same `parade run` as a child process (this program without `--watch`);
//! reruns add `--resume`, so a task that is not stale (and does not depend on one) is reused
//! even if it has no sources. What each run does is its own business and its own output; this
//! module only says what changed and what reruns, and passes Ctrl-C on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use parade::store::{DEBOUNCE, FileWatch, Staleness};

use crate::runner::Plan;
use crate::signals;
use crate::taskfile::TaskFile;
use crate::uptodate::sources_of;

/// What a change makes stale (the library's [`Staleness`], shared with `Flow::watch`), and the
/// watch on every source of the planned tasks.
fn watched(
    file: &TaskFile,
    plan: &Plan,
    params: &BTreeMap<String, String>,
) -> (Staleness, FileWatch) {
    let mut staleness = Staleness::new();
    for p in &plan.tasks {
        let (files, globs) = sources_of(file, &p.name, params);
        let deps = p.deps.iter().map(ToString::to_string);
        if let Err(e) = staleness.task(&p.name, files, globs, [], deps) {
            eprintln!("parade: cannot watch the sources of {}: {e}", p.name);
            std::process::exit(2);
        }
    }
    let watch = staleness.watch().unwrap_or_else(|e| {
        eprintln!("parade: cannot watch the sources: {e}");
        std::process::exit(2);
    });
    (staleness, watch)
}

/// Runs `parade run` (this program's arguments without `--watch`) again and again, each time
/// the sources change, until Ctrl-C. `plan` is what the targets want.
pub fn run(file: &TaskFile, plan: &Plan, params: &BTreeMap<String, String>) -> ExitCode {
    let child: Arc<Mutex<Option<u32>>> = Arc::default();
    let interrupted = {
        let child = child.clone();
        signals::install(move || {
            if let Some(pid) = child.lock().ok().and_then(|c| *c) {
                interrupt(pid);
            }
        })
    };
    let interrupted = match interrupted {
        Ok(i) => i,
        Err(e) => {
            eprintln!("parade: cannot install signal handlers: {e}");
            return ExitCode::from(2);
        }
    };
    let args: Vec<std::ffi::OsString> = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--watch")
        .collect();
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("parade"));
    let base = std::path::absolute(file.dir()).unwrap_or_else(|_| file.dir());
    let mut resume = false;
    loop {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(&args);
        if resume {
            cmd.arg("--resume");
        }
        match cmd.spawn() {
            Ok(mut c) => {
                if let Ok(mut slot) = child.lock() {
                    *slot = Some(c.id());
                }
                let _ = c.wait();
                if let Ok(mut slot) = child.lock() {
                    *slot = None;
                }
            }
            Err(e) => {
                eprintln!("parade: cannot run {}: {e}", exe.display());
                return ExitCode::from(2);
            }
        }
        if interrupted.get() {
            break;
        }
        // Watched from here: what the run itself wrote (outputs that are other tasks' sources)
        // is not a change. The sources are looked up again: a glob may match new files now.
        let (staleness, watch) = watched(file, plan, params);
        eprintln!(
            "parade: watching the sources of {} tasks{} (Ctrl-C to stop)",
            plan.tasks.len(),
            if watch.polling() { ", by polling" } else { "" }
        );
        let Some(changed) = watch.next(DEBOUNCE, &|| interrupted.get()) else {
            break;
        };
        let stale = staleness.stale(&changed);
        let names: Vec<String> = changed.iter().map(|p| shown(p, &base)).collect();
        eprintln!(
            "parade: changed: {}; rerunning: {}",
            names.join(", "),
            if stale.is_empty() {
                "nothing".to_owned()
            } else {
                stale.join(", ")
            }
        );
        resume = true;
    }
    eprintln!("parade: watch stopped");
    ExitCode::from(signals::INTERRUPTED)
}

fn interrupt(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGINT,
        );
    }
}

fn shown(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
