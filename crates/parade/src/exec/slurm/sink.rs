//! Where the end of a Slurm job is reported ([`Sink`]): an engine task (its output forwarded,
//! then finished), a batch waiting on a channel, or the thread serving a worker task. The
//! submission and polling code and the worker serving code both use it; it knows neither.

use std::time::Duration;

use crossbeam_channel::Sender;

use super::client::JobId;
use super::script::JobFiles;
use crate::engine::{Outcome, Runnable, Stream};
use crate::exec::process::Waker;

/// How a job submitted outside an engine ended (see [`SlurmBatch`](super::SlurmBatch)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEnd {
    /// How it ended.
    pub outcome: Outcome,
    /// Its Slurm job id, if it was submitted (an element of a job array: the array's id; its
    /// `files` are the element's own).
    pub job: Option<JobId>,
    /// Its files (script, output, status), if it was submitted.
    pub files: Option<JobFiles>,
    /// From submission to the moment parade saw it end.
    pub duration: Duration,
    /// Whether it was a queued or running job of an earlier run, adopted instead of submitted.
    pub adopted: bool,
    /// What it printed, when it ran on a pilot (which sends its output back instead of
    /// writing output files); empty for a job of its own (see `files`).
    pub output: Vec<(Stream, String)>,
}

/// Where the end of a job is reported.
pub(crate) enum Sink {
    /// An engine task: its output is forwarded, then it is finished.
    Task(Runnable),
    /// A batch waiting on a channel, at this index.
    Channel(Sender<(usize, JobEnd)>, usize),
    /// An engine task in worker mode: the thread serving its worker ends it.
    Worker(WorkerSink),
}

/// How a worker task's Slurm job ended, as the polling thread saw it.
pub(crate) struct Ended {
    /// The outcome from the job's exit status or Slurm state.
    pub outcome: Outcome,
    /// Whether parade stopped the job (a cancel or a timeout).
    pub stopped: bool,
    /// The job's files, if it was submitted.
    pub files: Option<JobFiles>,
    /// From submission to its end.
    pub duration: Duration,
    /// What it printed, when it ran on a pilot.
    pub output: Vec<(Stream, String)>,
}

/// Where the polling thread reports the end of a worker task's job: the thread serving it.
pub(crate) struct WorkerSink {
    pub(crate) tx: Sender<Ended>,
    pub(crate) waker: Waker,
}

impl WorkerSink {
    /// Hands the job's end to the serving thread, waking it if the worker never connected.
    pub(crate) fn ended(self, ended: Ended) {
        let _ = self.tx.send(ended);
        self.waker.wake();
    }
}

/// Reports to `sink` that its job ended with `outcome` (`stopped`: parade stopped it;
/// `adopted`: it was a job of an earlier run).
pub(crate) fn end(
    sink: Sink,
    outcome: Outcome,
    job: Option<JobId>,
    files: Option<JobFiles>,
    duration: Duration,
    flags: (bool, bool),
) {
    end_with_output(sink, outcome, job, (files, Vec::new()), duration, flags);
}

/// [`end`], for a job whose output came back as lines (`output`) besides or instead of its
/// output files.
pub(crate) fn end_with_output(
    sink: Sink,
    outcome: Outcome,
    job: Option<JobId>,
    (files, output): (Option<JobFiles>, Vec<(Stream, String)>),
    duration: Duration,
    (stopped, adopted): (bool, bool),
) {
    match sink {
        Sink::Task(runnable) => finish_task(runnable, files.as_ref(), &output, outcome, duration),
        Sink::Worker(worker) => worker.ended(Ended {
            outcome,
            stopped,
            files,
            duration,
            output,
        }),
        Sink::Channel(tx, index) => {
            let _ = tx.send((
                index,
                JobEnd {
                    outcome,
                    job,
                    files,
                    duration,
                    adopted,
                    output,
                },
            ));
        }
    }
}

/// Forwards what the job wrote to its output files, then the lines it sent back (`output`),
/// to the task's output events, and ends the task with `outcome`.
pub(crate) fn finish_task(
    runnable: Runnable,
    files: Option<&JobFiles>,
    output: &[(Stream, String)],
    outcome: Outcome,
    duration: Duration,
) {
    if let Some(files) = files {
        for (path, stream) in [
            (&files.stdout, Stream::Stdout),
            (&files.stderr, Stream::Stderr),
        ] {
            if let Ok(text) = std::fs::read(path) {
                for line in String::from_utf8_lossy(&text).lines() {
                    runnable.emit(stream, line);
                }
            }
        }
    }
    for (stream, line) in output {
        runnable.emit(*stream, line.as_str());
    }
    runnable.finish(outcome, duration);
}
