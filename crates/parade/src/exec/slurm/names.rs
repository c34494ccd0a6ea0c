//! Job identity: how a Slurm job is tied to its run and task, so a restarted run finds it
//! again, and only it.
//!
//! A job carries two marks. Its *name* ([`job_name`]) says which task of which run it is, and
//! is collision-free: two different keys never share a name (nor, therefore, the files named
//! after it). Its *identity* ([`job_identity`]) is a hash of everything that decides what the
//! job does (the command, its arguments, environment, directory and resources); it goes to
//! `sbatch --comment`, and a restarted run adopts a queued or running job only when both
//! match. The identity is computed here, in one function, so that it can later be the run
//! store's task key.

use sha2::{Digest, Sha256};

use crate::exec::CommandSpec;

/// The longest key part of a job name before it is shortened (and a hash keeps it unique).
const MAX_KEY_CHARS: usize = 96;

/// The Slurm job name of the task `key` of run `run_id`: `parade-<run_id>-<key>`, with the key
/// escaped so that no two keys share a name: ASCII letters, digits and `.` stay, every other
/// byte becomes `_xx` (its hex code). A key whose escaped form is long is cut and ends with
/// `_h` and a hash of the whole key.
///
/// ```
/// use parade::exec::slurm::job_name;
/// assert_eq!(job_name("nightly", "7"), "parade-nightly-7");
/// // Keys that a lossy sanitizer would have merged stay apart.
/// assert_eq!(job_name("r", "a::b"), "parade-r-a_3a_3ab");
/// assert_eq!(job_name("r", "a__b"), "parade-r-a_5f_5fb");
/// ```
pub fn job_name(run_id: &str, key: &str) -> String {
    format!("parade-{}-{}", sanitize(run_id), escape_key(key))
}

/// Whether `name` is the name of a job of run `run_id` (and not of a run whose id merely
/// starts with `run_id`): the key part of a job name never holds a `-`.
pub(crate) fn is_job_of_run(name: &str, run_id: &str) -> bool {
    name.strip_prefix(&format!("parade-{}-", sanitize(run_id)))
        .is_some_and(|key| !key.is_empty() && !key.contains('-'))
}

/// The identity of the job that runs task `key` as `spec`: a hash (hex) of the key and of
/// everything in `spec` that decides what the job does. Two jobs with one identity do the same
/// thing, which is what makes adopting a queued job after a restart safe.
///
/// ```
/// use parade::exec::CommandSpec;
/// use parade::exec::slurm::job_identity;
/// let one = CommandSpec::shell(&["sh", "-c"], "echo").env("V", "one");
/// let two = CommandSpec::shell(&["sh", "-c"], "echo").env("V", "two");
/// assert_eq!(job_identity("t", &one), job_identity("t", &one.clone()));
/// assert_ne!(job_identity("t", &one), job_identity("t", &two));
/// assert_ne!(job_identity("t", &one), job_identity("u", &one));
/// ```
pub fn job_identity(key: &str, spec: &CommandSpec) -> String {
    // serde_json writes the fields in declaration order, so the encoding is canonical; the
    // key is length-prefixed so that key and command cannot trade bytes.
    let encoded = serde_json::to_vec(spec).unwrap_or_default();
    let mut h = Sha256::new();
    h.update((key.len() as u64).to_le_bytes());
    h.update(key.as_bytes());
    h.update(&encoded);
    hex(&h.finalize()[..12])
}

/// The name of the job array whose first element is the job named `first`, of `len`
/// elements: `<first>_array<len>`. A key escaped by [`job_name`] never holds `_a`, so an array
/// never takes a task's name.
pub(crate) fn array_name(first: &str, len: usize) -> String {
    format!("{first}_array{len}")
}

/// The identity of a job array whose elements are the jobs `(name, identity)`, in order: a
/// hash of them all, so a restarted run adopts an array only when each element matches.
pub(crate) fn array_identity<'a>(elements: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut h = Sha256::new();
    for (name, identity) in elements {
        for part in [name, identity] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    hex(&h.finalize()[..12])
}

/// `key` escaped for a job name and a file name (injective; see [`job_name`]).
fn escape_key(key: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "_{b:02x}");
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    if out.len() > MAX_KEY_CHARS {
        let digest = Sha256::digest(key.as_bytes());
        // `_h` never occurs in a whole escape (`_` is always followed by two hex digits), so
        // a cut key never equals another key's whole escape.
        out.truncate(MAX_KEY_CHARS - 18);
        out.push_str("_h");
        out.push_str(&hex(&digest[..8]));
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
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
        assert_eq!(job_name("a b/c", "x:1"), "parade-a_b_c-x_3a1");
        assert_eq!(job_name("", "0"), "parade-_-0");
        assert_eq!(job_name("r", ""), "parade-r-_");
    }

    #[test]
    fn keys_never_share_a_name() {
        let keys = [
            "a::b", "a__b", "a_3a_3ab", "a b", "a_b", "a-b", "a.b", "é", "_c3_a9",
        ];
        let names: std::collections::HashSet<String> =
            keys.iter().map(|k| job_name("r", k)).collect();
        assert_eq!(names.len(), keys.len(), "{names:?}");
    }

    #[test]
    fn long_keys_are_cut_and_stay_apart() {
        let a = "x".repeat(300) + "a";
        let b = "x".repeat(300) + "b";
        let (na, nb) = (job_name("r", &a), job_name("r", &b));
        assert_ne!(na, nb);
        assert!(na.len() <= "parade-r-".len() + MAX_KEY_CHARS, "{na}");
    }

    #[test]
    fn a_run_owns_only_its_names() {
        assert!(is_job_of_run(&job_name("a", "b-c"), "a"));
        assert!(!is_job_of_run(&job_name("a-b", "c"), "a"));
        assert!(is_job_of_run(&job_name("a-b", "c"), "a-b"));
    }
}
