//! What a state looks like: a symbol, a colour and a suffix word, and how times are written.

use std::time::Duration;

use crate::engine::{Reason, TaskState};

/// The mark a task gets on screen.
///
/// ```
/// use parade::display::Mark;
/// use parade::engine::{Reason, TaskState};
/// let m = Mark::of(TaskState::Failed, Some(&Reason::Exit(2)));
/// assert_eq!((m.symbol(), m.suffix()), ("✗", " failed"));
/// let m = Mark::of(TaskState::Skipped, Some(&Reason::Skipped("up to date".into())));
/// assert_eq!((m.symbol(), m.suffix()), ("↷", " up to date"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mark {
    /// Started, not finished (`•`).
    Running,
    /// `✓`
    Succeeded,
    /// `✗` with a suffix saying how: ` failed`, ` timeout`, ` exception`, ` killed`, ` lost`.
    Failed(&'static str),
    /// `🚫 … dependency failed`, also for a broken "no failures" condition.
    DepFailed,
    /// `⊘ … skipped`
    Skipped,
    /// `↷ … up to date` or `↷ … no change`: skipped because there was nothing to do.
    NoChange(&'static str),
    /// `⊘ … cancelled`
    Cancelled,
}

/// Skip messages that mean "nothing changed" rather than "skipped on purpose"; they get `↷`.
const NO_CHANGE: [&str; 4] = ["up to date", "up-to-date", "no change", "unchanged"];

impl Mark {
    /// The mark for a task in `state`, ended for `reason`.
    pub fn of(state: TaskState, reason: Option<&Reason>) -> Self {
        match state {
            TaskState::Idle | TaskState::Wanted | TaskState::Running => Mark::Running,
            TaskState::Succeeded => Mark::Succeeded,
            TaskState::Skipped => match reason {
                Some(Reason::Skipped(why)) => NO_CHANGE
                    .iter()
                    .find(|w| why.eq_ignore_ascii_case(w))
                    .map_or(Mark::Skipped, |_| {
                        if why.eq_ignore_ascii_case("no change") || why == "unchanged" {
                            Mark::NoChange(" no change")
                        } else {
                            Mark::NoChange(" up to date")
                        }
                    }),
                _ => Mark::Skipped,
            },
            TaskState::DepFailed => Mark::DepFailed,
            TaskState::Cancelled => Mark::Cancelled,
            TaskState::UpToDate => Mark::NoChange(" up-to-date"),
            TaskState::Failed => Mark::Failed(match reason {
                Some(Reason::Timeout(_)) => " timeout",
                Some(Reason::Panic(_)) => " exception",
                Some(Reason::Signal(_)) => " killed",
                Some(Reason::Lost(_)) => " lost",
                _ => " failed",
            }),
        }
    }

    /// The symbol: `•` `✓` `✗` `🚫` `⊘` `↷`.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Running => "•",
            Mark::Succeeded => "✓",
            Mark::Failed(_) => "✗",
            Mark::DepFailed => "🚫",
            Mark::Skipped | Mark::Cancelled => "⊘",
            Mark::NoChange(_) => "↷",
        }
    }

    /// The words after the name (with a leading space), empty for a success.
    pub fn suffix(self) -> &'static str {
        match self {
            Mark::Running | Mark::Succeeded => "",
            Mark::Failed(s) | Mark::NoChange(s) => s,
            Mark::DepFailed => " dependency failed",
            Mark::Skipped => " skipped",
            Mark::Cancelled => " cancelled",
        }
    }

    /// The ANSI SGR code of the mark's colour (bold green, red or yellow; plain yellow while
    /// running).
    fn sgr(self) -> &'static str {
        match self {
            Mark::Running => "33",
            Mark::Succeeded | Mark::NoChange(_) => "1;32",
            Mark::Failed(_) | Mark::DepFailed => "1;31",
            Mark::Skipped | Mark::Cancelled => "1;33",
        }
    }

    /// Whether the task ended badly (shown with a log snippet, counted as a failure).
    pub fn is_failure(self) -> bool {
        matches!(self, Mark::Failed(_) | Mark::DepFailed | Mark::Cancelled)
    }
}

/// Writes marks and emphasis with ANSI colours, or without when `color` is off (pipes, files,
/// `NO_COLOR`).
///
/// ```
/// use parade::display::{Mark, Paint};
/// assert_eq!(Paint::new(false).mark(Mark::Succeeded), "✓");
/// assert_eq!(Paint::new(true).mark(Mark::Succeeded), "\x1b[1;32m✓\x1b[0m");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Paint {
    color: bool,
}

impl Paint {
    /// Colours on or off.
    pub fn new(color: bool) -> Self {
        Self { color }
    }

    /// Whether colours are on.
    pub fn color(self) -> bool {
        self.color
    }

    /// The mark's symbol, coloured.
    pub fn mark(self, mark: Mark) -> String {
        self.sgr(mark.sgr(), mark.symbol())
    }

    /// Text in dim grey (durations, line ranges).
    pub fn dim(self, text: &str) -> String {
        self.sgr("2", text)
    }

    /// Text in bold (names).
    pub fn bold(self, text: &str) -> String {
        self.sgr("1", text)
    }

    fn sgr(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// A duration as seconds with two decimals: `1.23s`.
pub(crate) fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_final_state_has_its_symbol_and_suffix() {
        let cases = [
            (TaskState::Succeeded, None, "✓", ""),
            (TaskState::Failed, Some(Reason::Exit(1)), "✗", " failed"),
            (
                TaskState::Failed,
                Some(Reason::Error("x".into())),
                "✗",
                " failed",
            ),
            (
                TaskState::Failed,
                Some(Reason::Timeout(Duration::from_secs(1))),
                "✗",
                " timeout",
            ),
            (
                TaskState::Failed,
                Some(Reason::Panic("p".into())),
                "✗",
                " exception",
            ),
            (TaskState::Failed, Some(Reason::Signal(9)), "✗", " killed"),
            (
                TaskState::DepFailed,
                Some(Reason::Missing),
                "🚫",
                " dependency failed",
            ),
            (
                TaskState::Skipped,
                Some(Reason::Skipped("no".into())),
                "⊘",
                " skipped",
            ),
            (
                TaskState::Skipped,
                Some(Reason::Skipped("no change".into())),
                "↷",
                " no change",
            ),
            (
                TaskState::Skipped,
                Some(Reason::Skipped("Up-To-Date".into())),
                "↷",
                " up to date",
            ),
            (
                TaskState::Cancelled,
                Some(Reason::Cancelled),
                "⊘",
                " cancelled",
            ),
        ];
        for (state, reason, symbol, suffix) in cases {
            let m = Mark::of(state, reason.as_ref());
            assert_eq!(
                (m.symbol(), m.suffix()),
                (symbol, suffix),
                "{state:?} {reason:?}"
            );
        }
    }

    #[test]
    fn failures_are_failures() {
        assert!(Mark::of(TaskState::DepFailed, None).is_failure());
        assert!(!Mark::of(TaskState::Skipped, None).is_failure());
    }

    #[test]
    fn seconds_have_two_decimals() {
        assert_eq!(seconds(Duration::from_millis(1234)), "1.23s");
        assert_eq!(seconds(Duration::ZERO), "0.00s");
    }
}
