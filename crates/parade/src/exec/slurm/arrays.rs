//! Job arrays for one job per task: which submissions share one (`shapes`: the same
//! resources, the same dependencies, both command or both worker jobs), how a dependency on
//! every element names the whole array (`whole_arrays`), and the array's submission
//! (`sbatch_array`): a script per element, a driver that runs the one of
//! `$SLURM_ARRAY_TASK_ID`, and a manifest naming each element's task so that a restarted run
//! finds its elements (`read_manifest`). The polling thread decides when to submit; this file
//! knows neither engines nor sinks.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::client::{CommandError, JobId, JobRef, Submitted};
use super::script::{JobFiles, array_script, element_script, element_script_path};
use super::shared::Shared;
use super::submit::{Submission, cwd_of, dependency_args};
use crate::exec::CommandSpec;

/// The most elements parade puts in one job array (Slurm's default `MaxArraySize` is 1001,
/// so indices 0 to 1000); a larger wave becomes several arrays.
pub const MAX_ARRAY: usize = 1000;

/// One element of a job array: its task's job name, identity, label and command.
pub(crate) struct Element<'a> {
    pub name: &'a str,
    pub identity: &'a str,
    pub label: &'a str,
    pub spec: &'a CommandSpec,
}

/// Submits `elements` (which share their resources) as one job array `name` of identity
/// `identity` (`sbatch --array=0-K`), held until `deps` succeeded: element `i` runs the
/// script of `elements[i]`, a file of its own. A manifest (`<name>.<identity>.elements`: a line
/// `<index> <job name> <identity>` per element) lets a restarted run find each element's
/// task ([`read_manifest`]). The array, or a message naming its tasks.
pub(crate) fn sbatch_array(
    shared: &Shared,
    (name, identity): (&str, &str),
    elements: &[Element<'_>],
    deps: &[JobRef],
) -> Result<Submitted, String> {
    let dir = &shared.work_dir;
    let label = || {
        let first = elements.first().map_or("", |e| e.label);
        format!(
            "the job array of {first} and {} more (job {name})",
            elements.len().saturating_sub(1)
        )
    };
    let mut manifest = String::new();
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        for (i, e) in (0u32..).zip(elements) {
            let script = element_script_path(dir, name, identity, i);
            std::fs::write(&script, element_script(e.spec, &cwd_of(e.spec), dir, name))?;
            let _ = writeln!(manifest, "{i} {} {}", e.name, e.identity);
        }
        std::fs::write(manifest_path(dir, name, identity), &manifest)?;
        let driver = dir.join(format!("{name}.{identity}.sh"));
        std::fs::write(&driver, array_script(dir, name, identity)).map(|()| driver)
    });
    let driver = written.map_err(|e| {
        format!(
            "cannot write the batch scripts of {} to {}: {e}",
            label(),
            dir.display()
        )
    })?;
    let (stdout, stderr) = JobFiles::array_output_patterns(dir, name);
    let mut args = shared.cfg.sbatch_args.clone();
    args.push(format!("--array=0-{}", elements.len().saturating_sub(1)));
    args.push(format!("--output={}", stdout.display()));
    args.push(format!("--error={}", stderr.display()));
    args.extend(dependency_args(deps));
    if let Some(first) = elements.first() {
        args.extend(first.spec.resources.sbatch_args());
    }
    shared
        .client
        .sbatch(name, identity, &args, &driver)
        .map_err(|e: CommandError| format!("sbatch refused {}: {}", label(), e.message))
}

/// Where the manifest of job array `name` of identity `identity` goes.
fn manifest_path(dir: &Path, name: &str, identity: &str) -> PathBuf {
    dir.join(format!("{name}.{identity}.elements"))
}

/// The elements of job array `name` of identity `identity` written by [`sbatch_array`]: by
/// index, the job name and identity of each element's task (empty when the manifest is
/// missing or unreadable).
pub(crate) fn read_manifest(dir: &Path, name: &str, identity: &str) -> Vec<(u32, String, String)> {
    let text = std::fs::read_to_string(manifest_path(dir, name, identity)).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let index = f.next()?.parse().ok()?;
            Some((index, f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect()
}

/// The submissions `todo` (with their indices) in groups of one shape, in the order of each
/// group's first member; with `arrays` off, one group each. Members of a group share their
/// resources and dependencies, so a group's dependencies all come before its first member.
pub(crate) fn shapes(
    todo: Vec<(usize, Submission)>,
    arrays: bool,
) -> Vec<Vec<(usize, Submission)>> {
    if !arrays {
        return todo.into_iter().map(|x| vec![x]).collect();
    }
    let mut groups: Vec<Vec<(usize, Submission)>> = Vec::new();
    let mut by_shape: HashMap<(Vec<String>, Vec<usize>, bool), usize> = HashMap::new();
    for (i, sub) in todo {
        let mut after = sub.after.clone();
        after.sort_unstable();
        after.dedup();
        let key = (sub.spec.resources.sbatch_args(), after, sub.adopt);
        match by_shape.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => groups[*e.get()].push((i, sub)),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(groups.len());
                groups.push(vec![(i, sub)]);
            }
        }
    }
    groups
}

/// `deps` without repeats, each array of `arrays` (submitted now, by size) all of whose
/// elements are in it named by its id alone (`afterok:<id>` waits for every element).
pub(crate) fn whole_arrays(mut deps: Vec<JobRef>, arrays: &HashMap<JobId, usize>) -> Vec<JobRef> {
    deps.sort_unstable();
    deps.dedup();
    let mut count: HashMap<JobId, usize> = HashMap::new();
    for d in deps.iter().filter(|d| d.element.is_some()) {
        *count.entry(d.job).or_default() += 1;
    }
    let mut out: Vec<JobRef> = Vec::with_capacity(deps.len());
    for d in deps {
        let all = d.element.is_some() && arrays.get(&d.job).is_some_and(|n| count[&d.job] == *n);
        let d = if all { JobRef::job(d.job) } else { d };
        if out.last() != Some(&d) {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ResourceHints;

    fn sub(name: &str, cpus: u32, after: &[usize]) -> Submission {
        let mut spec = CommandSpec::new("true", [""; 0]);
        spec.resources = ResourceHints {
            cpus: Some(cpus),
            ..ResourceHints::default()
        };
        Submission {
            name: name.to_owned(),
            identity: name.to_owned(),
            stale: Vec::new(),
            label: name.to_owned(),
            spec,
            after: after.to_vec(),
            sink: super::super::sink::Sink::Channel(crossbeam_channel::unbounded().0, 0),
            timeout: None,
            target: None,
            uses: Vec::new(),
            adopt: true,
        }
    }

    #[test]
    fn same_shapes_group_in_the_order_of_their_first_member() {
        let todo = vec![
            (0, sub("a", 1, &[])),
            (1, sub("b", 2, &[])),
            (2, sub("c", 1, &[])),
            (3, sub("d", 1, &[0])),
            (4, sub("e", 1, &[0])),
            (5, sub("f", 1, &[0, 0])),
        ];
        let names = |groups: Vec<Vec<(usize, Submission)>>| -> Vec<Vec<String>> {
            groups
                .into_iter()
                .map(|g| g.into_iter().map(|(_, s)| s.name).collect())
                .collect()
        };
        let again: Vec<(usize, Submission)> = todo
            .iter()
            .map(|(i, s)| (*i, sub(&s.name, s.spec.resources.cpus.unwrap(), &s.after)))
            .collect();
        assert_eq!(
            names(shapes(todo, true)),
            [vec!["a", "c"], vec!["b"], vec!["d", "e", "f"]]
        );
        assert_eq!(names(shapes(again, false)).len(), 6, "one group each");
    }

    #[test]
    fn a_dependency_on_every_element_names_the_array() {
        let arrays = HashMap::from([(7, 3), (9, 2)]);
        let deps = vec![
            JobRef::element(7, 2),
            JobRef::element(7, 0),
            JobRef::element(7, 1),
            JobRef::element(9, 1),
            JobRef::job(4),
            JobRef::element(7, 0),
            JobRef::element(5, 0),
        ];
        assert_eq!(
            whole_arrays(deps, &arrays),
            [
                JobRef::job(4),
                JobRef::element(5, 0),
                JobRef::job(7),
                JobRef::element(9, 1)
            ],
            "array 7 whole, 9 in part, 5 of an earlier submission by element"
        );
    }
}
