//! The batch script parade submits for a [`CommandSpec`]: it changes to the command's
//! directory, sets its environment, runs it with no input, and writes its exit status to a
//! file, atomically (a temporary file renamed into place), so the executor learns how the job
//! ended without an accounting database.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::exec::CommandSpec;

/// The files of one submitted job, all named after the job in the work directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFiles {
    /// The batch script.
    pub script: PathBuf,
    /// The job's standard output.
    pub stdout: PathBuf,
    /// The job's standard error.
    pub stderr: PathBuf,
    /// The exit status the script writes when the command ends (one decimal number).
    pub status: PathBuf,
}

impl JobFiles {
    /// The files of job `name` under `dir`.
    pub fn new(dir: &Path, name: &str) -> Self {
        Self {
            script: dir.join(format!("{name}.sh")),
            stdout: dir.join(format!("{name}.out")),
            stderr: dir.join(format!("{name}.err")),
            status: dir.join(format!("{name}.status")),
        }
    }

    /// The exit status the job recorded, if it recorded one.
    pub fn read_status(&self) -> Option<i32> {
        std::fs::read_to_string(&self.status)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Removes what an earlier job of the same name left (before submitting a new one).
    pub(crate) fn clear(&self) {
        for f in [&self.stdout, &self.stderr, &self.status] {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Quotes `s` for a POSIX shell.
///
/// ```
/// assert_eq!(parade::exec::slurm::shell_quote("it's"), r"'it'\''s'");
/// ```
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The text of the batch script that runs `spec` in `cwd` and records its status in `status`.
pub fn batch_script(spec: &CommandSpec, cwd: &Path, status: &Path) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Written by parade: runs one task and records its exit status.\n",
    );
    let status_q = shell_quote(&status.to_string_lossy());
    let tmp_q = shell_quote(&format!("{}.tmp", status.to_string_lossy()));
    let _ = writeln!(
        s,
        "record() {{ printf '%s\\n' \"$1\" > {tmp_q}.$$ && mv -f {tmp_q}.$$ {status_q}; }}"
    );
    let cwd_q = shell_quote(&cwd.to_string_lossy());
    let _ = writeln!(
        s,
        "cd {cwd_q} || {{ echo \"parade: cannot change to directory \"{cwd_q} >&2; record 127; exit 127; }}"
    );
    for (k, v) in &spec.env {
        let _ = writeln!(s, "export {k}={}", shell_quote(v));
    }
    let argv: Vec<String> = std::iter::once(&spec.program)
        .chain(&spec.args)
        .map(|a| shell_quote(a))
        .collect();
    let _ = writeln!(s, "{} </dev/null", argv.join(" "));
    s.push_str("code=$?\nrecord \"$code\"\nexit \"$code\"\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_runs_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let files = JobFiles::new(dir.path(), "j");
        let spec =
            CommandSpec::shell(&["sh", "-c"], "echo \"$X\" > out.txt; exit 4").env("X", "a'b");
        std::fs::write(
            &files.script,
            batch_script(&spec, dir.path(), &files.status),
        )
        .unwrap();
        let st = std::process::Command::new("sh")
            .arg(&files.script)
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(4));
        assert_eq!(files.read_status(), Some(4));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
            "a'b\n"
        );
    }

    #[test]
    fn a_missing_directory_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let files = JobFiles::new(dir.path(), "j");
        let spec = CommandSpec::new("true", [""; 0]);
        let script = batch_script(&spec, &dir.path().join("nope"), &files.status);
        std::fs::write(&files.script, script).unwrap();
        let st = std::process::Command::new("sh")
            .arg(&files.script)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(127));
        assert_eq!(files.read_status(), Some(127));
    }
}
