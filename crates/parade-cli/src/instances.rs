//! Snakemake's `expand()`: the instances a task's glob dependencies (`deps = ["count::*"]`)
//! matched, which the task's command gets as `$PARADE_INSTANCES` (one name a line), so a
//! command that gathers them never repeats the list.
//!
//! This module knows dependency names; it runs nothing.

use std::collections::BTreeMap;

use parade::flow::Context;

use crate::taskfile::{Dep, Pattern, Task, glob_match, is_glob};

/// The concrete names the glob dependencies of `task` (its placeholders filled with `args`)
/// matched in this run, in the flow's order; `None` when it has no glob dependency.
pub fn glob_instances(
    task: &Task,
    args: &BTreeMap<String, String>,
    ctx: &Context<'_>,
) -> Option<Vec<String>> {
    let globs: Vec<String> = task
        .deps
        .iter()
        .filter_map(|d| match d {
            Dep::Task(name) if is_glob(name) => {
                Some(Pattern::parse(name).map_or_else(|_| name.to_string(), |p| p.fill(args)))
            }
            _ => None,
        })
        .collect();
    if globs.is_empty() {
        return None;
    }
    let deps = ctx.flow().proc_info(ctx.name()).ok()?.deps;
    Some(
        deps.into_iter()
            .filter(|d| globs.iter().any(|g| glob_match(g, d)))
            .map(|d| d.to_string())
            .collect(),
    )
}
