//! From a task file's text to what it says ([`RawFile`]): a plain file (`[task."name"]`
//! tables of strings alone) by its own reader ([`super::plain`]); any other by the TOML
//! reader's spanned tree (`toml::de::DeTable`), with each plain `[task."name"]` table taken
//! from the tree directly and everything else read through serde, as before.
//!
//! Why: a file of 1,000 tasks each needing the 100 before holds 90,000 dependency strings,
//! and serde's `Spanned` protocol costs a map access, a key compare and a visitor per string
//! (about as much as parsing the TOML). From the tree a dependency is its span and its text.
//!
//! The tree path only ever succeeds where serde would have read the same thing: a table it
//! takes holds only keys it reads, each of the type serde wants; a table with anything else
//! goes to serde; and when anything fails (TOML, a type, an unknown key), the whole text is
//! read again by `toml::from_str`, so every error, its message and its place, is serde's own.
//! This module owns that reading; what the keys mean is checked in `validate`.

use serde::Deserialize as _;
use toml::Spanned;
use toml::de::{DeTable, DeValue, Deserializer, ValueDeserializer};

use super::model::{RawFile, RawTask};

/// The file `text` says, or the TOML or serde error `toml::from_str` gives for it.
pub(crate) fn raw_file(text: &str) -> Result<RawFile, toml::de::Error> {
    match super::plain::read(text).or_else(|| from_tree(text)) {
        Some(raw) => Ok(raw),
        None => toml::from_str(text),
    }
}

/// The file read from its spanned tree; `None` when anything is wrong with it (serde then
/// says what).
pub(super) fn from_tree(text: &str) -> Option<RawFile> {
    let mut root = DeTable::parse(text).ok()?;
    let tasks = root.get_mut().remove("task");
    let mut raw = RawFile::deserialize(Deserializer::from(root)).ok()?;
    let Some(tasks) = tasks else {
        return Some(raw);
    };
    let DeValue::Table(tasks) = tasks.into_inner() else {
        return None;
    };
    raw.task.reserve_exact(tasks.len());
    // Owned, in document order (the reader keeps it): each table is freed once it is read.
    for (name, table) in tasks {
        let name = Spanned::new(name.span(), name.into_inner().into_owned());
        raw.task.push((name, task(table)?));
    }
    Some(raw)
}

/// One `[task."name"]` table: taken from the tree when it is plain, else through serde.
fn task(value: Spanned<DeValue<'_>>) -> Option<Spanned<RawTask>> {
    if let DeValue::Table(table) = value.get_ref()
        && let Some(plain) = plain(table)
    {
        return Some(Spanned::new(value.span(), plain));
    }
    Spanned::<RawTask>::deserialize(ValueDeserializer::from(value)).ok()
}

/// A table of `run`, `deps`, `description`, `sources` and `outputs` alone, each of the type
/// serde reads it as; `None` for any other table.
fn plain(table: &DeTable<'_>) -> Option<RawTask> {
    let mut t = RawTask::default();
    for (key, value) in table {
        let at = value.span();
        match (&**key.get_ref(), value.get_ref()) {
            ("run", DeValue::String(run)) => t.run = Some(Spanned::new(at, run.to_string())),
            ("description", DeValue::String(text)) => t.description = Some(text.to_string()),
            ("deps", DeValue::Array(deps)) => {
                t.deps = super::names::sharing(|share| strings(deps, share))?;
            }
            ("sources", DeValue::Array(paths)) => t.sources = strings(paths, str::to_owned)?,
            ("outputs", DeValue::Array(paths)) => t.outputs = strings(paths, str::to_owned)?,
            _ => return None,
        }
    }
    Some(t)
}

/// Every item of `items` made from its text, with its span; `None` when one is no string.
fn strings<T>(
    items: &[Spanned<DeValue<'_>>],
    mut make: impl FnMut(&str) -> T,
) -> Option<Vec<Spanned<T>>> {
    // Made to size: a `collect` into `Option` knows no length and grows the list step by step.
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let DeValue::String(text) = item.get_ref() else {
            return None;
        };
        out.push(Spanned::new(item.span(), make(text)));
    }
    Some(out)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::taskfile::fixture::layered;

    /// What serde and `reader` make of `text`, as text (the types have no `PartialEq`).
    pub(in crate::taskfile) fn serde_and(
        text: &str,
        reader: fn(&str) -> Option<RawFile>,
    ) -> (String, String) {
        let serde = format!(
            "{:?}",
            toml::from_str::<RawFile>(text).map_err(|e| e.to_string())
        );
        let other = format!("{:?}", reader(text).ok_or("refused"));
        (serde, other)
    }

    fn both(text: &str) -> (String, String) {
        serde_and(text, from_tree)
    }

    /// Asserts that [`raw_file`] gives for `text` what serde gives: the same file, or the same
    /// error at the same place.
    pub(in crate::taskfile) fn assert_reads_as_serde(text: &str) {
        let serde = toml::from_str::<RawFile>(text).map_err(|e| (e.span(), e.to_string()));
        let read = raw_file(text).map_err(|e| (e.span(), e.to_string()));
        assert_eq!(format!("{read:?}"), format!("{serde:?}"), "{text}");
    }

    #[test]
    fn the_tree_reads_what_serde_reads_spans_and_all() {
        for text in [
            "[task.a]\nrun = \"true\"\n",
            "[task.a]\nrun = 'x'\ndeps = []\n[task.\"b::[x]\"]\nrun = \"echo {x}\"\n\
             choices = { x = [\"1\", 2] }\ndeps = [\"a\", \"@no-failures\"]\n",
            "[settings]\nparallel = 2\n[params]\np = \"v\"\n[env]\nE = 1\n\
             [task.a]\ndescription = \"d\"\nrun = \"\"\"\nmulti\n\"\"\"\nsources = [\"s\"]\n\
             outputs = [\"o\"]\ndeps = [\"b\"]\ntimeout = \"5s\"\n[task.b]\nrun = \"\\u0041\"\n",
            "task.a.run = \"true\"\ntask.b = { run = \"x\", deps = [\"a\"] }\n",
            "[task]\n",
            "",
        ] {
            let (serde, tree) = both(text);
            assert_eq!(serde, tree, "{text}");
        }
    }

    #[test]
    fn a_plain_file_is_read_from_the_tree_with_no_table_through_serde() {
        let text = layered(10, 100);
        let before = crate::taskfile::raw_task::serde_tables();
        let raw = crate::taskfile::names::reading(|| raw_file(&text)).expect("the file reads");
        assert_eq!(
            crate::taskfile::raw_task::serde_tables() - before,
            0,
            "a plain task table went through serde's Spanned protocol"
        );
        assert_eq!(raw.task.len(), 1000);
        let deps: usize = raw.task.iter().map(|(_, t)| t.get_ref().deps.len()).sum();
        assert_eq!(deps, 9 * 100 * 100);
        // Equal names of the read are one string, as serde's reading makes them.
        let (a, b) = (
            &raw.task[100].1.get_ref().deps[0],
            &raw.task[101].1.get_ref().deps[0],
        );
        assert!(std::sync::Arc::ptr_eq(&a.get_ref().0, &b.get_ref().0));
        assert_eq!(both(&text).0, both(&text).1);
        // A table with a key the tree does not take is serde's, alone.
        let before = crate::taskfile::raw_task::serde_tables();
        raw_file(&format!("{text}[task.w]\nrun = \"x\"\nwave = 2\n")).expect("it reads");
        assert_eq!(crate::taskfile::raw_task::serde_tables() - before, 1);
    }

    #[test]
    fn a_file_serde_refuses_is_refused_by_the_tree_and_serde_says_why() {
        for text in [
            "[task.a]\nrun = 1\n",
            "[task.a]\nrun = \"x\"\ndeps = [\"a\", 1]\n",
            "[task.a]\nrun = \"x\"\ntiemout = 1\n",
            "[task.a]\nrun = \"x\"\ndeps = \"a\"\n",
            "[[task.a]]\nrun = \"x\"\n",
            "task = 1\n",
            "[taks.a]\nrun = \"x\"\n",
            "[task.a]\nrun = \"x\"\n[task.a]\n",
            "[task.a]\nrun = \"x\"\nsources = [1]\n",
        ] {
            assert!(from_tree(text).is_none(), "{text}");
            assert_reads_as_serde(text);
        }
    }
}
