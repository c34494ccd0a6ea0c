//! Flows made to be planned, never run ([`Flow::planner`]): what `check`, `list`, a dry run and
//! `graph` ask of a task file. Their procs are defined, expanded, resolved, listed and planned
//! exactly as on any flow (the same table, the same engine edges and cycle checks), but they
//! hold no job of their own: every engine task shares one job that refuses to run, and no
//! name goes to the observers' table (nothing runs, so nothing is observed). A glob's million
//! instances keep no boxed job (80 bytes and an allocation each) and no observers' entry.
//!
//! This module owns that shared job and the refusal to start; it does not know the table or
//! how plans are ordered.

use std::sync::Arc;

use crate::engine::{Outcome, SharedJob, TaskContext};

use super::{Flow, FlowError, FlowOptions};

/// What a planner's tasks share instead of a job: it never runs (a planner refuses to start),
/// and if an engine user wants one of its tasks directly, it fails saying why.
pub(crate) struct Unrunnable;

/// What a planner says when asked to run.
pub(crate) const REFUSED: &str = "a flow made with Flow::planner plans procs and runs none";

impl SharedJob for Unrunnable {
    fn run_shared(self: Arc<Self>, _: &TaskContext) -> Outcome {
        Outcome::failed(REFUSED)
    }

    fn abandon(&self) {}
}

impl Flow {
    /// A flow whose procs are planned, listed and checked, never run: [`Flow::plan`],
    /// [`Flow::plannable`], [`Flow::procs`] and [`Flow::proc_info`] answer as on a flow made
    /// with [`Flow::with_options`], while starting anything ([`Flow::start`], [`Flow::run`], a
    /// proc made with [`Define::now`](super::Define::now)) is an error. Its procs hold no job
    /// of their own and observers get no names ([`Flow::names`] names none; [`Flow::name_of`]
    /// reads the flow's table), so a large glob's instances cost less.
    ///
    /// ```
    /// use parade::flow::{Flow, FlowOptions};
    /// let flow = Flow::planner(FlowOptions::new()).unwrap();
    /// flow.proto("t::[n]", |_| Ok(())).choices("n", ["1", "2"]).add().unwrap();
    /// flow.proc("all", |_| Ok(())).deps(["t::*"]).add().unwrap();
    /// let plan = flow.plan(["all"]).unwrap();
    /// let names: Vec<_> = plan.iter().map(|s| &*s.name).collect();
    /// assert_eq!(names, ["t::1", "t::2", "all"]);
    /// assert_eq!(flow.name_of(flow.id("t::2").unwrap()).as_deref(), Some("t::2"));
    /// assert!(flow.run("all").unwrap_err().to_string().contains("runs none"));
    /// ```
    ///
    /// Errors: those of [`Flow::with_options`]; the mode is always inline (nothing runs).
    pub fn planner(options: FlowOptions) -> Result<Self, FlowError> {
        let flow = Self::with_options(options.mode(super::Mode::Inline))?;
        let unrunnable: Arc<dyn SharedJob> = Arc::new(Unrunnable);
        flow.inner
            .planning
            .set(unrunnable)
            .unwrap_or_else(|_| unreachable!("a new flow is no planner yet"));
        Ok(flow)
    }

    /// The job every task of a planner shares, or `None` for a flow that runs.
    pub(crate) fn planning(&self) -> Option<&Arc<dyn SharedJob>> {
        self.inner.planning.get()
    }

    /// An error when this flow is a planner (asked to start something).
    pub(crate) fn refuse_if_planner(&self) -> Result<(), FlowError> {
        match self.planning() {
            Some(_) => Err(FlowError::Options(REFUSED.to_owned())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::TaskState;
    use crate::flow::{Flow, FlowOptions};

    #[test]
    fn a_planner_plans_as_a_flow_does_and_starts_nothing() {
        let make = |flow: &Flow| {
            flow.proc("setup", |_| Ok(()))
                .rdeps(["deploy::[env]"])
                .add()
                .unwrap();
            flow.proto("build::[env]", |_| Ok(()))
                .choices("env", ["dev", "prod"])
                .add()
                .unwrap();
            flow.proto("deploy::[env]", |_| Ok(()))
                .deps(["build::[env]", "nothing"])
                .choices("env", ["dev", "prod"])
                .locks(["cluster"])
                .add()
                .unwrap();
        };
        let (runs, plans) = (Flow::inline(), Flow::planner(FlowOptions::new()).unwrap());
        make(&runs);
        make(&plans);
        assert_eq!(
            runs.plan(["deploy::*"]).unwrap(),
            plans.plan(["deploy::*"]).unwrap()
        );
        assert_eq!(runs.procs(), plans.procs());
        // Spent on its plan, a planner plans the same steps (their dependencies named after
        // its table is freed).
        let spent = Flow::planner(FlowOptions::new()).unwrap();
        make(&spent);
        assert_eq!(
            spent.into_plan(["deploy::*"]).unwrap(),
            plans.plan(["deploy::*"]).unwrap()
        );
        assert_eq!(plans.plannable(["deploy::prod"]).unwrap(), 4);
        let err = plans.start(["deploy::prod"]).unwrap_err();
        assert!(err.to_string().contains("runs none"), "{err}");
        assert_eq!(plans.state("deploy::prod").unwrap(), TaskState::Idle);
        assert_eq!(plans.names().0.get(plans.id("setup").unwrap()), None);
        assert_eq!(plans.name_of(plans.id("setup").unwrap()).unwrap(), "setup");
        let err = plans.proc("early", |_| Ok(())).now().add().unwrap_err();
        assert!(err.to_string().contains("runs none"), "{err}");
    }
}
