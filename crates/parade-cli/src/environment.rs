//! The environment a task's command gets from the task file: the `dotenv` file, top-level
//! `[env]`, then the task's `env`, each later layer over the earlier ones. A value may use
//! `${VAR}` or `$VAR` of the layers below it and of parade's own environment
//! (`PATH = "bin:${PATH}"`), `$$` for a `$`, and the task's `{fields}` (filled as they are: an
//! environment value is data, no shell reads it; a field's value is never expanded).
//!
//! This module knows environment values; it does not run anything. It is hand-written because
//! the expansion is a few lines and must not run a shell (a value never becomes code).

use std::collections::BTreeMap;

use crate::shell;
use crate::taskfile::{Task, TaskFile};

/// The variables the task file sets for `task`, in the order they apply, expanded.
pub fn task_env(
    file: &TaskFile,
    task: &Task,
    value: &impl Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    // The dotenv file's values come expanded already (dotenvy expands `$VAR` as it reads).
    for (k, v) in &file.dotenv {
        seen.insert(k.clone(), v.clone());
        out.push((k.clone(), v.clone()));
    }
    let layers = [
        file.env.clone(),
        task.env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ];
    for layer in layers {
        let below = seen.clone();
        for (k, v) in layer {
            let lookup = |name: &str| {
                below
                    .get(name)
                    .cloned()
                    .or_else(|| std::env::var(name).ok())
            };
            let expanded = shell::fill_with(&v, value, |text| expand(text, lookup));
            seen.insert(k.clone(), expanded.clone());
            out.push((k, expanded));
        }
    }
    out
}

/// Expands `${NAME}` and `$NAME` with `lookup` (unset: empty, as a shell does); `$$` is `$`;
/// a `$` before anything else stays.
///
/// ```
/// use parade_cli::environment::expand;
/// let look = |n: &str| (n == "PATH").then(|| "/usr/bin".to_owned());
/// assert_eq!(expand("bin:${PATH}:$PATH:$NOPE:$$:$1", look), "bin:/usr/bin:/usr/bin::$:$1");
/// ```
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{')
            && let Some(end) = inner.find('}')
            && !inner[..end].is_empty()
            && inner[..end].chars().all(is_name)
        {
            out.push_str(&lookup(&inner[..end]).unwrap_or_default());
            rest = &inner[end + 1..];
        } else if after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
            out.push_str(&lookup(&after[..end]).unwrap_or_default());
            rest = &after[end..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}
