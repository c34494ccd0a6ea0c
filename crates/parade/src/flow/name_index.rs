//! The flow's index of procs by name: a hash table of task ids, each name hashed and compared
//! where its record keeps it. A glob's million instances are a million entries of 4 bytes,
//! not a million counted names beside ids (24 bytes each, times the table's slack).
//!
//! A name not yet filed is hashed and probed once: [`NameIndex::entry`] finds its id or the
//! slot the new id goes to (a glob's instance is new: looking it up, then filing it, was two
//! hashes and two probes).
//!
//! This module knows names and ids only; the records are the table's (`table.rs`), which
//! hands over how to read a task's name.

use std::hash::BuildHasher;

use hashbrown::hash_table;

use crate::engine::TaskId;

/// Task ids by name. Every lookup and insertion is given `name_of`, which reads the name of
/// an id already in the index.
#[derive(Default)]
pub(crate) struct NameIndex {
    ids: hashbrown::HashTable<TaskId>,
    /// foldhash: names are not chosen by an adversary of this process (`SipHash`'s reason
    /// to be slow).
    hasher: foldhash::fast::RandomState,
}

/// What [`NameIndex::entry`] found: the id of the name, or the slot its id goes to.
pub(crate) enum Entry<'t> {
    Found(TaskId),
    Vacant(Vacant<'t>),
}

/// The place of a name the index does not have yet.
pub(crate) struct Vacant<'t>(hash_table::VacantEntry<'t, TaskId>);

impl Vacant<'_> {
    /// Files `id` under the name this slot was found for.
    pub(crate) fn insert(self, id: TaskId) {
        self.0.insert(id);
    }
}

#[cfg(test)]
thread_local! {
    /// Names hashed on this thread (tests count the probes per instance).
    pub(crate) static HASHED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The hash of `name` by `hasher`: the one place names are hashed.
fn hash_by(hasher: foldhash::fast::RandomState, name: &str) -> u64 {
    #[cfg(test)]
    HASHED.set(HASHED.get() + 1);
    hasher.hash_one(name)
}

impl NameIndex {
    fn hash(&self, name: &str) -> u64 {
        hash_by(self.hasher, name)
    }

    /// The id named `name`.
    pub(crate) fn get<'a>(
        &self,
        name: &str,
        name_of: impl Fn(TaskId) -> &'a str,
    ) -> Option<TaskId> {
        self.ids
            .find(self.hash(name), |&id| name_of(id) == name)
            .copied()
    }

    /// Files `id` under `name`, which no id has yet.
    pub(crate) fn insert<'a>(
        &mut self,
        name: &str,
        id: TaskId,
        name_of: impl Fn(TaskId) -> &'a str,
    ) {
        let hash = self.hash(name);
        let hasher = self.hasher;
        self.ids
            .insert_unique(hash, id, |&other| hash_by(hasher, name_of(other)));
    }

    /// The id named `name`, or the slot for a new one: one hash and one probe (room for one
    /// more is made here, rehashing by `name_of` if the table grows).
    pub(crate) fn entry<'a>(
        &mut self,
        name: &str,
        name_of: impl Fn(TaskId) -> &'a str,
    ) -> Entry<'_> {
        let hash = self.hash(name);
        let hasher = self.hasher;
        match self.ids.entry(
            hash,
            |&id| name_of(id) == name,
            |&other| hash_by(hasher, name_of(other)),
        ) {
            hash_table::Entry::Occupied(found) => Entry::Found(*found.get()),
            hash_table::Entry::Vacant(slot) => Entry::Vacant(Vacant(slot)),
        }
    }

    /// Room for `more` names.
    pub(crate) fn reserve<'a>(&mut self, more: usize, name_of: impl Fn(TaskId) -> &'a str) {
        let hasher = self.hasher;
        self.ids
            .reserve(more, |&other| hash_by(hasher, name_of(other)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_filed_and_nothing_else() {
        let names: Vec<String> = (0..1000).map(|i| format!("t::{i}")).collect();
        let name_of = |id: TaskId| names[id.index()].as_str();
        let mut index = NameIndex::default();
        index.reserve(10, name_of);
        for (i, name) in names.iter().enumerate() {
            index.insert(name, TaskId(u32::try_from(i).unwrap()), name_of);
        }
        for i in [0, 1, 499, 999] {
            assert_eq!(index.get(&names[i], name_of).map(TaskId::index), Some(i));
        }
        assert_eq!(index.get("t::1000", name_of), None);
        assert_eq!(index.get("t::", name_of), None);
        assert!(size_of::<TaskId>() == 4, "an entry is an id");
    }

    #[test]
    fn an_entry_finds_or_files_with_one_hash() {
        let names: Vec<String> = (0..100).map(|i| format!("t::{i}")).collect();
        let name_of = |id: TaskId| names[id.index()].as_str();
        let mut index = NameIndex::default();
        index.reserve(names.len(), name_of);
        let before = HASHED.get();
        for (i, name) in names.iter().enumerate() {
            match index.entry(name, name_of) {
                Entry::Vacant(slot) => slot.insert(TaskId(u32::try_from(i).unwrap())),
                Entry::Found(id) => panic!("{name} found as {id:?} before it was filed"),
            }
        }
        assert_eq!(HASHED.get() - before, names.len(), "one hash per new name");
        for (i, name) in names.iter().enumerate() {
            assert!(matches!(index.entry(name, name_of), Entry::Found(id) if id.index() == i));
        }
        assert_eq!(index.get("t::100", name_of), None);
    }
}
