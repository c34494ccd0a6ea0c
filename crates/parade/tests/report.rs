//! The `report` module on real runs of each face: what the recorder keeps, the HTML page
//! (escaping, a bar per task, failures first) and the Chrome trace (checked against the
//! trace-event format, and on a 1,000-task run).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parade::display::NameTable;
use parade::engine::{Engine, Event, Observer, Outcome, TaskId, TaskSpec};
use parade::exec::ThreadPool;
use parade::flow::{Flow, ProcError};
use parade::graph::Graph;
use parade::report::{NOT_RUN_TID, RunRecord, RunRecorder, chrome_trace, html};
use serde_json::Value;

/// Checks `trace` against the trace-event format (the JSON object form) as Perfetto and
/// `chrome://tracing` read it, and parade's promises on top: one track per slot whose slices
/// never overlap, one slice per task that ran. Returns the number of slices.
fn check_trace(trace: &Value, run: &RunRecord) -> usize {
    let events = trace["traceEvents"]
        .as_array()
        .expect("traceEvents is an array");
    assert!(matches!(
        trace["displayTimeUnit"].as_str(),
        Some("ms" | "ns")
    ));
    let mut slices: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    let mut named_tracks = Vec::new();
    for e in events {
        let obj = e.as_object().expect("every event is an object");
        let ph = obj["ph"].as_str().expect("ph is a string");
        assert!(obj["name"].is_string(), "name is a string: {e}");
        assert!(obj["pid"].is_u64(), "pid is an integer: {e}");
        let tid = obj["tid"].as_u64().expect("tid is an integer");
        if let Some(args) = obj.get("args") {
            assert!(args.is_object(), "args is an object: {e}");
        }
        match ph {
            "M" => {
                let meta = obj["name"].as_str().unwrap();
                assert!(
                    ["process_name", "thread_name", "thread_sort_index"].contains(&meta),
                    "{e}"
                );
                if meta == "thread_name" {
                    assert!(obj["args"]["name"].is_string());
                    named_tracks.push(tid);
                }
            }
            "X" => {
                let ts = obj["ts"].as_f64().expect("ts is a number");
                let dur = obj["dur"].as_f64().expect("an X event has a dur");
                assert!(ts >= 0.0 && dur >= 0.0, "{e}");
                assert_ne!(tid, u64::from(NOT_RUN_TID), "slices are on slot tracks");
                slices.entry(tid).or_default().push((ts, ts + dur));
            }
            "i" | "I" => {
                assert!(obj["ts"].as_f64().is_some_and(|ts| ts >= 0.0), "{e}");
                assert!(matches!(obj["s"].as_str(), Some("g" | "p" | "t")), "{e}");
            }
            other => panic!("phase {other} is not one parade writes: {e}"),
        }
    }
    for (tid, spans) in &mut slices {
        assert!(named_tracks.contains(tid), "track {tid} has a name");
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "slices on track {tid} overlap: {w:?}");
        }
    }
    assert!(slices.len() <= run.slots as usize);
    let n = slices.values().map(Vec::len).sum();
    assert_eq!(n, run.tasks.iter().filter(|t| t.start.is_some()).count());
    n
}

/// The JSON data block of a page, parsed.
fn page_data(page: &str) -> Value {
    let start = page.find(r#"id="run-data">"#).unwrap() + r#"id="run-data">"#.len();
    let len = page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..start + len]).unwrap()
}

#[test]
fn a_flow_run_records_deps_states_reasons_and_output() {
    let flow = Flow::inline();
    let recorder = RunRecorder::new(Arc::new(flow.names()));
    flow.observe(recorder.clone());
    flow.proc("fetch", |ctx| {
        ctx.emit("cloned");
        Ok(())
    })
    .add()
    .unwrap();
    flow.proc("build", |ctx| -> Result<(), ProcError> {
        ctx.emit("compiling");
        ctx.emit("error: no space left on device");
        Err(ProcError::Exit(2))
    })
    .deps(["fetch"])
    .add()
    .unwrap();
    flow.proc("ship", |_| Ok(())).deps(["build"]).add().unwrap();
    flow.run("ship").unwrap();
    let _ = flow.wait_all();
    let run = recorder.record(flow.engine());
    let build = run.task("build").unwrap();
    assert_eq!(build.state, "failed");
    assert_eq!(build.deps, ["fetch"].map(Arc::from));
    assert_eq!(build.reason.as_deref(), Some("exit status 2"));
    assert_eq!(build.log, ["compiling", "error: no space left on device"]);
    assert!(build.start.is_some() && build.slot == Some(0));
    let ship = run.task("ship").unwrap();
    assert_eq!(ship.state, "dep-failed");
    assert_eq!((ship.start, ship.slot), (None, None));
    assert_eq!(ship.reason.as_deref(), Some("\"build\" failed"));
    assert_eq!(run.slots, 1, "an inline run uses one slot");

    let page = html(&run);
    for t in &run.tasks {
        assert!(
            page.contains(&format!(r#"data-task="{}""#, t.name)),
            "{}",
            t.name
        );
    }
    assert!(page.contains(r#"class="bar s-failed"#));
    assert!(page.contains(r#"class="bar s-dep-failed notrun"#));
    // Failures come first: the failures section precedes the timeline.
    let failures = page.find(r#"id="failures""#).unwrap();
    assert!(failures < page.find(r#"id="timeline""#).unwrap());
    assert_eq!(check_trace(&chrome_trace(&run), &run), 2);
}

#[test]
fn a_graph_run_is_recorded_through_its_engine() {
    let g = Graph::with_executor(Arc::new(ThreadPool::new(2)));
    let recorder = RunRecorder::new(Arc::new(|_: TaskId| None));
    g.engine().subscribe(recorder.clone());
    let a = g.submit(|| 20);
    let b = g.submit(|| 1);
    let c = g.submit_after((&a, &b), |(x, y)| x + y);
    assert_eq!(c.value().unwrap(), 21);
    g.wait_all().unwrap();
    let run = recorder.record(g.engine());
    assert_eq!(run.tasks.len(), 3);
    assert!(run.tasks.iter().all(|t| t.state == "succeeded"));
    let last = run.tasks.iter().find(|t| t.deps.len() == 2).unwrap();
    assert!(last.name.starts_with("task #"));
    let first_two: Vec<&str> = run
        .tasks
        .iter()
        .filter(|t| t.deps.is_empty())
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(first_two.len(), 2);
    for dep in &last.deps {
        assert!(first_two.contains(&&**dep));
        // A dependent starts after its deps end.
        assert!(run.task(dep).unwrap().end.unwrap() <= last.start.unwrap());
    }
    check_trace(&chrome_trace(&run), &run);
}

#[test]
fn names_and_output_never_become_markup_or_code() {
    let evil = r#"</script><img src=x onerror="alert(1)"><!--"#;
    let engine = Engine::inline();
    let names = Arc::new(NameTable::new());
    let recorder = RunRecorder::new(names.clone());
    engine.subscribe(recorder.clone());
    let t = engine
        .add(TaskSpec::new(move |ctx| {
            ctx.emit(evil);
            Outcome::failed(evil)
        }))
        .unwrap();
    names.insert(t, evil);
    engine.want([t]).unwrap();
    let _ = engine.wait_all();
    let mut run = recorder.record(&engine);
    run.run_id = Some(evil.to_owned());
    run.tasks[0].command = Some(evil.to_owned());
    let page = html(&run);
    assert!(!page.contains("<img"), "a value became markup");
    assert!(!page.contains("<!--"), "a value opened a comment");
    assert_eq!(
        page.matches("</script>").count(),
        2,
        "only the page's own two scripts end"
    );
    let data = page_data(&page);
    assert_eq!(
        data["tasks"][0]["n"], evil,
        "the data block keeps the value"
    );
    assert_eq!(data["tasks"][0]["l"][0], evil);
    assert!(page.contains("&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"));
}

#[test]
fn a_thousand_task_run_gives_a_trace_that_loads_and_a_small_page() {
    let engine = Engine::with_executor(Arc::new(ThreadPool::new(4)));
    let names = Arc::new(NameTable::new());
    let recorder = RunRecorder::new(names.clone());
    engine.subscribe(recorder.clone());
    let mut ids = Vec::new();
    for i in 0..1000usize {
        let mut spec = TaskSpec::new(move |ctx| {
            ctx.emit(format!("task {i} done"));
            if i % 97 == 13 {
                Outcome::failed("unlucky")
            } else {
                Outcome::Succeeded
            }
        });
        if i > 0 {
            spec = spec.dep(ids[(i - 1) / 2]); // a binary tree: wide and deep
        }
        let id = engine.add(spec).unwrap();
        names.insert(id, format!("t{i:04}"));
        ids.push(id);
    }
    engine.want(ids.iter().copied()).unwrap();
    let _ = engine.wait_all();
    let run = recorder.record(&engine);
    assert_eq!(run.tasks.len(), 1000);
    assert!(run.slots >= 1 && run.slots <= 4, "slots: {}", run.slots);

    let mut bytes = Vec::new();
    parade::report::write_chrome_trace(&run, &mut bytes).unwrap();
    assert!(
        bytes.len() < 1000 * 400,
        "trace is {} bytes for 1,000 tasks",
        bytes.len()
    );
    let trace: Value = serde_json::from_slice(&bytes).expect("the trace is JSON");
    let ran = check_trace(&trace, &run);
    let failed = run.tasks.iter().filter(|t| t.state == "failed").count();
    assert!(failed > 0 && ran + run.tasks.iter().filter(|t| t.start.is_none()).count() == 1000);
    let instants = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "i")
        .count();
    assert_eq!(
        instants,
        run.tasks.iter().filter(|t| t.is_failure()).count(),
        "one instant event per failure"
    );

    let page = html(&run);
    assert_eq!(page.matches(r#"<rect class="bar "#).count(), 1000);
    assert!(page.len() < 1_200_000, "page is {} bytes", page.len());
    assert!(page.contains("only the critical path and the failures are drawn"));
}

/// Drives a recorder with starts and ends in a random order and checks the slot invariant.
mod slots {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_slot_never_holds_two_tasks_and_slots_are_peak_parallelism(
            steps in proptest::collection::vec(any::<bool>(), 1..120)
        ) {
            let recorder = RunRecorder::new(Arc::new(NameTable::new()));
            let (mut next, mut running, mut peak) = (0usize, Vec::new(), 0usize);
            let mut order = HashMap::new();
            for (k, start) in steps.into_iter().enumerate() {
                if start || running.is_empty() {
                    let id = TaskId::from_index(next);
                    next += 1;
                    recorder.on_event(&Event::Started { id });
                    order.insert(id.index(), (k, usize::MAX));
                    running.push(id);
                    peak = peak.max(running.len());
                } else {
                    let id = running.remove(k % running.len());
                    recorder.on_event(&Event::Finished {
                        id,
                        state: parade::engine::TaskState::Succeeded,
                        duration: std::time::Duration::ZERO,
                        reason: None,
                    });
                    order.get_mut(&id.index()).unwrap().1 = k;
                }
            }
            let run = recorder.record_with(|_| Vec::new());
            prop_assert_eq!(run.slots as usize, peak);
            let mut by_slot: BTreeMap<u32, Vec<(usize, usize)>> = BTreeMap::new();
            for (i, t) in run.tasks.iter().enumerate() {
                by_slot.entry(t.slot.unwrap()).or_default().push(order[&i]);
            }
            for spans in by_slot.values_mut() {
                spans.sort_unstable();
                for w in spans.windows(2) {
                    prop_assert!(w[0].1 < w[1].0, "two tasks share a slot: {:?}", w);
                }
            }
        }
    }
}
