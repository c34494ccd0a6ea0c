//! Results and states: what each proc returned (JSON values by proc name), how it ended, and
//! why, in proc names.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::{Reason, TaskId, TaskState};

use super::{Failure, Flow, FlowError};

/// What a proc's run left behind.
pub(crate) struct RunRecord {
    pub(crate) value: Value,
    pub(crate) no_change: bool,
}

/// How a proc stands: its state, why it ended there (in proc names) and how long it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcStatus {
    /// The proc.
    pub name: String,
    /// Its state.
    pub state: TaskState,
    /// Why it ended there, for every final state but a plain success.
    pub reason: Option<String>,
    /// Whether it ran and reported "no change" (a kind of skip).
    pub no_change: bool,
    /// How long it ran.
    pub duration: Duration,
}

impl Flow {
    pub(crate) fn store(&self, id: TaskId, value: Value, no_change: bool) {
        let mut runs = self.inner.runs.lock();
        if runs.len() <= id.index() {
            runs.resize_with(id.index() + 1, || None);
        }
        runs[id.index()] = Some(RunRecord { value, no_change });
    }

    /// Every result so far, by proc name: the value of procs that succeeded, `null` for procs
    /// that ran and failed or skipped. Procs that never ran (dep-failed ones) have none.
    pub fn results(&self) -> BTreeMap<String, Value> {
        let runs: Vec<(TaskId, Value)> = self
            .inner
            .runs
            .lock()
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (TaskId::from_index(i), r.value.clone())))
            .collect();
        runs.into_iter()
            .filter_map(|(id, v)| {
                let name = self.name_of(id)?;
                let ok = self
                    .inner
                    .engine
                    .state(id)
                    .is_ok_and(|s| matches!(s, TaskState::Succeeded | TaskState::UpToDate));
                Some((name, if ok { v } else { Value::Null }))
            })
            .collect()
    }

    /// The result of proc `name`, read as `T`.
    ///
    /// Errors: no such proc; it has no result (not finished, failed, or never ran); or the
    /// value is not a `T`.
    pub fn result<T: DeserializeOwned>(&self, name: &str) -> Result<T, FlowError> {
        let id = self
            .id(name)
            .ok_or_else(|| FlowError::UnknownProc(name.to_owned()))?;
        let state = self.inner.engine.state(id)?;
        let value = if matches!(state, TaskState::Succeeded | TaskState::UpToDate) {
            self.inner
                .runs
                .lock()
                .get(id.index())
                .and_then(Option::as_ref)
                .map(|r| r.value.clone())
        } else {
            None
        };
        let value = value.ok_or_else(|| FlowError::ResultType {
            proc: name.to_owned(),
            ty: std::any::type_name::<T>(),
            why: format!("it has no result (it is {state})"),
        })?;
        typed(name, value)
    }

    /// How proc `name` stands now.
    pub fn status(&self, name: &str) -> Result<ProcStatus, FlowError> {
        let id = self
            .id(name)
            .ok_or_else(|| FlowError::UnknownProc(name.to_owned()))?;
        let s = self.inner.engine.status(id)?;
        let no_change = s.state == TaskState::Skipped
            && self
                .inner
                .runs
                .lock()
                .get(id.index())
                .and_then(Option::as_ref)
                .is_some_and(|r| r.no_change);
        Ok(ProcStatus {
            name: name.to_owned(),
            state: s.state,
            reason: s.reason.map(|r| self.describe(&r)),
            no_change,
            duration: s.duration,
        })
    }

    /// The state of proc `name` now.
    pub fn state(&self, name: &str) -> Result<TaskState, FlowError> {
        Ok(self.status(name)?.state)
    }

    /// A reason in proc names.
    pub fn describe(&self, reason: &Reason) -> String {
        let n = |id: TaskId| self.name_of(id).unwrap_or_else(|| id.to_string());
        match reason {
            Reason::DepFailed { dep, root } => {
                let missing = self
                    .inner
                    .engine
                    .status(*dep)
                    .is_ok_and(|s| s.reason == Some(Reason::Missing));
                if missing {
                    format!("dependency \"{}\" is missing (nothing defines it)", n(*dep))
                } else if dep == root {
                    format!("dependency \"{}\" failed", n(*dep))
                } else {
                    format!(
                        "dependency \"{}\" failed (root failure: \"{}\")",
                        n(*dep),
                        n(*root)
                    )
                }
            }
            Reason::Missing => "missing: nothing defines it".to_owned(),
            Reason::NoFailures { first } => {
                format!("run aborted: \"{}\" has failed", n(*first))
            }
            other => other.to_string(),
        }
    }

    /// Every proc that did not succeed, root causes (failed, cancelled) first, then dep-failed.
    pub fn failures(&self) -> Vec<Failure> {
        let n = self.inner.engine.len();
        let ids: Vec<TaskId> = (0..n).map(TaskId::from_index).collect();
        self.failures_of(&ids)
    }

    pub(crate) fn failures_of(&self, ids: &[TaskId]) -> Vec<Failure> {
        let mut roots = Vec::new();
        let mut cascaded = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut add = |id: TaskId, roots: &mut Vec<Failure>, cascaded: &mut Vec<Failure>| {
            if !seen.insert(id) {
                return None;
            }
            let s = self.inner.engine.status(id).ok()?;
            if !s.state.is_failure() {
                return None;
            }
            let name = self.name_of(id)?;
            let reason = s
                .reason
                .as_ref()
                .map_or_else(String::new, |r| self.describe(r));
            let f = Failure {
                name,
                state: s.state,
                reason,
            };
            let root = match s.reason {
                Some(Reason::DepFailed { root, .. }) => Some(root),
                Some(Reason::NoFailures { first }) => Some(first),
                _ => None,
            };
            if s.state == TaskState::DepFailed {
                cascaded.push(f);
            } else {
                roots.push(f);
            }
            root
        };
        for &id in ids {
            if let Some(root) = add(id, &mut roots, &mut cascaded) {
                add(root, &mut roots, &mut cascaded);
            }
        }
        roots.extend(cascaded);
        roots
    }
}

/// The result `value` of proc `name`, read as `T`.
pub(crate) fn typed<T: DeserializeOwned>(name: &str, value: Value) -> Result<T, FlowError> {
    serde_json::from_value(value).map_err(|e| FlowError::ResultType {
        proc: name.to_owned(),
        ty: std::any::type_name::<T>(),
        why: e.to_string(),
    })
}
