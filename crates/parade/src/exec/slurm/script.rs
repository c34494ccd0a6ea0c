//! The batch script parade submits for a [`CommandSpec`]: it changes to the command's
//! directory, sets its environment, runs it with no input, and writes its exit status to a
//! file, atomically (a temporary file renamed into place), so the executor learns how the job
//! ended without an accounting database.
//!
//! A job array (`sbatch --array=0-K`) has one such script per element, a file of its own, and
//! a driver script that runs the file of element `$SLURM_ARRAY_TASK_ID` ([`array_script`]):
//! the index is checked to be digits and only names a file; no value becomes code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::client::JobId;
use crate::exec::CommandSpec;

/// The files of one submitted job, named after the job and its Slurm job id in the work
/// directory: `<name>.<id>.out`, `<name>.<id>.err`, `<name>.<id>.status`. The id makes them the
/// job's own: an earlier job of the same name (a cancelled worker, a job of an earlier run) can
/// never write into a later one's files.
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
    /// The files of job `job`, named `name`, under `dir`.
    ///
    /// ```
    /// use std::path::Path;
    /// let f = parade::exec::slurm::JobFiles::new(Path::new("/w"), "parade-r-0", 42);
    /// assert_eq!(f.status, Path::new("/w/parade-r-0.42.status"));
    /// assert_eq!(f.stdout, Path::new("/w/parade-r-0.42.out"));
    /// ```
    pub fn new(dir: &Path, name: &str, job: JobId) -> Self {
        Self {
            script: dir.join(format!("{name}.sh")),
            stdout: dir.join(format!("{name}.{job}.out")),
            stderr: dir.join(format!("{name}.{job}.err")),
            status: dir.join(format!("{name}.{job}.status")),
        }
    }

    /// The files of element `index` of job array `job`, named `name`, under `dir`:
    /// `<name>.<job>_<index>.out` and so on, the script being the element's own.
    ///
    /// ```
    /// use std::path::Path;
    /// let f = parade::exec::slurm::JobFiles::element(Path::new("/w"), "parade-r-0_array2", "5f", 42, 1);
    /// assert_eq!(f.status, Path::new("/w/parade-r-0_array2.42_1.status"));
    /// assert_eq!(f.script, Path::new("/w/parade-r-0_array2.5f.1.sh"));
    /// ```
    pub fn element(dir: &Path, name: &str, identity: &str, job: JobId, index: u32) -> Self {
        Self {
            script: element_script_path(dir, name, identity, index),
            stdout: dir.join(format!("{name}.{job}_{index}.out")),
            stderr: dir.join(format!("{name}.{job}_{index}.err")),
            status: dir.join(format!("{name}.{job}_{index}.status")),
        }
    }

    /// The paths given to `sbatch --output`/`--error` for a job array named `name` under
    /// `dir` (Slurm puts the array's job id in place of `%A`, the element's index for `%a`).
    pub(crate) fn array_output_patterns(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        (
            dir.join(format!("{name}.%A_%a.out")),
            dir.join(format!("{name}.%A_%a.err")),
        )
    }

    /// The paths given to `sbatch --output`/`--error` for a job named `name` under `dir`
    /// (Slurm puts the job id in place of `%j`).
    pub(crate) fn output_patterns(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        (
            dir.join(format!("{name}.%j.out")),
            dir.join(format!("{name}.%j.err")),
        )
    }

    /// The exit status the job recorded, if it recorded one.
    pub fn read_status(&self) -> Option<i32> {
        std::fs::read_to_string(&self.status)
            .ok()?
            .trim()
            .parse()
            .ok()
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

/// The text of the batch script that runs `spec` in `cwd` and records its exit status in
/// `<dir>/<name>.<job id>.status` ([`JobFiles::status`]; the id is `$SLURM_JOB_ID`, `0` outside
/// Slurm).
pub fn batch_script(spec: &CommandSpec, cwd: &Path, dir: &Path, name: &str) -> String {
    script_text(spec, cwd, dir, name, "\"${SLURM_JOB_ID:-0}\"")
}

/// The script of one element of job array `name`: [`batch_script`], recording the exit
/// status in `<dir>/<name>.<array job id>_<index>.status` ([`JobFiles::element`]).
pub(crate) fn element_script(spec: &CommandSpec, cwd: &Path, dir: &Path, name: &str) -> String {
    script_text(
        spec,
        cwd,
        dir,
        name,
        "\"${SLURM_ARRAY_JOB_ID:-0}_${SLURM_ARRAY_TASK_ID:-0}\"",
    )
}

/// Where the script of element `index` of array `name` (of identity `identity`) goes.
pub(crate) fn element_script_path(dir: &Path, name: &str, identity: &str, index: u32) -> PathBuf {
    dir.join(format!("{name}.{identity}.{index}.sh"))
}

/// The script submitted for job array `name` (of identity `identity`) under `dir`: it runs
/// the script of element `$SLURM_ARRAY_TASK_ID` ([`element_script_path`]), after checking that
/// the index is a number.
pub(crate) fn array_script(dir: &Path, name: &str, identity: &str) -> String {
    let stem_q = shell_quote(&dir.join(format!("{name}.{identity}.")).to_string_lossy());
    format!(
        "#!/bin/sh\n# Written by parade: element $SLURM_ARRAY_TASK_ID of a job array runs its own script.\n\
         case \"${{SLURM_ARRAY_TASK_ID:-}}\" in\n\
         ''|*[!0-9]*) echo \"parade: not an element of a job array (SLURM_ARRAY_TASK_ID=${{SLURM_ARRAY_TASK_ID:-}})\" >&2; exit 127 ;;\n\
         esac\n\
         exec /bin/sh {stem_q}\"$SLURM_ARRAY_TASK_ID\".sh\n"
    )
}

/// The script running `spec`, recording its status in `<dir>/<name>.<id>.status`, `id`
/// being the shell word `id_word`.
fn script_text(spec: &CommandSpec, cwd: &Path, dir: &Path, name: &str, id_word: &str) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Written by parade: runs one task and records its exit status.\n",
    );
    let stem_q = shell_quote(&dir.join(name).to_string_lossy());
    let _ = writeln!(s, "parade_status_file={stem_q}.{id_word}.status");
    s.push_str(
        "record() { printf '%s\\n' \"$1\" > \"$parade_status_file.tmp.$$\" && \
         mv -f \"$parade_status_file.tmp.$$\" \"$parade_status_file\"; }\n",
    );
    let cwd_q = shell_quote(&cwd.to_string_lossy());
    let _ = writeln!(
        s,
        "cd {cwd_q} || {{ echo \"parade: cannot change to directory \"{cwd_q} >&2; record 127; exit 127; }}"
    );
    // The environment goes through `env`, quoted: a variable's name is never shell code.
    let mut argv: Vec<String> = Vec::new();
    if !spec.env.is_empty() {
        argv.push("env".to_owned());
        argv.push("--".to_owned());
        argv.extend(
            spec.env
                .iter()
                .map(|(k, v)| shell_quote(&format!("{k}={v}"))),
        );
    }
    argv.extend(
        std::iter::once(&spec.program)
            .chain(&spec.args)
            .map(|a| shell_quote(a)),
    );
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
        let files = JobFiles::new(dir.path(), "j", 0);
        let spec =
            CommandSpec::shell(&["sh", "-c"], "echo \"$X\" > out.txt; exit 4").env("X", "a'b");
        std::fs::write(
            &files.script,
            batch_script(&spec, dir.path(), dir.path(), "j"),
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
        let files = JobFiles::new(dir.path(), "j", 0);
        let spec = CommandSpec::new("true", [""; 0]);
        let script = batch_script(&spec, &dir.path().join("nope"), dir.path(), "j");
        std::fs::write(&files.script, script).unwrap();
        let st = std::process::Command::new("sh")
            .arg(&files.script)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(127));
        assert_eq!(files.read_status(), Some(127));
    }

    #[test]
    fn each_job_id_has_its_own_status_file() {
        let dir = tempfile::tempdir().unwrap();
        let spec = CommandSpec::shell(&["sh", "-c"], "exit \"$CODE\"");
        let script = dir.path().join("j.sh");
        std::fs::write(&script, batch_script(&spec, dir.path(), dir.path(), "j")).unwrap();
        for (job, code) in [(7, "3"), (8, "0")] {
            std::process::Command::new("sh")
                .arg(&script)
                .env("SLURM_JOB_ID", job.to_string())
                .env("CODE", code)
                .status()
                .unwrap();
        }
        assert_eq!(JobFiles::new(dir.path(), "j", 7).read_status(), Some(3));
        assert_eq!(JobFiles::new(dir.path(), "j", 8).read_status(), Some(0));
    }

    #[test]
    fn an_array_element_runs_its_own_file_and_records_its_status() {
        let dir = tempfile::tempdir().unwrap();
        let (name, identity) = ("arr", "ab12");
        for (i, code) in [(0, 5), (1, 0)] {
            let spec =
                CommandSpec::shell(&["sh", "-c"], format!("echo el{i} > out{i}; exit {code}"));
            std::fs::write(
                element_script_path(dir.path(), name, identity, i),
                element_script(&spec, dir.path(), dir.path(), name),
            )
            .unwrap();
        }
        let driver = dir.path().join("arr.sh");
        std::fs::write(&driver, array_script(dir.path(), name, identity)).unwrap();
        for (i, code) in [(0, 5), (1, 0)] {
            let st = std::process::Command::new("sh")
                .arg(&driver)
                .env("SLURM_ARRAY_JOB_ID", "9")
                .env("SLURM_ARRAY_TASK_ID", i.to_string())
                .status()
                .unwrap();
            assert_eq!(st.code(), Some(code));
            let files = JobFiles::element(dir.path(), name, identity, 9, i);
            assert_eq!(files.read_status(), Some(code));
            let out = std::fs::read_to_string(dir.path().join(format!("out{i}"))).unwrap();
            assert_eq!(out, format!("el{i}\n"));
        }
        // An index that is not a number runs nothing.
        let st = std::process::Command::new("sh")
            .arg(&driver)
            .env("SLURM_ARRAY_TASK_ID", "0;touch hacked")
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(127));
        assert!(!dir.path().join("hacked").exists());
    }
}
