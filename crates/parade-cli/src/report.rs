//! What `parade` keeps of a run for pictures of it, and `parade report`: the run's
//! [`RunRecord`] saved as `run.json` in its log directory ([`keep_run`]), `--trace FILE`, and
//! the HTML page of a recorded run ([`report`]).
//!
//! Recorded runs are read through [`RunSource`]; that is the log directory ([`LogDirRuns`]).
//!
//! Why `run.json` and not the run store (`.parade/state.db`) is the source of a picture: the
//! store keeps what later runs decide with, one row per execution (key, inputs, state,
//! reason, start, end, exit status, result, output fingerprints), and is written as tasks end.
//! A picture needs what only the engine's events of the whole run give, and the store does
//! not keep: each task's dependencies as the run resolved them, when it was wanted, the worker
//! slot it ran in, and the excerpt of its log beside the log file. Both are written by the same
//! run from the same events (the store through `parade::store::Recorder`, the record through
//! [`RunRecorder`]), so they agree on names, states and times; the log directory holds the
//! logs the record points into and goes away with them (`rm -r .parade/logs`), while the
//! store's history outlives them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parade::engine::Engine;
use parade::report::{
    LogDirRuns, RunRecord, RunRecorder, RunSelector, RunSource, html, write_chrome_trace,
};

use crate::cli::ReportArgs;

/// Turns what `recorder` saw of the run on `engine` into its record (named after its log
/// directory `run_dir`, with each task's command from `commands`), saves it as
/// `run_dir/run.json` and, with `trace`, writes its Chrome trace there.
///
/// Errors: a file that could not be written, in words naming it.
pub fn keep_run(
    recorder: &RunRecorder,
    engine: &Engine,
    run_dir: &Path,
    commands: &BTreeMap<String, String>,
    trace: Option<&Path>,
) -> Result<RunRecord, String> {
    let mut run = recorder.record(engine);
    run.run_id = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    for t in &mut run.tasks {
        if let Some(c) = commands.get(&t.name) {
            t.command = Some(c.clone());
        }
    }
    run.save_in(run_dir)
        .map_err(|e| format!("cannot save the run record in {}: {e}", run_dir.display()))?;
    if let Some(path) = trace {
        write_trace(&run, path)?;
    }
    Ok(run)
}

/// Writes the Chrome trace of `run` to `path`.
pub fn write_trace(run: &RunRecord, path: &Path) -> Result<(), String> {
    std::fs::File::create(path)
        .and_then(|f| write_chrome_trace(run, std::io::BufWriter::new(f)))
        .map_err(|e| format!("cannot write the trace {}: {e}", path.display()))
}

/// `parade report`: writes the page of the run `args` names, found under `logs` (the task
/// file's log directory), and returns where it went.
///
/// Errors: no such run, an unreadable record, a page that could not be written.
pub fn report(logs: &Path, args: &ReportArgs) -> Result<PathBuf, String> {
    let which = RunSelector::parse(args.run.as_deref())?;
    let runs = LogDirRuns::new(logs);
    let id = runs
        .resolve(&which)
        .map_err(|e| format!("{e} (in {})", logs.display()))?;
    let run = runs.load(&id).map_err(|e| e.to_string())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| runs.dir(&id).join("report.html"));
    std::fs::write(&out, html(&run))
        .map_err(|e| format!("cannot write the report {}: {e}", out.display()))?;
    if let Some(path) = &args.trace {
        write_trace(&run, path)?;
    }
    Ok(std::path::absolute(&out).unwrap_or(out))
}
