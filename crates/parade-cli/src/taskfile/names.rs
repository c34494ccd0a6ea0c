//! Shared dependency names: while a task file is read ([`reading`]), every dependency string
//! is one [`SharedName`], and equal strings are one `Arc<str>`. A layered file of 1,000 tasks
//! each needing the 100 before holds 1,000 names, not 90,000 copies, and the checked task
//! ([`super::Dep::Task`]) and the flow's dependency (`parade::flow::Dep::Name`) share them on
//! without copying the text again.
//!
//! The interner is this thread's for the time of one read (serde's `Deserialize` takes no
//! context, and the TOML reader runs on the caller's thread); a name read outside
//! [`reading`] is its own `Arc`. It owns the sharing, not what a name means.

use std::cell::RefCell;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use hashbrown::{HashTable, hash_table::Entry};
use serde::de::{Deserialize, Deserializer, Visitor};

/// A dependency name as read: shared with every equal name of the same read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedName(pub Arc<str>);

impl std::ops::Deref for SharedName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// Runs `f` with a maker of names shared with the equal names of this thread's read (each its
/// own `Arc` outside one): what a list of names read from the TOML tree is made with, looking
/// the read up once for the list rather than once a name.
pub(crate) fn sharing<T>(f: impl FnOnce(&mut dyn FnMut(&str) -> SharedName) -> T) -> T {
    READING.with(|r| match r.borrow_mut().as_mut() {
        Some(interner) => f(&mut |name| SharedName(interner.get(name))),
        None => f(&mut |name| SharedName(Arc::from(name))),
    })
}

/// The names of one read, by their text.
#[derive(Default)]
struct Interner(HashTable<Arc<str>>);

fn hash(name: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(name)
}

impl Interner {
    fn get(&mut self, name: &str) -> Arc<str> {
        // One hash and one probe, found or filed.
        match self.0.entry(hash(name), |n| **n == *name, |n| hash(n)) {
            Entry::Occupied(found) => found.get().clone(),
            Entry::Vacant(room) => room.insert(Arc::from(name)).get().clone(),
        }
    }
}

thread_local! {
    static READING: RefCell<Option<Interner>> = const { RefCell::new(None) };
}

/// Runs `read` with equal names shared (a read inside another shares the outer one's names).
///
/// ```
/// use parade_cli::taskfile::names::{SharedName, reading};
/// let (a, b): (SharedName, SharedName) = reading(|| {
///     (serde_json::from_str("\"setup\"").unwrap(), serde_json::from_str("\"setup\"").unwrap())
/// });
/// assert!(std::sync::Arc::ptr_eq(&a.0, &b.0));
/// ```
pub fn reading<T>(read: impl FnOnce() -> T) -> T {
    /// Ends the read's sharing, also when `read` panics.
    struct End;
    impl Drop for End {
        fn drop(&mut self) {
            READING.with(|r| *r.borrow_mut() = None);
        }
    }
    if READING.with(|r| r.borrow().is_some()) {
        return read();
    }
    READING.with(|r| *r.borrow_mut() = Some(Interner::default()));
    let _end = End;
    read()
}

/// `name` shared with the equal names of this thread's read (its own `Arc` outside one).
fn share(name: &str) -> Arc<str> {
    READING.with(|r| match r.borrow_mut().as_mut() {
        Some(interner) => interner.get(name),
        None => Arc::from(name),
    })
}

impl<'de> Deserialize<'de> for SharedName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = SharedName;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SharedName, E> {
                Ok(SharedName(share(v)))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> SharedName {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn equal_names_of_one_read_are_one_string_and_reads_do_not_share() {
        let (a, b, c) = reading(|| (read("\"a\""), read("\"a\""), read("\"b\"")));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert!(!Arc::ptr_eq(&a.0, &c.0));
        assert_eq!((&*a, &*c), ("a", "b"));
        // The read is over: the next one starts afresh, and nothing is shared outside one.
        let again = reading(|| read("\"a\""));
        assert!(!Arc::ptr_eq(&a.0, &again.0));
        assert!(!Arc::ptr_eq(&read("\"a\"").0, &read("\"a\"").0));
        assert_eq!(
            Arc::strong_count(&a.0),
            2,
            "the interner let go of its share"
        );
    }

    #[test]
    fn a_read_that_panics_ends_its_sharing() {
        let _ = std::panic::catch_unwind(|| reading(|| panic!("a bad read")));
        assert!(READING.with(|r| r.borrow().is_none()));
    }
}
