//! A property test of the three task-file readers: the plain reader ([`super::plain`]), the
//! spanned tree ([`super::read`]) and serde (`toml::from_str`), each of which falls back to the
//! next. On random task files near the plain part of TOML (the five plain keys and a few
//! others, bare and quoted names, escapes, multi-line arrays, comments, names and keys given
//! twice, wrong types, a stray byte), whatever the plain reader or the tree reads is what serde
//! reads, spans and all, and the whole read ([`raw_file`]) is serde's: the same file, or the
//! same error at the same place. A file of only plain tables with distinct names is read by
//! the plain reader itself, so the property is not met by the readers' giving up.

use std::fmt::Write as _;

use proptest::prelude::*;

use super::read::raw_file;
use super::read::tests::serde_and;

/// Characters a name or a string is made of: plain ones and those TOML quotes or escapes.
const CHARS: [char; 14] = [
    'a', 'b', '_', '-', ':', '[', ']', '*', ' ', '"', '\\', 'é', '\t', '\'',
];

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(&CHARS[..]), 0..6)
        .prop_map(|cs| cs.into_iter().collect())
}

/// `s` as a TOML basic string, escaping what must be (and `a` as `\u0061` at times).
fn basic(s: &str, unicode: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            'a' if unicode => out.push_str("\\u0061"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string value or quoted key for `s`: basic, literal where it can be, or written wrong.
fn quoted(s: &str) -> impl Strategy<Value = String> + use<> {
    let literal = if s.contains('\'') {
        basic(s, false)
    } else {
        format!("'{s}'")
    };
    prop_oneof![
        6 => Just(basic(s, false)),
        2 => Just(basic(s, true)),
        3 => Just(literal),
        1 => Just(format!("\"\"\"{}\"\"\"", s.replace(['"', '\\'], ""))),
        1 => Just(format!("\"{s}")), // unclosed
    ]
}

fn string() -> impl Strategy<Value = String> {
    text().prop_flat_map(|s| quoted(&s))
}

/// A value: mostly a string or an array of them, at times one the key does not take.
fn value() -> impl Strategy<Value = String> {
    let items = || proptest::collection::vec(string(), 0..4);
    prop_oneof![
        4 => string(),
        4 => (items(), any::<bool>()).prop_map(|(v, comma)| {
            let trailing = if comma && !v.is_empty() { "," } else { "" };
            format!("[{}{trailing}]", v.join(", "))
        }),
        2 => items().prop_map(|v| {
            let mut lines = String::new();
            for s in &v {
                let _ = write!(lines, "\n  {s}, # item\n");
            }
            format!("[{lines}]")
        }),
        1 => Just("1".to_owned()),
        1 => Just("[\"a\", 2]".to_owned()),
        1 => Just("{ x = \"y\" }".to_owned()),
    ]
}

/// A key of a task table: the plain five, and others a task takes or does not.
fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        10 => proptest::sample::select(&["run", "deps", "description", "sources", "outputs"][..]),
        1 => proptest::sample::select(&["wave", "timeout", "tiemout", "run.x"][..]),
    ]
}

/// A task name as a header writes it: bare where it can be, or quoted.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(&["a", "b", "c-1", "d_2"][..]).prop_map(str::to_owned),
        2 => string(),
    ]
}

/// A header: mostly `[task.NAME]`, at times another table.
fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        10 => name().prop_map(|n| format!("[task.{n}]")),
        1 => name().prop_map(|n| format!("[[task.{n}]]")),
        1 => name().prop_map(|n| format!("[task.{n}.x]")),
        1 => Just("[settings]".to_owned()),
        1 => Just("[tusk.a]".to_owned()),
    ]
}

/// A file near the plain part of TOML, with blank lines, comments and a stray byte at times.
fn file() -> impl Strategy<Value = String> {
    let line = (key(), value(), 0..8u8).prop_map(|(k, v, extra)| match extra {
        0 => format!("{k} = {v} # note\n"),
        1 => format!("{k}={v}\n\n"),
        2 => format!("# {k}\n{k} = {v}\n"),
        _ => format!("{k} = {v}\n"),
    });
    let table = (header(), proptest::collection::vec(line, 0..4))
        .prop_map(|(h, lines)| format!("{h}\n{}", lines.concat()));
    (proptest::collection::vec(table, 0..5), 0..20u8).prop_map(|(tables, stray)| {
        let text = tables.concat();
        match stray {
            0 => format!("{text}}}\n"),
            1 => format!("{text}x = \n"),
            _ => text,
        }
    })
}

/// A file of plain tables with distinct names: each key at most once, strings and arrays of
/// one-line strings.
fn plain_file() -> impl Strategy<Value = String> {
    let one = || {
        prop_oneof![
            text().prop_map(|s| basic(&s, false)),
            text().prop_map(|s| basic(&s, true))
        ]
    };
    let list =
        || proptest::collection::vec(one(), 0..4).prop_map(|v| format!("[{}]", v.join(", ")));
    let task = (one(), list(), list(), proptest::option::of(one()));
    proptest::collection::vec(task, 0..6).prop_map(|tasks| {
        let mut text = String::new();
        for (i, (run, deps, sources, description)) in tasks.iter().enumerate() {
            let description = description
                .as_ref()
                .map(|d| format!("description = {d}\n"))
                .unwrap_or_default();
            let _ = write!(
                text,
                "[task.\"t{i}\"]\n{description}run = {run}\ndeps = {deps}\nsources = {sources}\n\n"
            );
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn what_a_reader_reads_is_what_serde_reads(text in file()) {
        for reader in [super::plain::read, super::read::from_tree] {
            let (serde, read) = serde_and(&text, reader);
            if read != format!("{:?}", Err::<(), _>("refused")) {
                prop_assert_eq!(&read, &serde, "{}", text);
            }
        }
        let serde = toml::from_str::<super::model::RawFile>(&text)
            .map_err(|e| (e.span(), e.to_string()));
        let read = raw_file(&text).map_err(|e| (e.span(), e.to_string()));
        prop_assert_eq!(format!("{read:?}"), format!("{serde:?}"), "{}", text);
    }

    #[test]
    fn a_file_of_plain_tables_is_read_by_the_plain_reader(text in plain_file()) {
        let (serde, plain) = serde_and(&text, super::plain::read);
        prop_assert_eq!(plain, serde, "{}", text);
    }
}
