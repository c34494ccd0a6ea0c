//! Job names: how a Slurm job is tied to its run and task, so a restarted run finds it again.

/// The Slurm job name of task number `index` of run `run_id`: `parade-<run_id>-<index>`.
///
/// ```
/// assert_eq!(parade::exec::slurm::job_name("nightly", "7"), "parade-nightly-7");
/// ```
pub fn job_name(run_id: &str, key: &str) -> String {
    format!("parade-{}-{}", sanitize(run_id), sanitize(key))
}

/// `s` with every character other than ASCII letters, digits, `-`, `_` and `.` replaced by `_`,
/// so it is safe in a job name and a file name.
pub(crate) fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() { "_".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe() {
        assert_eq!(job_name("a b/c", "x:1"), "parade-a_b_c-x_1");
        assert_eq!(job_name("", "0"), "parade-_-0");
    }
}
