//! The flow's index of procs by name: a hash table of task ids, each name hashed and compared
//! where its record keeps it. A glob's million instances are a million entries of 4 bytes,
//! not a million counted names beside ids (24 bytes each, times the table's slack).
//!
//! This module knows names and ids only; the records are the table's (`table.rs`), which
//! hands over how to read a task's name.

use std::hash::BuildHasher;

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

impl NameIndex {
    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
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
        let hasher = &self.hasher;
        self.ids
            .insert_unique(hash, id, |&other| hasher.hash_one(name_of(other)));
    }

    /// Room for `more` names.
    pub(crate) fn reserve<'a>(&mut self, more: usize, name_of: impl Fn(TaskId) -> &'a str) {
        let hasher = &self.hasher;
        self.ids
            .reserve(more, |&other| hasher.hash_one(name_of(other)));
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
}
