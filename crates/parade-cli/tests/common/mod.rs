//! What the CLI tests share: a project directory with a task file ([`Project`]: write and
//! read its files), the `parade` command run in it (its exit status checked, its stdout,
//! stderr or JSON report read), and checks on processes.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod background;
pub mod pty;

/// Whether `program` runs here (`program arg` succeeds): a tool a test needs (`strace`,
/// `valgrind`) is skipped, with the reason printed, where it is missing.
pub fn tool_runs(program: &str, arg: &str) -> bool {
    std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A temporary directory holding a `parade.toml`.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A project whose task file is `toml`.
    pub fn new(toml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("parade.toml"), toml).unwrap();
        Self { dir }
    }

    /// A directory without a task file (for `parade init`, or a file written later).
    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes `text` to the file `rel` of the project (its directories made); returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The text of the file `rel` of the project (a missing file fails the test, naming it).
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// A copy of the shipped example `name` (examples write files where they run).
    pub fn example(name: &str) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let toml = std::fs::read_to_string(root.join(name).join("parade.toml")).unwrap();
        Self::new(&toml)
    }

    /// A path in the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `parade ARGS... --output json` in the project: checks the exit status is `code` and
    /// returns the JSON report it printed.
    pub fn json_report(&self, args: &[&str], code: i32) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let out = self
            .parade(&all)
            .assert()
            .code(code)
            .get_output()
            .stdout
            .clone();
        json(&out)
    }

    /// `parade ARGS... --output json` in the project: checks it fails (status 1) and that the
    /// reason the report gives for task `task` says `says`; returns the report.
    #[track_caller]
    pub fn task_fails_saying(&self, args: &[&str], task: &str, says: &str) -> serde_json::Value {
        let doc = self.json_report(args, 1);
        let reason = doc["tasks"][task]["reason"].as_str().unwrap_or_else(|| {
            panic!("no reason for {task}: {doc}");
        });
        assert!(reason.contains(says), "{task}: {reason}");
        doc
    }

    /// `parade ARGS...` in the project, without a terminal.
    pub fn parade(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("parade").unwrap();
        cmd.current_dir(self.dir.path()).args(args);
        cmd
    }

    /// The JSON document in the file `rel` of the project.
    pub fn read_json(&self, rel: &str) -> serde_json::Value {
        json(self.read(rel).as_bytes())
    }

    /// `parade ARGS...` in the project: checks it succeeds and returns what it printed on
    /// stdout.
    pub fn stdout(&self, args: &[&str]) -> String {
        let out = self
            .parade(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }

    /// `parade ARGS...` in the project without colours: checks the exit status is `code` and
    /// returns what it printed on stderr.
    pub fn stderr(&self, args: &[&str], code: i32) -> String {
        let out = self
            .parade(args)
            .env("NO_COLOR", "1")
            .assert()
            .code(code)
            .get_output()
            .stderr
            .clone();
        String::from_utf8(out).unwrap()
    }

    /// `parade ARGS...` in the project without colours: checks the exit status is `code` and
    /// that stderr says each of `says` (the whole stderr shown when it does not); returns
    /// stderr.
    #[track_caller]
    pub fn stderr_says(&self, args: &[&str], code: i32, says: &[&str]) -> String {
        let err = self.stderr(args, code);
        for s in says {
            assert!(err.contains(s), "stderr does not say {s:?}:\n{err}");
        }
        err
    }

    /// The same as a `std` command, to run in the background.
    pub fn spawn_parade(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("parade"));
        cmd.current_dir(self.dir.path()).args(args);
        cmd
    }

    /// The file's text, once it exists and ends with a newline (written completely).
    pub fn wait_for(&self, rel: &str) -> String {
        let path = self.path(rel);
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && text.ends_with('\n')
            {
                return text;
            }
            assert!(Instant::now() < until, "{rel} never appeared");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `parade ARGS...` outside any project (commands that read no task file).
pub fn parade(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("parade").unwrap();
    cmd.args(args);
    cmd
}

/// Whether the process exists and is not a zombie waiting to be reaped.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with('Z') && !state.starts_with('X')
    })
}

/// Whether the process is gone within a generous bound (a killed process closes its pipes a
/// moment before the kernel marks it dead).
pub fn dies(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(20);
    while alive(pid) {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Process ids written as whitespace-separated numbers.
pub fn pids(text: &str) -> Vec<i32> {
    text.split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Checks that a process `output` came from exited with status 0 (its stderr shown when it did
/// not, after `what`); returns it.
#[track_caller]
pub fn succeeded(what: &str, out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "{what}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON document `--output json` printed.
pub fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(out));
    })
}

/// A task file of plain tasks, in order: `(name, run, deps)`, each command written as a TOML
/// string (quoted by `toml`, so any text is fine).
///
/// `task_file(&[("a", "true", &[]), ("b", "echo b", &["a"])])` is two tasks, `b` after `a`.
pub fn task_file(tasks: &[(&str, &str, &[&str])]) -> String {
    use std::fmt::Write as _;
    let mut file = String::new();
    for (name, run, deps) in tasks {
        let run = toml::Value::String((*run).to_owned());
        let _ = writeln!(file, "[task.{name}]\nrun = {run}");
        if !deps.is_empty() {
            let deps = toml::Value::Array(
                deps.iter()
                    .map(|d| toml::Value::String((*d).to_owned()))
                    .collect(),
            );
            let _ = writeln!(file, "deps = {deps}");
        }
        file.push('\n');
    }
    file
}
