//! The tasks of a checked file by name: [`TaskFile::task`](super::TaskFile::task) and what
//! calls it (`resolve`, `unalias`, a dry run's decisions, `list`'s default mark) find a task
//! with one hash lookup instead of a search of every task, so that asking once per planned
//! task stays linear at a million tasks.
//!
//! Built on the first lookup (a file nobody looks up in pays nothing). `TaskFile::tasks` is a
//! public field: code that changes the list after lookups calls
//! [`TaskFile::reindex`](super::TaskFile::reindex). Short of that, a list whose length is not
//! the one the index was built for is searched instead, and a position whose task has another
//! name now is never an answer.
//! Names are hashed with `foldhash` (a lookup per planned task: the default hasher's
//! resistance to chosen keys buys nothing for the names of one's own file). The index holds
//! positions only, in a `hashbrown::HashTable` whose entries are compared with the tasks'
//! own names: no copy of a million names.

use std::hash::BuildHasher as _;
use std::sync::OnceLock;

use hashbrown::HashTable;

use super::model::Task;

/// Task positions by name, made on first use.
#[derive(Clone, Debug, Default)]
pub struct TaskIndex(OnceLock<(usize, HashTable<usize>)>);

/// The hash of a name (fixed: the same in every index).
fn hash(name: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(name)
}

thread_local! {
    static SEARCHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many lookups on this thread had to search the task list (the index was stale): none
/// for a file whose tasks were not changed after it was checked.
pub fn task_searches() -> u64 {
    SEARCHES.with(std::cell::Cell::get)
}

impl TaskIndex {
    /// Forgets the positions (the next lookup builds them again).
    pub(crate) fn clear(&mut self) {
        self.0 = OnceLock::new();
    }

    /// The task of `tasks` named exactly `name`.
    pub(crate) fn find<'t>(&self, tasks: &'t [Task], name: &str) -> Option<&'t Task> {
        let (len, by_name) = self.0.get_or_init(|| {
            let mut by_name = HashTable::with_capacity(tasks.len());
            for (i, t) in tasks.iter().enumerate() {
                // The first task of a name wins, as a search from the start finds it.
                let h = hash(&t.name);
                if by_name
                    .find(h, |&j: &usize| tasks[j].name == t.name)
                    .is_none()
                {
                    by_name.insert_unique(h, i, |&j| hash(&tasks[j].name));
                }
            }
            (tasks.len(), by_name)
        });
        if *len == tasks.len() {
            // Positions are compared by the names the list holds now.
            return by_name
                .find(hash(name), |&j| {
                    tasks.get(j).is_some_and(|t| t.name == name)
                })
                .map(|&i| &tasks[i]);
        }
        SEARCHES.with(|n| n.set(n.get() + 1));
        tasks.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::task_searches;
    use crate::taskfile::TaskFile;

    fn file(n: usize) -> TaskFile {
        let mut text = String::new();
        for i in 0..n {
            let _ = writeln!(text, "[task.t{i}]\nrun = \"echo {i}\"");
        }
        text.push_str("[task.\"p::[x]\"]\nchoices = { x = [\"a\", \"b\"] }\nrun = \"echo {x}\"\n");
        crate::taskfile::parse_text(text).expect("the file checks")
    }

    #[test]
    fn every_task_is_found_without_a_search() {
        let f = file(20_000);
        let before = task_searches();
        for i in 0..20_000 {
            let name = format!("t{i}");
            assert_eq!(f.task(&name).map(|t| t.name.as_str()), Some(name.as_str()));
            assert_eq!(
                f.resolve(&name).map(|(t, _)| t.name.as_str()),
                Some(name.as_str())
            );
        }
        assert!(f.task("t20000").is_none());
        let (p, args) = f.resolve("p::b").expect("an instance");
        assert_eq!((p.name.as_str(), args["x"].as_str()), ("p::[x]", "b"));
        assert_eq!(task_searches(), before, "no lookup searched the tasks");
    }

    #[test]
    fn a_changed_task_list_is_searched_not_answered_wrongly() {
        let mut f = file(3);
        assert!(f.task("t1").is_some());
        let before = task_searches();
        f.tasks.remove(0);
        assert_eq!(f.task("t1").map(|t| t.run.as_str()), Some("echo 1"));
        assert!(f.task("t0").is_none());
        assert!(task_searches() > before, "the stale index was not trusted");
        let mut renamed = f.tasks[0].clone();
        renamed.name = "new".into();
        f.tasks.push(renamed);
        f.reindex();
        let before = task_searches();
        assert_eq!(f.task("new").map(|t| t.run.as_str()), Some("echo 1"));
        assert_eq!(task_searches(), before, "built again, not searched");
    }
}
