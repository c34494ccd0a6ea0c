//! A fuzz-style property test: the task-file loader and the pattern parser never panic,
//! whatever they are fed. Seeds are the shipped examples' task files, mutated (bytes replaced,
//! inserted, deleted, slices repeated); a bounded number of cases runs in CI.

use std::path::{Path, PathBuf};

use parade_cli::taskfile::{Pattern, SourceFile, parse};
use proptest::prelude::*;

fn seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut out: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("parade.toml")).ok())
        .collect();
    out.push(parade_cli::init::STARTER.to_owned());
    assert!(out.len() >= 3, "no seeds under {}", root.display());
    out
}

/// Bytes that make TOML and names interesting.
const PIECES: [&str; 16] = [
    "[", "]", "{", "}", "\"", "'", "\n", "=", "::", "*", "[x]", "\u{0}", "é", "\\", "#", "\"\"\"",
];

#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, usize),
    Insert(usize, usize),
    Delete(usize, usize),
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..PIECES.len()).prop_map(|(a, b)| Edit::Replace(a, b)),
        (any::<usize>(), 0..PIECES.len()).prop_map(|(a, b)| Edit::Insert(a, b)),
        (any::<usize>(), 0..40usize).prop_map(|(a, b)| Edit::Delete(a, b)),
        (any::<usize>(), 0..80usize).prop_map(|(a, b)| Edit::Repeat(a, b)),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut i = at % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(mut text: String, edits: &[Edit]) -> String {
    for e in edits {
        match *e {
            Edit::Replace(at, piece) => {
                let i = boundary(&text, at);
                let j = boundary(&text, i + 1).max(i);
                text.replace_range(i..j, PIECES[piece]);
            }
            Edit::Insert(at, piece) => {
                let i = boundary(&text, at);
                text.insert_str(i, PIECES[piece]);
            }
            Edit::Delete(at, len) => {
                let i = boundary(&text, at);
                let j = boundary(&text, (i + len).min(text.len())).max(i);
                text.replace_range(i..j, "");
            }
            Edit::Repeat(at, len) => {
                let i = boundary(&text, at);
                let j = boundary(&text, (i + len).min(text.len())).max(i);
                let slice = text[i..j].to_owned();
                text.insert_str(j, &slice);
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_loader_never_panics(seed in 0usize..16, edits in prop::collection::vec(edit(), 0..8)) {
        let seeds = seeds();
        let text = apply(seeds[seed % seeds.len()].clone(), &edits);
        let source = SourceFile { name: "fuzz.toml".into(), text };
        let _ = parse(PathBuf::from("/nonexistent/fuzz.toml"), source);
    }

    #[test]
    fn the_pattern_parser_never_panics(name in "[a-z:\\[\\]*?{}é\\\\]{0,24}", value in ".{0,8}") {
        if let Ok(p) = Pattern::parse(&name) {
            let _ = p.matches(&value, "::");
            let _ = p.placeholders();
            let args = p.placeholders().iter().map(|h| ((*h).to_owned(), value.clone())).collect();
            let _ = p.fill(&args);
        }
    }
}
