//! The useful part of a task's log: lines around problem keywords, else the tail of a failure.
//!
//! The rule (parproc's `extract_error_log`, without its ignore lists):
//!
//! 1. With `full` set and a failed task: the whole log, as one chunk.
//! 2. Every line holding one of the words `exception`, `error`, `warning`, `notice`,
//!    `deprecated`, `deprecation` (any case, as a whole word: `error:` and `error.rs` count,
//!    `_error` and `errors` do not) is shown with two lines either side; ranges that touch or
//!    overlap merge into one chunk.
//! 3. No keyword and a failed task: the last 16 lines.
//! 4. No keyword and a task that did not fail: nothing.

/// How many lines either side of a keyword line a chunk keeps.
pub const CONTEXT: usize = 2;

/// How many last lines a failure without keywords shows.
pub const TAIL: usize = 16;

const KEYWORDS: [&str; 6] = [
    "exception",
    "error",
    "warning",
    "notice",
    "deprecated",
    "deprecation",
];

/// A run of consecutive log lines worth showing.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Chunk {
    /// The first line's number, counting from 1.
    pub start: usize,
    /// The last line's number (inclusive).
    pub end: usize,
    /// The lines `start..=end`.
    pub lines: Vec<String>,
}

/// Whether the line holds a problem keyword as a whole word, in any case.
///
/// ```
/// use parade::display::snippet::has_keyword;
/// assert!(has_keyword("Error: disk full"));
/// assert!(has_keyword("src/error.rs:3"));
/// assert!(has_keyword("bad: WARNING"));
/// assert!(!has_keyword("no_error_here"));
/// assert!(!has_keyword("3 errors"));
/// ```
pub fn has_keyword(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    KEYWORDS.iter().any(|kw| {
        lower.match_indices(kw).any(|(at, _)| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + kw.len()).copied();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    })
}

/// Picks the chunks of `lines` worth showing (see the [module rule](self)).
///
/// ```
/// use parade::display::snippet;
/// let log: Vec<String> = (1..=10).map(|i| format!("line {i}")).collect();
/// assert!(snippet(&log, false, false).is_empty()); // fine, nothing to show
/// let tail = snippet(&log, true, false);           // failed: the last 16 (here all 10)
/// assert_eq!((tail[0].start, tail[0].end), (1, 10));
///
/// let mut log = log;
/// log[4] = "error: no space left".into();
/// let around = snippet(&log, false, false);
/// assert_eq!((around[0].start, around[0].end), (3, 7));
/// ```
pub fn snippet<S: AsRef<str>>(lines: &[S], failed: bool, full: bool) -> Vec<Chunk> {
    let chunk = |start: usize, end: usize| Chunk {
        start: start + 1,
        end: end + 1,
        lines: lines[start..=end]
            .iter()
            .map(|l| l.as_ref().to_owned())
            .collect(),
    };
    if lines.is_empty() {
        return Vec::new();
    }
    let last = lines.len() - 1;
    if failed && full {
        return vec![chunk(0, last)];
    }
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !has_keyword(line.as_ref()) {
            continue;
        }
        let (start, end) = (i.saturating_sub(CONTEXT), (i + CONTEXT).min(last));
        match ranges.last_mut() {
            // Lines come in order, so a new range can only touch the last one.
            Some(prev) if start <= prev.1 + 1 => prev.1 = prev.1.max(end),
            _ => ranges.push((start, end)),
        }
    }
    if !ranges.is_empty() {
        return ranges.into_iter().map(|(s, e)| chunk(s, e)).collect();
    }
    if failed {
        return vec![chunk(lines.len().saturating_sub(TAIL), last)];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("line {i}")).collect()
    }

    #[test]
    fn keywords_are_whole_words_in_any_case() {
        for yes in [
            "ERROR",
            "an Exception occurred",
            "+warning",
            "warning:",
            "bad: warning",
            "error.py",
            "notice me",
            "Deprecated API",
            "deprecation notice",
            "(error)",
        ] {
            assert!(has_keyword(yes), "{yes}");
        }
        for no in [
            "_warning",
            "errors",
            "terror",
            "warnings",
            "",
            "fine",
            "error_count",
        ] {
            assert!(!has_keyword(no), "{no}");
        }
    }

    #[test]
    fn keyword_found_after_a_partial_match_on_the_same_line() {
        assert!(has_keyword("errors then error"));
    }

    #[test]
    fn close_keyword_ranges_merge_and_far_ones_do_not() {
        let mut lines = log(30);
        lines[2] = "error one".into(); // line 3 → 1..5
        lines[7] = "error two".into(); // line 8 → 6..10, touches 5 → merged 1..10
        lines[20] = "warning".into(); // line 21 → 19..23
        let chunks = snippet(&lines, true, false);
        let spans: Vec<_> = chunks.iter().map(|c| (c.start, c.end)).collect();
        assert_eq!(spans, [(1, 10), (19, 23)]);
        assert_eq!(chunks[1].lines[2], "warning");
    }

    #[test]
    fn keyword_at_the_end_is_clamped() {
        let mut lines = log(5);
        lines[4] = "Error".into();
        let chunks = snippet(&lines, false, false);
        assert_eq!((chunks[0].start, chunks[0].end), (3, 5));
    }

    #[test]
    fn failure_without_keywords_shows_the_last_sixteen_lines() {
        let chunks = snippet(&log(40), true, false);
        assert_eq!((chunks[0].start, chunks[0].end), (25, 40));
        assert_eq!(chunks[0].lines.len(), TAIL);
        assert_eq!(chunks[0].lines[15], "line 40");
    }

    #[test]
    fn success_without_keywords_shows_nothing_and_full_applies_to_failures_only() {
        assert!(snippet(&log(40), false, false).is_empty());
        assert!(snippet(&log(40), false, true).is_empty());
        let full = snippet(&log(40), true, true);
        assert_eq!(
            (full[0].start, full[0].end, full[0].lines.len()),
            (1, 40, 40)
        );
    }

    #[test]
    fn an_empty_log_gives_nothing() {
        assert!(snippet::<String>(&[], true, false).is_empty());
    }
}
