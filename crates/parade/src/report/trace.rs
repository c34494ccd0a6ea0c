//! A run as Chrome trace-event JSON, which `ui.perfetto.dev` and `chrome://tracing` open.
//!
//! The format ("Trace Event Format", the JSON object form): `{"traceEvents": [...],
//! "displayTimeUnit": "ms"}`. Each event has `name`, `ph` (phase), `pid`, `tid` and `ts`
//! (microseconds). parade writes one process (`pid` 1, named after the run), one thread per
//! worker slot (`tid` = slot + 1, named `slot N` with `M` metadata events), one complete event
//! (`ph: "X"`, with `dur`) per task that ran, on its slot's track, and an instant event
//! (`ph: "i"`, `s: "t"`) for each failure: at the failed task's end on its track, and on the
//! `tid` 0 track (`not run`) for tasks that never started (dep-failed, cancelled while waiting).
//! Written by hand: it is a few `serde_json` values, no crate needed.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::record::RunRecord;

/// The `tid` of the track holding tasks that never started.
pub const NOT_RUN_TID: u32 = 0;

/// The trace of `run` as one JSON value.
///
/// ```
/// use parade::report::{RunRecord, TaskRecord, chrome_trace};
/// let mut t = TaskRecord::new("build", "failed");
/// (t.start, t.end, t.duration, t.slot) = (Some(0.5), Some(1.0), 0.5, Some(0));
/// let run = RunRecord { slots: 1, tasks: vec![t], ..RunRecord::default() };
/// let trace = chrome_trace(&run);
/// let events = trace["traceEvents"].as_array().unwrap();
/// let slice = events.iter().find(|e| e["ph"] == "X").unwrap();
/// assert_eq!((slice["ts"].as_f64(), slice["dur"].as_f64()), (Some(500_000.0), Some(500_000.0)));
/// assert!(events.iter().any(|e| e["ph"] == "i" && e["name"] == "build failed"));
/// ```
pub fn chrome_trace(run: &RunRecord) -> Value {
    let mut events = Vec::with_capacity(run.tasks.len() * 2 + run.slots as usize + 3);
    let title = run
        .run_id
        .as_ref()
        .map_or_else(|| "parade run".to_owned(), |id| format!("parade run {id}"));
    events.push(meta("process_name", 0, &title));
    events.push(meta("thread_name", NOT_RUN_TID, "not run"));
    events.push(json!({
        "name": "thread_sort_index", "ph": "M", "pid": 1, "tid": NOT_RUN_TID,
        "args": { "sort_index": u32::MAX }
    }));
    for slot in 0..run.slots {
        events.push(meta("thread_name", slot + 1, &format!("slot {}", slot + 1)));
    }
    for t in &run.tasks {
        let mut args = json!({ "state": t.state });
        if let Some(reason) = &t.reason {
            args["reason"] = json!(reason);
        }
        if let Some(command) = &t.command {
            args["command"] = json!(command);
        }
        if !t.deps.is_empty() {
            args["deps"] = json!(t.deps);
        }
        match (t.start, t.slot) {
            (Some(start), Some(slot)) => {
                let end = t.end.unwrap_or(run.elapsed).max(start);
                // Both ends rounded, the length their difference: a slice that ends when the
                // next on its track starts never overlaps it by a rounding.
                events.push(json!({
                    "name": t.name, "cat": t.state, "ph": "X", "pid": 1, "tid": slot + 1,
                    "ts": micros(start), "dur": micros(end) - micros(start), "args": args,
                }));
                if t.is_failure() {
                    events.push(json!({
                        "name": format!("{} {}", t.name, t.state), "cat": t.state, "ph": "i",
                        "s": "t", "pid": 1, "tid": slot + 1, "ts": micros(end), "args": args,
                    }));
                }
            }
            _ if t.is_failure() => events.push(json!({
                "name": format!("{} {}", t.name, t.state), "cat": t.state, "ph": "i",
                "s": "t", "pid": 1, "tid": NOT_RUN_TID,
                "ts": micros(t.end.or(t.wanted).unwrap_or(0.0)), "args": args,
            })),
            _ => {}
        }
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": { "generator": "parade", "started_unix_ms": run.started_unix_ms },
    })
}

/// Writes [`chrome_trace`] of `run` to `out`.
pub fn write_chrome_trace(run: &RunRecord, mut out: impl Write) -> io::Result<()> {
    serde_json::to_writer(&mut out, &chrome_trace(run))?;
    out.write_all(b"\n")?;
    out.flush()
}

fn meta(name: &str, tid: u32, value: &str) -> Value {
    json!({ "name": name, "ph": "M", "pid": 1, "tid": tid, "args": { "name": value } })
}

/// Seconds as whole microseconds (the format's unit; fractions only make files bigger).
fn micros(seconds: f64) -> f64 {
    (seconds.max(0.0) * 1e6).round()
}
