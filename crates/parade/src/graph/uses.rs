//! Counted resources in the graph face: capacities by name ([`Graph::resource`]) and what a
//! task uses of them while it runs ([`TaskBuilder::uses`](super::TaskBuilder::uses)). The
//! counting is the engine's (the same table as `flow`'s `Flow::resource` and the task file's
//! `uses`); this module only maps names to the engine's resources and refuses a use that could
//! never fit.

use crate::engine::ResourceId;

use super::Graph;
use super::hints::Resources;

impl Graph {
    /// Sets the capacity of the counted resource `name` (made on first use): the tasks running
    /// at one time never use more of it than `capacity` (ninja's pools, Snakemake's
    /// `resources`). A later call changes it; a larger capacity lets waiting tasks start.
    ///
    /// ```
    /// use parade::graph::Graph;
    /// # use std::sync::Arc;
    /// let g = Graph::with_executor(Arc::new(parade::exec::ThreadPool::new(4)));
    /// g.resource("gpu", 2);
    /// let runs: Vec<_> = (0..6).map(|i| g.task("train").uses("gpu", 1).submit(move || i)).collect();
    /// let total: i32 = runs.iter().map(|h| h.value().unwrap()).sum(); // never 3 at once
    /// assert_eq!(total, 15);
    /// ```
    pub fn resource(&self, name: &str, capacity: u32) {
        self.inner.engine.resource(name, capacity);
    }

    /// The engine's resources a task's hints use, or why the task could never start: a
    /// resource with no capacity, or more than its capacity.
    pub(crate) fn engine_uses(&self, hints: &Resources) -> Result<Vec<(ResourceId, u32)>, String> {
        if hints.uses.is_empty() {
            return Ok(Vec::new());
        }
        let engine = &self.inner.engine;
        hints
            .uses
            .iter()
            .map(|(name, amount)| {
                let Some(id) = engine.find_resource(name) else {
                    return Err(format!(
                        "uses resource \"{name}\", which has no capacity: give it one with \
                         Graph::resource(\"{name}\", N)"
                    ));
                };
                let capacity = engine.capacity(id);
                if *amount > capacity {
                    return Err(format!(
                        "uses {amount} of resource \"{name}\", whose capacity is {capacity}: it \
                         could never start"
                    ));
                }
                Ok((id, *amount))
            })
            .collect()
    }
}
