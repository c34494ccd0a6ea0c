//! One concrete task of a task file, ready to run: its command line with `{fields}` filled
//! (shell-quoted), the environment it sees, and the job that runs it through the library's
//! child-process runner ([`CommandJob`]) and keeps the JSON result it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parade::display::sanitize_file_name;
use parade::engine::{Job, Outcome, TaskContext};
use parade::exec::{CommandJob, CommandSpec};
use serde_json::Value;

use crate::taskfile::{Task, TaskFile};
use crate::{direct, shell};

/// One concrete task to run: which task, under which name, with which placeholder values.
#[derive(Clone, Debug)]
pub struct TaskRun<'a> {
    /// The task file.
    pub file: &'a TaskFile,
    /// The task (or pattern) it is an instance of.
    pub task: &'a Task,
    /// The concrete name.
    pub name: &'a str,
    /// Placeholder values.
    pub args: &'a BTreeMap<String, String>,
    /// Params, overrides applied.
    pub params: &'a BTreeMap<String, String>,
    /// Where results of finished tasks are (`<name>.json`).
    pub results: &'a ResultsDir,
    /// What followed `--` on the command line (the requested task only): `"$@"`.
    pub extra_args: &'a [String],
    /// The instances a glob dependency matched, when the task has one: `$PARADE_INSTANCES`.
    pub instances: Option<&'a [String]>,
    /// A pseudo-terminal size for the command's output, when it should see a terminal.
    pub terminal: Option<(u16, u16)>,
}

impl<'a> TaskRun<'a> {
    /// A task to look at rather than run (its key, its dry-run command): no results
    /// directory, no arguments after `--`, no glob instances.
    pub fn planned(
        file: &'a TaskFile,
        task: &'a Task,
        name: &'a str,
        args: &'a BTreeMap<String, String>,
        params: &'a BTreeMap<String, String>,
    ) -> Self {
        TaskRun {
            file,
            task,
            name,
            args,
            params,
            results: no_results(),
            extra_args: &[],
            instances: None,
            terminal: None,
        }
    }
}

impl TaskRun<'_> {
    /// The command to run: the task's shell (or its `#!` interpreter) with the task's `run`
    /// (a plain simple command under the default shell runs without it: [`direct`]),
    /// each `{field}` a reference to a variable holding its value ([`shell::script`]), the
    /// arguments after `--` as `"$@"`, the environment set, the task's Slurm resources attached.
    ///
    /// The environment holds the file's `dotenv` and `[env]`, the task's `env` (values may use
    /// `${VAR}` of the environment and `{fields}`), `PARADE_TASK` (the name),
    /// `PARADE_ARG_<KEY>` per placeholder, `PARADE_PARAM_<KEY>` per param, `PARADE_RESULT` (a
    /// file the task may write JSON to), `PARADE_RESULTS_DIR`, and `PARADE_V_<n>` per field.
    ///
    /// Errors: a value that cannot be passed (NUL, a quoted heredoc), a `cwd` a value would take
    /// out of the project, a script file that cannot be written.
    pub fn command(&self) -> Result<CommandSpec, String> {
        let value = |field: &str| self.field_value(field);
        // Whether the command may go without the shell, if its text allows (see `direct`).
        let mut shell_free = false;
        let (mut spec, vars) = if let Some(line) = shell::shebang(&self.task.run) {
            self.shebang_command(&line)?
        } else {
            let script = shell::script(&self.task.run, value).map_err(|e| e.to_string())?;
            let shell = self
                .task
                .shell
                .as_ref()
                .unwrap_or(&self.file.settings.shell);
            shell_free = self.task.shell.is_none()
                && direct::is_default_shell(shell)
                && script.vars.is_empty()
                && !direct::shell_forced();
            let mut spec = CommandSpec::shell(shell, script.text);
            if !self.extra_args.is_empty() {
                // `sh -c SCRIPT NAME ARGS...`: NAME is `$0`, ARGS are `"$@"`.
                spec.args.push(shell[0].clone());
                spec.args.extend(self.extra_args.iter().cloned());
            }
            (spec, script.vars)
        };
        let cwd = self.checked_cwd()?;
        spec = spec.resources(self.task.resources.clone());
        for (k, v) in crate::environment::task_env(self.file, self.task, &value) {
            spec = spec.env(k, v);
        }
        spec = spec.env("PARADE_TASK", self.name);
        for (k, v) in self.args {
            spec = spec.env(format!("PARADE_ARG_{}", shell::env_key(k)), v);
        }
        for (k, v) in self.params {
            spec = spec.env(format!("PARADE_PARAM_{}", shell::env_key(k)), v);
        }
        if let Some(instances) = self.instances {
            spec = spec.env("PARADE_INSTANCES", instances.join("\n"));
        }
        for (k, v) in vars {
            spec = spec.env(k, v);
        }
        if let Some((k, _)) = spec.env.iter().find(|(_, v)| v.contains('\0')) {
            return Err(format!(
                "the value of `{k}` holds a NUL byte, which no command can receive"
            ));
        }
        if shell_free {
            let text = &spec.args[self.file.settings.shell.len() - 1];
            if let Some(d) = direct::direct(text, &spec.env, &cwd) {
                spec.program = d.program;
                spec.args = d.args;
                spec = spec.env("PWD", d.pwd).shell_exit_codes(true);
            }
        }
        let results_dir = &self.results.shown;
        Ok(spec
            .cwd(cwd)
            .env("PARADE_RESULT", self.partial_result_shown(results_dir))
            .env("PARADE_RESULTS_DIR", results_dir.as_str())
            // One pipe for stdout and stderr: their lines keep their order in the log and on screen.
            .merge_stderr(true)
            .terminal(self.terminal))
    }

    /// The command as a reader sees it (a dry run, as `make -n` prints): fields filled with
    /// their values shell-quoted. Display only: what runs is [`TaskRun::command`], whose values
    /// never become shell text.
    ///
    /// One reading of `run` ([`shell::preview`]); the many instances of one task share a
    /// reading (the dry run's `planned_command`).
    pub fn shown_command(&self) -> String {
        shell::preview(&self.task.run, |f| self.field_str(f))
    }

    /// The task's `run` read for the fields this run knows (its arguments' keys and the
    /// params): the same for every instance of one task, so read once for all of them.
    pub(crate) fn run_fields(&self) -> shell::Fields {
        shell::Fields::parse(&self.task.run, |f| self.field_str(f).is_some())
    }

    /// [`TaskRun::shown_command`], the `run` read already ([`TaskRun::run_fields`] of a run
    /// with the same keys).
    pub(crate) fn shown_command_by(&self, fields: &shell::Fields) -> String {
        let mut out = String::with_capacity(self.task.run.len());
        fields.preview_into(&mut out, |f| self.field_str(f));
        out
    }

    /// The task's `run` as a key sees it: its fields filled (see [`TaskRun::shown_command`]).
    pub fn script(&self) -> String {
        self.shown_command()
    }

    /// The directory the command runs in: the task's `cwd` (fields filled) under the task
    /// file's directory. Errors when a value would take it out of the project.
    pub fn checked_cwd(&self) -> Result<PathBuf, String> {
        match &self.task.cwd {
            Some(dir) => {
                let filled = shell::fill_path(&dir.to_string_lossy(), |f| self.field_value(f))?;
                Ok(self.file.dir().join(filled))
            }
            None => Ok(self.file.dir()),
        }
    }

    /// [`TaskRun::checked_cwd`] for fingerprints and keys: a `cwd` that cannot be used is the
    /// task file's directory here (the command itself then fails with the reason).
    pub fn cwd(&self) -> PathBuf {
        self.checked_cwd().unwrap_or_else(|_| self.file.dir())
    }

    /// A `{field}` of this task: a placeholder's value or `params.KEY`.
    pub(crate) fn field_value(&self, field: &str) -> Option<String> {
        self.field_str(field).map(str::to_owned)
    }

    /// [`TaskRun::field_value`], borrowed.
    fn field_str(&self, field: &str) -> Option<&str> {
        match field.strip_prefix("params.") {
            Some(key) => self.params.get(key),
            None => self.args.get(field),
        }
        .map(String::as_str)
    }

    /// A `run` starting with `#!`, written to a file and run with its interpreter (and the
    /// interpreter's one argument, as Linux reads a `#!` line). Fields are filled only for
    /// shell interpreters; any other language reads values from the environment.
    fn shebang_command(
        &self,
        line: &shell::Shebang,
    ) -> Result<(CommandSpec, Vec<(String, String)>), String> {
        let value = |field: &str| self.field_value(field);
        let (text, vars) = if line.is_shell() {
            let s = shell::script(&self.task.run, value).map_err(|e| e.to_string())?;
            (s.text, s.vars)
        } else {
            if let Some(field) = shell::fields(&self.task.run)
                .into_iter()
                .find(|f| value(f).is_some())
            {
                return Err(format!(
                    "`{{{field}}}` in a `{}` script: only shell scripts get fields filled; read \
                     the value from the environment ($PARADE_ARG_*, $PARADE_PARAM_*)",
                    line.program
                ));
            }
            (self.task.run.clone(), Vec::new())
        };
        let dir = self.results.path.join(".scripts");
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        let path = dir.join(sanitize_file_name(self.name));
        std::fs::write(&path, text)
            .map_err(|e| format!("cannot write the script {}: {e}", path.display()))?;
        let mut args: Vec<String> = line.arg.iter().cloned().collect();
        args.push(absolute(&path));
        args.extend(self.extra_args.iter().cloned());
        Ok((CommandSpec::new(line.program.clone(), args), vars))
    }

    /// Where a finished task's result is kept.
    pub fn result_path(&self) -> PathBuf {
        self.results
            .path
            .join(format!("{}.json", sanitize_file_name(self.name)))
    }

    /// Where the task may write its result (`PARADE_RESULT`), as the task sees it: in the
    /// results directory `dir`, made absolute ([`ResultsDir`]).
    fn partial_result_shown(&self, dir: &str) -> String {
        let mut path = String::with_capacity(dir.len() + 1 + self.name.len() + 14);
        path.push_str(dir);
        if !dir.ends_with('/') {
            path.push('/');
        }
        path.push_str(&self.partial_name());
        path
    }

    /// The file name of [`TaskRun::partial_result_shown`].
    fn partial_name(&self) -> String {
        format!(".{}.json.partial", sanitize_file_name(self.name))
    }
}

/// A run's results directory as its tasks are given it: the path, the absolute text each
/// task is told (`$PARADE_RESULTS_DIR`, `$PARADE_RESULT`), made once for the run, and the
/// directory held open from the first result looked for, so that the result a task may have
/// written costs one `openat` of one name (not each directory of a deep path; `ENOENT` is
/// "none") and is removed from the directory it was read in (`unlinkat` on the held one).
/// Made by the run ([`runner`](crate::runner)'s run part), not cached by path: a directory
/// removed and made again is a new `ResultsDir` in the next run.
#[derive(Debug)]
pub struct ResultsDir {
    path: PathBuf,
    shown: String,
    held: std::sync::OnceLock<std::os::fd::OwnedFd>,
}

impl ResultsDir {
    /// The results directory at `path` (relative to parade's working directory, or absolute).
    ///
    /// ```
    /// let dir = parade_cli::task::ResultsDir::new("/tmp/results".into());
    /// assert_eq!(dir.path(), std::path::Path::new("/tmp/results"));
    /// ```
    pub fn new(path: PathBuf) -> Self {
        let shown = absolute(&path);
        Self {
            path,
            shown,
            held: std::sync::OnceLock::new(),
        }
    }

    /// Its path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the file `name` in it, if there is one: its text, the file removed. Where the
    /// directory cannot be held open (not made yet), the whole path is used.
    fn take(&self, name: &str) -> Option<String> {
        use nix::fcntl::{OFlag, open, openat};
        use nix::sys::stat::Mode;
        let held = self.held.get().or_else(|| {
            let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            let fd = open(&self.path, flags, Mode::empty()).ok()?;
            Some(self.held.get_or_init(|| fd))
        });
        let Some(dir) = held else {
            let path = self.path.join(name);
            let text = std::fs::read_to_string(&path).ok()?;
            let _ = std::fs::remove_file(&path);
            return Some(text);
        };
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        let file = openat(dir, name, flags, Mode::empty()).ok()?;
        let text = std::io::read_to_string(std::fs::File::from(file));
        let _ = nix::unistd::unlinkat(dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir);
        text.ok()
    }
}

/// The results directory of a task looked at, not run ([`TaskRun::planned`]): none given.
fn no_results() -> &'static ResultsDir {
    static NONE: std::sync::LazyLock<ResultsDir> =
        std::sync::LazyLock::new(|| ResultsDir::new(PathBuf::new()));
    &NONE
}

/// A path as the task sees it from its own working directory: absolute. A relative path is
/// taken from parade's working directory, read once (parade never changes it), so that each
/// task's paths cost no `getcwd`.
fn absolute(path: &Path) -> String {
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let joined;
    let path = match CWD.get_or_init(|| std::env::current_dir().ok()) {
        Some(cwd) if path.is_relative() => {
            joined = cwd.join(path);
            joined.as_path()
        }
        _ => path,
    };
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Runs one task's command to its end as the engine task `ctx` (its output goes to the
/// task's observers; a timeout or a cancel terminates its process group, SIGKILL after
/// `grace`). Returns how it ended and the JSON result it wrote to `PARADE_RESULT`, if any; a
/// result is kept only when the task succeeds, and an invalid one fails the task.
pub fn run_task(run: &TaskRun<'_>, grace: Duration, ctx: &TaskContext) -> (Outcome, Option<Value>) {
    // No result file can be there: the results directory is the run's own, and an earlier
    // attempt's file was taken (and removed) when it ended.
    run_task_with(run, |spec| {
        Box::new(CommandJob::new(spec).grace(grace)).run(ctx)
    })
}

/// [`run_task`], with `execute` running the command (locally, or as a Slurm job). `execute`
/// removes the result file an earlier run may have left (`PARADE_RESULT`) when it starts the
/// command anew, and keeps it when it waits for a still-running job of an earlier run instead
/// (which may have written its result already).
pub fn run_task_with(
    run: &TaskRun<'_>,
    execute: impl FnOnce(CommandSpec) -> Outcome,
) -> (Outcome, Option<Value>) {
    // The results directory is the run's own, made when the run starts: nothing is there
    // before the task writes it.
    let outcome = match run.command() {
        Ok(spec) => execute(spec),
        Err(e) => Outcome::failed(e),
    };
    let written = run.results.take(&run.partial_name());
    if outcome != Outcome::Succeeded {
        return (outcome, None);
    }
    let Some(text) = written else {
        return (outcome, None);
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => match std::fs::write(run.result_path(), &text) {
            Ok(()) => (outcome, Some(value)),
            // A result that could not be kept is lost: the task did not do its job.
            Err(e) => (
                Outcome::failed(format!(
                    "cannot write the result to {}: {e}",
                    run.result_path().display()
                )),
                None,
            ),
        },
        Err(e) => (
            Outcome::failed(format!("PARADE_RESULT is not JSON: {e}")),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> TaskFile {
        crate::taskfile::parse_text(text).unwrap()
    }

    /// The program and arguments task `name` of `text` runs with.
    fn argv(text: &str, name: &str) -> Vec<String> {
        let f = file(text);
        let task = f.task(name).unwrap();
        let (args, params) = (BTreeMap::new(), BTreeMap::new());
        let spec = TaskRun::planned(&f, task, name, &args, &params)
            .command()
            .unwrap();
        std::iter::once(spec.program).chain(spec.args).collect()
    }

    #[test]
    fn a_plain_simple_command_runs_without_the_shell() {
        let text = "[params]\nv = \"x\"\n\
                    [task.simple]\nrun = \"ls -a .\"\n\
                    [task.field]\nrun = \"ls {params.v}\"\n\
                    [task.pipe]\nrun = \"ls | wc\"\n\
                    [task.own]\nshell = [\"sh\", \"-e\", \"-c\"]\nrun = \"ls -a\"\n\
                    [task.missing]\nrun = \"no-such-program-anywhere\"\n";
        assert_eq!(argv(text, "simple"), ["ls", "-a", "."]);
        for shelled in ["field", "pipe", "own", "missing"] {
            assert_eq!(argv(text, shelled)[0], "sh", "{shelled}");
        }
        let other = "[settings]\nshell = [\"bash\", \"-c\"]\n[task.simple]\nrun = \"ls -a\"\n";
        assert_eq!(argv(other, "simple"), ["bash", "-c", "ls -a"]);
    }

    #[test]
    fn a_result_taken_is_removed_from_the_directory_it_was_read_in() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("results");
        std::fs::create_dir(&dir).unwrap();
        let results = ResultsDir::new(dir.clone());
        assert_eq!(
            results.take(".a.json.partial"),
            None,
            "no file, nothing taken"
        );
        std::fs::write(dir.join(".a.json.partial"), "1").unwrap();
        assert_eq!(results.take(".a.json.partial").as_deref(), Some("1"));
        assert!(!dir.join(".a.json.partial").exists(), "taken, so removed");
        // Within a run, the directory held open is the one read and the one the file is
        // removed from, whatever its path names by then (a whole-path removal takes another
        // directory's); the next run's results directory is looked up again.
        std::fs::write(dir.join(".b.json.partial"), "2").unwrap();
        let moved = root.path().join("moved");
        std::fs::rename(&dir, &moved).unwrap();
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(".b.json.partial"), "other").unwrap();
        assert_eq!(results.take(".b.json.partial").as_deref(), Some("2"));
        assert!(!moved.join(".b.json.partial").exists());
        assert!(
            dir.join(".b.json.partial").exists(),
            "another directory's file stays"
        );
        let next = ResultsDir::new(dir.clone());
        assert_eq!(next.take(".b.json.partial").as_deref(), Some("other"));
    }

    #[test]
    fn paths_are_absolute_as_std_makes_them() {
        for p in ["a/b.json", "./a/../b", "/x/./y", "."] {
            let want = std::path::absolute(p).unwrap().display().to_string();
            assert_eq!(absolute(Path::new(p)), want, "{p}");
            assert_eq!(ResultsDir::new(p.into()).shown, want, "{p}");
        }
        // The result file a task is told of is the one read after it: in the directory held.
        let f = file("[task.a]\nrun = \"true\"\n");
        let (args, params) = (BTreeMap::new(), BTreeMap::new());
        for dir in ["results", "/abs/results/", "./r/../results"] {
            let results = ResultsDir::new(dir.into());
            let mut run = TaskRun::planned(&f, f.task("a").unwrap(), "a", &args, &params);
            run.results = &results;
            let spec = run.command().unwrap();
            let told = spec.env.iter().find(|(k, _)| k == "PARADE_RESULT").unwrap();
            let want = absolute(&Path::new(dir).join(run.partial_name()));
            assert_eq!(told.1, want, "{dir}");
        }
    }
}
