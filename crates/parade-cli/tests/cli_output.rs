//! What `parade run` shows, on the real binary: task output reaches the screen in every mode
//! and never mixes within a line, stdout and stderr keep their order, the dry run shows
//! commands, colours follow the flags and the environment, errors speak of tasks and suggest
//! names, `check` finds every problem, and output that cannot be written is never lost
//! silently (closed pipes, `/dev/full`, a full disk under the logs).

mod common;

use std::fmt::Write as _;
use std::io::Read;
use std::process::Stdio;

use common::Project;
use predicates::prelude::*;

/// Three tasks printing 200 long lines each at once, the last with the task's letter.
const CHATTY: &str = r#"
[task."spam::[c]"]
choices = { c = ["a", "b", "c"] }
run = "i=0; while [ $i -lt 200 ]; do printf '%0300d\n' 0 | tr 0 {c}; i=$((i+1)); done"
"#;

#[test]
fn a_successful_tasks_output_reaches_the_screen_by_default() {
    let p = Project::example("param-sweep");
    let out = p.stdout(&["run", "best"]);
    let answer = out
        .lines()
        .find(|l| l.starts_with("best "))
        .unwrap_or_else(|| panic!("no line of best: {out}"));
    assert!(
        answer.ends_with(r#"| {"rate": 0.1, "batch": 64, "score": 1.0000}"#),
        "{answer}"
    );
    // A single task's output passes through as it is.
    let p = Project::new("[task.hello]\nrun = \"echo hello; echo world\"\n");
    assert_eq!(p.stdout(&["run", "hello"]), "hello\nworld\n");
}

#[test]
fn prefixed_lines_are_whole_aligned_and_never_mixed() {
    let p = Project::new(CHATTY);
    let out = p.stdout(&["run", "spam::*", "-j", "3", "--output", "prefixed"]);
    let mut count = 0;
    for line in out.lines() {
        let (name, body) = line.split_once(" | ").unwrap_or_else(|| panic!("{line}"));
        let c = name.trim_end().strip_prefix("spam::").unwrap();
        assert_eq!(body, c.repeat(300), "mixed line: {line}");
        count += 1;
    }
    assert_eq!(count, 600, "{out}");
}

#[test]
fn grouped_output_is_one_block_per_task() {
    let p = Project::new(CHATTY);
    let out = p.stdout(&["run", "spam::*", "-j", "3", "--output", "grouped"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 600, "{out}");
    for block in lines.chunks(200) {
        let c = &block[0][..1];
        assert!(
            block.iter().all(|l| *l == c.repeat(300)),
            "a block mixes tasks"
        );
    }
    // `[settings] output` picks the mode too.
    let p = Project::new(&format!("[settings]\noutput = \"grouped\"\n{CHATTY}"));
    let out = p.stdout(&["run", "spam::*", "-j", "3"]);
    assert!(!out.contains(" | "), "{out}");
    assert_eq!(out.lines().count(), 600);
}

#[test]
fn a_tasks_end_line_comes_after_all_its_lines_on_one_screen() {
    // stdout and stderr into one pipe, as a terminal shows them: the lines (gathered into
    // batches on stdout) are out before the end line on stderr says the task ended.
    let p = Project::new(CHATTY);
    for mode in ["prefixed", "grouped"] {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let mut child = p
            .spawn_parade(&["run", "spam::*", "-j", "3", "--output", mode])
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .spawn()
            .unwrap();
        let mut screen = String::new();
        reader.read_to_string(&mut screen).unwrap();
        assert!(child.wait().unwrap().success(), "{screen}");
        let lines: Vec<&str> = screen.lines().collect();
        for c in ["a", "b", "c"] {
            let body = c.repeat(300);
            let last = lines
                .iter()
                .rposition(|l| l.ends_with(&body))
                .unwrap_or_else(|| panic!("{mode}: no line of spam::{c}: {screen}"));
            let end = lines
                .iter()
                .position(|l| l.starts_with(&format!("✓ spam::{c} ")))
                .unwrap_or_else(|| panic!("{mode}: no end line of spam::{c}: {screen}"));
            assert!(
                last < end,
                "{mode}: spam::{c} printed after its end line: {screen}"
            );
            let count = lines.iter().filter(|l| l.ends_with(&body)).count();
            assert_eq!(count, 200, "{mode}: spam::{c}");
        }
    }
}

#[test]
fn stdout_and_stderr_keep_their_order_in_the_log_and_on_screen() {
    let p = Project::new(
        "[task.both]\nrun = \"i=0; while [ $i -lt 200 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done\"\n",
    );
    let expected = (0..200).fold(String::new(), |mut s, i| {
        let _ = writeln!(s, "out {i}\nerr {i}");
        s
    });
    assert_eq!(p.stdout(&["run", "both"]), expected);
    let log = p.read(".parade/logs/latest/both.log");
    assert_eq!(log, expected);
}

#[test]
fn the_dry_run_shows_each_filled_command() {
    let p = Project::new(
        r#"
[params]
region = "eu"

[task."deploy::[env]"]
choices = { env = ["dev", "prod"] }
deps = ["build"]
run = """
echo deploying {env} to {params.region}
echo done
"""

[task.build]
run = "make all"
"#,
    );
    p.parade(&["run", "deploy::prod", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("        $ make all\n"))
        .stdout(predicate::str::contains(
            "        $ echo deploying prod to eu\n        $ echo done\n",
        ));
    assert!(!p.path(".parade").exists(), "a dry run runs nothing");
}

#[test]
fn colours_follow_the_flag_and_the_environment() {
    let p = Project::new("[task.a]\nrun = \"true\"\n[task.b]\nrun = \"true\"\n");
    let stderr = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = p.parade(args);
        cmd.env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        String::from_utf8(cmd.assert().success().get_output().stderr.clone()).unwrap()
    };
    let green = "\x1b[1;32m✓\x1b[0m";
    assert!(stderr(&["run", "a", "b"], &[]).contains("✓ a"));
    assert!(!stderr(&["run", "a", "b"], &[]).contains('\x1b'));
    assert!(stderr(&["run", "a", "b", "--color", "always"], &[]).contains(green));
    assert!(stderr(&["run", "a", "b"], &[("CLICOLOR_FORCE", "1")]).contains(green));
    let never = stderr(
        &["run", "a", "b", "--color", "never"],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert!(!never.contains('\x1b'), "{never}");
    let no_color = stderr(
        &["run", "a", "b"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(!no_color.contains('\x1b'), "{no_color}");
}

#[test]
fn run_time_errors_speak_of_tasks_and_suggest_names() {
    let p = Project::new(
        "[task.build]\nrun = \"true\"\n[task.\"test::[kind]\"]\nchoices = { kind = [\"unit\", \"e2e\"] }\nrun = \"true\"\n",
    );
    let text = p.stderr(&["run", "biuld"], 2);
    assert!(
        text.contains(r#"no task named "biuld"; did you mean "build"?"#),
        "{text}"
    );
    assert!(!text.contains("proc") && !text.contains("proto"), "{text}");
    p.parade(&["run", "test::unti"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            r#"not one of its choices: "unit", "e2e"; did you mean "unit"?"#,
        ));
}

#[test]
fn check_reports_cycles_and_every_problem() {
    let p = Project::new(
        r#"
[task]
a = { deps = ["b"], run = "true" }
b = { deps = ["a"], run = "true" }
c = { deps = ["d"], run = "true" }
d = { deps = ["c"], run = "true" }
fine = { run = "true" }
"#,
    );
    let text = p.stderr(&["check"], 2);
    assert_eq!(text.matches("dependency cycle").count(), 2, "{text}");
    assert!(
        text.contains("a -> b -> a") || text.contains("b -> a -> b"),
        "{text}"
    );
    assert!(
        text.contains("c -> d -> c") || text.contains("d -> c -> d"),
        "{text}"
    );
    assert!(text.contains("2 problems found"), "{text}");
}

/// Many tasks, so that `list` prints more than a pipe holds.
fn many_tasks() -> Project {
    let mut toml = String::new();
    for i in 0..3000 {
        let _ = writeln!(
            toml,
            "[task.task{i}]\ndescription = \"the task number {i}\"\nrun = \"true\""
        );
    }
    Project::new(&toml)
}

#[test]
fn a_closed_pipe_never_panics() {
    let p = many_tasks();
    let mut child = p
        .spawn_parade(&["list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 5];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then closed, as `head -c5`
    let err = common::background::stderr_of(&mut child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // `parade run … 2>&1 | head -c3`: the run goes on to its end, and says it lost output.
    let p = Project::new(
        "[task.a]\nrun = \"i=0; while [ $i -lt 5000 ]; do echo line $i; i=$((i+1)); done\"\n[task.b]\ndeps = [\"a\"]\nrun = \"touch finished\"\n",
    );
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut child = p
        .spawn_parade(&["run", "b"])
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .spawn()
        .unwrap();
    let mut three = [0u8; 3];
    reader.read_exact(&mut three).unwrap();
    drop(reader);
    let status = child.wait().unwrap();
    assert!(
        p.path("finished").exists(),
        "the run stopped when its output went away"
    );
    assert_eq!(
        status.code(),
        Some(1),
        "lost output must not end as success"
    );
}

#[test]
fn json_to_a_full_device_and_plain_to_a_full_stderr_fail_clearly() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full here");
        return;
    }
    let p = Project::new("[task.a]\nrun = \"echo hi\"\n");
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let run = |args: &[&str]| {
        let out = p.spawn_parade(args).stdout(full()).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["run", "a", "--output", "json"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("JSON report was lost") && err.contains("No space left"),
        "{err}"
    );
    let status = p
        .spawn_parade(&["run", "a", "--output", "plain"])
        .stderr(full())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    // Task output to a full stdout is lost output too.
    let (code, err) = run(&["run", "a"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("task output was lost"), "{err}");
}

#[test]
fn a_full_disk_under_the_logs_fails_the_task_and_the_run() {
    let p = Project::new(
        r#"
[settings]
log_dir = "logs"

[task.big]
run = "head -c 3000000 /dev/zero | tr '\\0' x | fold -w 100"

[task.small]
run = "echo small"
"#,
    );
    std::fs::create_dir(p.path("logs")).unwrap();
    let parade = assert_cmd::cargo::cargo_bin("parade");
    let script = format!(
        "mount -t tmpfs -o size=1m tmpfs logs || exit 99; exec {} run big small --output json",
        parade.display()
    );
    let out = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .current_dir(p.dir.path())
        .output();
    let out = match out {
        Ok(out) if out.status.code() != Some(99) && !out.stderr.starts_with(b"unshare:") => out,
        _ => {
            eprintln!("skipped: cannot mount a tmpfs here (unshare -rm, mount -t tmpfs)");
            return;
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let report = common::json(&out.stdout);
    assert_eq!(report["tasks"]["big"]["state"], "failed", "{report}");
    let reason = report["tasks"]["big"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("log is incomplete") && reason.contains("No space"),
        "{reason}"
    );
    assert_eq!(report["tasks"]["small"]["state"], "succeeded");
    assert!(err.contains("1 log incomplete"), "{err}");
}

/// The peak resident memory of process `pid` so far (`VmHWM`), in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn what_parade_keeps_of_a_chatty_tasks_output_stays_bounded() {
    // 46.5 MB of short lines, each with a problem keyword (the snippet's worst case), and the
    // same as a grouped block: memory must not grow with what the task prints.
    let p = Project::new(
        "[task.chatty]\nrun = \"yes 'error: one more line of output' | head -n 1500000\"\n[task.quiet]\nrun = \"true\"\n",
    );
    for mode in ["plain", "grouped"] {
        let mut child = p
            .spawn_parade(&["run", "chatty", "quiet", "--output", mode])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut peak = 0;
        while child.try_wait().unwrap().is_none() {
            peak = peak.max(peak_kib(child.id()).unwrap_or(0));
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(child.wait().unwrap().success());
        assert!(peak > 0, "no /proc/PID/status to read");
        assert!(peak < 64 * 1024, "{mode}: parade peaked at {peak} KiB");
        let log = std::fs::metadata(p.path(".parade/logs/latest/chatty.log")).unwrap();
        assert_eq!(log.len(), 31 * 1_500_000, "the log keeps every byte");
    }
}

#[test]
fn long_lines_are_cut_on_screen_and_whole_in_the_log() {
    let p = Project::new(
        "[task.long]\nrun = \"head -c 1000000 /dev/zero | tr '\\\\0' y; echo; printf '10%%\\\\r50%%\\\\r100%%\\\\n'\"\n[task.other]\nrun = \"true\"\n",
    );
    let out = p.stdout(&["run", "long", "other"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out:.300}");
    assert!(lines[0].len() < 4200, "{}", lines[0].len());
    assert!(
        lines[0].ends_with("… (995904 bytes cut)"),
        "{:.100}",
        &lines[0][4000..]
    );
    assert_eq!(lines[1], "long  | 100%");
    let log = std::fs::read(p.path(".parade/logs/latest/long.log")).unwrap();
    assert_eq!(log.len(), 1_000_000 + 1 + "10%\r50%\r100%\n".len());
}

#[test]
fn a_very_long_task_name_never_panics_list_or_the_dry_run() {
    // Past the limit a name is a clear task-file error, never a panic.
    let p = Project::new(&format!(
        "[task.{}]\nrun = \"echo hi\"\n",
        "a".repeat(70_000)
    ));
    p.parade(&["list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("names are at most 1024 bytes"))
        .stderr(predicate::str::contains("panicked").not());
    // The longest name allowed lists and plans with the others' columns kept.
    let name = "a".repeat(1024);
    let p = Project::new(&format!(
        "[task.{name}]\nrun = \"echo hi\"\n[task.b]\nrun = \"true\"\n"
    ));
    let listed = p.stdout(&["list"]);
    assert!(listed.contains(&format!("{name}  $ echo hi")));
    assert!(listed.contains(&format!("b{}  $ true", " ".repeat(59))));
    let planned = p.stdout(&["run", "--dry-run", &name]);
    assert!(
        planned.contains("        $ echo hi"),
        "{:.200}",
        &planned[planned.len() - 200..]
    );
}
