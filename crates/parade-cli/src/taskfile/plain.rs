//! The reader of a plain task file: nothing but `[task.NAME]` tables of `run`, `deps`,
//! `description`, `sources` and `outputs`, each a one-line string or an array of them (what a
//! generated file of many tasks is, such as the benchmark's 1,000 tasks with 90,000
//! dependencies). It takes the TOML parser's events (`toml_parser`, the parser `toml` itself
//! reads with) straight into [`RawTask`]s: no tree of values, no list of events, no value per
//! dependency but its span and its shared name. The events come from the scanner of the
//! plainest files ([`super::scan`], a tenth of the parser's cost) when it takes the text, from
//! the parser when it does not.
//!
//! It accepts a strict part of TOML and nothing else: any other event, key, type or header,
//! a name or key given twice, or any error of the parser gives up (`None`), and the file is read
//! as before ([`super::read`]), so every diagnostic stays serde's. A look at the lines first
//! ([`looks_plain`]) spares a file that is not plain the parse given up on. Strings and keys
//! are decoded by `toml_parser`'s own decoder, as `toml` decodes them.

use std::borrow::Cow;
use std::hash::BuildHasher as _;

use hashbrown::HashTable;
use toml::Spanned;
use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::{EventReceiver, ValidateWhitespace, parse_document};
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

use super::model::{RawFile, RawTask};
use super::names::{SharedName, sharing};

/// The file `text` says, when it is a plain task file; `None` for any other (or a wrong one).
pub(crate) fn read(text: &str) -> Option<RawFile> {
    if !looks_plain(text) {
        return None;
    }
    let source = Source::new(text);
    sharing(|share| {
        // The scanner first: when the text is more than it scans, the parser reads it afresh.
        let mut reader = Reader::new(source, share);
        let mut errors: Option<ParseError> = None;
        if !super::scan::scan(text, &mut reader, &mut errors) {
            let tokens = source.lex().into_vec();
            reader = Reader::new(source, reader.share);
            errors = None;
            parse_document(
                &tokens,
                &mut ValidateWhitespace::new(&mut reader, source),
                &mut errors,
            );
        }
        if errors.is_some() || reader.failed || !matches!(reader.state, State::Top | State::Line) {
            return None;
        }
        reader.close_table();
        Some(RawFile {
            settings: super::model::RawSettings::default(),
            params: std::collections::BTreeMap::new(),
            task: reader.tasks,
            env: std::collections::BTreeMap::new(),
            choices: std::collections::BTreeMap::new(),
            include: Vec::new(),
        })
    })
}

/// Whether every line of `text` starts (after blanks) as a line of a plain file can: blank, a
/// comment, a `[task.` header, a key the reader takes, or an item of a multi-line array. Cheap
/// (a look at the start of each line); the reader still checks everything.
fn looks_plain(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim_start_matches([' ', '\t']);
        let word = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .next()
            .unwrap_or_default();
        line.is_empty()
            || line.starts_with(['#', '"', '\'', ']'])
            || line.starts_with("[task.")
            || (Key::of(word).is_some() && line[word.len()..].starts_with([' ', '\t', '=']))
    })
}

/// The text of a one-line string (or quoted key) that is its own value: between its quotes,
/// no escape and no character TOML refuses in it (`basic-unescaped` and `literal-char` of
/// the TOML grammar). Most names are; the decoder reads the rest (escapes, and what it
/// refuses, with its error). The decoder costs about 150 instructions a string.
fn verbatim(raw: &str, encoding: Option<Encoding>) -> Option<&str> {
    let (quote, escapes) = match encoding? {
        Encoding::BasicString => (b'"', true),
        Encoding::LiteralString => (b'\'', false),
        Encoding::MlBasicString | Encoding::MlLiteralString => return None,
    };
    let inner = raw
        .strip_prefix(quote as char)?
        .strip_suffix(quote as char)?;
    inner
        .bytes()
        .all(|b| {
            b == b'\t'
                || b >= 0x80
                || ((0x20..0x7f).contains(&b) && b != quote && !(escapes && b == b'\\'))
        })
        .then_some(inner)
}

/// A key of a plain task table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Run,
    Description,
    Deps,
    Sources,
    Outputs,
}

impl Key {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "run" => Key::Run,
            "description" => Key::Description,
            "deps" => Key::Deps,
            "sources" => Key::Sources,
            "outputs" => Key::Outputs,
            _ => return None,
        })
    }

    /// Its bit among the keys a table has given.
    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Where the reader is in the document.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line, between keys or tables.
    Top,
    /// In a `[...]` header: after `[`, after `task`, after `.`, after the name.
    Header(u8),
    /// After a key, before `=`.
    Key(Key),
    /// After `=`, before the value.
    Value(Key),
    /// In an array, before an item or `]`.
    Items(Key),
    /// In an array, after an item.
    Item(Key),
    /// After a value or a header, before the end of its line.
    Line,
}

/// The table being read: its name, where its header starts, and what it has said so far.
struct Table {
    name: Spanned<String>,
    start: usize,
    end: usize,
    task: RawTask,
    keys: u8,
}

struct Reader<'i, 's> {
    source: Source<'i>,
    share: &'s mut dyn FnMut(&str) -> SharedName,
    state: State,
    table: Option<Table>,
    tasks: Vec<(Spanned<String>, Spanned<RawTask>)>,
    /// The tasks by name (positions in `tasks`): a name given twice gives up.
    by_name: HashTable<usize>,
    /// The dependencies of the array being read, moved to the task made to size.
    names: Vec<Spanned<SharedName>>,
    /// The paths of the array being read, likewise.
    paths: Vec<Spanned<String>>,
    failed: bool,
}

fn hash(name: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(name)
}

impl<'i, 's> Reader<'i, 's> {
    /// A reader of `source` at its start, sharing names with `share`.
    fn new(source: Source<'i>, share: &'s mut dyn FnMut(&str) -> SharedName) -> Self {
        Reader {
            source,
            share,
            state: State::Top,
            table: None,
            tasks: Vec::new(),
            by_name: HashTable::new(),
            names: Vec::new(),
            paths: Vec::new(),
            failed: false,
        }
    }

    /// The decoded text of a key or string at `span`.
    fn text(
        &self,
        span: Span,
        encoding: Option<Encoding>,
        key: bool,
        errors: &mut dyn ErrorSink,
    ) -> Option<Cow<'i, str>> {
        let raw = Raw::new_unchecked(
            self.source.input().get(span.start()..span.end())?,
            encoding,
            span,
        );
        if let Some(text) = verbatim(raw.as_str(), encoding) {
            return Some(Cow::Borrowed(text));
        }
        let mut out = Cow::Borrowed("");
        if key {
            raw.decode_key(&mut out, errors);
        } else if !matches!(
            encoding,
            Some(Encoding::BasicString | Encoding::LiteralString)
        ) || !matches!(raw.decode_scalar(&mut out, errors), ScalarKind::String)
        {
            // A number, a date, a boolean or a multi-line string: not plain.
            return None;
        }
        Some(out)
    }

    /// The table read so far, filed under its name.
    fn close_table(&mut self) {
        let Some(table) = self.table.take() else {
            return;
        };
        let at = self.tasks.len();
        self.by_name
            .insert_unique(hash(table.name.get_ref()), at, |&i| {
                hash(self.tasks[i].0.get_ref())
            });
        self.tasks
            .push((table.name, Spanned::new(table.start..table.end, table.task)));
    }

    fn fail(&mut self) {
        self.failed = true;
    }

    /// A string as a key's whole value, or as an item of its array.
    fn string(&mut self, key: Key, span: Span, text: &str) {
        let Some(table) = self.table.as_mut() else {
            return self.fail();
        };
        let at = span.start()..span.end();
        match (self.state, key) {
            (State::Value(_), Key::Run) => table.task.run = Some(Spanned::new(at, text.to_owned())),
            (State::Value(_), Key::Description) => table.task.description = Some(text.to_owned()),
            (State::Items(_), Key::Deps) => self.names.push(Spanned::new(at, (self.share)(text))),
            (State::Items(_), Key::Sources | Key::Outputs) => {
                self.paths.push(Spanned::new(at, text.to_owned()));
            }
            _ => return self.fail(),
        }
        self.state = match self.state {
            State::Items(key) => State::Item(key),
            _ => State::Line,
        };
    }
}

impl super::scan::Receiver for Reader<'_, '_> {
    /// A string the scanner has seen is its own text: as `scalar` takes it, but
    /// not decoded again.
    fn verbatim(
        &mut self,
        span: Span,
        _encoding: Encoding,
        text: &str,
        _error: &mut dyn ErrorSink,
    ) {
        let (State::Value(key) | State::Items(key)) = self.state else {
            return self.fail();
        };
        self.string(key, span, text);
    }
}

impl EventReceiver for Reader<'_, '_> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if self.state != State::Top {
            return self.fail();
        }
        self.close_table();
        self.table = Some(Table {
            name: Spanned::new(0..0, String::new()),
            start: span.start(),
            end: span.end(),
            task: RawTask::default(),
            keys: 0,
        });
        self.state = State::Header(0);
    }

    fn std_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        let Some(table) = self.table.as_mut() else {
            return self.fail();
        };
        if self.state != State::Header(3) {
            return self.fail();
        }
        table.end = span.end();
        let name = table.name.get_ref();
        let tasks = &self.tasks;
        if self
            .by_name
            .find(hash(name), |&i| tasks[i].0.get_ref() == name)
            .is_some()
        {
            return self.fail();
        }
        self.state = State::Line;
    }

    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        let Some(text) = self.text(span, encoding, true, error) else {
            return self.fail();
        };
        match self.state {
            State::Header(0) if text == "task" => self.state = State::Header(1),
            State::Header(2) => {
                if let Some(table) = self.table.as_mut() {
                    table.name = Spanned::new(span.start()..span.end(), text.into_owned());
                }
                self.state = State::Header(3);
            }
            State::Top => {
                let Some((table, key)) = self.table.as_mut().zip(Key::of(&text)) else {
                    return self.fail();
                };
                if table.keys & key.bit() != 0 {
                    return self.fail();
                }
                table.keys |= key.bit();
                self.state = State::Key(key);
            }
            _ => self.fail(),
        }
    }

    fn key_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        match self.state {
            State::Header(1) => self.state = State::Header(2),
            _ => self.fail(),
        }
    }

    fn key_val_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        match self.state {
            State::Key(key) => self.state = State::Value(key),
            _ => self.fail(),
        }
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        let (State::Value(key) | State::Items(key)) = self.state else {
            return self.fail();
        };
        let Some(text) = self.text(span, encoding, false, error) else {
            return self.fail();
        };
        self.string(key, span, &text);
    }

    fn array_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        match self.state {
            State::Value(key @ (Key::Deps | Key::Sources | Key::Outputs)) => {
                self.state = State::Items(key);
            }
            _ => self.fail(),
        }
        true
    }

    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        let (State::Items(key) | State::Item(key)) = self.state else {
            return self.fail();
        };
        let Some(table) = self.table.as_mut() else {
            return self.fail();
        };
        // Made to size: one allocation a list.
        match key {
            Key::Deps => table.task.deps = self.names.drain(..).collect(),
            Key::Sources => table.task.sources = self.paths.drain(..).collect(),
            Key::Outputs => table.task.outputs = self.paths.drain(..).collect(),
            Key::Run | Key::Description => return self.fail(),
        }
        self.state = State::Line;
    }

    fn value_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        match self.state {
            State::Item(key) => self.state = State::Items(key),
            _ => self.fail(),
        }
    }

    fn whitespace(&mut self, _span: Span, _error: &mut dyn ErrorSink) {}

    fn comment(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if !matches!(
            self.state,
            State::Top | State::Line | State::Items(_) | State::Item(_)
        ) {
            self.fail();
        }
    }

    fn newline(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        match self.state {
            State::Top | State::Items(_) | State::Item(_) => {}
            State::Line => self.state = State::Top,
            _ => self.fail(),
        }
    }

    fn array_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.fail();
    }

    fn array_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.fail();
    }

    fn inline_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.fail();
        true
    }

    fn inline_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.fail();
    }

    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.fail();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(text: &str) -> (String, String) {
        super::super::read::tests::serde_and(text, read)
    }

    #[test]
    fn a_plain_file_reads_as_serde_reads_it_spans_and_all() {
        for text in [
            "[task.a]\nrun = \"true\"\n",
            "[task.a]\nrun = 'x'\ndeps = []\n[task.\"b::[x]\"]\nrun = \"echo {x}\"\n\
             deps = [\"a\", \"@no-failures\"]\n",
            "# a comment\n[task.a] # here too\ndescription = \"d\" # and here\n\
             run = \"say \\\"hi\\\" \\u0041\"\nsources = [\"s\", 'o',]\n\
             outputs = [\n  \"o\", # one\n  \"p\"\n]\ndeps = [ \"b\" ]\n[task.'b']\nrun = \"\"",
            "[task.a]\nrun = \"true\"\n\n\n[task.\"a b\"]\nrun = \"x\"\n",
            "",
        ] {
            let (serde, plain) = both(text);
            assert_eq!(serde, plain, "{text}");
        }
    }

    #[test]
    fn anything_else_is_given_up_and_serde_says_what_it_is() {
        for text in [
            // Wrong or duplicate.
            "[task.a]\nrun = 1\n",
            "[task.a]\nrun = \"x\"\ndeps = [\"a\", 1]\n",
            "[task.a]\nrun = \"x\"\n[task.a]\nrun = \"y\"\n",
            "[task.a]\nrun = \"x\"\n[task.\"a\"]\n",
            "[task.a]\nrun = \"x\"\nrun = \"y\"\n",
            "[task.a]\nrun = \"x\"\ndeps = \"a\"\n",
            "[task.a]\nrun = [\"x\"]\n",
            "[task.a]\nrun = \"x\" deps = []\n",
            "[task.a]\nrun = \"x\"\ndeps = [\"a\" \"b\"]\n",
            "[task.a]\nrun = \"unclosed\n",
            "[task.a]\nrun = \"x\"\ndeps = [[\"a\"]]\n",
            // Right, but not plain.
            "[task.a]\nrun = \"x\"\nwave = 2\n",
            "[task.a]\nrun = \"\"\"x\"\"\"\n",
            "[task.a.b]\nrun = \"x\"\n",
            "[task]\na.run = \"x\"\n",
            "[task.a]\nrun.x = \"x\"\n",
            "[[task.a]]\nrun = \"x\"\n",
            "[settings]\nparallel = 2\n[task.a]\nrun = \"x\"\n",
            "run = \"x\"\n",
            "[task.a]\nrun = \"x\"\ndeps = [{ a = 1 }]\n",
            "[tusk.a]\nrun = \"x\"\n",
        ] {
            assert!(read(text).is_none(), "{text}");
            super::super::read::tests::assert_reads_as_serde(text);
        }
    }

    #[test]
    fn a_string_is_its_own_text_only_where_the_decoder_would_make_it_so() {
        let basic = Some(Encoding::BasicString);
        let literal = Some(Encoding::LiteralString);
        assert_eq!(verbatim("\"l0_1 é\"", basic), Some("l0_1 é"));
        assert_eq!(verbatim("'a\\b'", literal), Some("a\\b"));
        assert_eq!(verbatim("\"a\\nb\"", basic), None, "an escape");
        assert_eq!(verbatim("\"a\u{7f}\"", basic), None, "DEL");
        assert_eq!(verbatim("'a\u{1}'", literal), None, "a control character");
        assert_eq!(
            verbatim("\"\"\"a\"\"\"", Some(Encoding::MlBasicString)),
            None
        );
        assert_eq!(verbatim("bare", None), None);
        // Every string the decoder reads as its own text, and none it changes or refuses.
        for text in ["\"\"", "\"a\tb\"", "'{x} $y'", "\"\\u0041\"", "'a\u{7f}'"] {
            let raw = Raw::new_unchecked(
                text,
                if text.starts_with('"') {
                    basic
                } else {
                    literal
                },
                Span::new_unchecked(0, text.len()),
            );
            let mut out = Cow::Borrowed("");
            let mut errors: Option<ParseError> = None;
            let _ = raw.decode_scalar(&mut out, &mut errors);
            if let Some(v) = verbatim(text, Some(raw_encoding(text))) {
                assert!(errors.is_none() && out == v, "{text}");
            }
        }
    }

    fn raw_encoding(text: &str) -> Encoding {
        if text.starts_with('"') {
            Encoding::BasicString
        } else {
            Encoding::LiteralString
        }
    }

    #[test]
    fn a_line_no_plain_file_has_is_seen_before_the_file_is_parsed() {
        assert!(looks_plain(
            "[task.a]\nrun = \"x\"\ndeps = [\n  \"b\",\n]\n# c\n"
        ));
        assert!(!looks_plain("[task.a]\nrun = \"x\"\nwave = 1\n"));
        assert!(!looks_plain("[settings]\n"));
        assert!(!looks_plain("[task.a]\nrunner = \"x\"\n"));
    }
}
