//! The display observers driven by a real engine: tasks that print, fail and succeed on a
//! thread pool, named through a name table.

use std::sync::Arc;

use parade::display::live::LiveOptions;
use parade::display::{JsonReport, LogFiles, NameTable, PlainObserver, SharedBuffer};
use parade::engine::{Engine, Outcome, Reason, Stream, TaskId, TaskSpec};

/// `setup` → `build` (fails after printing) → `deploy`; `lint` succeeds with a warning.
fn run(engine: &Engine, names: &NameTable) -> [TaskId; 4] {
    let setup = engine
        .add(TaskSpec::new(|ctx| {
            ctx.emit("setting up");
            Outcome::Succeeded
        }))
        .unwrap();
    let build = engine
        .add(
            TaskSpec::new(|ctx| {
                for i in 1..=20 {
                    ctx.emit(format!("compiling unit {i}"));
                }
                ctx.emit_from(Stream::Stderr, "ERROR: out of memory");
                ctx.emit("giving up");
                Outcome::Failed(Reason::Exit(2))
            })
            .dep(setup),
        )
        .unwrap();
    let deploy = engine
        .add(TaskSpec::new(|_| Outcome::Succeeded).dep(build))
        .unwrap();
    let lint = engine
        .add(TaskSpec::new(|ctx| {
            ctx.emit("warning: unused import");
            Outcome::Succeeded
        }))
        .unwrap();
    for (id, name) in [
        (setup, "setup"),
        (build, "build::prod"),
        (deploy, "deploy::prod"),
        (lint, "lint"),
    ] {
        names.insert(id, name);
    }
    engine.want([deploy, lint]).unwrap();
    engine.wait_all().unwrap();
    [setup, build, deploy, lint]
}

#[test]
fn plain_output_logs_and_json_tell_the_same_story() {
    let engine = Engine::new();
    let names = Arc::new(NameTable::new());
    let dir = tempfile::tempdir().unwrap();
    let logs = LogFiles::new(dir.path(), names.clone()).unwrap();
    let out = SharedBuffer::default();
    let report = JsonReport::new(names.clone());
    engine.subscribe(logs.clone());
    engine.subscribe(PlainObserver::new(out.clone(), names.clone()).log_files(logs.clone()));
    engine.subscribe(report.clone());

    let [setup, build, deploy, _] = run(&engine, &names);

    let text = out.contents();
    let lines: Vec<&str> = text.lines().collect();
    // Every line is whole: starts with a mark or is indented under a finished task.
    for line in &lines {
        assert!(
            ["• ", "✓ ", "✗ ", "🚫 ", "  "]
                .iter()
                .any(|p| line.starts_with(p)),
            "{line:?} in\n{text}"
        );
    }
    assert!(lines.contains(&"• setup"));
    assert!(lines.contains(&"• build::prod"));
    assert!(
        !lines.contains(&"• deploy::prod"),
        "deploy never started:\n{text}"
    );
    assert!(lines.contains(&"🚫 deploy::prod dependency failed - \"build::prod\" failed"));
    let failed = lines
        .iter()
        .position(|l| l.starts_with("✗ build::prod ("))
        .unwrap();
    assert!(
        lines[failed].ends_with(") failed - exit status 2"),
        "{}",
        lines[failed]
    );
    let log_path = logs.path(build).unwrap();
    assert_eq!(lines[failed + 1], format!("  log: {}", log_path.display()));
    assert_eq!(
        &lines[failed + 2..failed + 7],
        [
            "  --- lines 19-22 ---",
            "  compiling unit 19",
            "  compiling unit 20",
            "  ERROR: out of memory",
            "  giving up",
        ]
    );
    assert!(
        lines.get(failed + 7).is_none_or(|l| !l.starts_with("  ")),
        "{text}"
    );
    // The succeeded lint shows its warning.
    let lint = lines
        .iter()
        .position(|l| l.starts_with("✓ lint ("))
        .unwrap();
    assert_eq!(lines[lint + 2], "  warning: unused import");

    // Logs hold every line, in order, stdout and stderr together.
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(log.lines().count(), 22);
    assert!(log.ends_with("ERROR: out of memory\ngiving up\n"));
    assert_eq!(
        std::fs::read_to_string(logs.path(setup).unwrap()).unwrap(),
        "setting up\n"
    );
    assert_eq!(logs.path(deploy), None, "no log for a task that never ran");

    let doc = report.to_value(|id| (id == setup).then(|| serde_json::json!({"ok": 1})));
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["tasks"]["setup"]["result"]["ok"], 1);
    assert_eq!(doc["tasks"]["build::prod"]["state"], "failed");
    assert_eq!(doc["tasks"]["build::prod"]["reason"], "exit status 2");
    assert_eq!(doc["tasks"]["deploy::prod"]["state"], "dep-failed");
    assert_eq!(doc["counts"]["succeeded"], 2);
}

#[test]
fn live_display_prints_finished_tasks_and_leaves_no_region() {
    let engine = Engine::new();
    let names = Arc::new(NameTable::new());
    let out = SharedBuffer::default();
    let live = LiveOptions::new()
        .size(40, 10)
        .color(false)
        .full_log(true)
        .start(out.clone(), names.clone());
    engine.subscribe(live.clone());
    run(&engine, &names);
    live.finish();
    live.finish(); // twice is fine

    let text = out.contents();
    let plain = strip_ansi(&text);
    let finished: Vec<&str> = plain
        .lines()
        .filter(|l| ["✓ ", "✗ ", "🚫 "].iter().any(|p| l.starts_with(p)))
        .collect();
    assert_eq!(finished.len(), 4, "{plain}");
    // Full log on failure: all 22 lines.
    assert!(
        plain.contains("  --- lines 1-22 ---\n  compiling unit 1\n"),
        "{plain}"
    );
    // The last thing written shows the cursor again.
    assert!(text.ends_with("\x1b[?25h"), "{text:?}");
}

#[test]
fn a_hundred_quick_tasks_do_not_drown_the_live_display() {
    let engine = Engine::new();
    let names = Arc::new(NameTable::new());
    let out = SharedBuffer::default();
    let live = LiveOptions::new()
        .size(60, 8)
        .color(false)
        .start(out.clone(), names.clone());
    engine.subscribe(live.clone());
    let ids: Vec<TaskId> = (0..100)
        .map(|i| {
            let id = engine.add(TaskSpec::new(|_| Outcome::Succeeded)).unwrap();
            names.insert(id, format!("t{i}"));
            id
        })
        .collect();
    engine.want(ids).unwrap();
    engine.wait_all().unwrap();
    live.finish();
    let plain = strip_ansi(&out.contents());
    assert_eq!(plain.lines().filter(|l| l.starts_with("✓ t")).count(), 100);
}

/// Removes CSI sequences (`ESC [ ... letter`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
