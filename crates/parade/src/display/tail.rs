//! [`TailLines`]: the last lines of a task's output, within a byte budget, and [`screen_line`]:
//! a line cut to what a screen should show.
//!
//! Observers that show a task's output after the fact (grouped blocks, `--full-log`) keep it
//! here instead of in an ever-growing `Vec`, so what parade holds does not grow with what tasks
//! print: the log file keeps every line whole.

use std::collections::VecDeque;

/// How many bytes of one line a screen shows; the rest is cut (the log keeps it whole).
pub const SCREEN_LINE: usize = 4096;

/// The last lines pushed, at most `budget` bytes of them (lines are cut to [`SCREEN_LINE`] first),
/// and how many earlier lines were dropped to stay within it.
///
/// ```
/// use parade::display::TailLines;
/// let mut tail = TailLines::new(11); // bytes, a newline counted per line
/// for line in ["one", "two", "three", "four"] {
///     tail.push(line);
/// }
/// assert_eq!(tail.lines().collect::<Vec<_>>(), ["three", "four"]);
/// assert_eq!((tail.dropped(), tail.total()), (2, 4));
/// ```
#[derive(Clone, Debug, Default)]
pub struct TailLines {
    budget: usize,
    bytes: usize,
    lines: VecDeque<String>,
    total: usize,
}

impl TailLines {
    /// An empty tail keeping at most `budget` bytes of lines (always at least the last line).
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            ..Self::default()
        }
    }

    /// Changes the budget; the oldest lines beyond it go with the next [`push`](Self::push).
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
    }

    /// Adds a line, dropping the oldest ones beyond the budget.
    pub fn push(&mut self, line: &str) {
        self.push_shown(&screen_line(line));
    }

    /// [`push`](Self::push) of a line already made by [`screen_line`] (an observer that
    /// shows the line elsewhere too cuts it once).
    pub(crate) fn push_shown(&mut self, shown: &str) {
        self.total += 1;
        self.bytes += shown.len() + 1;
        // The oldest lines beyond the budget go first; the last of them gives its room to the
        // new line (no allocation per line once the tail is full).
        let mut room = None;
        while self.bytes > self.budget && !self.lines.is_empty() {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len() + 1;
                room = Some(old);
            }
        }
        let mut kept = room.unwrap_or_default();
        kept.clear();
        kept.push_str(shown);
        self.lines.push_back(kept);
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(String::as_str)
    }

    /// How many lines were pushed in all.
    pub fn total(&self) -> usize {
        self.total
    }

    /// How many of the first lines were dropped.
    pub fn dropped(&self) -> usize {
        self.total - self.lines.len()
    }

    /// The line number (from 1) of the first line kept.
    pub fn first_number(&self) -> usize {
        self.dropped() + 1
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// `line`, or its first [`SCREEN_LINE`] bytes followed by `… (N bytes cut)`; a `\r` progress
/// redraw shows its last state (what a terminal would show).
///
/// ```
/// use parade::display::screen_line;
/// assert_eq!(screen_line("short"), "short");
/// assert_eq!(screen_line("10%\r50%\r100%"), "100%");
/// let long = "x".repeat(5000);
/// assert!(screen_line(&long).ends_with("… (904 bytes cut)"));
/// ```
pub fn screen_line(line: &str) -> std::borrow::Cow<'_, str> {
    // One SIMD search for the last `\r` (most lines have none); `str::rsplit_once` went
    // byte by byte and was a measured share of every line shown.
    let redrawn = line.trim_end_matches('\r');
    let line = match memchr::memrchr(b'\r', redrawn.as_bytes()) {
        // After a `\r`, an ASCII byte: a character boundary.
        Some(at) => &redrawn[at + 1..],
        None => line,
    };
    if line.len() <= SCREEN_LINE {
        return line.into();
    }
    let mut cut = SCREEN_LINE;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes cut)", &line[..cut], line.len() - cut).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_bounds_what_is_kept_whatever_is_pushed() {
        let mut tail = TailLines::new(1000);
        for i in 0..100_000 {
            tail.push(&format!("line {i}"));
        }
        assert!(tail.lines().map(|l| l.len() + 1).sum::<usize>() <= 1000);
        assert_eq!(tail.lines().last(), Some("line 99999"));
        assert_eq!(tail.total(), 100_000);
        assert_eq!(tail.first_number() + tail.lines().count() - 1, 100_000);
    }

    #[test]
    fn a_redrawn_line_shows_its_last_state_as_rsplit_once_found_it() {
        let by_split = |line: &str| -> String {
            match line.trim_end_matches('\r').rsplit_once('\r') {
                Some((_, last)) => last.to_owned(),
                None => line.to_owned(),
            }
        };
        for line in [
            "",
            "\r",
            "\r\r",
            "plain",
            "a\rb",
            "a\rb\r",
            "a\rb\r\r",
            "\rdone",
            "é\r😀 done",
            "10%\r50%\r100%",
            "ü\r",
            "x\r\ry",
        ] {
            assert_eq!(screen_line(line), by_split(line), "{line:?}");
        }
    }

    #[test]
    fn one_huge_line_is_cut_and_still_kept() {
        let mut tail = TailLines::new(10);
        tail.push(&"é".repeat(10_000));
        let kept: Vec<_> = tail.lines().collect();
        assert_eq!(kept.len(), 1);
        assert!(kept[0].len() < SCREEN_LINE + 40);
    }
}
