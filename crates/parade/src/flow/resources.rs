//! Counted resources of a flow: capacities by name ([`Flow::resource`]) and the check that what
//! a proc uses ([`Define::uses`](super::Define::uses)) names a resource with room for it. The
//! counting itself is the engine's: a flow only maps names to its engine's resources.

use super::{Flow, FlowError};

impl Flow {
    /// Sets the capacity of the counted resource `name` (made on first use): the procs running
    /// at one time never use more of it than `capacity`. A later call changes it; a larger
    /// capacity lets waiting procs start. Resource names are separate from lock names.
    ///
    /// ```
    /// use parade::flow::Flow;
    /// let flow = Flow::inline();
    /// flow.resource("licence", 1);
    /// flow.proc("solve", |_| Ok(())).uses("licence", 1).add().unwrap();
    /// flow.run("solve").unwrap();
    /// flow.wait_all().unwrap();
    /// ```
    pub fn resource(&self, name: &str, capacity: u32) {
        self.engine().resource(name, capacity);
    }

    /// Every use names a resource with a capacity, and fits in it.
    pub(crate) fn check_uses(&self, proc: &str, uses: &[(String, u32)]) -> Result<(), FlowError> {
        let engine = self.engine();
        for (resource, amount) in uses {
            let Some(id) = engine.find_resource(resource) else {
                return Err(FlowError::UnknownResource {
                    proc: proc.to_owned(),
                    resource: resource.clone(),
                });
            };
            let capacity = engine.capacity(id);
            if *amount > capacity {
                return Err(FlowError::OverCapacity {
                    proc: proc.to_owned(),
                    resource: resource.clone(),
                    amount: *amount,
                    capacity,
                });
            }
        }
        Ok(())
    }
}
