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
    // This runs on every line a task prints: one pass over the bytes, without a lowercased
    // copy. The keywords are all word characters, so a keyword as a whole word is exactly a
    // maximal run of word characters that equals one (any case); only runs of a keyword's
    // length are compared.
    let bytes = line.as_bytes();
    let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    bytes
        .split(|b| !is_word(b))
        .filter(|w| (MIN_KEYWORD..=MAX_KEYWORD).contains(&w.len()))
        .any(|w| {
            KEYWORDS
                .iter()
                .any(|kw| w.eq_ignore_ascii_case(kw.as_bytes()))
        })
}

/// The shortest and longest keyword.
const MIN_KEYWORD: usize = 5;
const MAX_KEYWORD: usize = 11;

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
    let mut collect = SnippetLines::new(Limits::none().full(full));
    for line in lines {
        collect.push(line.as_ref());
    }
    collect.finish(failed)
}

/// How much a [`SnippetLines`] keeps. The default bounds it for lines that arrive without end.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most lines kept in keyword chunks; later keyword lines are only counted.
    pub keyword_lines: usize,
    /// With `full`: most bytes of the whole output kept (its last lines).
    pub full_bytes: usize,
    /// Keep the whole output for a failure (`--full-log`).
    pub full: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            keyword_lines: 400,
            full_bytes: 1 << 20,
            full: false,
        }
    }
}

impl Limits {
    /// No bounds at all (for output already in memory).
    pub fn none() -> Self {
        Self {
            keyword_lines: usize::MAX,
            full_bytes: usize::MAX,
            full: false,
        }
    }

    /// Keeps the whole output of a failure (within `full_bytes`).
    pub fn full(mut self, on: bool) -> Self {
        self.full = on;
        self
    }
}

/// The [`snippet`] rule applied to lines as they arrive, keeping only what the snippet can show:
/// the chunks around keywords (bounded by [`Limits::keyword_lines`]), the last [`TAIL`] lines,
/// and with [`Limits::full`] the last [`Limits::full_bytes`] of output. Lines are cut to
/// [`SCREEN_LINE`](super::tail::SCREEN_LINE).
///
/// ```
/// use parade::display::snippet::{Limits, SnippetLines};
/// let mut s = SnippetLines::new(Limits::default());
/// for i in 1..=1_000_000 {
///     s.push(&format!("line {i}"));
/// }
/// let chunks = s.finish(true);
/// assert_eq!((chunks[0].start, chunks[0].end), (999_985, 1_000_000));
/// ```
#[derive(Clone, Debug)]
pub struct SnippetLines {
    limits: Limits,
    /// Lines seen so far.
    count: usize,
    chunks: Vec<Chunk>,
    /// Lines still to add to the last chunk after its keyword line.
    after: usize,
    kept: usize,
    tail: super::tail::TailLines,
    tail_lines: std::collections::VecDeque<String>,
}

impl SnippetLines {
    /// An empty collector.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            count: 0,
            chunks: Vec::new(),
            after: 0,
            kept: 0,
            tail: super::tail::TailLines::new(if limits.full { limits.full_bytes } else { 0 }),
            tail_lines: std::collections::VecDeque::with_capacity(TAIL + 1),
        }
    }

    /// Takes the next line.
    pub fn push(&mut self, line: &str) {
        let line = super::tail::screen_line(line).into_owned();
        self.count += 1;
        let n = self.count;
        if has_keyword(&line) && self.kept < self.limits.keyword_lines {
            // The lines just before this one are the tail's last (TAIL >= CONTEXT).
            let before = self.tail_lines.len().min(CONTEXT);
            let recent = |skip: usize| {
                let from = self.tail_lines.len() - before + skip;
                self.tail_lines.range(from..).cloned().collect::<Vec<_>>()
            };
            let start = n.saturating_sub(CONTEXT).max(1);
            let touching = self.chunks.last().is_some_and(|c| start <= c.end + 1);
            if touching {
                // Fill the gap (at most CONTEXT lines) from the lines just before.
                let last_end = self.chunks.last().map_or(0, |c| c.end);
                let missing = n - 1 - last_end;
                let lines = recent(before - missing);
                if let Some(c) = self.chunks.last_mut() {
                    c.lines.extend(lines);
                    c.end = n - 1;
                }
                self.kept += missing;
            } else {
                let lines = recent(0);
                self.kept += lines.len();
                self.chunks.push(Chunk {
                    start: n - before,
                    end: n - 1,
                    lines,
                });
            }
            self.add_to_last(&line);
            self.after = CONTEXT;
        } else if self.after > 0 {
            self.after -= 1;
            self.add_to_last(&line);
        }
        if self.limits.full {
            self.tail.push(&line);
        }
        push_bounded(&mut self.tail_lines, line, TAIL);
    }

    fn add_to_last(&mut self, line: &str) {
        if let Some(c) = self.chunks.last_mut() {
            c.lines.push(line.to_owned());
            c.end = self.count;
            self.kept += 1;
        }
    }

    /// How many lines were pushed.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The chunks to show for a task that `failed` (or not).
    pub fn finish(self, failed: bool) -> Vec<Chunk> {
        if self.count == 0 {
            return Vec::new();
        }
        if failed && self.limits.full {
            return vec![Chunk {
                start: self.tail.first_number(),
                end: self.count,
                lines: self.tail.lines().map(str::to_owned).collect(),
            }];
        }
        if !self.chunks.is_empty() {
            return self.chunks;
        }
        if failed {
            return vec![Chunk {
                start: self.count - self.tail_lines.len() + 1,
                end: self.count,
                lines: self.tail_lines.into(),
            }];
        }
        Vec::new()
    }
}

fn push_bounded(ring: &mut std::collections::VecDeque<String>, line: String, cap: usize) {
    if ring.len() == cap {
        ring.pop_front();
    }
    ring.push_back(line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

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

    /// The rule as written: a keyword at any place, with no word character either side.
    fn has_keyword_naive(line: &str) -> bool {
        let bytes = line.as_bytes();
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        KEYWORDS.iter().any(|kw| {
            let kw = kw.as_bytes();
            bytes.len() >= kw.len()
                && (0..=bytes.len() - kw.len()).any(|at| {
                    bytes[at..at + kw.len()].eq_ignore_ascii_case(kw)
                        && !at.checked_sub(1).is_some_and(|i| is_word(bytes[i]))
                        && !bytes.get(at + kw.len()).copied().is_some_and(is_word)
                })
        })
    }

    #[test]
    fn keyword_lengths_bound_the_keywords() {
        assert_eq!(KEYWORDS.iter().map(|k| k.len()).min(), Some(MIN_KEYWORD));
        assert_eq!(KEYWORDS.iter().map(|k| k.len()).max(), Some(MAX_KEYWORD));
        assert!(
            KEYWORDS
                .iter()
                .all(|k| k.bytes().all(|b| b.is_ascii_lowercase()))
        );
    }

    proptest::proptest! {
        #[test]
        fn keywords_are_found_as_the_rule_says(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(&KEYWORDS[..]).prop_map(str::to_owned),
                    proptest::sample::select(&KEYWORDS[..]).prop_map(str::to_uppercase),
                    "[a-zA-Z0-9_ .:()é-]{0,6}",
                ],
                0..8,
            )
        ) {
            let line = parts.concat();
            proptest::prop_assert_eq!(has_keyword(&line), has_keyword_naive(&line), "{}", line);
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

    /// The batch rule as first written, to check the streaming one against.
    fn reference(lines: &[String], failed: bool) -> Vec<(usize, usize)> {
        let last = lines.len().wrapping_sub(1);
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if has_keyword(line) {
                let (start, end) = (i.saturating_sub(CONTEXT), (i + CONTEXT).min(last));
                match ranges.last_mut() {
                    Some(prev) if start <= prev.1 + 1 => prev.1 = prev.1.max(end),
                    _ => ranges.push((start, end)),
                }
            }
        }
        if ranges.is_empty() && failed && !lines.is_empty() {
            ranges.push((lines.len().saturating_sub(TAIL), last));
        }
        ranges.into_iter().map(|(s, e)| (s + 1, e + 1)).collect()
    }

    proptest::proptest! {
        #[test]
        fn streaming_matches_the_batch_rule(
            marks in proptest::collection::vec(0u8..6, 0..60),
            failed: bool,
        ) {
            let lines: Vec<String> = marks
                .iter()
                .enumerate()
                .map(|(i, m)| if *m == 0 { format!("error {i}") } else { format!("line {i}") })
                .collect();
            let chunks = snippet(&lines, failed, false);
            let spans: Vec<_> = chunks.iter().map(|c| (c.start, c.end)).collect();
            proptest::prop_assert_eq!(&spans, &reference(&lines, failed));
            for c in &chunks {
                proptest::prop_assert_eq!(&c.lines[..], &lines[c.start - 1..c.end]);
            }
        }
    }

    #[test]
    fn bounded_collection_keeps_little_of_endless_problem_lines() {
        let mut s = SnippetLines::new(Limits::default());
        for i in 0..100_000 {
            s.push(&format!("error {i}"));
        }
        let kept: usize = s.finish(true).iter().map(|c| c.lines.len()).sum();
        assert!(kept <= Limits::default().keyword_lines + CONTEXT, "{kept}");
    }

    #[test]
    fn an_empty_log_gives_nothing() {
        assert!(snippet::<String>(&[], true, false).is_empty());
    }
}
