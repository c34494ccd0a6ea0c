//! A `[task."name"]` table as read ([`RawTask`]): what most tables hold (a command, deps, a
//! description, sources and outputs, a time limit) in the table, the rest of its keys in one
//! [`RawRare`] made only when the table uses one of them, read through the table as its own
//! fields (`raw.choices`). A file of 100,000 plain tasks holds 100,000 of these while it is
//! checked: a table of every key would be 1 KB each.
//!
//! Its `Deserialize` is written here, not derived: serde's derive cannot put some fields in a
//! box made on demand (`flatten` reads every table through a buffer and cannot refuse unknown
//! keys). It refuses an unknown key as the derive's `deny_unknown_fields` does, naming every
//! key in [`KEYS`] (the order of the table's documentation), which the task-file diagnostics
//! turn into "did you mean".

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::duration::DurationValue;
use super::model::Scalar;
use super::names::SharedName;

/// Declares the table's keys: those every table has room for, then the rare ones.
macro_rules! raw_task {
    (
        common { $($c:ident : $ct:ty,)* }
        rare { $($r:ident : $rt:ty,)* }
    ) => {
        /// A `[task."name"]` table as read.
        #[derive(Debug, Default)]
        pub struct RawTask {
            $(pub(crate) $c: $ct,)*
            rare: Option<Box<RawRare>>,
        }

        /// The keys of a `[task."name"]` table most tables leave out.
        #[derive(Debug, Default)]
        pub struct RawRare {
            $(pub(crate) $r: $rt,)*
        }

        /// How many keys a task table has.
        #[cfg(test)]
        const KEY_COUNT: usize = [$(stringify!($c),)* $(stringify!($r),)*].len();

        /// One key of a task table.
        #[allow(non_camel_case_types)]
        enum Key {
            $($c,)*
            $($r,)*
        }

        impl Key {
            fn of(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($c) => Some(Key::$c),)*
                    $(stringify!($r) => Some(Key::$r),)*
                    _ => None,
                }
            }
        }

        impl<'de> Visitor<'de> for TableVisitor {
            type Value = RawTask;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a task table")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawTask, A::Error> {
                #[cfg(test)]
                SERDE_TABLES.with(|n| n.set(n.get() + 1));
                let mut t = RawTask::default();
                while let Some(KeyOf(key)) = map.next_key()? {
                    match key {
                        $(Key::$c => t.$c = map.next_value()?,)*
                        $(Key::$r => t.rare.get_or_insert_with(Box::default).$r = map.next_value()?,)*
                    }
                }
                Ok(t)
            }
        }
    };
}

raw_task! {
    common {
        description: Option<String>,
        run: Option<Spanned<String>>,
        deps: Vec<Spanned<SharedName>>,
        timeout: Option<DurationValue>,
        wave: u32,
        retries: Option<u32>,
        sources: Vec<Spanned<String>>,
        outputs: Vec<Spanned<String>>,
    }
    rare {
        template: Option<Spanned<String>>,
        job_dir: Option<Spanned<String>>,
        kwargs: Option<Spanned<toml::Table>>,
        inputs: Vec<Spanned<String>>,
        script: Option<Spanned<String>>,
        can_resume: bool,
        choices: BTreeMap<Spanned<String>, Vec<Scalar>>,
        args: BTreeMap<String, Scalar>,
        rdeps: Vec<Spanned<String>>,
        when_scheduled: Vec<Spanned<String>>,
        when_target_scheduled: Vec<Spanned<String>>,
        locks: Vec<String>,
        uses: BTreeMap<Spanned<String>, Spanned<i64>>,
        env: BTreeMap<String, Spanned<Scalar>>,
        cwd: Option<Spanned<String>>,
        cpus: Option<u32>,
        mem: Option<String>,
        time: Option<String>,
        partition: Option<String>,
        account: Option<String>,
        sbatch_args: Vec<String>,
        shell: Option<Spanned<Vec<String>>>,
        aliases: Vec<Spanned<String>>,
        log_ignore: Vec<Spanned<String>>,
        log_ignore_if_succeeded: Vec<Spanned<String>>,
    }
}

/// Every key of a task table, in the order an unknown key's message lists them.
pub(crate) const KEYS: &[&str] = &[
    "description",
    "run",
    "template",
    "job_dir",
    "kwargs",
    "inputs",
    "script",
    "can_resume",
    "choices",
    "args",
    "deps",
    "rdeps",
    "when_scheduled",
    "when_target_scheduled",
    "locks",
    "uses",
    "env",
    "cwd",
    "timeout",
    "wave",
    "cpus",
    "mem",
    "time",
    "partition",
    "account",
    "sbatch_args",
    "shell",
    "aliases",
    "retries",
    "sources",
    "outputs",
    "log_ignore",
    "log_ignore_if_succeeded",
];

#[cfg(test)]
thread_local! {
    /// Task tables read through serde on this thread (for the test that a plain table is
    /// read from the TOML tree instead; the tests' only).
    static SERDE_TABLES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many task tables serde has read on this thread so far.
#[cfg(test)]
pub(crate) fn serde_tables() -> u64 {
    SERDE_TABLES.with(std::cell::Cell::get)
}

/// What a table without rare keys reads for them.
static NO_RARE: LazyLock<RawRare> = LazyLock::new(RawRare::default);

impl std::ops::Deref for RawTask {
    type Target = RawRare;

    /// The rare keys, read as the table's own.
    fn deref(&self) -> &RawRare {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }
}

struct TableVisitor;

impl<'de> Deserialize<'de> for RawTask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("RawTask", KEYS, TableVisitor)
    }
}

/// A key as read: known, or refused as serde's `deny_unknown_fields` refuses it.
struct KeyOf(Key);

impl<'de> Deserialize<'de> for KeyOf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = KeyOf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a task key")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeyOf, E> {
                Key::of(v)
                    .map(KeyOf)
                    .ok_or_else(|| E::unknown_field(v, KEYS))
            }
        }
        d.deserialize_identifier(Name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_read_and_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for key in KEYS {
            assert!(Key::of(key).is_some(), "{key} is listed but not read");
            assert!(seen.insert(key), "{key} is listed twice");
        }
        assert_eq!(KEYS.len(), KEY_COUNT, "a key is read but not listed");
    }

    #[test]
    fn a_plain_table_has_no_rare_part_and_a_rare_key_is_read_through_it() {
        let plain: RawTask = toml::from_str("run = \"true\"\ndeps = [\"a\"]\n").unwrap();
        assert!(plain.rare.is_none());
        assert!(plain.locks.is_empty() && plain.template.is_none());
        assert_eq!(&**plain.deps[0].get_ref(), "a");
        let rare: RawTask =
            toml::from_str("run = \"true\"\nlocks = [\"db\"]\ncan_resume = true\n").unwrap();
        assert_eq!(rare.locks, ["db"]);
        assert!(rare.can_resume);
        assert!(size_of::<RawTask>() <= 256, "{}", size_of::<RawTask>());
    }

    #[test]
    fn an_unknown_key_is_refused_with_every_key_named() {
        let e = toml::from_str::<RawTask>("run = \"x\"\ntiemout = 1\n").unwrap_err();
        let message = e.message();
        assert!(
            message.starts_with("unknown field `tiemout`, expected one of `description`, `run`"),
            "{message}"
        );
        for key in KEYS {
            assert!(
                message.contains(&format!("`{key}`")),
                "{key} not named: {message}"
            );
        }
    }
}
