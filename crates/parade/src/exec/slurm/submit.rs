//! Submission: one job handed to `sbatch` ([`Submission`]), its batch script written to the
//! work directory first ([`sbatch`]), and Slurm's time limits read ([`parse_slurm_time`]).
//! Job arrays are submitted in `arrays`, with the same options.
//! The polling thread and the pilot pool both submit through here.

use std::path::PathBuf;
use std::time::Duration;

use super::client::{CommandError, JobRef, Submitted};
use super::script::{JobFiles, batch_script};
use super::shared::Shared;
use super::sink::Sink;
use crate::engine::TaskId;
use crate::exec::CommandSpec;

/// Which engine task a job runs: the engine's key and the task's id.
pub(crate) type Target = (usize, TaskId);

/// One job to submit.
pub(crate) struct Submission {
    /// The Slurm job name (also names its files).
    pub name: String,
    /// What the job does, as a hash ([`job_identity`]): a job left by an earlier run is
    /// adopted only when its identity is this one.
    pub identity: String,
    /// Files the job writes that must not be found from an earlier job: removed when the job is
    /// submitted, kept when a running job is adopted (they may hold what it wrote already).
    pub stale: Vec<PathBuf>,
    /// How messages name it, e.g. `task #3`.
    pub label: String,
    pub spec: CommandSpec,
    /// Earlier submissions of the same message that must succeed first (`afterok`).
    pub after: Vec<usize>,
    pub sink: Sink,
    pub timeout: Option<Duration>,
    pub target: Option<Target>,
    /// Counted resources it holds while it runs (matched to what pilots offer; Slurm jobs of
    /// their own ignore them).
    pub uses: Vec<(String, u32)>,
    /// Whether a queued or running job of the same name left by an earlier run may stand for
    /// it (a command job: yes; a worker job: no, its worker talks to a socket that is gone).
    pub adopt: bool,
}

/// Writes the batch script of `spec` for job `name` (of identity `identity`; `label` names it
/// in messages) and submits it, held until `deps` succeeded; the job, or a message naming the
/// task.
pub(crate) fn sbatch(
    shared: &Shared,
    (name, identity, label): (&str, &str, &str),
    spec: &CommandSpec,
    deps: &[JobRef],
) -> Result<Submitted, String> {
    let dir = &shared.work_dir;
    // Named after the identity too: two runs submitting jobs of one name at once never
    // write each other's script.
    let script = dir.join(format!("{name}.{identity}.sh"));
    let prepared = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&script, batch_script(spec, &cwd_of(spec), dir, name)));
    if let Err(e) = prepared {
        return Err(format!(
            "cannot write the batch script of {label} to {}: {e}",
            script.display()
        ));
    }
    let (stdout, stderr) = JobFiles::output_patterns(dir, name);
    let mut args = shared.cfg.sbatch_args.clone();
    args.push(format!("--output={}", stdout.display()));
    args.push(format!("--error={}", stderr.display()));
    args.extend(dependency_args(deps));
    args.extend(spec.resources.sbatch_args());
    shared
        .client
        .sbatch(name, identity, &args, &script)
        .map_err(|e: CommandError| format!("sbatch refused {label} (job {name}): {}", e.message))
}

/// The directory a command runs in: its own, made absolute, or this process's.
pub(crate) fn cwd_of(spec: &CommandSpec) -> PathBuf {
    match &spec.cwd {
        Some(dir) => super::config::absolute(dir),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
    }
}

/// The `sbatch` options holding a job until `deps` succeeded (none without deps): an element
/// of an array is named `<id>_<index>`, a whole array by its id.
pub(crate) fn dependency_args(deps: &[JobRef]) -> Vec<String> {
    if deps.is_empty() {
        return Vec::new();
    }
    let ids: Vec<String> = deps.iter().map(ToString::to_string).collect();
    vec![
        format!("--dependency=afterok:{}", ids.join(":")),
        "--kill-on-invalid-dep=yes".to_owned(),
    ]
}

/// A Slurm time limit (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) as a duration.
///
/// ```
/// use std::time::Duration;
/// use parade::exec::slurm::parse_slurm_time;
/// assert_eq!(parse_slurm_time("30"), Some(Duration::from_secs(30 * 60)));
/// assert_eq!(parse_slurm_time("1:30"), Some(Duration::from_secs(90)));
/// assert_eq!(parse_slurm_time("1:00:00"), Some(Duration::from_secs(3600)));
/// assert_eq!(parse_slurm_time("2-1"), Some(Duration::from_secs(49 * 3600)));
/// assert_eq!(parse_slurm_time("soon"), None);
/// ```
pub fn parse_slurm_time(s: &str) -> Option<Duration> {
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (d.trim().parse::<u64>().ok()?, r),
        None => (0, s),
    };
    let parts: Vec<u64> = rest
        .split(':')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    let secs = match (s.contains('-'), parts.as_slice()) {
        (false, [m]) => m * 60,
        (false, [m, sec]) => m * 60 + sec,
        (_, [h, m, sec]) => h * 3600 + m * 60 + sec,
        (true, [h]) => h * 3600,
        (true, [h, m]) => h * 3600 + m * 60,
        _ => return None,
    };
    Some(Duration::from_secs(days * 86_400 + secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_name_elements_and_whole_arrays() {
        assert!(dependency_args(&[]).is_empty());
        assert_eq!(
            dependency_args(&[JobRef::job(4), JobRef::element(5, 2)]),
            ["--dependency=afterok:4:5_2", "--kill-on-invalid-dep=yes"]
        );
    }
}
