//! Wanting procs: the closure of everything a start brings in (dependencies, injected rdeps,
//! `WhenScheduled` targets), computed and checked in full before the engine wants any of it,
//! so a refused start leaves nothing wanted.

use std::fmt;
use std::sync::Arc;

use crate::engine::{TaskId, TaskState};

use super::table::{Defn, Table};
use super::{Flow, FlowError, RdepKind};

/// Why a proc is in a start's closure. The proc it names is shared with the flow's record of
/// it (a glob's million instances, dependencies of one task, hold one name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// It was asked for.
    Requested,
    /// A dependency of this proc.
    DepOf(Arc<str>),
    /// Injected by its rdep as a dependency of this proc.
    RdepOf(Arc<str>),
    /// Pulled in by this proc's `WhenScheduled` rule.
    WhenScheduledBy(Arc<str>),
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Requested => f.write_str("requested"),
            Why::DepOf(n) => write!(f, "dependency of \"{n}\""),
            Why::RdepOf(n) => write!(f, "rdep of \"{n}\" (runs before it)"),
            Why::WhenScheduledBy(n) => write!(f, "WhenScheduled target of \"{n}\""),
        }
    }
}

/// Everything a start brings in.
#[derive(Default)]
pub(crate) struct Closure {
    /// What was brought in, in the order it came, each with its reason's place in `whys`:
    /// 8 bytes a task (a glob's million instances, all a dependency of one task, share one
    /// reason; a reason beside each would be 24 bytes more).
    order: Vec<(TaskId, u32)>,
    /// The reasons, each once for a run of tasks brought in for the same one.
    whys: Vec<Why>,
    /// Which tasks are in `order`, a bit per task index (a glob brings in a million: a bit
    /// each, not a hashed entry).
    set: Vec<u64>,
    /// New edges (task, dependency).
    pub(crate) edges: Vec<(TaskId, TaskId)>,
    /// How much of `order` has been looked at: the rest is the queue.
    next: usize,
}

impl Closure {
    fn add(&mut self, id: TaskId, why: Why) {
        let (word, bit) = (id.index() / 64, 1 << (id.index() % 64));
        if self.set.len() <= word {
            self.set.resize(word + 1, 0);
        }
        if self.set[word] & bit == 0 {
            self.set[word] |= bit;
            // `Arc<str>`'s `==` compares pointers first: every reason for one proc shares its
            // record's name.
            if self.whys.last() != Some(&why) {
                self.whys.push(why);
            }
            let at = u32::try_from(self.whys.len() - 1).expect("fewer reasons than task ids");
            self.order.push((id, at));
        }
    }

    pub(crate) fn contains(&self, id: TaskId) -> bool {
        self.set
            .get(id.index() / 64)
            .is_some_and(|w| w & (1 << (id.index() % 64)) != 0)
    }

    /// How many tasks were brought in.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// The `i`th task brought in.
    pub(crate) fn id(&self, i: usize) -> TaskId {
        self.order[i].0
    }

    /// Why the `i`th task was brought in.
    pub(crate) fn why(&self, i: usize) -> &Why {
        &self.whys[self.order[i].1 as usize]
    }

    /// The tasks brought in, in the order they came.
    pub(crate) fn ids(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.order.iter().map(|&(id, _)| id)
    }

    /// The next task brought in and not looked at yet, in the order they came.
    fn pop(&mut self) -> Option<TaskId> {
        let &(id, _) = self.order.get(self.next)?;
        self.next += 1;
        Some(id)
    }

    /// Adds the edge `task` → `dep`, bringing `dep` in if nothing wants it yet.
    fn link(&mut self, flow: &Flow, task: TaskId, dep: TaskId, why: impl FnOnce() -> Why) {
        if task == dep {
            return;
        }
        self.edges.push((task, dep));
        if flow.engine_state(dep) == TaskState::Idle {
            self.add(dep, why());
        }
    }
}

fn started(state: TaskState) -> bool {
    state == TaskState::Running || state.is_final()
}

impl Flow {
    pub(crate) fn engine_state(&self, id: TaskId) -> TaskState {
        self.inner
            .engine
            .state(id)
            .expect("flow ids belong to its engine")
    }

    /// Wants `roots` and everything they bring in. `forced` is a task already wanted (a
    /// placeholder being defined) whose dependencies and rules must still be brought in.
    pub(crate) fn start_closure(
        &self,
        t: &mut Table,
        roots: &[TaskId],
        forced: Option<TaskId>,
    ) -> Result<(), FlowError> {
        self.refuse_if_planner()?;
        if forced.is_none() && !self.inner.has_rules() && self.allow_missing() {
            return self
                .inner
                .engine
                .want(roots.iter().copied())
                .map_err(|e| self.translate(t, e, ""));
        }
        let cl = self.closure(t, roots, forced)?;
        for &(task, dep) in &cl.edges {
            self.inner
                .engine
                .add_dep(task, dep)
                .map_err(|e| self.translate(t, e, ""))?;
        }
        let ids = cl.ids().filter(|&id| Some(id) != forced);
        self.inner
            .engine
            .want(ids)
            .map_err(|e| self.translate(t, e, ""))
    }

    /// Computes what wanting `roots` brings in, creating proto instances rdeps name, without
    /// wanting anything.
    pub(crate) fn closure(
        &self,
        t: &mut Table,
        roots: &[TaskId],
        forced: Option<TaskId>,
    ) -> Result<Closure, FlowError> {
        let mut cl = Closure::default();
        for &r in roots {
            if Some(r) == forced || self.engine_state(r) == TaskState::Idle {
                cl.add(r, Why::Requested);
            }
        }
        let allow_missing = self.allow_missing();
        let rules = self.inner.has_rules();
        while let Some(x) = cl.pop() {
            let (name, defn, deps) = {
                let rec = t.rec(x);
                (rec.name.clone(), rec.defn, rec.deps.clone())
            };
            if defn == Defn::Missing && !allow_missing {
                let by = (0..cl.len()).find(|&i| cl.id(i) == x).map(|i| cl.why(i));
                let proc = match by {
                    Some(Why::DepOf(p) | Why::RdepOf(p) | Why::WhenScheduledBy(p)) => p.to_string(),
                    _ => name.to_string(),
                };
                return Err(FlowError::MissingDep {
                    proc,
                    dep: name.to_string(),
                });
            }
            for d in deps {
                // A task already brought in is not asked of the engine again (a layered
                // graph's task is the dependency of a hundred).
                if !cl.contains(d) && self.engine_state(d) == TaskState::Idle {
                    cl.add(d, Why::DepOf(Arc::clone(&name)));
                }
            }
            if rules {
                self.inject_rdeps(t, x, &name, &mut cl);
                self.own_rules(t, x, &name, &mut cl)?;
            }
        }
        Ok(cl)
    }

    /// Plain and `WhenTargetScheduled` rdeps aimed at `x`, and `WhenScheduled` declarers
    /// already wanted whose target is `x`.
    fn inject_rdeps(&self, t: &mut Table, x: TaskId, name: &Arc<str>, cl: &mut Closure) {
        let sep = self.separator();
        for pi in t.rule_protos.clone() {
            let proto = t.protos[pi].clone();
            for rule in &proto.decl.rdeps {
                if rule.kind == RdepKind::WhenScheduled {
                    continue;
                }
                let Some(found) = rule.pattern.matches(name, &sep) else {
                    continue;
                };
                let instance = if proto.pattern.has_params() {
                    let all = proto
                        .pattern
                        .params()
                        .iter()
                        .all(|p| found.iter().any(|(k, _)| k == p));
                    if !all {
                        continue;
                    }
                    match proto
                        .pattern
                        .fill(|k| found.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()))
                    {
                        Ok(n) => n,
                        Err(_) => continue,
                    }
                } else {
                    proto.pattern.as_str().to_owned()
                };
                if *instance == **name {
                    continue;
                }
                // A proto that cannot make this instance (a value outside its choices, say)
                // simply does not apply.
                if let Ok(ids) = self.create_in(t, &instance) {
                    for d in ids {
                        cl.link(self, x, d, || Why::RdepOf(Arc::clone(name)));
                    }
                }
            }
        }
        for p in t.rule_procs.clone() {
            if p == x {
                continue;
            }
            let rules = t.rec(p).rules().to_vec();
            for rule in rules {
                match rule.kind {
                    RdepKind::Plain | RdepKind::WhenTargetScheduled => {
                        if rule.pattern.matches(name, &sep).is_some() {
                            cl.link(self, x, p, || Why::RdepOf(Arc::clone(name)));
                        }
                    }
                    RdepKind::WhenScheduled => {
                        let state = self.engine_state(p);
                        let wanted = matches!(state, TaskState::Wanted | TaskState::Running);
                        if !rule.pattern.has_params() && rule.pattern.as_str() == &**name && wanted
                        {
                            cl.edges.push((x, p));
                        }
                    }
                }
            }
        }
    }

    /// `x`'s own `WhenScheduled` and `WhenTargetScheduled` rules, now that `x` is wanted.
    fn own_rules(
        &self,
        t: &mut Table,
        x: TaskId,
        name: &Arc<str>,
        cl: &mut Closure,
    ) -> Result<(), FlowError> {
        let rules = t.rec(x).rules().to_vec();
        for rule in rules {
            if rule.kind == RdepKind::Plain || rule.pattern.has_params() {
                continue;
            }
            let target_name = rule.pattern.as_str();
            let target = match t.existing(target_name) {
                Some(id) => Some(id),
                None if rule.kind == RdepKind::WhenScheduled => self
                    .create_in(t, target_name)
                    .ok()
                    .and_then(|ids| ids.first().copied()),
                None => None,
            };
            let Some(target) = target else { continue };
            if target == x {
                continue;
            }
            let state = self.engine_state(target);
            if started(state) {
                return Err(FlowError::TooLate {
                    declarer: name.to_string(),
                    rule: rule.kind.as_str(),
                    target: target_name.to_owned(),
                    state,
                });
            }
            match rule.kind {
                RdepKind::WhenScheduled => {
                    cl.edges.push((target, x));
                    if state == TaskState::Idle {
                        cl.add(target, Why::WhenScheduledBy(Arc::clone(name)));
                    }
                }
                RdepKind::WhenTargetScheduled => {
                    if state == TaskState::Wanted || cl.contains(target) {
                        cl.edges.push((target, x));
                    }
                }
                RdepKind::Plain => {}
            }
        }
        Ok(())
    }
}
