//! The text both terminal observers print when a task ends: its line and its log snippet.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::{Reason, TaskId, TaskState};

use super::ById;
use super::names::{TaskNames, describe_reason, display_name};
use super::snippet::{Chunk, Limits, SnippetLines};
use super::symbols::{Mark, Paint, seconds};

/// What the terminal observers remember about tasks between their events: never more than a
/// bounded part of a task's output (see [`SnippetLines`]).
#[derive(Default)]
pub(crate) struct Seen {
    /// What may be shown of the output of tasks that have not finished.
    pub(crate) lines: ById<SnippetLines>,
    /// Tasks that started and have not finished.
    pub(crate) started: ById<std::time::Instant>,
}

/// How a finished block is written.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    pub(crate) paint: Paint,
    /// The whole log of a failed task instead of its snippet.
    pub(crate) full_log: bool,
    /// Whether a failed task's snippet is shown (off when its output was on screen already).
    pub(crate) snippets: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            paint: Paint::default(),
            full_log: false,
            snippets: true,
        }
    }
}

impl Seen {
    /// Keeps what may be shown of an output line.
    pub(crate) fn line(&mut self, id: TaskId, line: &str, style: Style, names: &dyn TaskNames) {
        if style.snippets {
            self.lines
                .entry(id)
                .or_insert_with(|| {
                    let limits = Limits::default().full(style.full_log);
                    match names.log_ignore(id) {
                        Some(ignore) => SnippetLines::ignoring(limits, &ignore),
                        None => SnippetLines::new(limits),
                    }
                })
                .push(line);
        }
    }

    /// The chunks to show for a task that ended, forgetting its lines.
    pub(crate) fn chunks(&mut self, id: TaskId, failed: bool) -> Vec<Chunk> {
        self.lines
            .remove(&id)
            .map(|s| s.finish(failed))
            .unwrap_or_default()
    }
}

/// The finished task's line and, when there is something to show, its snippet, each line
/// ending in `\n`.
pub(crate) struct Finished<'a> {
    pub(crate) id: TaskId,
    pub(crate) state: TaskState,
    pub(crate) reason: Option<&'a Reason>,
    /// How long it ran; `None` if it never started.
    pub(crate) duration: Option<Duration>,
    /// What [`Seen`] kept of its output.
    pub(crate) seen: &'a mut Seen,
    pub(crate) log: Option<PathBuf>,
}

impl Finished<'_> {
    pub(crate) fn render(&mut self, names: &dyn TaskNames, style: Style) -> String {
        let mark = Mark::of(self.state, self.reason);
        let paint = style.paint;
        let mut out = format!("{} {}", paint.mark(mark), display_name(names, self.id));
        if let Some(d) = self.duration {
            let _ = write!(out, " {}", paint.dim(&format!("({})", seconds(d))));
        }
        out.push_str(mark.suffix());
        if let Some(detail) = self.detail(mark, names) {
            let _ = write!(out, " - {detail}");
        }
        out.push('\n');
        let failed = mark.is_failure() && self.duration.is_some();
        let chunks = self.seen.chunks(self.id, failed);
        if matches!(mark, Mark::Skipped | Mark::NoChange(_)) || !style.snippets {
            if failed && let Some(log) = &self.log {
                let _ = writeln!(out, "  {}", paint.dim(&format!("log: {}", log.display())));
            }
            return out;
        }
        if failed && let Some(log) = &self.log {
            let _ = writeln!(out, "  {}", paint.dim(&format!("log: {}", log.display())));
        }
        for chunk in chunks {
            let _ = writeln!(
                out,
                "  {}",
                paint.dim(&format!("--- lines {}-{} ---", chunk.start, chunk.end))
            );
            for line in chunk.lines {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }

    /// What the reason adds to the mark's suffix, if anything.
    fn detail(&self, mark: Mark, names: &dyn TaskNames) -> Option<String> {
        let reason = self.reason?;
        match (mark, reason) {
            (Mark::NoChange(_) | Mark::Cancelled, _) | (_, Reason::Cancelled) => None,
            (_, Reason::Skipped(why)) if why.is_empty() => None,
            _ => Some(describe_reason(reason, names)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::NameTable;

    fn names() -> NameTable {
        let n = NameTable::new();
        n.insert(TaskId::from_index(0), "build");
        n.insert(TaskId::from_index(1), "deploy");
        n
    }

    #[allow(clippy::needless_pass_by_value)]
    fn render(state: TaskState, reason: Option<Reason>, ran: bool, lines: &[String]) -> String {
        let id = TaskId::from_index(usize::from(state == TaskState::DepFailed));
        let mut seen = Seen::default();
        for line in lines {
            seen.line(id, line, Style::default(), &names());
        }
        Finished {
            id,
            state,
            reason: reason.as_ref(),
            duration: ran.then(|| Duration::from_millis(1500)),
            seen: &mut seen,
            log: None,
        }
        .render(&names(), Style::default())
    }

    #[test]
    fn lines_read_as_documented() {
        assert_eq!(
            render(TaskState::Succeeded, None, true, &[]),
            "✓ build (1.50s)\n"
        );
        assert_eq!(
            render(TaskState::Failed, Some(Reason::Exit(2)), true, &[]),
            "✗ build (1.50s) failed - exit status 2\n"
        );
        let dep = Reason::DepFailed {
            dep: TaskId::from_index(0),
            root: TaskId::from_index(0),
        };
        assert_eq!(
            render(TaskState::DepFailed, Some(dep), false, &[]),
            "🚫 deploy dependency failed - \"build\" failed\n"
        );
        assert_eq!(
            render(
                TaskState::Skipped,
                Some(Reason::Skipped("no tests".into())),
                true,
                &[]
            ),
            "⊘ build (1.50s) skipped - no tests\n"
        );
    }

    #[test]
    fn failures_get_their_snippet_and_successes_only_warnings() {
        let lines: Vec<String> = vec!["compiling".into(), "oops".into()];
        let failed = render(TaskState::Failed, Some(Reason::Exit(1)), true, &lines);
        assert!(
            failed.ends_with("  --- lines 1-2 ---\n  compiling\n  oops\n"),
            "{failed}"
        );
        assert_eq!(
            render(TaskState::Succeeded, None, true, &lines)
                .lines()
                .count(),
            1
        );
        let warned = vec!["warning: unused".to_owned()];
        assert!(render(TaskState::Succeeded, None, true, &warned).contains("  warning: unused\n"));
    }
}
