//! The flow's name table: protos, procs (and placeholders for names nothing defines yet), and
//! how names become procs: matching protos, choices, globs, and dependency resolution. It owns
//! the records protos and instances share ([`ProtoRec`], [`Instance`]); which proto a name
//! addresses and what it expands to is `proto.rs`'s.
//!
//! Making a proc whose dependencies name proto instances does not recurse: instances get a
//! placeholder task at once and wait in a queue to be defined, so a chain of ten thousand
//! proto instances costs a loop, not a deep stack.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::engine::{TaskId, TaskSpec};

use super::args::ArgList;
use super::name_index::{Entry, NameIndex};
use super::proto::Expansion;
use super::{Decl, Dep, Flow, FlowError, Lookup, Pattern, Rdep, has_placeholders};

/// A registered proto.
pub(crate) struct ProtoRec {
    pub(crate) pattern: Pattern,
    pub(crate) decl: Decl,
}

/// One proc a name expands to: its name, arguments and proto.
pub(crate) struct Instance {
    pub(crate) name: String,
    pub(crate) args: ArgList,
    pub(crate) proto: usize,
}

/// The value of argument `k` among `args`.
pub(crate) fn lookup_in<'a>(args: &'a [(String, String)]) -> impl Fn(&str) -> Option<&'a str> {
    move |k| args.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Whether a name has its work yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Defn {
    /// Named as a dependency (or rdep target) but defined by nothing so far.
    Missing,
    /// A proto instance queued to be defined.
    Pending,
    /// A proc with its work.
    Defined,
}

/// One named task of the flow: 80 bytes (a glob's million instances hold a million), what
/// few procs have (rdep rules, locks, a description) boxed apart, a glob's instances'
/// arguments read from the glob's span ([`ArgList`]).
pub(crate) struct ProcRec {
    pub(crate) name: Arc<str>,
    pub(crate) args: ArgList,
    pub(crate) deps: Box<[TaskId]>,
    extra: Option<Box<RecExtra>>,
    proto: Option<u32>,
    pub(crate) wave: u32,
    pub(crate) defn: Defn,
}

/// The parts of a [`ProcRec`] most procs leave empty.
#[derive(Default)]
struct RecExtra {
    rules: Vec<Rdep>,
    locks: Vec<String>,
    description: Option<String>,
}

impl ProcRec {
    /// The proto it was made from.
    pub(crate) fn proto(&self) -> Option<usize> {
        self.proto.map(|p| p as usize)
    }

    /// Its rdep rules, filled from its arguments.
    pub(crate) fn rules(&self) -> &[Rdep] {
        self.extra.as_ref().map_or(&[], |e| &e.rules)
    }

    /// Its locks.
    pub(crate) fn locks(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.locks)
    }

    /// Its description.
    pub(crate) fn description(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.description.as_deref())
    }
}

/// All names of one flow.
#[derive(Default)]
pub(crate) struct Table {
    pub(crate) protos: Vec<Arc<ProtoRec>>,
    pub(crate) by_pattern: HashMap<String, usize>,
    /// By task index.
    pub(crate) procs: Vec<Option<ProcRec>>,
    /// By name: ids, each compared by its record's name.
    by_name: NameIndex,
    /// Procs that declare rdeps, and protos that do.
    pub(crate) rule_procs: Vec<TaskId>,
    pub(crate) rule_protos: Vec<usize>,
    pending: VecDeque<TaskId>,
    /// Procs made with `now`, to start once the call that made them is done.
    pub(crate) now: Vec<TaskId>,
    /// While a glob's instances are made: their names, given to the observers' name table
    /// in one go when the last is made (before any of them is defined, so before any runs).
    deferred_names: Option<Vec<(TaskId, Arc<str>)>>,
}

/// The name of `id` among `procs` (every id in the index has a record).
fn name_in<'a>(procs: &'a [Option<ProcRec>]) -> impl Fn(TaskId) -> &'a str {
    move |id| procs[id.index()].as_ref().map_or("", |r| &*r.name)
}

impl Table {
    /// The task named `name` (missing placeholders included).
    pub(crate) fn id_of(&self, name: &str) -> Option<TaskId> {
        self.by_name.get(name, name_in(&self.procs))
    }

    /// Room for `more` procs.
    fn reserve(&mut self, more: usize) {
        self.procs.reserve(more);
        self.by_name.reserve(more, name_in(&self.procs));
    }

    /// Frees what a plan's steps do not read (they read records by id): the index by name,
    /// the queue of instances to define, and each record's dependencies (the plan has its
    /// own: the task after a glob holds a million).
    pub(crate) fn spend_for_plan(&mut self) {
        self.by_name = NameIndex::default();
        self.pending = VecDeque::new();
        for r in self.procs.iter_mut().flatten() {
            if !r.deps.is_empty() {
                r.deps = Box::default();
            }
        }
    }

    pub(crate) fn rec(&self, id: TaskId) -> &ProcRec {
        self.procs[id.index()]
            .as_ref()
            .expect("every flow task has a record")
    }

    pub(crate) fn rec_mut(&mut self, id: TaskId) -> &mut ProcRec {
        self.procs[id.index()]
            .as_mut()
            .expect("every flow task has a record")
    }

    /// The id of a proc that exists (defined or being defined), not a missing placeholder.
    pub(crate) fn existing(&self, name: &str) -> Option<TaskId> {
        let id = self.id_of(name)?;
        (self.rec(id).defn != Defn::Missing).then_some(id)
    }

    /// The name of `id`'s record, if it has one: what every lookup of a name by id reads.
    pub(crate) fn name_at(&self, id: TaskId) -> Option<&Arc<str>> {
        self.procs
            .get(id.index())
            .and_then(Option::as_ref)
            .map(|r| &r.name)
    }

    /// The name of `id`, shared with its record (a count, not a copy).
    pub(crate) fn shared_name(&self, id: TaskId) -> Arc<str> {
        self.name_at(id)
            .map_or_else(|| Arc::from(id.to_string()), Arc::clone)
    }

    pub(crate) fn name(&self, id: TaskId) -> String {
        self.name_at(id)
            .map_or_else(|| id.to_string(), |n| String::from(&**n))
    }
}

impl Flow {
    /// An engine task with no work yet.
    fn placeholder_task(&self) -> TaskId {
        self.inner
            .engine
            .add(TaskSpec::placeholder())
            .expect("a task without dependencies can always be added")
    }

    /// The task named `name`, or a new placeholder for it in state `defn` (then `true`): the
    /// name hashed and probed once.
    fn found_or_placeholder(&self, t: &mut Table, name: &str, defn: Defn) -> (TaskId, bool) {
        match t.by_name.entry(name, name_in(&t.procs)) {
            Entry::Found(id) => (id, false),
            Entry::Vacant(slot) => {
                let id = self.placeholder_task();
                slot.insert(id);
                self.record(t, id, name, defn);
                (id, true)
            }
        }
    }

    /// Records task `id` under `name`.
    pub(crate) fn insert_rec(&self, t: &mut Table, id: TaskId, name: &str, defn: Defn) {
        t.by_name.insert(name, id, name_in(&t.procs));
        self.record(t, id, name, defn);
    }

    /// The record of task `id`, filed under `name` in the index already.
    fn record(&self, t: &mut Table, id: TaskId, name: &str, defn: Defn) {
        let name: Arc<str> = Arc::from(name);
        if t.procs.len() <= id.index() {
            t.procs.resize_with(id.index() + 1, || None);
        }
        t.procs[id.index()] = Some(ProcRec {
            name: name.clone(),
            args: ArgList::default(),
            deps: Box::default(),
            extra: None,
            proto: None,
            wave: 0,
            defn,
        });
        if self.planning().is_some() {
            // Nothing of a planner runs, so nothing is observed.
            return;
        }
        match &mut t.deferred_names {
            Some(named) => named.push((id, name)),
            None => self.inner.names.set(id, name),
        }
    }

    /// The id for `name`: the existing task, or a new missing placeholder.
    fn ensure(&self, t: &mut Table, name: &str) -> TaskId {
        self.found_or_placeholder(t, name, Defn::Missing).0
    }

    /// The task of a proto instance, queued to be defined if it is new.
    pub(crate) fn instantiate(
        &self,
        t: &mut Table,
        name: &str,
        args: ArgList,
        proto: usize,
    ) -> TaskId {
        let id = match self.found_or_placeholder(t, name, Defn::Missing) {
            (id, false) if t.rec(id).defn != Defn::Missing => return id,
            (id, _) => id,
        };
        let rec = t.rec_mut(id);
        rec.defn = Defn::Pending;
        rec.proto = Some(u32::try_from(proto).expect("fewer than 2^32 protos"));
        rec.args = args;
        t.pending.push_back(id);
        id
    }

    /// The tasks of what `name` expanded to, in order, pushed onto `ids`: a glob's names made
    /// one at a time in one buffer, each instance's arguments its place in the glob's span.
    pub(crate) fn instantiate_all(
        &self,
        t: &mut Table,
        expansion: Expansion,
        ids: &mut Vec<TaskId>,
    ) -> Result<(), FlowError> {
        match expansion {
            Expansion::One(inst) => {
                ids.push(self.instantiate(t, &inst.name, inst.args, inst.proto));
            }
            Expansion::Span { proto, span } => {
                let rec = Arc::clone(&t.protos[proto]);
                let mut name = String::new();
                // Room for all at once: tables grown by doubling would hold up to twice that.
                ids.reserve(span.len());
                t.reserve(span.len());
                if self.planning().is_none() {
                    t.deferred_names = Some(Vec::with_capacity(span.len()));
                }
                let mut made = Ok(());
                for at in 0..span.len() {
                    let args = ArgList::of_span(&span, at);
                    made = rec.pattern.fill_into(&mut name, |k| args.get(k));
                    if made.is_err() {
                        break;
                    }
                    ids.push(self.instantiate(t, &name, args, proto));
                }
                if let Some(named) = t.deferred_names.take() {
                    self.inner.names.set_all(named);
                }
                made?;
            }
        }
        Ok(())
    }

    /// Creates the procs `name` stands for and defines them (and the instances their
    /// dependencies create).
    pub(crate) fn create_in(&self, t: &mut Table, name: &str) -> Result<Vec<TaskId>, FlowError> {
        if let Some(id) = t.existing(name) {
            return Ok(vec![id]);
        }
        let expansion = self.expand(t, name)?;
        let mut ids = Vec::new();
        self.instantiate_all(t, expansion, &mut ids)?;
        self.drain(t)?;
        Ok(ids)
    }

    /// Defines every queued proto instance.
    pub(crate) fn drain(&self, t: &mut Table) -> Result<(), FlowError> {
        while let Some(id) = t.pending.pop_front() {
            if let Err(e) = self.define_instance(t, id) {
                // What is left stays missing, so nothing is half made.
                for rest in std::mem::take(&mut t.pending) {
                    t.rec_mut(rest).defn = Defn::Missing;
                }
                t.rec_mut(id).defn = Defn::Missing;
                return Err(e);
            }
        }
        Ok(())
    }

    fn define_instance(&self, t: &mut Table, id: TaskId) -> Result<(), FlowError> {
        let rec = t.rec(id);
        let proto = t.protos[rec.proto().expect("a pending task has a proto")].clone();
        let (name, args) = (rec.name.clone(), rec.args.clone());
        // A glob's instance has its arguments made only when its dependencies need them.
        let deps = if proto.decl.deps.is_empty() {
            Vec::new()
        } else {
            self.resolve_deps(t, &name, &args.as_slice(), &proto.decl)?
        };
        self.define_task(t, id, &proto.decl, deps)?;
        if proto.decl.now {
            t.now.push(id);
        }
        Ok(())
    }

    /// Starts the procs made with `now` so far.
    pub(crate) fn start_now(&self, t: &mut Table) -> Result<(), FlowError> {
        if t.now.is_empty() {
            return Ok(());
        }
        let ids = std::mem::take(&mut t.now);
        self.start_closure(t, &ids, None)
    }

    /// Names and creates what `decl`'s dependencies stand for, for the proc `owner`.
    pub(crate) fn resolve_deps(
        &self,
        t: &mut Table,
        owner: &str,
        args: &[(String, String)],
        decl: &Decl,
    ) -> Result<Vec<TaskId>, FlowError> {
        let mut ids = Vec::with_capacity(decl.deps.len());
        for dep in &decl.deps {
            match dep {
                Dep::Name(d) => {
                    let filled;
                    let name = if has_placeholders(d) {
                        filled = Pattern::parse(d).fill(lookup_in(args))?;
                        if has_placeholders(&filled) && !t.by_pattern.contains_key(&filled) {
                            return Err(FlowError::UnresolvedDep {
                                proc: owner.to_owned(),
                                dep: d.to_string(),
                                filled,
                            });
                        }
                        filled.as_str()
                    } else {
                        d
                    };
                    self.resolve_name(t, name, &mut ids)?;
                }
                Dep::Closure(f) => {
                    let names = {
                        let params = self.inner.params.read();
                        f(&Lookup {
                            name: owner,
                            args,
                            params: &params,
                        })
                    };
                    for n in names {
                        self.resolve_name(t, &n, &mut ids)?;
                    }
                }
                Dep::NoFailures => {}
            }
        }
        let unique = crate::engine::dedup_keeping_order(&mut ids);
        ids.truncate(unique);
        Ok(ids)
    }

    fn resolve_name(
        &self,
        t: &mut Table,
        name: &str,
        ids: &mut Vec<TaskId>,
    ) -> Result<(), FlowError> {
        if let Some(id) = t.existing(name) {
            ids.push(id);
            return Ok(());
        }
        match self.expand(t, name) {
            Ok(expansion) => self.instantiate_all(t, expansion, ids),
            Err(FlowError::NoProto(_)) => {
                ids.push(self.ensure(t, name));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The engine task for `decl`, without dependencies.
    fn spec(&self, name: &str, decl: &Decl, args: ArgList) -> TaskSpec {
        let engine = &self.inner.engine;
        // A planner's tasks share its one job (they never run): no job made per proc.
        let spec = match self.planning() {
            Some(shared) => TaskSpec {
                job: Some(crate::engine::JobBox::shared(Arc::clone(shared))),
                ..TaskSpec::placeholder()
            },
            None => TaskSpec::from_box(Box::new(self.job(name, args, decl))),
        };
        let mut spec = spec
            .wave(decl.wave)
            .locks(decl.locks.iter().map(|l| engine.lock(l)));
        for (resource, amount) in &decl.uses {
            // Checked when the proc was added: every resource used has a capacity.
            if let Some(id) = engine.find_resource(resource) {
                spec = spec.uses(id, *amount);
            }
        }
        if decl.no_failures || decl.deps.iter().any(|d| matches!(d, Dep::NoFailures)) {
            spec = spec.no_failures();
        }
        if let Some(limit) = decl.timeout {
            spec = spec.timeout(limit);
        }
        spec
    }

    fn fill_rec(t: &mut Table, id: TaskId, decl: &Decl, deps: &[TaskId]) {
        let rec = t.rec_mut(id);
        rec.deps = deps.into();
        let rules = if decl.rdeps.is_empty() {
            Vec::new()
        } else {
            let args = rec.args.as_slice();
            decl.rdeps.iter().map(|r| r.filled(&args)).collect()
        };
        let extra = RecExtra {
            rules,
            locks: decl.locks.clone(),
            description: decl.description.clone(),
        };
        let empty = extra.rules.is_empty() && extra.locks.is_empty() && extra.description.is_none();
        rec.extra = (!empty).then(|| Box::new(extra));
        rec.wave = decl.wave;
        rec.defn = Defn::Defined;
    }

    fn note_rules(&self, t: &mut Table, id: TaskId, decl: &Decl) {
        if !decl.rdeps.is_empty() {
            t.rule_procs.push(id);
            self.inner.set_rules();
        }
    }

    /// Adds a new proc `name` whose dependencies exist already (so no cycle is possible).
    pub(crate) fn add_task(
        &self,
        t: &mut Table,
        name: &str,
        decl: &Decl,
        deps: &[TaskId],
    ) -> Result<TaskId, FlowError> {
        let args = ArgList::from(decl.defaults.clone());
        let spec = self
            .spec(name, decl, args.clone())
            .deps(deps.iter().copied());
        let id = self
            .inner
            .engine
            .add(spec)
            .map_err(|e| self.translate(t, e, name))?;
        self.insert_rec(t, id, name, Defn::Defined);
        t.rec_mut(id).args = args;
        Self::fill_rec(t, id, decl, deps);
        self.note_rules(t, id, decl);
        self.inner.names.set_log_ignore(id, &decl.log_ignore);
        Ok(id)
    }

    /// Gives placeholder `id` its work from `decl`, with dependencies `deps`.
    pub(crate) fn define_task(
        &self,
        t: &mut Table,
        id: TaskId,
        decl: &Decl,
        deps: Vec<TaskId>,
    ) -> Result<(), FlowError> {
        let engine = &self.inner.engine;
        let (name, args) = {
            let rec = t.rec(id);
            (rec.name.clone(), rec.args.clone())
        };
        let spec = self.spec(&name, decl, args);
        let was = t.rec(id).defn;
        let wanted = engine.state(id)? == crate::engine::TaskState::Wanted;
        Self::fill_rec(t, id, decl, &deps);
        let result = if wanted {
            // Wanted before it had work: bring its dependencies in the way `start` would, so
            // their rdeps apply too, then give it its work.
            self.start_closure(t, &[id], Some(id)).and_then(|()| {
                engine
                    .define(id, spec.deps(deps))
                    .map_err(|e| self.translate(t, e, &name))
            })
        } else {
            engine
                .define(id, spec.deps(deps))
                .map_err(|e| self.translate(t, e, &name))
        };
        if let Err(e) = result {
            t.rec_mut(id).defn = was;
            return Err(e);
        }
        self.note_rules(t, id, decl);
        self.inner.names.set_log_ignore(id, &decl.log_ignore);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ProcRec;
    use crate::flow::name_index::HASHED;
    use crate::flow::{Flow, FlowOptions};

    #[test]
    fn a_new_instance_is_hashed_once() {
        // Each of a glob's instances is new: found missing and filed in one probe.
        let side = 50;
        let values: Vec<String> = (0..side).map(|i| i.to_string()).collect();
        let flow = Flow::planner(FlowOptions::new()).unwrap();
        flow.proto("t::[a]::[b]", |_| Ok(()))
            .choices("a", values.iter().cloned())
            .choices("b", values)
            .add()
            .unwrap();
        let before = HASHED.get();
        flow.proc("all", |_| Ok(()))
            .deps(["t::*::*"])
            .add()
            .unwrap();
        let hashed = HASHED.get() - before;
        assert!(
            hashed < side * side + 10,
            "{hashed} names hashed for {} instances",
            side * side
        );
        assert_eq!(flow.plannable(["all"]).unwrap(), side * side + 1);
    }

    #[test]
    fn a_proc_record_is_small() {
        // A million instances of a glob hold a million records (and a vector of them grows
        // by doubling): what most procs leave empty is boxed apart.
        assert!(
            size_of::<Option<ProcRec>>() <= 80,
            "{}",
            size_of::<ProcRec>()
        );
    }
}
