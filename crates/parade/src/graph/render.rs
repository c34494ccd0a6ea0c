//! Pictures of a graph: Graphviz DOT, Mermaid, and plain text (the [`Plan`]'s `Display`).

use std::fmt::{self, Write};

use super::{Graph, Plan};
use crate::engine::TaskState;

fn quoted(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn label(t: &super::PlannedTask, with_state: bool) -> String {
    let mut l = t.name.clone();
    if !t.resources.is_empty() {
        let _ = write!(l, " [{}]", t.resources);
    }
    if with_state && t.state != TaskState::Idle {
        let _ = write!(l, " ({})", t.state);
    }
    l
}

impl Plan {
    /// The graph in Graphviz DOT: one node per task (description, hints, state), one edge per
    /// dependency, pointing from the input to the task that takes it.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::dry_run();
    /// let a = g.task("a").submit(|| 1);
    /// g.task("b").submit_after(&a, |x| x);
    /// assert_eq!(g.plan().to_dot(), "\
    /// digraph parade {
    ///   t0 [label=\"a\"];
    ///   t1 [label=\"b\"];
    ///   t0 -> t1;
    /// }
    /// ");
    /// ```
    pub fn to_dot(&self) -> String {
        let mut s = String::from("digraph parade {\n");
        for t in &self.tasks {
            let _ = writeln!(
                s,
                "  t{} [label=\"{}\"];",
                t.id.index(),
                quoted(&label(t, !self.dry_run))
            );
        }
        for t in &self.tasks {
            for d in &t.deps {
                let _ = writeln!(s, "  t{} -> t{};", d.index(), t.id.index());
            }
        }
        s.push_str("}\n");
        s
    }

    /// The graph as a Mermaid flowchart.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::dry_run();
    /// let a = g.task("a").submit(|| 1);
    /// g.task("b").submit_after(&a, |x| x);
    /// assert_eq!(g.plan().to_mermaid(), "flowchart TD\n  t0[\"a\"]\n  t1[\"b\"]\n  t0 --> t1\n");
    /// ```
    pub fn to_mermaid(&self) -> String {
        let mut s = String::from("flowchart TD\n");
        for t in &self.tasks {
            let l = label(t, !self.dry_run).replace('"', "#quot;");
            let _ = writeln!(s, "  t{}[\"{l}\"]", t.id.index());
        }
        for t in &self.tasks {
            for d in &t.deps {
                let _ = writeln!(s, "  t{} --> t{}", d.index(), t.id.index());
            }
        }
        s
    }
}

impl fmt::Display for Plan {
    /// One line per task: `#id name [hints] (mock|state) <- #dep, #dep`, then the problems.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.dry_run { "dry run" } else { "graph" };
        writeln!(
            f,
            "{kind} on the {} executor: {} tasks",
            self.executor,
            self.tasks.len()
        )?;
        for t in &self.tasks {
            write!(f, "#{} {}", t.id.index(), t.name)?;
            if !t.resources.is_empty() {
                write!(f, " [{}]", t.resources)?;
            }
            if self.dry_run {
                if t.has_mock {
                    f.write_str(" (mock)")?;
                }
            } else {
                write!(f, " ({})", t.state)?;
            }
            if let Some(cache) = &t.cache {
                write!(f, " (cache: {cache})")?;
            }
            if !t.deps.is_empty() {
                let deps: Vec<String> = t.deps.iter().map(|d| format!("#{}", d.index())).collect();
                write!(f, " <- {}", deps.join(", "))?;
            }
            writeln!(f)?;
        }
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        Ok(())
    }
}

impl Graph {
    /// The graph in Graphviz DOT (see [`Plan::to_dot`]).
    pub fn to_dot(&self) -> String {
        self.plan().to_dot()
    }

    /// The graph as a Mermaid flowchart (see [`Plan::to_mermaid`]).
    pub fn to_mermaid(&self) -> String {
        self.plan().to_mermaid()
    }

    /// The graph as text, one line per task (see [`Plan`]'s `Display`).
    ///
    /// ```
    /// use parade::graph::Graph;
    /// let g = Graph::inline();
    /// g.task("hello").submit(|| ()).wait().unwrap();
    /// assert_eq!(g.to_text(), "graph on the inline executor: 1 tasks\n#0 hello (succeeded)\n");
    /// ```
    pub fn to_text(&self) -> String {
        self.plan().to_string()
    }
}
