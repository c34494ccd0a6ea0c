//! [`PilotConfig`]: how many pilot jobs to submit and what each one reserves.

use std::path::PathBuf;

use crate::exec::ResourceHints;

/// Pilot jobs for a [`SlurmExecutor`](crate::exec::slurm::SlurmExecutor): `count` long-lived
/// Slurm jobs, each reserving `resources`, that connect back to the parent and run the tasks
/// it hands them until the run ends. A task goes to a pilot with enough of its resources free
/// (CPUs, memory, counted `--gres` resources, the counted resources it
/// [`uses`](PilotConfig::uses)); a task asking for more than one pilot has fails at once,
/// saying so.
///
/// The pilot program (by default this program, with its own arguments, as for workers) must
/// call [`parade::worker_entry`](crate::worker_entry) (or
/// [`pilot_entry`](crate::exec::slurm::pilot_entry)) at the top of `main`.
///
/// ```
/// use parade::exec::ResourceHints;
/// use parade::exec::slurm::{PilotConfig, SlurmConfig};
/// let pilots = PilotConfig::new(3).resources(ResourceHints {
///     cpus: Some(4),
///     mem: Some("8G".into()),
///     time: Some("1:00:00".into()),
///     ..ResourceHints::default()
/// });
/// let cfg = SlurmConfig::new("/shared/run").pilots(pilots);
/// assert_eq!(cfg.pilots.as_ref().unwrap().count, 3);
/// ```
#[derive(Clone, Debug)]
pub struct PilotConfig {
    /// How many pilot jobs run at once.
    pub count: usize,
    /// What each pilot job reserves (`sbatch` options), and so what tasks it can run at once.
    /// No `cpus` means one CPU; no `mem` means memory is not counted.
    pub resources: ResourceHints,
    /// The program a pilot job runs, with its arguments; `None` runs
    /// [`SlurmConfig::worker_program`](crate::exec::slurm::SlurmConfig::worker_program), else
    /// this program with its own arguments.
    pub program: Option<(PathBuf, Vec<String>)>,
    /// How many pilots may be submitted in place of pilots that went away, over the run.
    pub replacements: usize,
    /// Counted resources each pilot offers (such as licences, or GPUs named without `--gres`),
    /// by name: the tasks running on one pilot never use more of one than it offers (a task's
    /// uses: [`JobOptions::uses`](crate::exec::slurm::JobOptions::uses)). A name also given
    /// as `--gres` in [`resources`](PilotConfig::resources) counts once, the larger amount.
    pub uses: std::collections::BTreeMap<String, u32>,
}

impl PilotConfig {
    /// `count` pilots (at least one) of one CPU each, up to `2 × count` replacements.
    pub fn new(count: usize) -> Self {
        let count = count.max(1);
        Self {
            count,
            resources: ResourceHints::default(),
            program: None,
            replacements: 2 * count,
            uses: std::collections::BTreeMap::new(),
        }
    }

    /// Offers `amount` of the counted resource `name` on each pilot (see
    /// [`uses`](PilotConfig::uses)).
    ///
    /// ```
    /// let p = parade::exec::slurm::PilotConfig::new(2).uses("gpu", 2);
    /// assert_eq!(p.uses["gpu"], 2);
    /// ```
    pub fn uses(mut self, name: impl Into<String>, amount: u32) -> Self {
        self.uses.insert(name.into(), amount);
        self
    }

    /// Sets what each pilot reserves.
    pub fn resources(mut self, resources: ResourceHints) -> Self {
        self.resources = resources;
        self
    }

    /// Runs `program` with `args` as the pilot.
    pub fn program(mut self, program: impl Into<PathBuf>, args: Vec<String>) -> Self {
        self.program = Some((program.into(), args));
        self
    }

    /// Sets how many replacement pilots may be submitted over the run.
    pub fn replacements(mut self, n: usize) -> Self {
        self.replacements = n;
        self
    }
}
