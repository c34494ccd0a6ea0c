//! A case the Slurm suites share on the fake (`slurm_faults`) and on the real cluster
//! (`slurm_cluster`): two jobs of one batch whose keys sanitize alike (`a::b`, `a__b`) each
//! keep their own job and files. It submits them and checks how each ended; what a suite
//! asserts of their files is its own. Included with `#[path]` by the suites that use it.

use parade::engine::{Outcome, Reason};
use parade::exec::CommandSpec;
use parade::exec::slurm::{JobEnd, SlurmBatch, SlurmExecutor};

/// Submits `a::b` (prints `colons`, exits 3) and `a__b` (prints `underscores`) in one batch on
/// `slurm`, waits, checks each ended its own way; their ends, in that order.
pub fn submit_colliding_keys(slurm: &SlurmExecutor) -> Vec<JobEnd> {
    let sh = |script: &str| CommandSpec::shell(&["sh", "-c"], script);
    let mut batch = SlurmBatch::new();
    batch.add("a::b", sh("echo colons; exit 3"), &[]);
    batch.add("a__b", sh("echo underscores"), &[]);
    let ends = batch.submit(slurm).wait();
    assert_eq!(ends[0].outcome, Outcome::Failed(Reason::Exit(3)));
    assert_eq!(ends[1].outcome, Outcome::Succeeded);
    ends
}
