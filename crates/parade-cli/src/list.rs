//! `parade list`: the tasks of a task file, with their descriptions, choices and dependencies.

use std::fmt::Write as _;

use crate::taskfile::{Dep, Task, TaskFile};

/// The listing: one line per task (`name  description`), then its choices and dependencies
/// indented. With `expand`, patterns whose placeholders all have choices also list every
/// instance.
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
        let about = t.description.clone().unwrap_or_else(|| match &t.template {
            Some(spec) => format!("template job: {}", spec.dir),
            None => first_line(&t.run),
        });
        let _ = writeln!(out, "{:<width$}  {about}", t.name);
        for (k, v) in &t.choices {
            let _ = writeln!(out, "{:<width$}    {k}: {}", "", v.join(", "));
        }
        let deps: Vec<String> = t
            .deps
            .iter()
            .map(|d| match d {
                Dep::Task(n) => n.clone(),
                Dep::NoFailures => "@no-failures".into(),
            })
            .collect();
        if !deps.is_empty() {
            let _ = writeln!(out, "{:<width$}    after: {}", "", deps.join(", "));
        }
        if expand {
            for name in instances(t) {
                let _ = writeln!(out, "{:<width$}    - {name}", "");
            }
        }
    }
    out
}

/// Every instance of a pattern whose placeholders all have choices (in choice order, the first
/// placeholder varying slowest); nothing for a concrete task or an open placeholder.
pub fn instances(task: &Task) -> Vec<String> {
    let holes = task.pattern.placeholders();
    if holes.is_empty() || holes.iter().any(|h| !task.choices.contains_key(*h)) {
        return Vec::new();
    }
    let mut all = vec![std::collections::BTreeMap::new()];
    for h in holes {
        all = all
            .into_iter()
            .flat_map(|args| {
                task.choices[h].iter().map(move |v| {
                    let mut a = args.clone();
                    a.insert(h.to_owned(), v.clone());
                    a
                })
            })
            .collect();
    }
    all.iter().map(|a| task.pattern.fill(a)).collect()
}

fn first_line(run: &str) -> String {
    let line = run
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    format!("$ {line}")
}
