//! `parade run` records each run (`run.json`, `--trace FILE`) and `parade report [RUN]`
//! writes its HTML page; the page of a real run of `examples/build-test-deploy` with one
//! failed task is rendered in headless Chromium and checked from its DOM.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Project;
use predicates::prelude::*;
use serde_json::Value;

/// The text an untrusted task prints and is named with.
const EVIL: &str = r#"</script><img src=x onerror="document.body.dataset.pwned=1">"#;

/// `examples/build-test-deploy`, faster (shorter sleeps), with `test::dev` failing after
/// printing [`EVIL`].
fn failing_example() -> Project {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let toml = std::fs::read_to_string(root.join("build-test-deploy/parade.toml")).unwrap();
    let suites = r#"for suite in unit api ui; do echo "suite $suite: ok"; sleep 1; done"#;
    assert!(toml.contains(suites), "the example's test task changed");
    let failing = format!(
        "{}\nif [ \"{{env}}\" = dev ]; then echo '{}'; exit 3; fi",
        suites.replace("sleep 1", "sleep 0.1"),
        EVIL
    );
    let toml = toml
        .replace(suites, &failing)
        .replace("sleep 2", "sleep 0.2")
        .replace("sleep 1", "sleep 0.1");
    Project::new(&toml)
}

/// The ids of the recorded runs, oldest first.
fn run_ids(p: &Project) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(p.path(".parade/logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "latest" && !n.starts_with('.'))
        .collect();
    ids.sort();
    ids
}

fn report_path(p: &Project, args: &[&str]) -> PathBuf {
    let path = PathBuf::from(p.stdout(args).trim());
    assert!(path.is_absolute() && path.is_file(), "{}", path.display());
    path
}

#[test]
fn a_run_records_itself_and_its_report_shows_every_task_failures_first() {
    let p = failing_example();
    p.parade(&["run", "deploy::*", "--trace", "trace.json"])
        .assert()
        .code(1);
    let run: Value = p.read_json(".parade/logs/latest/run.json");
    let tasks = run["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 9);
    let task = |name: &str| tasks.iter().find(|t| t["name"] == name).unwrap();
    assert_eq!(task("test::dev")["state"], "failed");
    assert_eq!(task("test::dev")["reason"], "exit status 3");
    let log = task("test::dev")["log"].as_array().unwrap();
    assert_eq!(log.last().unwrap().as_str(), Some(EVIL));
    assert!(
        task("build::prod")["command"]
            .as_str()
            .unwrap()
            .contains("building 1.4.2 for prod"),
        "commands have their fields filled"
    );
    assert_eq!(task("deploy::dev")["state"], "dep-failed");
    let mut deps: Vec<&str> = task("build::dev")["deps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    deps.sort_unstable();
    assert_eq!(deps, ["lint::dev", "setup"]);

    let page_path = report_path(&p, &["report"]);
    assert!(page_path.ends_with("report.html"));
    let page = std::fs::read_to_string(&page_path).unwrap();
    for t in tasks {
        let name = t["name"].as_str().unwrap();
        assert!(page.contains(&format!(r#"data-task="{name}""#)), "{name}");
    }
    assert!(!page.contains("<img"), "output became markup");
    let failures = page.find(r#"id="failures""#).unwrap();
    assert!(failures < page.find(r#"id="timeline""#).unwrap());
    assert!(page[failures..].contains("test::dev"));

    let trace: Value = p.read_json("trace.json");
    let events = trace["traceEvents"].as_array().unwrap();
    let slices = events.iter().filter(|e| e["ph"] == "X").count();
    assert_eq!(slices, 7, "one slice per task that ran");
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "i" && e["name"] == "test::dev failed")
    );
}

#[test]
fn report_picks_a_run_by_id_or_counting_back() {
    let p = Project::new("[task.a]\nrun = \"echo one\"\n");
    p.parade(&["report"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no recorded runs yet"));
    p.parade(&["run", "a"]).assert().success();
    std::thread::sleep(std::time::Duration::from_millis(5)); // run ids have milliseconds
    p.write("parade.toml", "[task.b]\nrun = \"exit 1\"\n");
    p.parade(&["run", "b"]).assert().code(1);
    let ids = run_ids(&p);
    assert_eq!(ids.len(), 2);
    let first =
        std::fs::read_to_string(report_path(&p, &["report", "-2", "-o", "first.html"])).unwrap();
    assert!(first.contains(r#"data-task="a""#) && !first.contains(r#"data-task="b""#));
    let latest =
        std::fs::read_to_string(report_path(&p, &["report", "-1", "-o", "latest.html"])).unwrap();
    assert!(latest.contains(r#"data-task="b""#));
    let by_id = report_path(&p, &["report", &ids[0], "-o", "by-id.html"]);
    assert_eq!(std::fs::read_to_string(by_id).unwrap(), first);
    p.parade(&["report", "-3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "run -3 does not exist: 2 recorded run(s)",
        ));
    p.parade(&["report", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no recorded run `nope`"));
    p.parade(&["report", "-1", "--trace", "t.json", "-o", "x.html"])
        .assert()
        .success();
    assert!(p.read_json("t.json")["traceEvents"].is_array());
}

#[test]
fn a_trace_that_cannot_be_written_fails_the_run_and_says_why() {
    let p = Project::new("[task.a]\nrun = \"true\"\n");
    p.parade(&["run", "a", "--trace", "no/such/dir/t.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot write the trace no/such/dir/t.json",
        ));
}

/// Chromium on this machine, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Chromium, headless and offline, with its profile in `profile`, doing `what` on `url`.
fn headless(chromium: &Path, profile: &Path, what: &[&str], url: &str) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(what)
        .arg(url)
        .output()
        .expect("chromium runs")
}

/// The value of attribute `name` in the start tag `tag` (as Chromium serializes it).
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

#[test]
fn the_report_of_a_real_run_renders_in_chromium_with_a_bar_per_task() {
    let Some(chromium) = chromium() else {
        eprintln!("SKIPPED: no chromium on PATH (Debian: apt-get install -y chromium)");
        return;
    };
    let p = failing_example();
    p.parade(&["run", "deploy::*"]).assert().code(1);
    let page = report_path(&p, &["report"]);
    let run: Value = p.read_json(".parade/logs/latest/run.json");
    let url = format!("file://{}", page.display());
    let profile = tempfile::tempdir().unwrap();

    let out = common::succeeded(
        "",
        headless(&chromium, profile.path(), &["--dump-dom"], &url),
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    // The page's script ran (it marks the body with the number of tasks it read)...
    assert!(
        dom.contains(r#"<body data-ready="9">"#),
        "the script did not run"
    );
    // ...and nothing a task printed ran as code or became an element.
    assert!(!dom.contains("data-pwned"), "task output ran as code");
    assert!(!dom.contains("<img"), "task output became an element");
    let bars: Vec<&str> = dom
        .match_indices("<rect class=\"bar ")
        .map(|(at, _)| &dom[at..at + dom[at..].find('>').unwrap()])
        .collect();
    assert_eq!(bars.len(), 9);
    for t in run["tasks"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let bar = bars
            .iter()
            .find(|b| attribute(b, "data-task") == Some(name))
            .unwrap_or_else(|| panic!("{name} has no bar"));
        let class = attribute(bar, "class").unwrap();
        let marked = class.split(' ').any(|c| c == "s-failed");
        assert_eq!(marked, name == "test::dev", "{name}: {class}");
    }

    // The page opened at a task shows its details, built by the script as text.
    let out = headless(
        &chromium,
        profile.path(),
        &["--dump-dom"],
        &format!("{url}#task=test%3A%3Adev"),
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    let panel = &dom[dom.find(r#"<aside id="detail""#).unwrap()..];
    let panel = &panel[..panel.find("</aside>").unwrap()];
    assert!(
        !panel.starts_with(r#"<aside id="detail" hidden"#),
        "{panel}"
    );
    assert!(panel.contains("<h3>test::dev</h3>"), "{panel}");
    assert!(panel.contains("exit status 3"), "{panel}");
    assert!(panel.contains("&lt;/script&gt;&lt;img src=x"), "{panel}");
    assert!(!dom.contains("<img") && !dom.contains("data-pwned"));

    let shot = p.path("report.png");
    let shot_arg = format!("--screenshot={}", shot.display());
    common::succeeded("", headless(&chromium, profile.path(), &[&shot_arg], &url));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    if let Some(keep) = std::env::var_os("PARADE_REPORT_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn an_interrupted_run_still_leaves_its_record() {
    let p = Project::new(
        "[task.hold]\nrun = \"echo up > up.txt; sleep 100\"\n\n\
         [task.after]\ndeps = [\"hold\"]\nrun = \"true\"\n",
    );
    let child = p
        .spawn_parade(&["run", "after", "--output", "plain"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    p.wait_for("up.txt");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let run: Value = p.read_json(".parade/logs/latest/run.json");
    let states: Vec<(&str, &str)> = run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states.len(), 2, "{states:?}");
    for (name, state) in &states {
        assert!(
            !["running", "wanted"].contains(state),
            "{name} is still {state} in the record"
        );
    }
    let page = std::fs::read_to_string(report_path(&p, &["report"])).unwrap();
    assert!(page.contains(r#"data-task="hold""#) && page.contains(r#"data-task="after""#));
}
