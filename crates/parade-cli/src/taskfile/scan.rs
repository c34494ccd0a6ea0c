//! A scanner of the plainest task files, the kind a program writes: it hands an
//! [`EventReceiver`] the events `toml_parser`'s lexer and parser would for the same text (but
//! whitespace, which is not reported), at about a tenth of their cost, for a strict part of TOML
//! and nothing else.
//!
//! The part: lines that are blank, a comment, a header `[task.NAME]` of a bare name, or
//! `KEY = VALUE` of a bare key, where a value is a one-line basic or literal string with no
//! escape and no character TOML refuses in it, or an array of such strings (over lines, with
//! comments, a trailing comma); blanks are spaces and tabs, lines end in `\n` or `\r\n`. At
//! anything else it stops and says so (`false`), having handed some events already: the caller
//! drops what received them and parses the text with `toml_parser`. Every text it takes is
//! TOML the parser takes without an error, so the events are the whole of what it would say.
//!
//! It knows nothing of what the events mean (which keys or names a task file has): the plain
//! reader ([`super::plain`]) does.

use toml_parser::decoder::Encoding;
use toml_parser::parser::EventReceiver;
use toml_parser::{ErrorSink, Span};

/// What takes the scanner's events: a parser's receiver, told each string's text as well.
pub(super) trait Receiver: EventReceiver {
    /// A one-line string at `span` (quotes and all) whose text is `text`, what is between its
    /// quotes: the scanner has seen it is its own text (no escape, nothing TOML refuses), so
    /// it needs no decoding. As the parser says it, by default.
    fn verbatim(&mut self, span: Span, encoding: Encoding, text: &str, errors: &mut dyn ErrorSink) {
        let _ = text;
        self.scalar(span, Some(encoding), errors);
    }
}

/// Hands `to` the events of `text` when the text is in the part this scans; `false` (some
/// events handed) when it is not.
pub(super) fn scan<R: Receiver>(text: &str, to: &mut R, errors: &mut dyn ErrorSink) -> bool {
    Scanner {
        text,
        b: text.as_bytes(),
        at: 0,
        to,
        errors,
    }
    .document()
    .is_some()
}

struct Scanner<'t, 'r, R> {
    text: &'t str,
    /// `text`'s bytes.
    b: &'t [u8],
    at: usize,
    to: &'r mut R,
    errors: &'r mut dyn ErrorSink,
}

/// A byte of a bare key.
fn bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A byte a comment may hold (`non-eol` of the TOML grammar).
fn in_comment(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
}

/// A byte a one-line string quoted by `quote` holds as itself (`basic-unescaped` or
/// `literal-char`: no escape in a basic string).
const fn in_string(b: u8, quote: u8) -> bool {
    b == b'\t'
        || b >= 0x80
        || (b >= 0x20 && b < 0x7f && b != quote && !(quote == b'"' && b == b'\\'))
}

/// [`in_string`] as a table for each quote (`[basic, literal]`): a string's bytes are
/// looked up, not tested four ways each (a layered file's 90,000 dependency names are most
/// of its bytes).
static IN_STRING: [[bool; 256]; 2] = {
    let mut t = [[false; 256]; 2];
    let mut b: u8 = 0;
    loop {
        t[0][b as usize] = in_string(b, b'"');
        t[1][b as usize] = in_string(b, b'\'');
        if b == u8::MAX {
            break t;
        }
        b += 1;
    }
};

impl<R: Receiver> Scanner<'_, '_, R> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    /// The span from `start` to here.
    fn from(&self, start: usize) -> Span {
        Span::new_unchecked(start, self.at)
    }

    /// Moves past one byte and returns its span.
    fn one(&mut self) -> Span {
        self.at += 1;
        self.from(self.at - 1)
    }

    /// Moves past the bytes `keep` takes; returns where they started.
    fn skip(&mut self, keep: impl Fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.peek().is_some_and(&keep) {
            self.at += 1;
        }
        start
    }

    fn blanks(&mut self) {
        self.skip(|b| b == b' ' || b == b'\t');
    }

    fn document(&mut self) -> Option<()> {
        while self.at < self.b.len() {
            self.blanks();
            match self.peek()? {
                b'[' => self.header()?,
                b if bare(b) => self.key_value()?,
                _ => {}
            }
            self.line_end()?;
        }
        Some(())
    }

    /// `[task.NAME]`.
    fn header(&mut self) -> Option<()> {
        if !self.b[self.at..].starts_with(b"[task.") {
            return None;
        }
        let open = self.one();
        self.to.std_table_open(open, self.errors);
        self.at += 4;
        let task = self.from(self.at - 4);
        self.to.simple_key(task, None, self.errors);
        let dot = self.one();
        self.to.key_sep(dot, self.errors);
        self.bare_key()?;
        if self.peek()? != b']' {
            return None;
        }
        let close = self.one();
        self.to.std_table_close(close, self.errors);
        Some(())
    }

    fn bare_key(&mut self) -> Option<()> {
        let start = self.skip(bare);
        if start == self.at {
            return None;
        }
        let key = self.from(start);
        self.to.simple_key(key, None, self.errors);
        Some(())
    }

    /// `KEY = VALUE`.
    fn key_value(&mut self) -> Option<()> {
        self.bare_key()?;
        self.blanks();
        if self.peek()? != b'=' {
            return None;
        }
        let sep = self.one();
        self.to.key_val_sep(sep, self.errors);
        self.blanks();
        match self.peek()? {
            b'[' => self.array(),
            _ => self.string(),
        }
    }

    /// A one-line string of bytes that are themselves.
    fn string(&mut self) -> Option<()> {
        let (quote, encoding) = match self.peek()? {
            b'"' => (b'"', Encoding::BasicString),
            b'\'' => (b'\'', Encoding::LiteralString),
            _ => return None,
        };
        let start = self.at;
        self.at += 1;
        let table = &IN_STRING[usize::from(quote == b'\'')];
        let rest = &self.b[self.at..];
        self.at += rest
            .iter()
            .position(|&b| !table[usize::from(b)])
            .unwrap_or(rest.len());
        if self.peek()? != quote {
            return None;
        }
        self.at += 1;
        let span = self.from(start);
        let text = self.text.get(start + 1..self.at - 1)?;
        self.to.verbatim(span, encoding, text, self.errors);
        Some(())
    }

    /// `[` strings, each after the last and a comma, `]`; a comma may end them.
    fn array(&mut self) -> Option<()> {
        let open = self.one();
        let _ = self.to.array_open(open, self.errors);
        loop {
            self.array_space()?;
            if self.peek()? == b']' {
                break;
            }
            self.string()?;
            self.array_space()?;
            match self.peek()? {
                b',' => {
                    let sep = self.one();
                    self.to.value_sep(sep, self.errors);
                }
                b']' => break,
                _ => return None,
            }
        }
        let close = self.one();
        self.to.array_close(close, self.errors);
        Some(())
    }

    /// Blanks, comments and line ends inside an array.
    fn array_space(&mut self) -> Option<()> {
        loop {
            self.blanks();
            match self.peek()? {
                b'#' => self.comment(),
                b'\n' | b'\r' => self.newline()?,
                _ => return Some(()),
            }
        }
    }

    fn comment(&mut self) {
        let start = self.at;
        self.at += 1;
        self.skip(in_comment);
        let span = self.from(start);
        self.to.comment(span, self.errors);
    }

    /// `\n` or `\r\n`.
    fn newline(&mut self) -> Option<()> {
        let start = self.at;
        if self.peek()? == b'\r' {
            self.at += 1;
        }
        if self.peek()? != b'\n' {
            return None;
        }
        self.at += 1;
        let span = self.from(start);
        self.to.newline(span, self.errors);
        Some(())
    }

    /// Blanks, a comment, then the end of the line or of the text.
    fn line_end(&mut self) -> Option<()> {
        self.blanks();
        if self.peek() == Some(b'#') {
            self.comment();
        }
        match self.peek() {
            None => Some(()),
            Some(_) => self.newline(),
        }
    }
}

#[cfg(test)]
mod tests {
    use toml_parser::ParseError;

    use super::*;

    /// The events `text` gives, as `kind start..end` lines (whitespace left out).
    #[derive(Default)]
    struct Log(Vec<String>);

    impl Log {
        fn note(&mut self, kind: &str, span: Span) {
            self.0
                .push(format!("{kind} {}..{}", span.start(), span.end()));
        }
    }

    impl Receiver for Log {}

    impl EventReceiver for Log {
        fn std_table_open(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note("open", span);
        }
        fn std_table_close(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note("close", span);
        }
        fn simple_key(&mut self, span: Span, enc: Option<Encoding>, _e: &mut dyn ErrorSink) {
            self.note(&format!("key {enc:?}"), span);
        }
        fn key_sep(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note("dot", span);
        }
        fn key_val_sep(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note("eq", span);
        }
        fn scalar(&mut self, span: Span, enc: Option<Encoding>, _e: &mut dyn ErrorSink) {
            self.note(&format!("scalar {enc:?}"), span);
        }
        fn array_open(&mut self, span: Span, _e: &mut dyn ErrorSink) -> bool {
            self.note("[", span);
            true
        }
        fn array_close(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note("]", span);
        }
        fn value_sep(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note(",", span);
        }
        fn comment(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note("#", span);
        }
        fn newline(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note("nl", span);
        }
        fn error(&mut self, span: Span, _e: &mut dyn ErrorSink) {
            self.note("error", span);
        }
    }

    #[test]
    fn the_string_tables_take_what_a_string_holds_as_itself() {
        for b in 0..=u8::MAX {
            assert_eq!(
                IN_STRING[0][usize::from(b)],
                in_string(b, b'"'),
                "{b:#04x} in \"..\""
            );
            assert_eq!(
                IN_STRING[1][usize::from(b)],
                in_string(b, b'\''),
                "{b:#04x} in '..'"
            );
        }
        // The bytes that end or refuse a plain string, and some it holds.
        for (b, basic, literal) in [
            (b'"', false, true),
            (b'\'', true, false),
            (b'\\', false, true),
            (b'\n', false, false),
            (0x7f, false, false),
            (0xff, true, true),
            (b'\t', true, true),
            (b'a', true, true),
        ] {
            assert_eq!(
                (IN_STRING[0][usize::from(b)], IN_STRING[1][usize::from(b)]),
                (basic, literal)
            );
        }
    }

    fn scanned(text: &str) -> Option<Vec<String>> {
        let mut log = Log::default();
        let mut errors: Option<ParseError> = None;
        scan(text, &mut log, &mut errors).then_some(log.0)
    }

    fn parsed(text: &str) -> Vec<String> {
        let source = toml_parser::Source::new(text);
        let tokens = source.lex().into_vec();
        let mut log = Log::default();
        let mut errors: Option<ParseError> = None;
        toml_parser::parser::parse_document(&tokens, &mut log, &mut errors);
        assert!(errors.is_none(), "{text:?}: {errors:?}");
        log.0
    }

    #[test]
    fn what_it_scans_are_the_events_the_parser_gives() {
        for text in [
            "",
            "\n\n",
            "# a comment é\n",
            "[task.a]\nrun = \"true\"\ndeps = []\n",
            "[task.a-b_1]  # c\r\nrun='x\\y'\ndeps = [\"a\", 'b',]\n\n[task.b]\n",
            "[task.a]\ndeps = [\n  \"a\", # one\n  \"b\"\n  # end\n]",
            "[task.a]\nrun = \"\"\ndescription = \"\t<tab> é\"  ",
            "[task.a]\ndeps=[ ]\nsources = [ \"x\" , \"y\" ]# c",
        ] {
            assert_eq!(scanned(text), Some(parsed(text)), "{text:?}");
        }
    }

    #[test]
    fn anything_else_is_left_to_the_parser() {
        for text in [
            "[tasks.a]\n",
            "[ task.a ]\n",
            "[task.\"a\"]\n",
            "[task.a.b]\n",
            "[[task.a]]\n",
            "\"run\" = \"x\"\n",
            "run.x = \"x\"\n",
            "run = \"\\n\"\n",
            "run = \"\"\"x\"\"\"\n",
            "run = '''x'''\n",
            "run = 1\n",
            "run = \"x\" y\n",
            "run = \"x\"\rdeps = []\n",
            "run = \"\u{7f}\"\n",
            "run = \"x\n",
            "deps = [\"a\" \"b\"]\n",
            "deps = [,]\n",
            "deps = [\"a\"",
            "deps = [[\"a\"]]\n",
            "# \u{7f}\n",
            "\u{feff}[task.a]\n",
        ] {
            assert_eq!(scanned(text), None, "{text:?}");
        }
    }
}
