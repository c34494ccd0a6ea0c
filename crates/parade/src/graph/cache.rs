//! Memoization across program runs: a task built with [`TaskBuilder::cache`] is keyed by the
//! name it is given (`"square@v1"`: change the version when the function changes) and a hash
//! of its input values; when the run store ([`Graph::cache_in`]) has a result under that name
//! and key, it is the task's value and the function does not run. Otherwise the function runs
//! and its result is stored.
//!
//! Inputs and results cross as JSON (`serde`), so only tasks whose inputs are `Serialize` and
//! whose result is `Serialize + DeserializeOwned` can be cached (the bounds say so at compile
//! time). The key is the blake3 hash of the name and the inputs' JSON text: inputs whose JSON
//! is not stable between runs (a `HashMap`'s order) miss the cache; use a `BTreeMap`. What the
//! closure captures is not hashed: pass such values as inputs, or put them in the name.
//! A cached task is a closure of this process (it has no name a worker could look up): on an
//! executor that runs tasks in other processes it fares as any closure without a name does.
//!
//! In a dry run ([`Graph::dry_run`] with [`Graph::cache_in`]) a cached task whose inputs are
//! known for certain (it has none, or they are all reused results themselves) says whether it
//! would be reused, and a reused result stands in for its value (better than a mock); the
//! plan shows it ([`PlannedTask::cache`](super::PlannedTask::cache)).
//!
//! It owns the key, the decision and the notes of what was reused; the store only keeps
//! results ([`Store::memo`]). It does not know how tasks run.
//!
//! ```
//! use parade::graph::{CacheUse, Graph};
//! use parade::store::Store;
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path().join("state.db")).unwrap();
//! for run in 0..2 {
//!     let g = Graph::inline();
//!     g.cache_in(store.clone());
//!     let x = g.submit(|| 7);
//!     let sq = g.task("square").cache("square@v1").submit_after(&x, |x: i32| x * x);
//!     assert_eq!(sq.value().unwrap(), 49);
//!     let used = if run == 0 { CacheUse::Stored } else { CacheUse::Reused };
//!     assert_eq!(g.cache_use(sq.id()), Some(used));
//! }
//! ```

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::builder::TaskBuilder;
use super::inputs::{DepList, Inputs, sealed};
use super::mock::MockFor;
use super::serde_submit::serde_submitters;
use super::{Graph, Handle};
use crate::engine::TaskId;
use crate::store::{KeyHasher, Store};

/// What a cached task did with the store, or would do (a dry run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// Its stored result is its value: the function did not (or would not) run.
    Reused,
    /// It ran and its result was stored for the next run.
    Stored,
    /// A dry run: it would run, for this reason (`no stored result for these inputs`...).
    WouldRun(String),
}

impl Display for CacheUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheUse::Reused => f.write_str("reused"),
            CacheUse::Stored => f.write_str("ran, stored"),
            CacheUse::WouldRun(why) => write!(f, "would run: {why}"),
        }
    }
}

/// A graph's cache: the store, and what each cached task did.
#[derive(Default)]
pub(crate) struct Caches {
    store: Mutex<Option<Store>>,
    used: Mutex<HashMap<TaskId, Note>>,
}

/// Where a cached task's job (or dry-run mock) writes what it did.
type Note = Arc<Mutex<Option<CacheUse>>>;

/// Why a cached task fails without a store.
const NO_STORE: &str = "it is cached, and the graph has no store: call \
                        `Graph::cache_in(Store::open(path)?)` before submitting";

impl Graph {
    /// Keeps the results of cached tasks ([`TaskBuilder::cache`]) in `store`, and reuses
    /// them. Tasks submitted after this call use it.
    pub fn cache_in(&self, store: Store) -> &Self {
        *self.inner.cache.store.lock() = Some(store);
        self
    }

    /// What cached task `id` did with the store (`None`: not cached, or not decided yet).
    pub fn cache_use(&self, id: TaskId) -> Option<CacheUse> {
        let note = self.inner.cache.used.lock().get(&id).cloned()?;
        note.lock().clone()
    }

    fn cache_store(&self) -> Option<Store> {
        self.inner.cache.store.lock().clone()
    }
}

impl<'g, M> TaskBuilder<'g, M> {
    /// Makes the task's result outlive the program: keyed by `name` (give it a version,
    /// `"fit@v2"`, and change it when the function changes) and its input values, stored in
    /// the graph's store ([`Graph::cache_in`]) and reused by a later run with the same inputs.
    /// The key is the blake3 hash of the name and the inputs' JSON text; what the closure
    /// captures is not hashed (pass such values as inputs, or put them in the name).
    pub fn cache(self, name: impl Into<String>) -> Cached<'g, M> {
        Cached {
            builder: self,
            name: Arc::from(name.into()),
        }
    }
}

/// A task builder whose task is cached across runs ([`TaskBuilder::cache`]).
#[must_use = "a task builder does nothing until submitted"]
pub struct Cached<'g, M> {
    builder: TaskBuilder<'g, M>,
    name: Arc<str>,
}

impl<M> Cached<'_, M> {
    serde_submitters! {
        "cached closure",
        /// Submits a cached closure that runs after `inputs`, receives their values, and may fail
        /// (a failure is not stored).
        fn try_submit_after(self, inputs, f) {
            let graph = self.builder.graph();
            let store = graph.cache_store();
            let note: Note = Arc::default();
            let name = self.name;
            let handle = if graph.is_dry_run() {
                let mut deps = DepList::new();
                inputs.collect(graph, &mut deps);
                let pending = deps
                    .iter()
                    .find(|d| graph.cache_use(**d) != Some(CacheUse::Reused))
                    .copied();
                let builder = self.builder.map_mock(|m| CacheMock {
                    inner: Some(m),
                    name: name.clone(),
                    store,
                    pending,
                    note: note.clone(),
                });
                builder.try_submit_after(inputs, f)
            } else {
                let job_note = note.clone();
                let body = move |values: I::Values| -> Result<R, String> {
                    let store = store.ok_or_else(|| NO_STORE.to_owned())?;
                    let key = key_of(&name, &values)?;
                    let stored = store
                        .memo(&name, &key)
                        .map_err(|e| format!("cannot read its cached result: {e}"))?;
                    // A stored value of another shape (the type changed, the version did not) is
                    // computed again and replaced.
                    if let Some(value) = stored.and_then(|v| R::deserialize(v).ok()) {
                        *job_note.lock() = Some(CacheUse::Reused);
                        return Ok(value);
                    }
                    let value = f(values).map_err(|e| e.to_string())?;
                    let json = serde_json::to_value(&value)
                        .map_err(|e| format!("its result cannot be stored: {e}"))?;
                    store
                        .set_memo(&name, &key, &json)
                        .map_err(|e| format!("its result could not be stored: {e}"))?;
                    *job_note.lock() = Some(CacheUse::Stored);
                    Ok(value)
                };
                self.builder.try_submit_after(inputs, body)
            };
            graph.inner.cache.used.lock().insert(handle.id(), note);
            handle
        }
    }
}

/// The key of a cached task: its name and its input values' JSON, hashed.
fn key_of<V: Serialize>(name: &str, values: &V) -> Result<String, String> {
    let json =
        serde_json::to_vec(values).map_err(|e| format!("its inputs cannot be hashed: {e}"))?;
    Ok(KeyHasher::new()
        .part("name", name.as_bytes())
        .part("inputs", &json)
        .finish())
}

/// A cached task's value in a dry run: the stored result when its inputs are known for
/// certain and the store has one (and a note saying so), else the task's own mock.
struct CacheMock<M> {
    inner: Option<M>,
    name: Arc<str>,
    store: Option<Store>,
    /// An input that is not a reused result (its value is a mock, or unknown).
    pending: Option<TaskId>,
    note: Note,
}

impl<M> sealed::Sealed for CacheMock<M> {}

impl<V: Serialize, R: DeserializeOwned, M: MockFor<V, R>> MockFor<V, R> for CacheMock<M> {
    fn make(self, inputs: Option<&V>) -> Option<R> {
        let decision = match (&self.store, self.pending, inputs) {
            (None, _, _) => Err("the graph has no store (Graph::cache_in)".to_owned()),
            (_, Some(dep), _) => Err(format!(
                "its inputs are known only when they run (#{} is not reused)",
                dep.index()
            )),
            (Some(_), None, None) => Err("its inputs have no value in the dry run".to_owned()),
            (Some(store), None, Some(values)) => match key_of(&self.name, values)
                .and_then(|key| store.memo(&self.name, &key).map_err(|e| e.to_string()))
            {
                Ok(Some(v)) => {
                    R::deserialize(v).map_err(|_| "its stored result has another shape".to_owned())
                }
                Ok(None) => Err("no stored result for these inputs".to_owned()),
                Err(e) => Err(e),
            },
        };
        match decision {
            Ok(value) => {
                *self.note.lock() = Some(CacheUse::Reused);
                Some(value)
            }
            Err(why) => {
                *self.note.lock() = Some(CacheUse::WouldRun(why));
                self.inner.and_then(|m| m.make(inputs))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_the_name_and_the_values() {
        let a = key_of("f@v1", &(1, "x")).unwrap();
        assert_eq!(a, key_of("f@v1", &(1, "x")).unwrap());
        assert_ne!(a, key_of("f@v2", &(1, "x")).unwrap());
        assert_ne!(a, key_of("f@v1", &(2, "x")).unwrap());
    }
}
