//! Task files against parproc's behaviour, through the real binary: a task's own `args` fill
//! its dependency patterns and its command, and a pattern rdep on a plain task (parproc's
//! README `Proc(name='setup', rdeps=['deploy::[env]'])`) runs it before every wanted instance;
//! parproc's log rules (`log_ignore`, `log_ignore_if_succeeded`, the full log on failure).

mod common;

use common::Project;

fn order(p: &Project) -> Vec<String> {
    p.read("order.txt").lines().map(str::to_owned).collect()
}

#[test]
fn pattern_rdeps_on_a_plain_task_run_it_before_every_wanted_instance() {
    let p = Project::new(
        r#"
[task.setup]
rdeps = ["deploy::[env]"]
run = "echo setup >> order.txt"

[task."deploy::[env]"]
choices = { env = ["dev", "prod"] }
run = "echo deploy {env} >> order.txt"

[task.other]
run = "echo other >> order.txt"
"#,
    );
    p.parade(&["run", "deploy::prod"]).assert().success();
    assert_eq!(order(&p), ["setup", "deploy prod"]);
    // A rule does not pull its task into runs that want no deploy.
    std::fs::remove_file(p.path("order.txt")).unwrap();
    p.parade(&["run", "other"]).assert().success();
    assert_eq!(order(&p), ["other"]);
}

#[test]
fn a_pattern_rdep_matching_no_task_is_an_error() {
    let p = Project::new(
        "[task.setup]\nrdeps = [\"deplyo::[env]\"]\nrun = \"true\"\n\n[task.\"deploy::[env]\"]\nrun = \"true\"\n",
    );
    p.stderr_says(
        &["list"],
        2,
        &["no task matches \"deplyo::[env]\"", "parade.toml:2:"],
    );
}

#[test]
fn a_tasks_own_args_fill_its_dependency_patterns_and_command() {
    let p = Project::new(
        r#"
[task."dep::[x]::[y]"]
run = "echo dep {x} {y} >> order.txt"

[task."top::[y]"]
args = { x = "test" }
deps = ["dep::[x]::[y]"]
run = "echo top {x} {y} >> order.txt"

[task.setup]
args = { env = "prod" }
deps = ["build::[env]"]
run = "echo setup {env} $PARADE_ARG_ENV >> order.txt"

[task."build::[env]"]
choices = { env = ["dev", "prod"] }
run = "echo build {env} >> order.txt"
"#,
    );
    p.parade(&["run", "top::1"]).assert().success();
    assert_eq!(order(&p), ["dep test 1", "top test 1"]);
    std::fs::remove_file(p.path("order.txt")).unwrap();
    p.parade(&["run", "setup"]).assert().success();
    assert_eq!(order(&p), ["build prod", "setup prod prod"]);
}

#[test]
fn a_really_missing_argument_is_named() {
    let p = Project::new(
        r#"
[task."dep::[x]::[y]"]
run = "true"

[task."top::[z]"]
args = { x = "test" }
deps = ["dep::[x]::[y]"]
run = "true"
"#,
    );
    p.stderr_says(
        &["list"],
        2,
        &["`[y]` is not a placeholder of \"top::[z]\""],
    );
}

/// A template whose script says it started, then waits for `go` in the project.
const WAITING_RUN: &str = r#"#!/bin/sh
echo started > "$PARMAN_WORKDIR/started.txt"
while [ ! -e "$PARMAN_WORKDIR/go" ]; do sleep 0.05; done
echo '{"ok": true}' > result.json
"#;

#[test]
fn jobs_clean_skips_a_running_template_job_and_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let p =
        Project::new("[task.wait]\ntemplate = \"templates/wait\"\njob_dir = \"results/wait\"\n");
    let run = p.write("templates/wait/run", WAITING_RUN);
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut running = p
        .spawn_parade(&["run", "wait", "--output", "plain"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    p.wait_for("started.txt");
    p.stderr_says(
        &["jobs", "clean", "results"],
        0,
        &["skipped", "a run is working in it"],
    );
    assert!(
        p.path("results/wait/kwargs.json").exists(),
        "the running job was kept"
    );
    p.write("go", "");
    assert!(running.wait().unwrap().success());
    assert!(p.path("results/wait/result.json").exists());
}

/// The lines `parade run --output plain` wrote for `name`'s end: its end line and snippet.
fn end_block(stderr: &str, name: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in stderr.lines() {
        if !line.starts_with(' ') {
            inside = line.contains(&format!(" {name} ")) && !line.starts_with('•');
        }
        if inside && !line.trim_start().starts_with("log: ") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn log_ignore_rules_hide_lines_always_or_only_on_success_for_every_instance() {
    let p = Project::new(
        r#"
[task."build::[t]"]
choices = { t = ["ok", "bad"] }
log_ignore = ["^DEBUG"]
log_ignore_if_succeeded = ["deprecated"]
run = """
echo 'DEBUG error probe'
echo 'warning: api is deprecated'
if [ {t} = bad ]; then echo 'error: it broke'; exit 3; fi
"""
"#,
    );
    let out = p.stderr(&["run", "build::*", "--output", "plain"], 1);
    let ok = end_block(&out, "build::ok");
    assert!(ok.starts_with("✓ build::ok"), "{out}");
    assert_eq!(ok.lines().count(), 1, "{out}");
    let bad = end_block(&out, "build::bad");
    assert!(
        bad.ends_with("  --- lines 1-3 ---\n  warning: api is deprecated\n  error: it broke\n"),
        "{out}"
    );
    // The log file keeps every line.
    let dir = p.path(".parade/logs/latest");
    let log = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().contains("bad"))
        .map(|f| std::fs::read_to_string(f).unwrap())
        .unwrap();
    assert!(log.contains("DEBUG error probe"), "{log}");
}

#[test]
fn full_log_shows_a_failures_whole_log_less_its_ignored_lines() {
    let p = Project::new(
        r#"
[task.long]
log_ignore = ["^progress"]
run = "for i in $(seq 1 30); do echo step $i; echo progress $i%; done; exit 1"
"#,
    );
    let out = p.stderr(&["run", "long", "--output", "plain", "--full-log"], 1);
    let expected: String = (1..=30).fold(String::new(), |acc, i| acc + &format!("  step {i}\n"));
    assert!(
        end_block(&out, "long").ends_with(&format!("  --- lines 1-60 ---\n{expected}")),
        "{out}"
    );
}

#[test]
fn an_invalid_log_ignore_pattern_is_a_task_file_error_with_its_place() {
    let p = Project::new("[task.a]\nrun = \"true\"\nlog_ignore = [\"ok\", \"a(b\"]\n");
    p.stderr_says(
        &["list"],
        2,
        &[
            "`log_ignore` pattern \"a(b\" is not a regular expression",
            "parade.toml:3:",
        ],
    );
}
