//! `parade list`: the tasks of a task file, with their descriptions, aliases, choices and
//! dependencies, and which one `parade run` runs with no target (`[settings] default`); as text
//! for people or as JSON (`--json`) for scripts.
//!
//! This module reads the checked [`TaskFile`]; it does not know how tasks run.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::taskfile::{Dep, Part, Task, TaskFile};

/// The listing: one line per task (`name  description`, `(default)` after the task that
/// `parade run` runs with no target), then its aliases, choices and dependencies indented.
/// With `expand`, patterns whose placeholders all have choices also list every instance.
pub fn render(file: &TaskFile, expand: bool) -> String {
    let width = file
        .tasks
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(crate::render::MAX_COLUMN);
    let mut out = String::new();
    for t in &file.tasks {
        let mark = match default_of(file, t) {
            Some(name) if name == t.name || t.aliases.contains(&name) => " (default)".to_owned(),
            Some(name) => format!(" (default: {name})"),
            None => String::new(),
        };
        let _ = writeln!(out, "{:<width$}  {}{mark}", t.name, about(t));
        if !t.aliases.is_empty() {
            let _ = writeln!(out, "{:<width$}    aliases: {}", "", t.aliases.join(", "));
        }
        for (k, v) in &t.choices {
            let _ = writeln!(out, "{:<width$}    {k}: {}", "", v.join(", "));
        }
        let deps = deps(t);
        if !deps.is_empty() {
            let _ = writeln!(out, "{:<width$}    after: {}", "", deps.join(", "));
        }
        if expand {
            for name in instance_names(t) {
                let _ = writeln!(out, "{:<width$}    - {name}", "");
            }
        }
    }
    out
}

/// The listing as JSON: `{"default": NAME or null, "tasks": [...]}`, each task with its
/// `name`, `description` (as the text listing shows it), `aliases`, `default` (whether `parade
/// run` with no target runs it or one of its instances), `choices`, `deps`, and with `expand`
/// its `instances`.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("parade.toml");
/// # std::fs::write(&path, "[settings]\ndefault = \"b\"\n[task.build]\naliases = [\"b\"]\nrun = \"make\"\n").unwrap();
/// let file = parade_cli::taskfile::load(Some(&path)).unwrap();
/// let list = parade_cli::list::json(&file, false);
/// assert_eq!(list["default"], "b");
/// assert_eq!(list["tasks"][0]["aliases"][0], "b");
/// assert_eq!(list["tasks"][0]["default"], true);
/// ```
pub fn json(file: &TaskFile, expand: bool) -> Value {
    let tasks: Vec<Listed<'_>> = file
        .tasks
        .iter()
        .map(|t| Listed {
            name: &t.name,
            description: about(t),
            aliases: &t.aliases,
            default: default_of(file, t).is_some(),
            choices: &t.choices,
            deps: deps(t),
            instances: expand.then(|| instances(t)),
        })
        .collect();
    json!({ "default": file.settings.default, "tasks": tasks })
}

/// One task of the JSON listing, its keys in this order.
#[derive(serde::Serialize)]
struct Listed<'a> {
    name: &'a str,
    description: String,
    aliases: &'a [String],
    default: bool,
    choices: &'a std::collections::BTreeMap<String, Vec<String>>,
    deps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instances: Option<Vec<String>>,
}

/// The name `[settings] default` gives when it names `task`, one of its aliases or one of its
/// instances.
fn default_of(file: &TaskFile, task: &Task) -> Option<String> {
    let name = file.settings.default.as_ref()?;
    let resolved = file.unalias(name);
    let ours = resolved == task.name
        || (file.task(resolved).is_none()
            && file
                .resolve(resolved)
                .is_some_and(|(t, _)| t.name == task.name));
    ours.then(|| name.clone())
}

/// What the listing says a task does: its description, else its template or first command line.
fn about(t: &Task) -> String {
    t.description.clone().unwrap_or_else(|| match &t.template {
        Some(spec) => format!("template job: {}", spec.dir),
        None => first_line(&t.run),
    })
}

/// A task's dependencies as written.
fn deps(t: &Task) -> Vec<String> {
    t.deps
        .iter()
        .map(|d| match d {
            Dep::Task(n) => n.to_string(),
            Dep::NoFailures => "@no-failures".into(),
        })
        .collect()
}

/// Every instance of a pattern whose placeholders all have choices (in choice order, the first
/// placeholder varying slowest); nothing for a concrete task or an open placeholder.
pub fn instances(task: &Task) -> Vec<String> {
    instance_names(task).collect()
}

/// [`instances`], one name at a time: each made from the pattern and the choices' positions
/// when it is asked for, so a listing of a million instances never holds them all (nor a map
/// of arguments per instance).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("parade.toml");
/// # std::fs::write(&path, r#"[task."t::[a]::[b]"]
/// # choices = { a = [1, 2], b = ["x", "y"] }
/// # run = "true"
/// # "#).unwrap();
/// let file = parade_cli::taskfile::load(Some(&path)).unwrap();
/// let names: Vec<String> = parade_cli::list::instance_names(&file.tasks[0]).take(3).collect();
/// assert_eq!(names, ["t::1::x", "t::1::y", "t::2::x"]);
/// ```
pub fn instance_names(task: &Task) -> impl Iterator<Item = String> + '_ {
    let mut holes: Vec<&str> = Vec::new();
    for h in task.pattern.placeholders() {
        if !holes.contains(&h) {
            holes.push(h);
        }
    }
    let lists: Option<Vec<&[String]>> = (!holes.is_empty())
        .then(|| {
            holes
                .iter()
                .map(|h| task.choices.get(*h).map(Vec::as_slice))
                .collect::<Option<Vec<_>>>()
        })
        .flatten()
        .filter(|lists| lists.iter().all(|l| !l.is_empty()));
    let mut at = vec![0_usize; holes.len()];
    let mut done = lists.is_none();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let lists = lists.as_ref()?;
        let mut name = String::new();
        for part in task.pattern.parts() {
            match part {
                Part::Literal(text) => name.push_str(text),
                Part::Placeholder(h) => {
                    let k = holes.iter().position(|x| x == h)?;
                    name.push_str(&lists[k][at[k]]);
                }
            }
        }
        // The next position: the last placeholder varies fastest.
        done = true;
        for k in (0..at.len()).rev() {
            at[k] += 1;
            if at[k] < lists[k].len() {
                done = false;
                break;
            }
            at[k] = 0;
        }
        Some(name)
    })
}

fn first_line(run: &str) -> String {
    let line = run
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    format!("$ {line}")
}
