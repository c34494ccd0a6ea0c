//! What a run's record says beyond its tasks: the critical path, the time tasks waited after
//! their dependencies were done, counts by state, the slowest tasks, layers of the graph.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::record::{RunRecord, TaskRecord};

/// Figures about one run, computed from its [`RunRecord`] alone.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// Indexes into `run.tasks` of the critical path, first task first: the chain of
    /// dependencies whose run times add up to the most.
    pub critical: Vec<usize>,
    /// The critical path's run time, in seconds.
    pub critical_time: f64,
    /// Per task (same indexes as `run.tasks`): seconds between the moment it could have
    /// started (wanted, and every dependency ended) and the moment it started: time spent
    /// waiting for a free slot, a lock or a counted resource.
    pub waits: Vec<f64>,
    /// Per task: its depth in the dependency graph (0 for tasks without deps in the run).
    pub layers: Vec<usize>,
    /// Per task: the indexes of its deps that are in the run.
    pub deps: Vec<Vec<usize>>,
    /// How many tasks ended in each state.
    pub counts: BTreeMap<String, usize>,
    /// The sum of every task's run time, in seconds.
    pub busy: f64,
}

impl Analysis {
    /// Analyses `run`.
    ///
    /// ```
    /// use parade::report::{Analysis, RunRecord, TaskRecord};
    /// let task = |name: &str, deps: &[&str], start: f64, end: f64| TaskRecord {
    ///     deps: deps.iter().map(|&d| d.into()).collect(),
    ///     start: Some(start), end: Some(end), wanted: Some(0.0), duration: end - start,
    ///     ..TaskRecord::new(name, "succeeded")
    /// };
    /// let run = RunRecord {
    ///     tasks: vec![
    ///         task("setup", &[], 0.0, 1.0),
    ///         task("quick", &["setup"], 1.0, 1.5),
    ///         task("slow", &["setup"], 1.0, 4.0),
    ///         task("ship", &["quick", "slow"], 5.0, 6.0), // waited 1 s for a lock
    ///     ],
    ///     ..RunRecord::default()
    /// };
    /// let a = Analysis::of(&run);
    /// let path: Vec<&str> = a.critical.iter().map(|&i| run.tasks[i].name.as_str()).collect();
    /// assert_eq!(path, ["setup", "slow", "ship"]);
    /// assert_eq!(a.waits[3], 1.0);
    /// assert_eq!(a.layers, [0, 1, 1, 2]);
    /// ```
    pub fn of(run: &RunRecord) -> Self {
        let index: HashMap<&str, usize> = run
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let deps: Vec<Vec<usize>> = run
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut d: Vec<usize> = t
                    .deps
                    .iter()
                    .filter_map(|n| index.get(&**n).copied())
                    .filter(|&j| j != i)
                    .collect();
                d.sort_unstable();
                d.dedup();
                d
            })
            .collect();
        let order = topological(&deps);
        let n = run.tasks.len();
        let mut layers = vec![0; n];
        let mut best = vec![0.0_f64; n];
        let mut via: Vec<Option<usize>> = vec![None; n];
        for &i in &order {
            let mut top = 0.0;
            for &d in &deps[i] {
                layers[i] = layers[i].max(layers[d] + 1);
                if via[i].is_none() || best[d] > top {
                    top = best[d];
                    via[i] = Some(d);
                }
            }
            best[i] = top + run_time(&run.tasks[i]);
        }
        let mut critical = Vec::new();
        let last = (0..n).max_by(|&a, &b| best[a].total_cmp(&best[b]).then(b.cmp(&a)));
        let mut at = last;
        let mut visited = vec![false; n];
        // A hand-edited record may hold a cycle: walk it once.
        while let Some(i) = at.filter(|&i| !visited[i]) {
            visited[i] = true;
            critical.push(i);
            at = via[i];
        }
        critical.reverse();
        let waits = run
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let Some(start) = t.start else { return 0.0 };
                let ready = deps[i]
                    .iter()
                    .filter_map(|&d| run.tasks[d].end)
                    .chain(t.wanted)
                    .fold(0.0_f64, f64::max);
                (start - ready).max(0.0)
            })
            .collect();
        let mut counts = BTreeMap::new();
        for t in &run.tasks {
            *counts.entry(t.state.clone()).or_default() += 1;
        }
        Self {
            critical_time: last.map_or(0.0, |i| best[i]),
            critical,
            waits,
            layers,
            deps,
            counts,
            busy: run.tasks.iter().map(run_time).sum(),
        }
    }

    /// The total of [`waits`](Self::waits).
    pub fn total_wait(&self) -> f64 {
        self.waits.iter().sum()
    }

    /// Indexes of the `n` tasks that ran longest, longest first.
    pub fn slowest(run: &RunRecord, n: usize) -> Vec<usize> {
        let mut ran: Vec<usize> = (0..run.tasks.len())
            .filter(|&i| run.tasks[i].start.is_some())
            .collect();
        ran.sort_by(|&a, &b| {
            run_time(&run.tasks[b])
                .total_cmp(&run_time(&run.tasks[a]))
                .then(a.cmp(&b))
        });
        ran.truncate(n);
        ran
    }
}

/// A task's run time: the engine's measure, else its span on the run's clock.
pub(crate) fn run_time(t: &TaskRecord) -> f64 {
    if t.duration > 0.0 {
        t.duration
    } else {
        t.span().unwrap_or(0.0)
    }
}

/// Kahn's order of the graph `deps` (dependencies first); nodes on a cycle (which a run
/// cannot have, but a hand-edited file can) come last, in index order.
fn topological(deps: &[Vec<usize>]) -> Vec<usize> {
    let n = deps.len();
    let mut missing: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| missing[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &j in &dependents[i] {
            missing[j] -= 1;
            if missing[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    if order.len() < n {
        let mut placed = vec![false; n];
        for &i in &order {
            placed[i] = true;
        }
        order.extend((0..n).filter(|&i| !placed[i]));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_in_a_hand_edited_record_does_not_hang() {
        let mut a = TaskRecord::new("a", "succeeded");
        a.deps = vec!["b".into()];
        let mut b = TaskRecord::new("b", "succeeded");
        b.deps = vec!["a".into(), "ghost".into()];
        let run = RunRecord {
            tasks: vec![a, b],
            ..RunRecord::default()
        };
        let an = Analysis::of(&run);
        assert_eq!(an.deps, [vec![1], vec![0]]);
        assert!(!an.critical.is_empty());
    }

    #[test]
    fn an_empty_run_has_an_empty_path() {
        let an = Analysis::of(&RunRecord::default());
        assert!(an.critical.is_empty());
        assert!(an.total_wait().abs() < f64::EPSILON);
    }

    #[test]
    fn slowest_ignores_tasks_that_never_ran() {
        let mut quick = TaskRecord::new("quick", "succeeded");
        (quick.start, quick.end, quick.duration) = (Some(0.0), Some(1.0), 1.0);
        let mut slow = TaskRecord::new("slow", "failed");
        (slow.start, slow.end, slow.duration) = (Some(0.0), Some(3.0), 3.0);
        let never = TaskRecord::new("never", "dep-failed");
        let run = RunRecord {
            tasks: vec![quick, never, slow],
            ..RunRecord::default()
        };
        assert_eq!(Analysis::slowest(&run, 5), [2, 0]);
    }
}
