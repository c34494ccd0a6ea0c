//! The seam between the commands and `parade::flow`: what `run`, `run --dry-run` and `graph`
//! ask of a flow ([`Flow`]), the job every task-file proc runs ([`run_task`]), and the
//! renderings of a [`Plan`].
//!
//! Until the flow lands, [`Unconnected`] answers every request with
//! [`RunError::NotConnected`]. Connecting means: implement [`Flow`] over `parade::flow` (one proto
//! per task, deps/rdeps/locks/waves/timeouts from [`Task`], the proc body calling
//! [`run_task`]), and return it from [`flow`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parade::display::{TaskNames, sanitize_file_name};
use parade::engine::{Engine, Outcome, Reason, Stream, TaskState};
use serde_json::Value;

use crate::shell::{self, Exit, Groups, ShellCommand};
use crate::taskfile::{Task, TaskFile};

/// What `parade run` asks for.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    /// The checked task file.
    pub file: &'a TaskFile,
    /// Names, pattern instances or globs.
    pub targets: &'a [String],
    /// `[params]` with `--param` overrides applied.
    pub params: BTreeMap<String, String>,
    /// Most tasks at once.
    pub jobs: Option<usize>,
    /// Stop at the first failure.
    pub fail_fast: bool,
    /// Where finished tasks' results go, as `<name>.json`.
    pub results_dir: PathBuf,
}

/// One task of a plan.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Planned {
    /// Its concrete name.
    pub name: String,
    /// The concrete names it waits for.
    pub deps: Vec<String>,
    /// Its wave.
    pub wave: u32,
}

/// What a run would do: tasks in an order that respects dependencies.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Plan {
    /// The tasks.
    pub tasks: Vec<Planned>,
}

/// How a run ended.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Every task that was wanted, with its final state.
    pub states: Vec<(String, TaskState)>,
    /// Results tasks wrote to `PARADE_RESULT`, by name.
    pub results: BTreeMap<String, Value>,
}

impl RunReport {
    /// Whether every task succeeded or was skipped.
    pub fn ok(&self) -> bool {
        self.states.iter().all(|(_, s)| s.is_success())
    }
}

/// Why a run could not happen.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The flow module is not connected to the command yet.
    #[error("`parade {0}` needs parade's flow engine, which this build does not connect yet")]
    NotConnected(&'static str),
    /// A target or a dependency could not be resolved (unknown name, bad choice, cycle...).
    #[error("{0}")]
    Plan(String),
}

/// What the commands need from a flow.
pub trait Flow {
    /// The tasks `targets` need, in a runnable order, without running anything.
    fn plan(
        &self,
        file: &TaskFile,
        targets: &[String],
        params: &BTreeMap<String, String>,
    ) -> Result<Plan, RunError>;

    /// Runs `targets` and what they need. `observe` is called once, before anything starts,
    /// with the engine and the task names, to subscribe the display observers.
    fn run(
        &self,
        request: &RunRequest<'_>,
        observe: &mut dyn FnMut(&Engine, Arc<dyn TaskNames>),
    ) -> Result<RunReport, RunError>;
}

/// The flow until `parade::flow` is connected: every request fails with
/// [`RunError::NotConnected`].
#[derive(Debug, Default)]
pub struct Unconnected;

impl Flow for Unconnected {
    fn plan(
        &self,
        _: &TaskFile,
        _: &[String],
        _: &BTreeMap<String, String>,
    ) -> Result<Plan, RunError> {
        Err(RunError::NotConnected("graph"))
    }

    fn run(
        &self,
        _: &RunRequest<'_>,
        _: &mut dyn FnMut(&Engine, Arc<dyn TaskNames>),
    ) -> Result<RunReport, RunError> {
        Err(RunError::NotConnected("run"))
    }
}

/// The flow the commands use.
pub fn flow() -> Box<dyn Flow> {
    Box::new(Unconnected)
}

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
    pub results_dir: &'a Path,
}

impl TaskRun<'_> {
    /// The command to run: fields filled with quoted values, the environment set.
    ///
    /// The environment holds the task's `env`, `PARADE_TASK` (the name), `PARADE_ARG_<KEY>` per
    /// placeholder, `PARADE_PARAM_<KEY>` per param, `PARADE_RESULT` (a file the task may write
    /// JSON to) and `PARADE_RESULTS_DIR`.
    pub fn command(&self) -> ShellCommand {
        let script = shell::substitute(&self.task.run, |field| {
            match field.strip_prefix("params.") {
                Some(key) => self.params.get(key).cloned(),
                None => self.args.get(field).cloned(),
            }
        });
        let mut env = self.task.env.clone();
        env.insert("PARADE_TASK".into(), self.name.to_owned());
        for (k, v) in self.args {
            env.insert(format!("PARADE_ARG_{}", shell::env_key(k)), v.clone());
        }
        for (k, v) in self.params {
            env.insert(format!("PARADE_PARAM_{}", shell::env_key(k)), v.clone());
        }
        env.insert(
            "PARADE_RESULT".into(),
            self.partial_result().display().to_string(),
        );
        env.insert(
            "PARADE_RESULTS_DIR".into(),
            self.results_dir.display().to_string(),
        );
        ShellCommand {
            shell: self.file.settings.shell.clone(),
            script,
            env,
            cwd: Some(match &self.task.cwd {
                Some(dir) => self.file.dir().join(dir),
                None => self.file.dir(),
            }),
            timeout: self.task.timeout,
            grace: self.file.settings.grace,
        }
    }

    /// Where a finished task's result is kept.
    pub fn result_path(&self) -> PathBuf {
        self.results_dir
            .join(format!("{}.json", sanitize_file_name(self.name)))
    }

    fn partial_result(&self) -> PathBuf {
        self.results_dir
            .join(format!(".{}.json.partial", sanitize_file_name(self.name)))
    }
}

/// Runs one task's command to the end, passing its output to `emit` (a flow proc passes
/// `ctx.emit_from`). Returns how it ended and the JSON result it wrote to `PARADE_RESULT`, if
/// any; a result is kept only when the task succeeds, and an invalid one fails the task.
pub fn run_task(
    run: &TaskRun<'_>,
    groups: &Groups,
    emit: impl Fn(Stream, String) + Send + Sync + 'static,
) -> (Outcome, Option<Value>) {
    let cmd = run.command();
    let partial = run.partial_result();
    let _ = std::fs::create_dir_all(run.results_dir);
    let _ = std::fs::remove_file(&partial);
    let ended = shell::run(&cmd, groups, emit);
    let outcome = match ended {
        Err(e) => Outcome::failed(format!("cannot start {}: {e}", cmd.shell[0])),
        Ok(Exit::Code(0)) => Outcome::Succeeded,
        Ok(Exit::Code(code)) => Outcome::Failed(Reason::Exit(code)),
        Ok(Exit::Signal(sig)) => Outcome::Failed(Reason::Signal(sig)),
        Ok(Exit::Timeout) => Outcome::Failed(Reason::Timeout(cmd.timeout.unwrap_or_default())),
        Ok(Exit::Stopped) => Outcome::Failed(Reason::Cancelled),
    };
    let written = std::fs::read_to_string(&partial).ok();
    let _ = std::fs::remove_file(&partial);
    if outcome != Outcome::Succeeded {
        return (outcome, None);
    }
    let Some(text) = written else {
        return (outcome, None);
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => {
            let _ = std::fs::write(run.result_path(), &text);
            (outcome, Some(value))
        }
        Err(e) => (
            Outcome::failed(format!("PARADE_RESULT is not JSON: {e}")),
            None,
        ),
    }
}

/// A plan as Graphviz `dot`.
pub fn render_dot(plan: &Plan) -> String {
    let mut out = String::from("digraph parade {\n  rankdir=LR;\n");
    for t in &plan.tasks {
        let _ = writeln!(out, "  {:?};", t.name);
        for d in &t.deps {
            let _ = writeln!(out, "  {:?} -> {:?};", d, t.name);
        }
    }
    out.push_str("}\n");
    out
}

/// A plan as a Mermaid flowchart.
pub fn render_mermaid(plan: &Plan) -> String {
    let index: BTreeMap<&str, usize> = plan
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let mut out = String::from("flowchart LR\n");
    for (i, t) in plan.tasks.iter().enumerate() {
        let _ = writeln!(out, "  t{i}[\"{}\"]", t.name.replace('"', "#quot;"));
    }
    for (i, t) in plan.tasks.iter().enumerate() {
        for d in &t.deps {
            if let Some(j) = index.get(d.as_str()) {
                let _ = writeln!(out, "  t{j} --> t{i}");
            }
        }
    }
    out
}

/// A plan as text: each task, then what it waits for.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    for t in &plan.tasks {
        let wave = if t.wave > 0 {
            format!(" (wave {})", t.wave)
        } else {
            String::new()
        };
        let _ = writeln!(out, "{}{wave}", t.name);
        for d in &t.deps {
            let _ = writeln!(out, "  <- {d}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            tasks: vec![
                Planned {
                    name: "setup".into(),
                    deps: vec![],
                    wave: 0,
                },
                Planned {
                    name: "build::prod".into(),
                    deps: vec!["setup".into()],
                    wave: 0,
                },
            ],
        }
    }

    #[test]
    fn renderings() {
        assert!(render_dot(&plan()).contains("  \"setup\" -> \"build::prod\";\n"));
        assert!(render_mermaid(&plan()).contains("  t0 --> t1\n"));
        assert_eq!(render_text(&plan()), "setup\nbuild::prod\n  <- setup\n");
    }
}
