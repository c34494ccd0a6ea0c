//! [`SlurmBatch`]: a graph of commands handed to Slurm at once, each job held by Slurm with
//! `--dependency=afterok:…` until the jobs it needs have succeeded.

use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::unbounded;

use super::SlurmExecutor;
use super::names::{job_identity, job_name};
use super::sink::{JobEnd, Sink};
use super::submit::Submission;
use crate::engine::Outcome;
use crate::exec::CommandSpec;

/// A node of a [`SlurmBatch`], used to name what later nodes depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchNode(usize);

impl BatchNode {
    /// Its position in the batch (and in [`BatchRun::wait`]'s answer).
    pub fn index(self) -> usize {
        self.0
    }
}

struct Node {
    key: String,
    spec: CommandSpec,
    after: Vec<usize>,
    options: JobOptions,
}

/// How a job is identified and prepared, beyond its key and command.
///
/// ```
/// use parade::exec::slurm::JobOptions;
/// let opts = JobOptions {
///     identity: Some("5f1e".into()),
///     stale: vec!["/shared/out/result.json".into()],
///     uses: vec![("gpu".into(), 1)],
/// };
/// assert!(JobOptions::default().identity.is_none());
/// # drop(opts);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobOptions {
    /// The job's identity; `None` computes it from the key and the command
    /// ([`job_identity`]). Give one when the command holds values that change from run to run
    /// without changing what the job does (such as a per-run log path), so that a restarted
    /// run still adopts its job.
    pub identity: Option<String>,
    /// Files the command writes (such as a result file) that an earlier job may have left:
    /// they are removed when the job is submitted, and kept when a queued or running job of
    /// the same identity is adopted instead (after a restart), since they may already hold what
    /// that job wrote.
    pub stale: Vec<PathBuf>,
    /// Counted resources the job holds while it runs, by name: on pilots
    /// ([`SlurmConfig::pilots`](super::SlurmConfig::pilots)), it runs on a pilot that offers
    /// that much free ([`PilotConfig::uses`](super::PilotConfig::uses)), and fails at once when
    /// no pilot offers that much. A job of its own ignores them (Slurm does not know them).
    pub uses: Vec<(String, u32)>,
}

/// A whole graph of commands queued on Slurm in one go: every job is submitted at once, and
/// Slurm starts each one when the jobs it depends on have succeeded (`afterok`); when one
/// fails, Slurm cancels its dependents (`--kill-on-invalid-dep=yes`), which end as failed with
/// a reason that says so.
///
/// This is the way to let the cluster, not parade, release a chain. Tasks run through an
/// [`Engine`](crate::engine::Engine) on a [`SlurmExecutor`] are instead submitted one by one
/// as their inputs finish. Nodes can only depend on nodes added before them, so a batch has no
/// cycle.
///
/// ```no_run
/// use parade::exec::CommandSpec;
/// use parade::exec::slurm::{SlurmBatch, SlurmConfig, SlurmExecutor};
/// let slurm = SlurmExecutor::new(SlurmConfig::new("/shared/parade").run_id("chain"));
/// let sh = |s: &str| CommandSpec::shell(&["sh", "-c"], s);
/// let mut batch = SlurmBatch::new();
/// let fetch = batch.add("fetch", sh("echo fetched > data"), &[]);
/// let left = batch.add("left", sh("wc -c data"), &[fetch]);
/// let right = batch.add("right", sh("wc -l data"), &[fetch]);
/// batch.add("report", sh("echo done"), &[left, right]);
/// let ends = batch.submit(&slurm).wait();
/// assert!(ends.iter().all(|e| e.outcome == parade::engine::Outcome::Succeeded));
/// ```
#[derive(Default)]
pub struct SlurmBatch {
    nodes: Vec<Node>,
}

impl SlurmBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a command, named `key` within the run (its job is `parade-<run id>-<key>`, see
    /// [`job_name`]), that runs after every node of `after` succeeded.
    pub fn add(&mut self, key: &str, spec: CommandSpec, after: &[BatchNode]) -> BatchNode {
        self.add_with(key, spec, after, JobOptions::default())
    }

    /// [`add`](Self::add), with [`JobOptions`].
    pub fn add_with(
        &mut self,
        key: &str,
        spec: CommandSpec,
        after: &[BatchNode],
        options: JobOptions,
    ) -> BatchNode {
        let node = BatchNode(self.nodes.len());
        self.nodes.push(Node {
            key: key.to_owned(),
            spec,
            after: after.iter().map(|n| n.0).collect(),
            options,
        });
        node
    }

    /// How many nodes it has.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether it has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Submits every node to `slurm` (in the order they were added) and returns at once.
    pub fn submit(self, slurm: &SlurmExecutor) -> BatchRun {
        let (tx, rx) = unbounded();
        let n = self.nodes.len();
        let run_id = slurm.config().run_id.clone();
        let subs = self
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, node)| Submission {
                name: job_name(&run_id, &node.key),
                identity: node
                    .options
                    .identity
                    .unwrap_or_else(|| job_identity(&node.key, &node.spec)),
                stale: node.options.stale,
                uses: node.options.uses,
                label: format!("batch node `{}`", node.key),
                spec: node.spec,
                after: node.after,
                sink: Sink::Channel(tx.clone(), i),
                timeout: None,
                target: None,
                adopt: true,
            })
            .collect();
        slurm.submit(subs);
        BatchRun { rx, n }
    }
}

/// A submitted [`SlurmBatch`], to wait for.
pub struct BatchRun {
    rx: crossbeam_channel::Receiver<(usize, JobEnd)>,
    n: usize,
}

impl BatchRun {
    /// Waits until every node has ended; their ends in the order the nodes were added.
    pub fn wait(self) -> Vec<JobEnd> {
        let mut ends: Vec<Option<JobEnd>> = vec![None; self.n];
        for _ in 0..self.n {
            match self.rx.recv() {
                Ok((i, end)) => ends[i] = Some(end),
                Err(_) => break,
            }
        }
        ends.into_iter()
            .map(|e| {
                e.unwrap_or_else(|| JobEnd {
                    outcome: Outcome::failed(
                        "the Slurm polling thread stopped before the job ended",
                    ),
                    job: None,
                    files: None,
                    duration: Duration::ZERO,
                    adopted: false,
                    output: Vec::new(),
                })
            })
            .collect()
    }
}

impl SlurmExecutor {
    /// Submits one command as job `parade-<run id>-<key>` and waits until it ends, outside any
    /// engine (template jobs use it).
    pub fn run_one(&self, key: &str, spec: CommandSpec) -> JobEnd {
        self.run_one_with(key, spec, JobOptions::default())
    }

    /// [`run_one`](Self::run_one), with [`JobOptions`].
    pub fn run_one_with(&self, key: &str, spec: CommandSpec, options: JobOptions) -> JobEnd {
        let mut batch = SlurmBatch::new();
        batch.add_with(key, spec, &[], options);
        batch.submit(self).wait().remove(0)
    }
}
