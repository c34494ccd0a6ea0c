//! Run-time errors in the CLI's words: the library's flow speaks of "procs" and "protos", a task
//! file of tasks and task patterns. An unknown name gets the nearest names suggested
//! (`did you mean "build"?`, by Levenshtein distance from `strsim`). And [`check_plans`]: what
//! `parade run` would refuse of a task file that loads (cycles...), every problem of it.
//!
//! It owns wording only; what is refused is decided by the flow ([`runner::plan`]).

use std::collections::BTreeMap;

use crate::runner::{self, RunError};
use crate::taskfile::{TaskFile, suggest};

/// How many names a suggestion looks through at most (pattern instances can be many).
const MAX_CANDIDATES: usize = 100_000;

/// `e` in task-file words, with the nearest task names when it is about an unknown name.
///
/// ```
/// use parade_cli::runner::RunError;
/// use parade_cli::wording::words;
/// assert_eq!(
///     words(r#"no proc or proto matches "a proc""#),
///     r#"no task or task pattern matches "a proc""#
/// );
/// ```
pub fn run_error(e: &RunError, file: &TaskFile) -> RunError {
    let text = words(&e.0);
    if let Some(help) = choice_help(&e.0) {
        return RunError(format!("{text}; {help}"));
    }
    let unknown = ["no proc or proto matches \"", "no proc named \""]
        .iter()
        .find_map(|prefix| e.0.strip_prefix(prefix))
        .and_then(|rest| rest.strip_suffix('"'));
    let Some(name) = unknown else {
        return RunError(text);
    };
    let names = candidates(file);
    let close = suggest(name, names.iter().map(String::as_str));
    let help = match close.as_slice() {
        [] => format!(" (`parade list` shows the {} tasks)", file.tasks.len()),
        [one] => format!("; did you mean \"{one}\"?"),
        many => format!(
            "; did you mean one of {}?",
            many.iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    RunError(format!("no task named \"{name}\"{help}"))
}

/// `did you mean "unit"?` for `argument "kind" is "unti", which is not one of its choices:
/// "unit", "e2e"`.
fn choice_help(message: &str) -> Option<String> {
    let (head, choices) = message.split_once(", which is not one of its choices: ")?;
    let value = head.rsplit_once(" is \"")?.1.strip_suffix('"')?;
    let choices: Vec<&str> = choices.split(", ").map(|c| c.trim_matches('"')).collect();
    suggest(value, choices.iter().copied())
        .first()
        .map(|one| format!("did you mean \"{one}\"?"))
}

/// The cycles among plain tasks' dependencies, each once, as paths that start and end with
/// the same task (a depth-first search with three colours; linear in tasks and dependencies).
fn cycles(file: &TaskFile) -> Vec<Vec<String>> {
    use std::collections::HashMap;
    let index: HashMap<&str, usize> = file
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = file
        .tasks
        .iter()
        .map(|t| {
            t.deps
                .iter()
                .filter_map(|d| match d {
                    crate::taskfile::Dep::Task(n) => index.get(&**n).copied(),
                    crate::taskfile::Dep::NoFailures => None,
                })
                .collect()
        })
        .collect();
    // 0: not seen, 1: on the current path, 2: done.
    let mut colour = vec![0u8; edges.len()];
    let mut found = Vec::new();
    for root in 0..edges.len() {
        if colour[root] != 0 {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = 1;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&dep) = edges[node].get(*next) {
                *next += 1;
                match colour[dep] {
                    0 => {
                        colour[dep] = 1;
                        path.push((dep, 0));
                    }
                    1 => {
                        let from = path.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<String> = path[from..]
                            .iter()
                            .map(|&(n, _)| file.tasks[n].name.clone())
                            .collect();
                        cycle.push(file.tasks[dep].name.clone());
                        found.push(cycle);
                    }
                    _ => {}
                }
            } else {
                colour[node] = 2;
                path.pop();
            }
        }
    }
    found
}

/// The flow's words replaced by the task file's, outside quoted names: `proc` → `task`,
/// `proto` → `task pattern`.
pub fn words(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(match word.as_str() {
            "proc" => "task",
            "procs" => "tasks",
            "proto" => "task pattern",
            "protos" => "task patterns",
            "proc's" => "task's",
            other => other,
        });
        word.clear();
    };
    for c in message.chars() {
        if quoted {
            out.push(c);
            quoted = c != '"';
        } else if c.is_alphanumeric() || c == '\'' || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
            quoted = c == '"';
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Names a target could mean: every task's name and alias, and the instances of patterns
/// whose placeholders all have choices.
fn candidates(file: &TaskFile) -> Vec<String> {
    let mut names: Vec<String> = file
        .tasks
        .iter()
        .flat_map(|t| std::iter::once(&t.name).chain(&t.aliases))
        .cloned()
        .collect();
    for t in &file.tasks {
        let room = MAX_CANDIDATES.saturating_sub(names.len());
        if room == 0 {
            break;
        }
        // Made one at a time, so only the names taken are ever built.
        names.extend(crate::list::instance_names(t).take(room));
    }
    names
}

/// Whether every task of `file` (and every pattern whose placeholders all have choices, over
/// all of them) can be planned as `parade run` would: `Err` with every problem, in task-file
/// words. One plan of everything when all is well; task by task only to find every problem.
pub fn check_plans(file: &TaskFile) -> Result<(), Vec<String>> {
    let targets = check_targets(file);
    let plan = |targets: &[String]| runner::plannable(file, targets, &file.params);
    let Err(first) = plan(&targets) else {
        return Ok(());
    };
    // Every cycle (the flow stops at the first one it meets).
    let mut problems: Vec<String> = cycles(file)
        .into_iter()
        .map(|c| format!("dependency cycle: {}", c.join(" -> ")))
        .collect();
    for t in &targets {
        if let Err(e) = plan(std::slice::from_ref(t)) {
            let text = run_error(&e, file).0;
            let known_cycle = text.starts_with("dependency cycle") && !problems.is_empty();
            if !known_cycle && !problems.contains(&text) {
                problems.push(text);
            }
        }
    }
    if problems.is_empty() {
        problems.push(run_error(&first, file).0);
    }
    Err(problems)
}

/// What [`check_plans`] plans: every plain task, and every pattern whose placeholders all have
/// choices as its glob over all of them (`t::*::*`) unless a plain task depends on that very
/// glob: its plan holds the same instances, which are then expanded once, not twice.
fn check_targets(file: &TaskFile) -> Vec<String> {
    // The plain tasks' deps are gathered only when a pattern is planned as its glob: a file
    // of plain tasks (90,000 deps in the layered benchmark) hashes none of them.
    let globbed = |t: &crate::taskfile::Task| {
        let holes = t.pattern.placeholders();
        !holes.is_empty() && holes.iter().all(|h| t.choices.contains_key(*h))
    };
    let plain_deps: foldhash::HashSet<&str> = if file.tasks.iter().any(globbed) {
        file.tasks
            .iter()
            .filter(|t| t.pattern.is_concrete())
            .flat_map(|t| &t.deps)
            .filter_map(|d| match d {
                crate::taskfile::Dep::Task(n) => Some(&**n),
                crate::taskfile::Dep::NoFailures => None,
            })
            .collect()
    } else {
        foldhash::HashSet::default()
    };
    file.tasks
        .iter()
        .filter_map(|t| {
            let holes = t.pattern.placeholders();
            if holes.is_empty() {
                return Some(t.name.clone());
            }
            if !globbed(t) {
                return None;
            }
            let every: BTreeMap<String, String> = holes
                .iter()
                .map(|h| ((*h).to_owned(), "*".to_owned()))
                .collect();
            let glob = t.pattern.fill(&every);
            (!plain_deps.contains(glob.as_str())).then_some(glob)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> TaskFile {
        crate::taskfile::parse_text(text).unwrap()
    }

    #[test]
    fn every_cycle_is_found_once() {
        let f = file(
            "[task.a]\ndeps=[\"b\"]\nrun=\"\"\n[task.b]\ndeps=[\"a\", \"c\"]\nrun=\"\"\n\
             [task.c]\nrun=\"\"\n[task.s]\ndeps=[\"s\"]\nrun=\"\"\n",
        );
        let found = cycles(&f);
        assert_eq!(found, [vec!["a", "b", "a"], vec!["s", "s"]]);
        assert!(cycles(&file("[task.x]\nrun=\"\"\n")).is_empty());
    }

    #[test]
    fn check_plans_a_glob_a_plain_task_depends_on_once() {
        let glob = "[task.\"t::[a]\"]\nchoices = { a = [1, 2] }\nrun = \"echo {a}\"\n\
                    [task.\"u::[a]\"]\nchoices = { a = [1, 2] }\nrun = \"echo {a}\"\n";
        let f = file(&format!(
            "{glob}[task.all]\nrun = \"true\"\ndeps = [\"t::*\"]\n"
        ));
        // `all` brings every t::*; u::* has no plain task depending on it whole.
        assert_eq!(check_targets(&f), ["u::*", "all"]);
        assert!(check_plans(&f).is_ok());
        let bad = file(&format!(
            "{glob}[task.all]\nrun = \"true\"\ndeps = [\"t::*\", \"all\"]\n"
        ));
        let problems = check_plans(&bad).unwrap_err();
        assert!(problems[0].contains("cycle"), "{problems:?}");
    }

    #[test]
    fn words_leave_quoted_names_alone() {
        assert_eq!(
            words(r#"proc "proc x" depends on "y", which does not exist"#),
            r#"task "proc x" depends on "y", which does not exist"#
        );
        assert_eq!(
            words("\"a\" matches several protos"),
            "\"a\" matches several task patterns"
        );
    }

    #[test]
    fn choices_get_the_nearest_value() {
        let help = choice_help(
            r#"argument "env" is "prdo", which is not one of its choices: "dev", "prod""#,
        );
        assert_eq!(help.as_deref(), Some(r#"did you mean "prod"?"#));
        assert_eq!(choice_help("something else"), None);
    }
}
