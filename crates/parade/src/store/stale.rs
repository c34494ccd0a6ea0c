//! What a change to files makes stale: each watched task's files, directories and globs (less
//! its ignores) and its dependencies; a changed path makes the tasks that read it stale, and
//! every task that depends on a stale one, transitively (parproc's `_mark_dirty`), nothing
//! else. Both watch modes decide with it: the command's `run --watch` and the library's
//! [`Flow::watch`](crate::flow::Flow::watch).
//!
//! It owns the decision only: waiting for changes is [`FileWatch`]'s, rerunning is the caller's.
//! Paths are made absolute when added, as [`FileWatch`] reports them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::FileWatch;

/// Watched tasks and what they read; [`Staleness::stale`] says what a change makes stale.
///
/// ```
/// use std::path::PathBuf;
/// use parade::store::Staleness;
/// let mut s = Staleness::new();
/// s.task("gen", ["/p/src/a.c".into()], ["/p/include/*.h".to_owned()], [], []).unwrap();
/// s.task("link", [], [], [], ["gen".to_owned()]).unwrap();
/// s.task("docs", ["/p/README".into()], [], [], []).unwrap();
/// let changed = [PathBuf::from("/p/include/x.h")];
/// assert_eq!(s.stale(&changed), ["gen", "link"]);
/// assert!(s.stale(&[PathBuf::from("/p/other")]).is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Staleness {
    tasks: Vec<Watched>,
    by_name: HashMap<String, usize>,
}

/// One task: what it reads and what it depends on.
#[derive(Debug)]
struct Watched {
    name: String,
    /// Files, and directories whose every file it reads.
    paths: Vec<PathBuf>,
    globs: Vec<glob::Pattern>,
    ignore: Vec<glob::Pattern>,
    deps: Vec<String>,
}

impl Watched {
    fn reads(&self, path: &Path) -> bool {
        let listed = self.paths.iter().any(|p| path.starts_with(p))
            || self.globs.iter().any(|g| g.matches_path(path));
        listed
            && !self
                .ignore
                .iter()
                .any(|g| path.ancestors().any(|a| g.matches_path(a)))
    }
}

impl Staleness {
    /// Nothing watched.
    pub fn new() -> Self {
        Self::default()
    }

    /// Watches task `name`: it reads `paths` (files, or directories: every file under them)
    /// and the files matching `globs`, less those matching `ignore` (globs; a match on a
    /// directory leaves out what is under it), and depends on `deps` (names of other watched
    /// tasks; names not watched are left alone). A name given again replaces the first.
    ///
    /// Errors: a glob that does not parse, naming it.
    pub fn task(
        &mut self,
        name: &str,
        paths: impl IntoIterator<Item = PathBuf>,
        globs: impl IntoIterator<Item = String>,
        ignore: impl IntoIterator<Item = String>,
        deps: impl IntoIterator<Item = String>,
    ) -> Result<(), String> {
        let pattern = |g: String| {
            let full = absolute(Path::new(&g));
            glob::Pattern::new(&full.to_string_lossy()).map_err(|e| format!("bad pattern {g}: {e}"))
        };
        let watched = Watched {
            name: name.to_owned(),
            paths: paths.into_iter().map(|p| absolute(&p)).collect(),
            globs: globs.into_iter().map(pattern).collect::<Result<_, _>>()?,
            ignore: ignore.into_iter().map(pattern).collect::<Result<_, _>>()?,
            deps: deps.into_iter().collect(),
        };
        if let Some(&i) = self.by_name.get(name) {
            self.tasks[i] = watched;
        } else {
            self.by_name.insert(name.to_owned(), self.tasks.len());
            self.tasks.push(watched);
        }
        Ok(())
    }

    /// How many tasks are watched.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no task is watched.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The tasks `changed` makes stale (those reading a changed path) and, transitively, the
    /// watched tasks depending on them; in the order the tasks were added. No walk recurses.
    pub fn stale(&self, changed: &[PathBuf]) -> Vec<String> {
        let mut dependents: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, t) in self.tasks.iter().enumerate() {
            for d in &t.deps {
                dependents.entry(d.as_str()).or_default().push(i);
            }
        }
        let mut stale: HashSet<usize> = HashSet::new();
        let mut queue: Vec<usize> = self
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| changed.iter().any(|c| t.reads(c)))
            .map(|(i, _)| i)
            .collect();
        while let Some(i) = queue.pop() {
            if stale.insert(i) {
                let name = self.tasks[i].name.as_str();
                queue.extend(dependents.get(name).into_iter().flatten().copied());
            }
        }
        let mut order: Vec<usize> = stale.into_iter().collect();
        order.sort_unstable();
        order
            .into_iter()
            .map(|i| self.tasks[i].name.clone())
            .collect()
    }

    /// A [`FileWatch`] on everything the tasks read.
    ///
    /// Errors: as [`FileWatch::new`].
    pub fn watch(&self) -> std::io::Result<FileWatch> {
        let paths = self.tasks.iter().flat_map(|t| t.paths.iter().cloned());
        let globs: Vec<String> = self
            .tasks
            .iter()
            .flat_map(|t| t.globs.iter().map(|g| g.as_str().to_owned()))
            .collect();
        FileWatch::new(paths, globs)
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(p: &str) -> Vec<PathBuf> {
        vec![PathBuf::from(p)]
    }

    #[test]
    fn dependents_are_stale_transitively_whatever_the_order_of_adding() {
        let mut s = Staleness::new();
        s.task("c", [], [], [], ["b".to_owned()]).unwrap();
        s.task("b", [], [], [], ["a".to_owned()]).unwrap();
        s.task("a", ["/p/a".into()], [], [], []).unwrap();
        s.task("other", ["/p/o".into()], [], [], []).unwrap();
        assert_eq!(s.stale(&changed("/p/a")), ["c", "b", "a"]);
        assert_eq!(s.stale(&changed("/p/o")), ["other"]);
    }

    #[test]
    fn directories_cover_their_files_and_ignores_leave_files_out() {
        let mut s = Staleness::new();
        s.task(
            "read",
            ["/p/src".into()],
            [],
            ["/p/src/*.tmp".to_owned(), "/p/src/cache".to_owned()],
            [],
        )
        .unwrap();
        assert_eq!(s.stale(&changed("/p/src/deep/a.c")), ["read"]);
        assert!(s.stale(&changed("/p/src/x.tmp")).is_empty());
        assert!(s.stale(&changed("/p/src/cache/blob")).is_empty());
        assert!(s.stale(&changed("/p/srcfile")).is_empty());
    }

    #[test]
    fn a_long_chain_does_not_recurse() {
        let mut s = Staleness::new();
        s.task("t0", ["/p/x".into()], [], [], []).unwrap();
        for i in 1..100_000 {
            s.task(&format!("t{i}"), [], [], [], [format!("t{}", i - 1)])
                .unwrap();
        }
        assert_eq!(s.stale(&changed("/p/x")).len(), 100_000);
    }

    #[test]
    fn a_bad_glob_is_named() {
        let err = Staleness::new()
            .task("t", [], ["[".to_owned()], [], [])
            .unwrap_err();
        assert!(err.contains("bad pattern ["), "{err}");
    }
}
