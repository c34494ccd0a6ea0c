//! The id → name table observers read, kept apart from the flow's main lock so that naming a
//! task never waits for a flow call in progress; beside each name, the proc's `log_ignore`
//! rules, which observers read the same way.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::display::{LogIgnore, TaskNames};
use crate::engine::TaskId;

/// Names (and log-ignore rules) by task index, shared with [`FlowNames`].
#[derive(Default, Clone)]
pub(crate) struct NameTable(Arc<RwLock<Vec<Entry>>>);

#[derive(Default, Clone)]
struct Entry {
    name: Option<Arc<str>>,
    log_ignore: Option<LogIgnore>,
}

impl NameTable {
    fn with_entry(&self, id: TaskId, f: impl FnOnce(&mut Entry)) {
        let mut v = self.0.write();
        if v.len() <= id.index() {
            v.resize(id.index() + 1, Entry::default());
        }
        f(&mut v[id.index()]);
    }

    /// [`NameTable::set`] for each of `named`, under one lock (a glob's million instances).
    pub(crate) fn set_all(&self, named: Vec<(TaskId, Arc<str>)>) {
        let mut v = self.0.write();
        if let Some(last) = named.iter().map(|(id, _)| id.index()).max()
            && v.len() <= last
        {
            v.resize(last + 1, Entry::default());
        }
        for (id, name) in named {
            v[id.index()].name = Some(name);
        }
    }

    pub(crate) fn set(&self, id: TaskId, name: Arc<str>) {
        self.with_entry(id, |e| e.name = Some(name));
    }

    pub(crate) fn get(&self, id: TaskId) -> Option<Arc<str>> {
        self.0.read().get(id.index()).and_then(|e| e.name.clone())
    }

    /// Gives task `id` the rules of its definition (none: forgets earlier ones).
    pub(crate) fn set_log_ignore(&self, id: TaskId, rules: &LogIgnore) {
        let rules = (!rules.is_empty()).then(|| rules.clone());
        if rules.is_some() || self.log_ignore(id).is_some() {
            self.with_entry(id, |e| e.log_ignore = rules);
        }
    }

    pub(crate) fn log_ignore(&self, id: TaskId) -> Option<LogIgnore> {
        self.0
            .read()
            .get(id.index())
            .and_then(|e| e.log_ignore.clone())
    }
}

/// What observers use to name a flow's tasks: [`TaskNames`] over the flow's name table.
/// Holding it does not keep the flow alive.
///
/// ```
/// use parade::display::TaskNames;
/// use parade::flow::Flow;
/// let flow = Flow::inline();
/// flow.proc("setup", |_| Ok(())).add().unwrap();
/// let names = flow.names();
/// assert_eq!(names.name(flow.id("setup").unwrap()).as_deref(), Some("setup"));
/// ```
#[derive(Clone)]
pub struct FlowNames(pub(crate) NameTable);

impl TaskNames for FlowNames {
    fn name(&self, id: TaskId) -> Option<String> {
        self.0.get(id).map(|n| n.to_string())
    }

    fn log_ignore(&self, id: TaskId) -> Option<LogIgnore> {
        self.0.log_ignore(id)
    }
}

impl super::Flow {
    /// The flow's names, for observers.
    pub fn names(&self) -> FlowNames {
        FlowNames(self.inner.names.clone())
    }

    /// The task id of proc `name` (missing placeholders included).
    pub fn id(&self, name: &str) -> Option<TaskId> {
        self.inner.table.lock().id_of(name)
    }

    /// The name of task `id`.
    pub fn name_of(&self, id: TaskId) -> Option<String> {
        if self.planning().is_some() {
            // A planner keeps no names for observers: its table has them.
            return self.inner.table.lock().name_at(id).map(ToString::to_string);
        }
        self.inner.names.get(id).map(|n| n.to_string())
    }
}
