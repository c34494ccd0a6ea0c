//! [`JobPath`]: a file path in a template job's parameters or result, which the job directory
//! makes local or global the way parman's clerks do.
//!
//! parman knows a path from its type (`pathlib.Path` leaves); serde knows only strings, so the
//! parameters and results of a [`TemplateJob`](super::TemplateJob) mark their paths with this
//! type. While a job writes its parameters, a `JobPath` serializes as the path relative to the
//! job directory (`../../input.txt`, parman's `localize`) and counts as an input file: it is
//! hashed into `kwargs.sha256`. While the job reads its `result.json`, a relative `JobPath`
//! becomes `<job_dir>/<relpath>` (parman's `globalize`). Outside a job, it is a plain path.
//!
//! The job directory reaches the serializer through a thread-local set for the duration of one
//! `serde_json` call (serde has no other way to hand context to a `Serialize` impl); this file
//! owns that and nothing else.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::config::absolute;
use super::jobdir;

/// A path in a template job's parameters or result: written relative to the job directory
/// in `kwargs.json` (and hashed as an input), read back from `result.json` as
/// `<job_dir>/<relpath>`; outside a job, a plain path.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use parade::exec::slurm::{JobPath, TemplateJob};
/// # use std::os::unix::fs::PermissionsExt;
/// let tmp = tempfile::tempdir()?;
/// let template = tmp.path().join("count");
/// std::fs::create_dir(&template)?;
/// // kwargs.json holds {"text": "../../words.txt"}; the script writes a relative result path.
/// std::fs::write(template.join("run"), "#!/bin/sh\n\
///     grep -q '\"../../words.txt\"' kwargs.json || exit 1\n\
///     wc -w < ../../words.txt > count.txt\n\
///     echo '{\"count\": \"count.txt\"}' > result.json\n")?;
/// std::fs::set_permissions(template.join("run"), std::fs::Permissions::from_mode(0o755))?;
/// std::fs::write(tmp.path().join("words.txt"), "a b c")?;
///
/// #[derive(serde::Serialize)] struct Args { text: JobPath }
/// #[derive(serde::Deserialize)] struct Out { count: JobPath }
/// let job = TemplateJob::new(&template, tmp.path().join("results/count"));
/// let out: Out = job.run(&Args { text: tmp.path().join("words.txt").into() })?;
/// assert_eq!(out.count.as_path(), tmp.path().join("results/count/count.txt"));
/// assert_eq!(std::fs::read_to_string(out.count)?.trim(), "3");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobPath(PathBuf);

impl JobPath {
    /// The path.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    /// The path, borrowed.
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// The path.
    pub fn into_path_buf(self) -> PathBuf {
        self.0
    }
}

impl From<PathBuf> for JobPath {
    fn from(p: PathBuf) -> Self {
        Self(p)
    }
}

impl From<&Path> for JobPath {
    fn from(p: &Path) -> Self {
        Self(p.to_owned())
    }
}

impl From<&str> for JobPath {
    fn from(p: &str) -> Self {
        Self(PathBuf::from(p))
    }
}

impl AsRef<Path> for JobPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl std::ops::Deref for JobPath {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

/// The job directory of the `serde_json` call in progress on this thread, and the paths its
/// parameters named so far.
struct Job {
    dir: PathBuf,
    named: Vec<PathBuf>,
}

thread_local! {
    static JOB: RefCell<Option<Job>> = const { RefCell::new(None) };
}

/// Puts the previous context back when dropped (also when `f` panics).
struct Restore(Option<Job>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        JOB.with(|j| *j.borrow_mut() = previous);
    }
}

/// Runs `f` (one serialization or deserialization) with `dir` as the job directory; returns
/// its value and the absolute paths of the `JobPath`s serialized meanwhile.
pub(crate) fn in_job_dir<T>(dir: &Path, f: impl FnOnce() -> T) -> (T, Vec<PathBuf>) {
    let job = Job {
        dir: dir.to_owned(),
        named: Vec::new(),
    };
    let restore = Restore(JOB.with(|j| j.borrow_mut().replace(job)));
    let value = f();
    let named = JOB
        .with(|j| j.borrow_mut().take())
        .map(|j| j.named)
        .unwrap_or_default();
    drop(restore);
    (value, named)
}

impl Serialize for JobPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let local = JOB.with(|j| {
            j.borrow_mut().as_mut().map(|job| {
                let abs = absolute(&self.0);
                let rel = jobdir::relative(&abs, &job.dir);
                job.named.push(abs);
                rel
            })
        });
        let path = local.as_deref().unwrap_or(&self.0);
        match path.to_str() {
            Some(text) => s.serialize_str(text),
            None => Err(serde::ser::Error::custom(format!(
                "the path {} is not UTF-8",
                path.display()
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for JobPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let path = PathBuf::from(String::deserialize(d)?);
        let global = JOB.with(|j| {
            j.borrow()
                .as_ref()
                .filter(|_| path.is_relative())
                .map(|job| job.dir.join(&path))
        });
        Ok(Self(global.unwrap_or(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Args {
        data: JobPath,
        n: u32,
    }

    #[test]
    fn inside_a_job_paths_are_local_then_global_and_plain_outside() {
        let args = Args {
            data: JobPath::new("/r/input.txt"),
            n: 1,
        };
        let (v, named) = in_job_dir(Path::new("/r/results/a"), || {
            serde_json::to_value(&args).unwrap()
        });
        assert_eq!(v["data"], "../../input.txt");
        assert_eq!(named, [PathBuf::from("/r/input.txt")]);
        assert_eq!(serde_json::to_value(&args).unwrap()["data"], "/r/input.txt");
        let (back, _) = in_job_dir(Path::new("/r/results/a"), || {
            serde_json::from_str::<Args>(r#"{"data": "out/x.txt", "n": 2}"#).unwrap()
        });
        assert_eq!(back.data.as_path(), Path::new("/r/results/a/out/x.txt"));
        let plain: Args = serde_json::from_str(r#"{"data": "out/x.txt", "n": 2}"#).unwrap();
        assert_eq!(plain.data.as_path(), Path::new("out/x.txt"));
    }

    #[test]
    fn the_context_ends_with_the_call_even_when_it_panics() {
        let r = std::panic::catch_unwind(|| in_job_dir(Path::new("/j"), || panic!("in serde")));
        assert!(r.is_err());
        assert_eq!(serde_json::to_value(JobPath::new("/a/b")).unwrap(), "/a/b");
    }
}
