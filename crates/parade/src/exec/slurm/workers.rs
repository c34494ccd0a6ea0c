//! Tasks in worker mode on Slurm: a task whose job is a
//! [`WorkerCall`](crate::exec::process::WorkerCall) (a flow proc, a named graph task, a
//! [`WorkerJob`](crate::exec::process::WorkerJob)) becomes a Slurm job that starts the worker
//! program with [`WORKER_SOCKET_ENV`] naming where this process listens: a Unix socket (jobs
//! on this machine), or, with [`SlurmConfig::worker_listen`](super::SlurmConfig::worker_listen),
//! a TCP port that every connection must open with the run's secret (jobs on other nodes). A thread per
//! such job serves the worker with the process executor's code (the task, its calls, its
//! report); when the polling thread sees the job end, it hands that thread how the job ended,
//! and the thread ends the task: from the worker's report, else from the job's exit status or
//! Slurm state. A worker that went away without its report (its connection closed, and its
//! job failed) is lost, and the reason says so.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use crossbeam_channel::bounded;

use super::config::absolute;
use super::shared::Shared;
use super::sink::{Ended, Sink, WorkerSink, finish_task};
use crate::engine::{Outcome, Reason, Runnable};
use crate::exec::CommandSpec;
use crate::exec::process::{
    Listener, WORKER_SOCKET_ENV, WorkerCall, serve, worker_command, worker_outcome,
};
use crate::exec::thread_cache::ThreadCache;

/// Opens the socket of the job `name` that runs `call` for `runnable`, and starts the thread
/// serving it; returns the job's command and where to report its end, or the task back with
/// why it cannot run.
pub(crate) fn start(
    shared: &Shared,
    name: &str,
    call: WorkerCall,
    runnable: Runnable,
) -> Result<(CommandSpec, Sink), (Runnable, String)> {
    let dir = shared
        .cfg
        .worker_socket_dir
        .as_deref()
        .map_or_else(|| shared.work_dir.clone(), absolute);
    let (program, args) = match &shared.cfg.worker_program {
        Some((program, args)) => (program.clone(), args.clone()),
        None => match std::env::current_exe() {
            Ok(program) => (program, std::env::args().skip(1).collect()),
            Err(e) => return Err((runnable, format!("cannot find this program's path: {e}"))),
        },
    };
    let listener = match shared.tcp_ip() {
        Some(ip) => shared.secret().and_then(|secret| Listener::tcp(ip, secret)),
        None => std::fs::create_dir_all(&dir)
            .map_err(|e| {
                format!(
                    "cannot make the worker socket directory {}: {e}",
                    dir.display()
                )
            })
            .and_then(|()| Listener::unix(&dir.join(format!("{name}.sock")))),
    };
    let listener = match listener {
        Ok(l) => l,
        Err(why) => return Err((runnable, why)),
    };
    let mut spec = worker_command(&program, &args, listener.worker_env());
    spec.resources = call.resources.clone().unwrap_or_default();
    let (tx, rx) = bounded(1);
    let waker = listener.waker();
    ThreadCache::global().execute(move || {
        let (engine, id) = (runnable.engine().clone(), runnable.id());
        let done = catch_unwind(AssertUnwindSafe(|| serve(&listener, &call, &engine, id)))
            .ok()
            .flatten();
        listener.remove();
        let ended = rx.recv().unwrap_or_else(|_| Ended {
            outcome: Outcome::failed("the Slurm polling thread has stopped"),
            stopped: true,
            files: None,
            duration: Duration::ZERO,
            output: Vec::new(),
        });
        let outcome = lost_without_report(&call.task, done.is_some(), ended.stopped, ended.outcome);
        let outcome = worker_outcome(&call, done, ended.stopped, outcome);
        finish_task(
            runnable,
            ended.files.as_ref(),
            &ended.output,
            outcome,
            ended.duration,
        );
    });
    debug_assert!(spec.env.iter().any(|(k, _)| k == WORKER_SOCKET_ENV));
    Ok((spec, Sink::Worker(WorkerSink { tx, waker })))
}

/// How a worker task's job ended, as the task's outcome when its worker sent no report: a
/// job that failed on its own (not stopped by parade) lost its worker, and the reason says
/// how the job ended.
fn lost_without_report(task: &str, reported: bool, stopped: bool, ended: Outcome) -> Outcome {
    match ended {
        Outcome::Failed(why @ (Reason::Exit(_) | Reason::Signal(_) | Reason::Error(_)))
            if !reported && !stopped =>
        {
            Outcome::Failed(Reason::Lost(format!(
                "the worker for `{task}` went away without reporting to the parent (its \
                 connection closed; its job: {why})"
            )))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_gone_without_a_report_is_lost_unless_parade_stopped_it() {
        let lost = lost_without_report("t", false, false, Outcome::Failed(Reason::Exit(3)));
        let Outcome::Failed(Reason::Lost(why)) = lost else {
            panic!("{lost:?}")
        };
        assert!(
            why.contains("`t` went away") && why.contains("exit status 3"),
            "{why}"
        );
        let stopped = Outcome::Failed(Reason::Cancelled);
        assert_eq!(
            lost_without_report("t", false, true, stopped.clone()),
            stopped
        );
        let reported = Outcome::Failed(Reason::Exit(1));
        assert_eq!(
            lost_without_report("t", true, false, reported.clone()),
            reported
        );
        assert_eq!(
            lost_without_report("t", false, false, Outcome::Succeeded),
            Outcome::Succeeded
        );
    }
}
