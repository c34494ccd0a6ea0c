//! Plans as text for people and tools: the dry run, and `parade graph` as Graphviz `dot`,
//! a Mermaid flowchart or indented text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::runner::Plan;

/// The widest a name column gets in listings; longer names overflow it.
pub const MAX_COLUMN: usize = 60;

/// The dry run: the tasks in the order they would start, grouped by wave, each with its locks,
/// why it is in the plan, and the command it would run (placeholders filled, indented under it,
/// as `make -n` prints commands).
pub fn dry_run(plan: &Plan) -> String {
    written(|out| write_dry_run::<&str>(plan, None, out))
}

/// [`dry_run`] written to `out` as it is made: the text of a large plan is never held whole
/// (give a buffered writer). With `decisions` (one per task of the plan, in its order:
/// `runs: never ran`, as [`crate::uptodate::dry_run`] gives them), each task's decision follows
/// it, and a footer counts what would run and what is up to date.
///
/// Errors: those of `out`.
pub fn write_dry_run<S: AsRef<str>>(
    plan: &Plan,
    decisions: Option<&[S]>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    // Capped: a longer name overflows its column (and a format width must stay small).
    let width = plan
        .tasks
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_COLUMN);
    let waves = plan.tasks.iter().any(|t| t.wave > 0);
    let mut wave = None;
    for (i, t) in plan.tasks.iter().enumerate() {
        if waves && wave != Some(t.wave) {
            writeln!(out, "wave {}:", t.wave)?;
            wave = Some(t.wave);
        }
        write!(out, "{:>4}. {:<width$}  {}", i + 1, t.name, t.why)?;
        if !t.locks.is_empty() {
            write!(out, "; locks: {}", t.locks.join(", "))?;
        }
        if t.missing {
            out.write_all(b"; missing: nothing defines it")?;
        }
        out.write_all(b"\n")?;
        for line in t.command.iter().flat_map(|c| c.trim_end().lines()) {
            writeln!(out, "        $ {line}")?;
        }
    }
    let Some(decisions) = decisions else {
        return out.write_all(dry_run_footer(plan.tasks.len(), 0).as_bytes());
    };
    let mut up = 0;
    for (t, why) in plan.tasks.iter().zip(decisions) {
        let why = why.as_ref();
        up += usize::from(why.starts_with("up to date"));
        writeln!(out, "  {}: {why}", t.name)?;
    }
    out.write_all(dry_run_footer(plan.tasks.len() - up, up).as_bytes())
}

/// What `write` wrote, as text.
fn written(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).expect("writing to memory does not fail");
    String::from_utf8(out).expect("the plan's text is text")
}

/// `3 tasks would run, 2 up to date (dry run: nothing ran)`.
fn dry_run_footer(run: usize, up_to_date: usize) -> String {
    let s = if run == 1 { "" } else { "s" };
    if up_to_date == 0 {
        format!("{run} task{s} would run (dry run: nothing ran)\n")
    } else {
        format!("{run} task{s} would run, {up_to_date} up to date (dry run: nothing ran)\n")
    }
}

/// A plan as Graphviz `dot`.
pub fn dot(plan: &Plan) -> String {
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
pub fn mermaid(plan: &Plan) -> String {
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
pub fn text(plan: &Plan) -> String {
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
    use crate::runner::Planned;

    fn plan() -> Plan {
        let task = |name: &str, deps: &[&str], wave, why: &str| Planned {
            name: name.into(),
            defined_as: name.into(),
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            wave,
            locks: if wave > 0 {
                vec!["cluster".into()]
            } else {
                vec![]
            },
            why: why.into(),
            missing: false,
            command: (wave > 0).then(|| "make build\n  --release\n".to_owned()),
        };
        Plan {
            tasks: vec![
                task("setup", &[], 0, "dependency of \"build::prod\""),
                task("build::prod", &["setup"], 1, "requested"),
            ],
        }
    }

    #[test]
    fn renderings() {
        assert!(dot(&plan()).contains("  \"setup\" -> \"build::prod\";\n"));
        assert!(mermaid(&plan()).contains("  t0 --> t1\n"));
        assert_eq!(text(&plan()), "setup\nbuild::prod (wave 1)\n  <- setup\n");
        assert_eq!(
            dry_run(&plan()),
            "wave 0:\n   1. setup        dependency of \"build::prod\"\nwave 1:\n   2. build::prod  requested; locks: cluster\n        $ make build\n        $   --release\n2 tasks would run (dry run: nothing ran)\n"
        );
    }
}
