//! Creating, starting, running and waiting for procs by name.

use crate::engine::TaskId;

use super::table::Table;
use super::{Flow, FlowError, Pattern, has_placeholders};

impl Flow {
    /// Creates the procs a filled-out proto name stands for and returns their names: one, or
    /// one per combination of choices its `*` / `?` globs match. An existing proc's name gives
    /// that proc. A proto's exact pattern makes the instance of its default arguments.
    ///
    /// Errors: no proto matches, several do, a value is not among its placeholder's choices, a
    /// glob has no choices to expand over or matches none, or resolving the new procs'
    /// dependencies fails.
    pub fn create(&self, name: &str) -> Result<Vec<String>, FlowError> {
        let mut t = self.inner.table.lock();
        let ids = self.create_in(&mut t, name)?;
        self.start_now(&mut t)?;
        Ok(ids.into_iter().map(|id| t.name(id)).collect())
    }

    /// Creates one proc from the proto `name` addresses, but calls it `proc_name` (the name is
    /// not checked against the pattern). A name with globs ignores `proc_name` and creates
    /// every match under its own name. An existing `proc_name` is returned as it is.
    ///
    /// ```
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// flow.proto("test::[p0]", |ctx| Ok(ctx.arg::<String>("p0")?)).add().unwrap();
    /// assert_eq!(flow.create_as("test::ha", "test:1").unwrap(), ["test:1"]);
    /// flow.run("test:1").unwrap();
    /// flow.wait_all().unwrap();
    /// assert_eq!(flow.result::<String>("test:1").unwrap(), "ha");
    /// ```
    pub fn create_as(&self, name: &str, proc_name: &str) -> Result<Vec<String>, FlowError> {
        if has_placeholders(proc_name) {
            return Err(FlowError::PlaceholderInProcName(proc_name.to_owned()));
        }
        let mut t = self.inner.table.lock();
        if let Some(id) = t.existing(proc_name) {
            return Ok(vec![t.name(id)]);
        }
        let mut expansion = self.expand(&t, name)?;
        if let super::proto::Expansion::One(one) = &mut expansion {
            proc_name.clone_into(&mut one.name);
        }
        let mut ids: Vec<TaskId> = Vec::new();
        self.instantiate_all(&mut t, expansion, &mut ids)?;
        self.drain(&mut t)?;
        self.start_now(&mut t)?;
        Ok(ids.into_iter().map(|id| t.name(id)).collect())
    }

    /// Cancels a proc: if it has not started it ends as cancelled (its wanted dependents as
    /// dep-failed); if it runs, it is asked to stop (it sees [`Context::is_cancelled`]; a
    /// command it runs is killed).
    ///
    /// [`Context::is_cancelled`]: super::Context::is_cancelled
    pub fn cancel(&self, name: &str) -> Result<(), FlowError> {
        let id = self
            .id(name)
            .ok_or_else(|| FlowError::UnknownProc(name.to_owned()))?;
        self.inner
            .engine
            .cancel(id)
            .map_err(|e| self.translate_unlocked(e))
    }

    /// Stops the run: nothing new starts, every wanted proc is cancelled, running ones are
    /// asked to stop. For Ctrl-C.
    pub fn stop(&self) {
        self.inner.engine.stop();
    }

    /// Fills `pattern`'s placeholders from `args`, then [`Flow::create`]s the result.
    ///
    /// ```
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// flow.proto("sim::[temp]::[seed]", |_| Ok(())).add().unwrap();
    /// let names = flow.create_with("sim::[temp]::[seed]", [("temp", "hot"), ("seed", "7")]).unwrap();
    /// assert_eq!(names, ["sim::hot::7"]);
    /// ```
    pub fn create_with<K: AsRef<str>, V: AsRef<str>>(
        &self,
        pattern: &str,
        args: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Vec<String>, FlowError> {
        let args: Vec<(String, String)> = args
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect();
        let filled = Pattern::parse(pattern)
            .fill_partial(|k| args.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()));
        self.create(filled.as_str())
    }

    /// Wants procs: they run once their dependencies and constraints allow. Their dependencies
    /// are wanted too, rdeps are injected, and `WhenScheduled` targets pulled in. Starting a
    /// started proc does nothing.
    ///
    /// Errors (nothing is wanted then): an unknown name, a missing dependency with
    /// `allow_missing_deps` off, a `WhenScheduled` / `WhenTargetScheduled` target that already
    /// started, and a cycle or wave order the injected edges would make.
    pub fn start<S: AsRef<str>>(
        &self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<(), FlowError> {
        let names: Vec<S> = names.into_iter().collect();
        let mut t = self.inner.table.lock();
        self.want_existing(&mut t, &names)?;
        self.start_now(&mut t)?;
        drop(t);
        self.asked(&names);
        Ok(())
    }

    /// [`Flow::create`]s then [`Flow::start`]s; returns the names.
    pub fn run(&self, name: &str) -> Result<Vec<String>, FlowError> {
        let mut t = self.inner.table.lock();
        let ids = self.create_in(&mut t, name)?;
        self.start_now(&mut t)?;
        self.start_closure(&mut t, &ids, None)?;
        let names = ids.into_iter().map(|id| t.name(id)).collect();
        drop(t);
        self.asked(&[name]);
        Ok(names)
    }

    /// Waits until the named procs are final, starting those not started yet.
    ///
    /// Errors: an unknown name; any of them not succeeding (skipped counts as success), listing
    /// each failure with its root cause first; a deadlock.
    pub fn wait<S: AsRef<str>>(&self, names: impl IntoIterator<Item = S>) -> Result<(), FlowError> {
        let names: Vec<S> = names.into_iter().collect();
        let ids = {
            let mut t = self.inner.table.lock();
            self.want_existing(&mut t, &names)?
        };
        self.asked(&names);
        let statuses = self
            .inner
            .engine
            .wait(ids.iter().copied())
            .map_err(|e| self.translate_unlocked(e))?;
        let failed: Vec<TaskId> = statuses
            .iter()
            .filter(|s| !s.state.is_success())
            .map(|s| s.id)
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(FlowError::Failed(self.failures_of(&failed)))
        }
    }

    /// Waits until every wanted proc is final.
    ///
    /// Errors: any proc of the flow failed (every failure listed, root causes first), or a
    /// deadlock.
    ///
    /// The flow's run has ended then: with a store, the run it recorded into ends with its
    /// outcome (`succeeded`, `failed`, `interrupted` after [`Flow::stop`], `error` after a
    /// deadlock: [`crate::store::outcome`]), its targets what the flow was asked to run since
    /// its last run ended ([`Flow::start`], [`Flow::run`], [`Flow::wait`]), so it is not left
    /// unfinished and the store is pruned as the CLI's runs prune it; what is recorded later
    /// goes into a new run.
    pub fn wait_all(&self) -> Result<(), FlowError> {
        let waited = self
            .inner
            .engine
            .wait_all()
            .map_err(|e| self.translate_unlocked(e))
            .and_then(|()| {
                let failures = self.failures();
                if failures.is_empty() {
                    Ok(())
                } else {
                    Err(FlowError::Failed(failures))
                }
            });
        // A deadlock (procs it wanted can never end) is an `error`: nobody stopped the run.
        let outcome = crate::store::outcome(
            self.inner.engine.is_stopped(),
            matches!(&waited, Err(e) if !matches!(e, FlowError::Failed(_))),
            waited.is_ok(),
        );
        self.end_store_run(outcome);
        waited
    }

    /// Wants the existing procs `names` name (with their closure) and returns their ids; an
    /// unknown name wants nothing.
    fn want_existing<S: AsRef<str>>(
        &self,
        t: &mut Table,
        names: &[S],
    ) -> Result<Vec<TaskId>, FlowError> {
        let ids = names
            .iter()
            .map(|n| {
                t.existing(n.as_ref())
                    .ok_or_else(|| FlowError::UnknownProc(n.as_ref().to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.start_closure(t, &ids, None)?;
        Ok(ids)
    }
}
