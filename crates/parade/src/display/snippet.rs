//! The useful part of a task's log: lines around problem keywords, else the tail of a failure.
//!
//! The rule (parproc's `extract_error_log`):
//!
//! 1. With `full` set and a failed task: the whole log, as one chunk.
//! 2. Every line holding one of the words `exception`, `error`, `warning`, `notice`,
//!    `deprecated`, `deprecation` (any case, as a whole word: `error:` and `error.rs` count,
//!    `_error` and `errors` do not) is shown with two lines either side; ranges that touch or
//!    overlap merge into one chunk.
//! 3. No keyword and a failed task: the last 16 lines.
//! 4. No keyword and a task that did not fail: nothing.
//!
//! With a task's [`LogIgnore`] rules, the lines they drop (for this outcome) are never keyword
//! lines and are left out of every chunk; the chunks' line numbers stay those of the log.
//! Where everything would be dropped, a failure still shows something, as in parproc: the whole
//! log (1) or its last 16 lines (3), ignored lines included. Unlike parproc, the rules apply to
//! what is kept while lines arrive (so memory stays bounded), and a `full` log cut to its last
//! [`Limits::full_bytes`] is filtered within what was kept.

use super::ignore::LogIgnore;

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
    /// The lines `start..=end`, less those the task's [`LogIgnore`] rules drop.
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
    // length are compared. Word characters are told by a table, and a run too long to be a
    // keyword is skipped to its end without a comparison.
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !WORD[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && WORD[usize::from(bytes[i])] {
            i += 1;
        }
        let word = &bytes[start..i];
        if (MIN_KEYWORD..=MAX_KEYWORD).contains(&word.len())
            && KEYWORDS
                .iter()
                .any(|kw| word.eq_ignore_ascii_case(kw.as_bytes()))
        {
            return true;
        }
    }
    false
}

/// Which bytes are word characters (ASCII letters, digits, `_`).
const WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut c: u8 = 0;
    loop {
        table[c as usize] = c.is_ascii_alphanumeric() || c == b'_';
        if c == u8::MAX {
            break table;
        }
        c += 1;
    }
};

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
    snippet_ignoring(lines, failed, full, &LogIgnore::new())
}

/// [`snippet`] leaving out the lines `ignore` drops for this outcome (see the [module
/// rule](self)).
///
/// ```
/// use parade::display::LogIgnore;
/// use parade::display::snippet::snippet_ignoring;
/// let log = ["compiling", "warning: unused", "DEBUG error probe", "done"];
/// let quiet = LogIgnore::new().always("^DEBUG").unwrap().if_succeeded("unused").unwrap();
/// assert!(snippet_ignoring(&log, false, false, &quiet).is_empty());
/// let failed = snippet_ignoring(&log, true, false, &quiet);
/// assert_eq!((failed[0].start, failed[0].end), (1, 4));
/// assert_eq!(failed[0].lines, ["compiling", "warning: unused", "done"]);
/// ```
pub fn snippet_ignoring<S: AsRef<str>>(
    lines: &[S],
    failed: bool,
    full: bool,
    ignore: &LogIgnore,
) -> Vec<Chunk> {
    let mut collect = SnippetLines::ignoring(Limits::none().full(full), ignore);
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
    /// What a failure shows (`Always` rules applied).
    failed: View,
    /// What a success shows, when some rule applies only then (else `failed` serves both).
    succeeded: Option<View>,
}

impl SnippetLines {
    /// An empty collector.
    pub fn new(limits: Limits) -> Self {
        Self::ignoring(limits, &LogIgnore::new())
    }

    /// An empty collector leaving out the lines `ignore` drops (see the [module rule](self)).
    ///
    /// ```
    /// use parade::display::LogIgnore;
    /// use parade::display::snippet::{Limits, SnippetLines};
    /// let ignore = LogIgnore::new().if_succeeded("harmless").unwrap();
    /// let mut s = SnippetLines::ignoring(Limits::default(), &ignore);
    /// s.push("warning: harmless");
    /// assert!(s.clone().finish(false).is_empty());            // succeeded: hidden
    /// assert_eq!(s.finish(true)[0].lines, ["warning: harmless"]); // failed: shown
    /// ```
    pub fn ignoring(limits: Limits, ignore: &LogIgnore) -> Self {
        let rules = (!ignore.is_empty()).then(|| ignore.clone());
        Self {
            failed: View::new(limits, rules.clone(), false),
            succeeded: ignore
                .has_if_succeeded()
                .then(|| View::new(limits.full(false), rules, true)),
        }
    }

    /// Takes the next line.
    pub fn push(&mut self, line: &str) {
        let line = super::tail::screen_line(line);
        self.failed.push(&line);
        if let Some(v) = &mut self.succeeded {
            v.push(&line);
        }
    }

    /// How many lines were pushed.
    pub fn count(&self) -> usize {
        self.failed.count
    }

    /// The chunks to show for a task that `failed` (or not).
    pub fn finish(self, failed: bool) -> Vec<Chunk> {
        match self.succeeded {
            Some(v) if !failed => v.finish(false),
            _ => self.failed.finish(failed),
        }
    }
}

/// One outcome's view of the lines: the snippet state with that outcome's rules.
#[derive(Clone, Debug)]
struct View {
    limits: Limits,
    /// The rules, and whether they are applied as for a success.
    ignore: Option<LogIgnore>,
    succeeded: bool,
    /// Lines seen so far.
    count: usize,
    /// Keyword chunks, with the ignored lines still in (dropped by `finish`).
    chunks: Vec<Chunk>,
    /// Lines still to add to the last chunk after its keyword line.
    after: usize,
    kept: usize,
    tail: super::tail::TailLines,
    /// The last lines, ignored ones included.
    tail_lines: std::collections::VecDeque<String>,
    /// With rules: the last lines not ignored, with their numbers.
    shown_tail: std::collections::VecDeque<(usize, String)>,
}

impl View {
    fn new(limits: Limits, ignore: Option<LogIgnore>, succeeded: bool) -> Self {
        Self {
            limits,
            ignore,
            succeeded,
            count: 0,
            chunks: Vec::new(),
            after: 0,
            kept: 0,
            tail: super::tail::TailLines::new(if limits.full { limits.full_bytes } else { 0 }),
            tail_lines: std::collections::VecDeque::with_capacity(TAIL + 1),
            shown_tail: std::collections::VecDeque::new(),
        }
    }

    fn ignored(&self, line: &str) -> bool {
        self.ignore
            .as_ref()
            .is_some_and(|r| r.ignores(line, self.succeeded))
    }

    fn push(&mut self, line: &str) {
        self.count += 1;
        let n = self.count;
        let ignored = self.ignored(line);
        if !ignored && has_keyword(line) && self.kept < self.limits.keyword_lines {
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
            self.add_to_last(line);
            self.after = CONTEXT;
        } else if self.after > 0 {
            self.after -= 1;
            self.add_to_last(line);
        }
        if self.limits.full {
            self.tail.push(line);
        }
        if self.ignore.is_some() && !ignored {
            let mut kept = if self.shown_tail.len() == TAIL {
                self.shown_tail
                    .pop_front()
                    .map(|(_, l)| l)
                    .unwrap_or_default()
            } else {
                String::new()
            };
            kept.clear();
            kept.push_str(line);
            self.shown_tail.push_back((n, kept));
        }
        push_recycled(&mut self.tail_lines, line, TAIL);
    }

    fn add_to_last(&mut self, line: &str) {
        if let Some(c) = self.chunks.last_mut() {
            c.lines.push(line.to_owned());
            c.end = self.count;
            self.kept += 1;
        }
    }

    /// Leaves out the lines the rules drop.
    fn shown<'a>(&self, lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| !self.ignored(l))
            .map(str::to_owned)
            .collect()
    }

    fn finish(self, failed: bool) -> Vec<Chunk> {
        if self.count == 0 {
            return Vec::new();
        }
        if failed && self.limits.full {
            let mut lines = self.shown(self.tail.lines());
            if lines.iter().all(|l| l.trim().is_empty()) {
                // Everything was ignored: the log as it is (parproc's fallback).
                lines = self.tail.lines().map(str::to_owned).collect();
            }
            return vec![Chunk {
                start: self.tail.first_number(),
                end: self.count,
                lines,
            }];
        }
        if !self.chunks.is_empty() {
            if self.ignore.is_none() {
                return self.chunks;
            }
            let shown: Vec<Chunk> = self
                .chunks
                .iter()
                .map(|c| Chunk {
                    start: c.start,
                    end: c.end,
                    lines: self.shown(c.lines.iter().map(String::as_str)),
                })
                .filter(|c| !c.lines.is_empty())
                .collect();
            return shown;
        }
        if failed {
            if let Some(&(first, _)) = self.shown_tail.front() {
                return vec![Chunk {
                    start: first,
                    end: self.shown_tail.back().map_or(first, |(n, _)| *n),
                    lines: self.shown_tail.into_iter().map(|(_, l)| l).collect(),
                }];
            }
            // No rules, or every line ignored: the last lines as they are.
            return vec![Chunk {
                start: self.count - self.tail_lines.len() + 1,
                end: self.count,
                lines: self.tail_lines.into(),
            }];
        }
        Vec::new()
    }
}

/// Adds a copy of `line` to a ring of at most `cap` lines, in the room of the oldest when the
/// ring is full (this runs on every line a task prints: no allocation once it is full).
fn push_recycled(ring: &mut std::collections::VecDeque<String>, line: &str, cap: usize) {
    let mut kept = if ring.len() == cap {
        ring.pop_front().unwrap_or_default()
    } else {
        String::new()
    };
    kept.clear();
    kept.push_str(line);
    ring.push_back(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    /// The rule as first written: split into maximal word runs, compare those of a
    /// keyword's length.
    fn has_keyword_by_split(line: &str) -> bool {
        let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
        line.as_bytes().split(|b| !is_word(b)).any(|w| {
            KEYWORDS
                .iter()
                .any(|kw| w.eq_ignore_ascii_case(kw.as_bytes()))
        })
    }

    proptest::proptest! {
        #[test]
        fn the_table_scan_finds_what_the_split_finds(
            line in "([a-zA-Z_0-9]{0,3}|error|Warning|NOTICE|exception|deprecat(ed|ion)|[ .:/é-]){0,12}"
        ) {
            proptest::prop_assert_eq!(has_keyword(&line), has_keyword_by_split(&line), "{:?}", line);
        }
    }

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

    /// parproc's `extract_error_log` with ignore rules, as its reference states it.
    fn reference_ignoring(
        lines: &[String],
        failed: bool,
        full: bool,
        ignored: impl Fn(&str) -> bool,
    ) -> Vec<(usize, usize, Vec<String>)> {
        let shown = |range: std::ops::Range<usize>| -> Vec<String> {
            lines[range]
                .iter()
                .filter(|l| !ignored(l))
                .cloned()
                .collect()
        };
        if lines.is_empty() {
            return Vec::new();
        }
        if failed && full {
            let kept = shown(0..lines.len());
            let kept = if kept.iter().all(|l| l.trim().is_empty()) {
                lines.to_vec()
            } else {
                kept
            };
            return vec![(1, lines.len(), kept)];
        }
        let last = lines.len() - 1;
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if !ignored(line) && has_keyword(line) {
                let (start, end) = (i.saturating_sub(CONTEXT), (i + CONTEXT).min(last));
                match ranges.last_mut() {
                    Some(prev) if start <= prev.1 + 1 => prev.1 = prev.1.max(end),
                    _ => ranges.push((start, end)),
                }
            }
        }
        if !ranges.is_empty() {
            return ranges
                .into_iter()
                .map(|(s, e)| (s + 1, e + 1, shown(s..e + 1)))
                .filter(|c| !c.2.is_empty())
                .collect();
        }
        if !failed {
            return Vec::new();
        }
        let kept: Vec<usize> = (0..lines.len()).filter(|&i| !ignored(&lines[i])).collect();
        let tail: Vec<usize> = if kept.is_empty() {
            (lines.len().saturating_sub(TAIL)..lines.len()).collect()
        } else {
            kept[kept.len().saturating_sub(TAIL)..].to_vec()
        };
        vec![(
            tail[0] + 1,
            tail[tail.len() - 1] + 1,
            tail.iter().map(|&i| lines[i].clone()).collect(),
        )]
    }

    proptest::proptest! {
        #[test]
        fn streaming_with_ignore_rules_matches_parprocs_rule(
            marks in proptest::collection::vec(0u8..8, 0..60),
            failed: bool,
            full: bool,
        ) {
            // 0: keyword, 1: ignored keyword, 2: keyword ignored on success, 3: ignored plain.
            let lines: Vec<String> = marks
                .iter()
                .enumerate()
                .map(|(i, m)| match m {
                    0 => format!("error {i}"),
                    1 => format!("DEBUG error {i}"),
                    2 => format!("warning: deprecated {i}"),
                    3 => format!("DEBUG {i}"),
                    _ => format!("line {i}"),
                })
                .collect();
            let rules = LogIgnore::new()
                .always("^DEBUG")
                .unwrap()
                .if_succeeded("deprecated")
                .unwrap();
            let chunks = snippet_ignoring(&lines, failed, full, &rules);
            let got: Vec<_> = chunks.into_iter().map(|c| (c.start, c.end, c.lines)).collect();
            let want = reference_ignoring(&lines, failed, full, |l| rules.ignores(l, !failed));
            proptest::prop_assert_eq!(got, want);
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
