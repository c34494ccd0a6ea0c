//! Read access for tools: listings of procs and protos, and the plan a start would run (a dry
//! run), with why each proc is in it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use crate::engine::{TaskId, TaskState};

use super::schedule::Closure;
use super::table::{Defn, Table};
use super::{ArgList, Choices, Flow, FlowError, Why};

/// What a proc declares and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// The proto it was made from.
    pub proto: Option<String>,
    /// Its arguments, in pattern order.
    pub args: Vec<(String, String)>,
    /// Its dependencies by name (injected ones included), shared with the flow's own names
    /// (a count each, not a copy: [`Flow::procs`] of a layered flow names 90,000).
    pub deps: Vec<Arc<str>>,
    /// Its rdep rules, as written (placeholders its arguments fill are filled).
    pub rdeps: Vec<String>,
    /// Its wave.
    pub wave: u32,
    /// Its locks.
    pub locks: Vec<String>,
    /// False for a name only named as a dependency, which nothing defines.
    pub defined: bool,
    /// Its state.
    pub state: TaskState,
}

/// What a proto declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtoInfo {
    /// Its pattern.
    pub pattern: String,
    /// Its description.
    pub description: Option<String>,
    /// Its placeholders.
    pub params: Vec<String>,
    /// Choices per placeholder: the list, or `None` when a closure computes them.
    pub choices: Vec<(String, Option<Vec<String>>)>,
    /// Its dependencies as written.
    pub deps: Vec<String>,
    /// Its rdep rules as written.
    pub rdeps: Vec<String>,
    /// Its wave.
    pub wave: u32,
    /// Its locks.
    pub locks: Vec<String>,
}

/// One proc of a plan. Its names are the flow's own, shared (a count each, not a copy: a
/// glob's million instances, and the million dependencies of the task after them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanStep {
    /// The proc.
    pub name: Arc<str>,
    /// Why it is in the plan.
    pub why: Why,
    /// Its wave.
    pub wave: u32,
    /// Whether nothing defines it (it would end as missing).
    pub missing: bool,
    /// Its declared dependencies that are in the plan, in declaration order (the edges the
    /// plan adds for rdeps and `when_scheduled` are not here: [`PlanStep::why`] tells them).
    pub deps: Box<[Arc<str>]>,
    /// Its locks.
    pub locks: Box<[String]>,
    /// The name it was defined under: its proto's pattern, or its own name. Shared with the
    /// flow (a count, not a copy per step).
    pub defined_as: Arc<str>,
    /// Its arguments, in pattern order, shared with the flow's record of it (a glob's
    /// instances share the glob's values).
    pub args: ArgList,
}

/// A position in a plan's closure: 4 bytes, as a task id is (a closure never holds more
/// procs than there are task ids).
type Pos = u32;

/// `i` as a [`Pos`].
fn pos(i: usize) -> Pos {
    Pos::try_from(i).expect("a closure's positions fit task ids")
}

/// The position of each task of a plan's closure, by task index: a plan looks a task up for
/// every edge, and a vector indexed by task is a load where a map is a hash.
struct Members(Vec<Pos>);

impl Members {
    const NONE: Pos = Pos::MAX;

    fn new(cl: &Closure, tasks: usize) -> Self {
        let mut at = vec![Self::NONE; tasks];
        for (i, id) in cl.ids().enumerate() {
            if id.index() >= at.len() {
                at.resize(id.index() + 1, Self::NONE);
            }
            at[id.index()] = pos(i);
        }
        Self(at)
    }

    fn get(&self, id: TaskId) -> Option<usize> {
        self.0
            .get(id.index())
            .copied()
            .filter(|&i| i != Self::NONE)
            .map(|i| i as usize)
    }

    fn contains_key(&self, id: TaskId) -> bool {
        self.get(id).is_some()
    }
}

/// Each member's dependencies in the plan, in one vector: member `i`'s are
/// `of[start[i]..start[i + 1]]`, its declared ones first (the first `declared[i]`), then the
/// edges the plan adds. A glob's million instances, none with dependencies, are a start each
/// (4 bytes), not a million empty vectors (24 bytes each).
struct Deps {
    start: Vec<Pos>,
    declared: Vec<Pos>,
    of: Vec<TaskId>,
}

impl Deps {
    fn new(flow: &Flow, cl: &Closure, members: &Members) -> Self {
        // The plan's own edges, by the position of the task that waits (few: rdeps and
        // `when_scheduled` rules).
        let mut added: Vec<(usize, TaskId)> = cl
            .edges
            .iter()
            .filter_map(|&(task, dep)| {
                let ti = members.get(task)?;
                members.contains_key(dep).then_some((ti, dep))
            })
            .collect();
        added.sort_by_key(|&(ti, _)| ti);
        let mut added = added.into_iter().peekable();
        let n = cl.len();
        let mut start = Vec::with_capacity(n + 1);
        let mut declared = Vec::with_capacity(n);
        let mut of = Vec::new();
        start.push(0);
        for (i, id) in cl.ids().enumerate() {
            let first = of.len();
            of.extend(
                flow.inner
                    .engine
                    .deps(id)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|&d| members.contains_key(d)),
            );
            declared.push(pos(of.len() - first));
            while let Some((_, dep)) = added.next_if(|&(ti, _)| ti == i) {
                if !of[first..].contains(&dep) {
                    of.push(dep);
                }
            }
            start.push(pos(of.len()));
        }
        Self {
            start,
            declared,
            of,
        }
    }

    fn len(&self) -> usize {
        self.declared.len()
    }

    /// Member `i`'s dependencies in the plan.
    fn all(&self, i: usize) -> &[TaskId] {
        &self.of[self.start[i] as usize..self.start[i + 1] as usize]
    }

    /// Member `i`'s declared dependencies in the plan, in declaration order.
    fn declared(&self, i: usize) -> &[TaskId] {
        &self.all(i)[..self.declared[i] as usize]
    }
}

/// Each member's dependents (positions in the plan's closure), in one vector: where a task's
/// begin is `start[i]`. A glob's million instances, each the dependency of one task, are a
/// million entries, not a million vectors of one.
struct Dependents {
    start: Vec<Pos>,
    of: Vec<Pos>,
}

impl Dependents {
    fn new(deps: &Deps, members: &Members) -> Self {
        let n = deps.len();
        let mut start = vec![0; n + 1];
        for d in &deps.of {
            start[members.get(*d).expect("a member") + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut of = vec![0; start[n] as usize];
        for i in 0..n {
            for d in deps.all(i) {
                let at = &mut fill[members.get(*d).expect("a member")];
                of[*at as usize] = pos(i);
                *at += 1;
            }
        }
        Self { start, of }
    }

    /// Member `i`'s dependents, in the order of the closure.
    fn of(&self, i: usize) -> &[Pos] {
        &self.of[self.start[i] as usize..self.start[i + 1] as usize]
    }
}

impl Flow {
    /// Every proc (and missing name), in the order they were made.
    pub fn procs(&self) -> Vec<ProcInfo> {
        let t = self.inner.table.lock();
        (0..t.procs.len())
            .filter(|&i| t.procs[i].is_some())
            .map(|i| self.info(&t, TaskId(u32::try_from(i).expect("task ids are u32"))))
            .collect()
    }

    /// One proc's information (a lookup by name, not a walk over every proc).
    pub fn proc_info(&self, name: &str) -> Result<ProcInfo, FlowError> {
        let t = self.inner.table.lock();
        match t.id_of(name) {
            Some(id) => Ok(self.info(&t, id)),
            None => Err(FlowError::UnknownProc(name.to_owned())),
        }
    }

    /// What [`Flow::procs`] says of the proc `id`.
    fn info(&self, t: &Table, id: TaskId) -> ProcInfo {
        let r = t.rec(id);
        ProcInfo {
            name: r.name.to_string(),
            description: r.description().map(str::to_owned),
            proto: r.proto().map(|p| t.protos[p].pattern.to_string()),
            args: r.args.to_vec(),
            deps: self
                .inner
                .engine
                .deps(id)
                .unwrap_or_default()
                .into_iter()
                .map(|d| t.shared_name(d))
                .collect(),
            rdeps: r.rules().iter().map(ToString::to_string).collect(),
            wave: r.wave,
            locks: r.locks().to_vec(),
            defined: r.defn != Defn::Missing,
            state: self.engine_state(id),
        }
    }

    /// Every proto, in the order they were defined.
    pub fn protos(&self) -> Vec<ProtoInfo> {
        let t = self.inner.table.lock();
        t.protos
            .iter()
            .map(|p| ProtoInfo {
                pattern: p.pattern.to_string(),
                description: p.decl.description.clone(),
                params: p.pattern.params().to_vec(),
                choices: p
                    .decl
                    .choices
                    .iter()
                    .map(|(k, c)| {
                        let list = match c {
                            Choices::List(l) => Some(l.clone()),
                            Choices::Computed(_) => None,
                        };
                        (k.clone(), list)
                    })
                    .collect(),
                deps: p.decl.deps.iter().map(ToString::to_string).collect(),
                rdeps: p.decl.rdeps.iter().map(ToString::to_string).collect(),
                wave: p.decl.wave,
                locks: p.decl.locks.clone(),
            })
            .collect()
    }

    /// What starting `names` would run, in the order inline mode would run it, with why each
    /// proc is in it. Creates the procs the names and their rdeps make (they stay idle); wants
    /// nothing.
    ///
    /// ```
    /// use parade::flow::{Flow, Why};
    /// let flow = Flow::inline();
    /// flow.proc("setup", |_| Ok(())).rdeps(["deploy::[env]"]).add().unwrap();
    /// flow.proto("build::[env]", |_| Ok(())).add().unwrap();
    /// flow.proto("deploy::[env]", |_| Ok(())).deps(["build::[env]"]).add().unwrap();
    /// let plan = flow.plan(["deploy::prod"]).unwrap();
    /// let names: Vec<_> = plan.iter().map(|s| &*s.name).collect();
    /// assert_eq!(names, ["setup", "build::prod", "deploy::prod"]);
    /// assert_eq!(plan[0].why, Why::RdepOf("deploy::prod".into()));
    /// ```
    pub fn plan<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Vec<PlanStep>, FlowError> {
        let mut t = self.inner.table.lock();
        let ordered = self.ordered(&mut t, names)?;
        Ok(ordered.steps(&t))
    }

    /// [`Flow::plan`], the flow spent on it: once the plan's order is known, the flow's engine
    /// tasks and name index are freed before any step is written, so a large plan's steps
    /// are never held beside the whole flow (a glob's million instances: the engine's slots
    /// and the index go before a million steps are made). The steps are [`Flow::plan`]'s.
    /// When another handle of the flow is alive, nothing of it is freed: the plan is made as
    /// [`Flow::plan`] makes it.
    ///
    /// ```
    /// use parade::flow::{Flow, FlowOptions};
    /// let make = || {
    ///     let flow = Flow::planner(FlowOptions::new()).unwrap();
    ///     flow.proto("t::[n]", |_| Ok(())).choices("n", ["1", "2"]).add().unwrap();
    ///     flow.proc("all", |_| Ok(())).deps(["t::*"]).add().unwrap();
    ///     flow
    /// };
    /// assert_eq!(make().into_plan(["all"]).unwrap(), make().plan(["all"]).unwrap());
    /// ```
    ///
    /// Errors: [`Flow::plan`]'s.
    pub fn into_plan<S: AsRef<str>>(
        self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Vec<PlanStep>, FlowError> {
        let ordered = {
            let mut t = self.inner.table.lock();
            self.ordered(&mut t, names)?
        };
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => Ok(ordered.into_steps(inner.spent_for_plan())),
            Err(shared) => Ok(ordered.steps(&shared.table.lock())),
        }
    }

    /// Whether starting `names` can be planned ([`Flow::plan`]'s errors: unknown names, values
    /// outside their choices, cycles...), and how many procs the plan has, without writing the
    /// plan out (no step, name or reason per proc): what a check asks.
    ///
    /// ```
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// flow.proto("t::[n]", |_| Ok(())).choices("n", ["1", "2"]).add().unwrap();
    /// flow.proc("all", |_| Ok(())).deps(["t::*"]).add().unwrap();
    /// assert_eq!(flow.plannable(["all"]).unwrap(), 3);
    /// assert!(flow.plannable(["nothing"]).is_err());
    /// ```
    pub fn plannable<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<usize, FlowError> {
        self.in_plan_order(names, |_, _, _, _, _| {})
    }

    /// Creates what starting `names` brings in and calls `visit` for each proc of its plan
    /// (as many as the closure's order has) in the order inline mode would run them, with the
    /// table, the closure, the proc's position in the closure's order, its wave and its
    /// declared dependencies in the plan; gives how many there were.
    fn in_plan_order<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
        visit: impl FnMut(&Table, &Closure, usize, u32, &[TaskId]),
    ) -> Result<usize, FlowError> {
        let mut t = self.inner.table.lock();
        let ordered = self.ordered(&mut t, names)?;
        ordered.visit(&t, visit);
        Ok(ordered.order.len())
    }

    /// Creates what starting `names` brings in and orders its plan (as inline mode would run
    /// it), its working set freed: what is left is the closure, each member's dependencies
    /// and the order, 12 bytes a proc beside the closure's.
    fn ordered<S: AsRef<str>>(
        &self,
        t: &mut Table,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Ordered, FlowError> {
        let mut roots = Vec::new();
        for n in names {
            roots.extend(self.create_in(t, n.as_ref())?);
        }
        let cl = self.closure(t, &roots, None)?;
        // What is kept (the order) is made before the working set, which then lies above it
        // and, freed before the list of what was ready first, goes back as one piece (the
        // allocator keeps less of a freed piece after a larger one was given back).
        let mut order: Vec<Pos> = Vec::with_capacity(cl.len());
        let members = Members::new(&cl, t.procs.len());
        let deps = Deps::new(self, &cl, &members);
        let mut blocked: Vec<Pos> = (0..deps.len()).map(|i| pos(deps.all(i).len())).collect();
        let dependents = Dependents::new(&deps, &members);
        let wave = |i: usize| t.rec(cl.id(i)).wave;
        // What is ready from the start, sorted once (a glob's instances come sorted): taken
        // in order beside a heap of what becomes ready later, the smaller first.
        let mut first: Vec<(u32, TaskId, Pos)> = (0..blocked.len())
            .filter(|&i| blocked[i] == 0)
            .map(|i| (wave(i), cl.id(i), pos(i)))
            .collect();
        first.sort_unstable();
        let mut first = first.into_iter().peekable();
        let mut ready: BinaryHeap<Reverse<(u32, TaskId, Pos)>> = BinaryHeap::new();
        // The order first, its working set freed before any step is visited: a plan's steps
        // are made beside the flow and the dependencies only.
        loop {
            let from_heap = match (first.peek(), ready.peek()) {
                (Some(a), Some(Reverse(b))) => b < a,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let taken = if from_heap {
                ready.pop().map(|Reverse(x)| x)
            } else {
                first.next()
            };
            let Some((_, _, i)) = taken else { break };
            order.push(i);
            let i = i as usize;
            for &d in dependents.of(i) {
                let d = d as usize;
                blocked[d] -= 1;
                if blocked[d] == 0 {
                    ready.push(Reverse((wave(d), cl.id(d), pos(d))));
                }
            }
        }
        let stuck: Vec<String> = if order.len() < deps.len() {
            (0..deps.len())
                .filter(|&i| blocked[i] > 0)
                .map(|i| t.name(cl.id(i)))
                .collect()
        } else {
            Vec::new()
        };
        drop((ready, dependents, members, blocked));
        drop(first);
        if !stuck.is_empty() {
            return Err(FlowError::Cycle(stuck));
        }
        Ok(Ordered { cl, deps, order })
    }
}

/// A plan's order, made ([`Flow::ordered`]) and not yet written out: it needs the flow's
/// table to be read, not its engine.
struct Ordered {
    cl: Closure,
    deps: Deps,
    order: Vec<Pos>,
}

impl Ordered {
    /// Calls `visit` for each proc in the plan's order (see [`Flow::in_plan_order`]).
    fn visit(&self, t: &Table, mut visit: impl FnMut(&Table, &Closure, usize, u32, &[TaskId])) {
        for &i in &self.order {
            let i = i as usize;
            visit(
                t,
                &self.cl,
                i,
                t.rec(self.cl.id(i)).wave,
                self.deps.declared(i),
            );
        }
    }

    /// The plan's steps, their names and arguments the table's own, shared.
    fn steps(&self, t: &Table) -> Vec<PlanStep> {
        let mut steps = Vec::with_capacity(self.order.len());
        self.visit(t, |t, cl, i, wave, declared| {
            let deps = declared.iter().map(|&d| t.shared_name(d)).collect();
            steps.push(step(t, cl, i, wave, deps));
        });
        steps
    }

    /// [`Ordered::steps`], the table spent on them: the steps are written without their
    /// dependencies, the table is freed, then each step's dependencies are named from the
    /// steps they name (a plan's declared dependencies are steps of it). The records are
    /// never held beside the names of the dependencies: the task after a glob names a
    /// million.
    fn into_steps(self, t: Table) -> Vec<PlanStep> {
        let mut steps = Vec::with_capacity(self.order.len());
        self.visit(&t, |t, cl, i, wave, _| {
            steps.push(step(t, cl, i, wave, Box::default()));
        });
        let tasks = t.procs.len();
        drop(t);
        if self.deps.of.is_empty() {
            return steps;
        }
        // The step of each task, by task index.
        let mut at = vec![Pos::MAX; tasks];
        for (k, &i) in self.order.iter().enumerate() {
            at[self.cl.id(i as usize).index()] = pos(k);
        }
        for (k, &i) in self.order.iter().enumerate() {
            let declared = self.deps.declared(i as usize);
            if !declared.is_empty() {
                let deps = declared
                    .iter()
                    .map(|d| Arc::clone(&steps[at[d.index()] as usize].name))
                    .collect();
                steps[k].deps = deps;
            }
        }
        steps
    }
}

/// The step of the closure's member `i` (in wave `wave`, with `deps`): its names and
/// arguments the table's own, shared.
fn step(t: &Table, cl: &Closure, i: usize, wave: u32, deps: Box<[Arc<str>]>) -> PlanStep {
    let rec = t.rec(cl.id(i));
    PlanStep {
        name: rec.name.clone(),
        why: cl.why(i).clone(),
        wave,
        missing: rec.defn == Defn::Missing,
        deps,
        locks: rec.locks().into(),
        defined_as: rec
            .proto()
            .map_or_else(|| rec.name.clone(), |p| t.protos[p].decl.def.clone()),
        args: rec.args.clone(),
    }
}
