//! Template jobs run locally: reuse, mismatch errors, failures, resume and clean.

#[path = "common/templates.rs"]
mod templates;

use templates::runs;

use std::path::{Path, PathBuf};

use parade::exec::slurm::{JobError, TemplateJob, clean_jobs};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Args {
    n: u32,
    data: PathBuf,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Out {
    lines: u32,
    n: u32,
}

/// A template whose `run` counts its runs in `runs.txt`, fails if `FAIL` is set, and writes
/// `{"lines": <lines of data>, "n": <n>}`.
fn template(root: &Path) -> PathBuf {
    let run = r#"#!/bin/sh
echo run >> runs.txt
if [ -n "$FAIL" ]; then echo "broken on purpose" >&2; exit 3; fi
data=$(sed -n 's/.*"data": *"\([^"]*\)".*/\1/p' kwargs.json)
n=$(sed -n 's/.*"n": *\([0-9]*\).*/\1/p' kwargs.json)
echo "{\"lines\": $(wc -l < "$data"), \"n\": $n}" > result.json
"#;
    templates::template_with(root, run)
}

#[test]
fn a_finished_job_is_reused_and_mismatches_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data.txt");
    std::fs::write(&data, "a\nb\n").unwrap();
    let job = TemplateJob::new(template(tmp.path()), tmp.path().join("results/one")).input(&data);
    let args = Args {
        n: 1,
        data: data.clone(),
    };
    assert_eq!(job.run::<_, Out>(&args).unwrap(), Out { lines: 2, n: 1 });
    assert_eq!(job.run::<_, Out>(&args).unwrap(), Out { lines: 2, n: 1 });
    assert_eq!(runs(&job), 1, "the second call reused the result");

    let err = job
        .run::<_, Out>(&Args {
            n: 2,
            data: data.clone(),
        })
        .unwrap_err();
    assert!(matches!(err, JobError::KwargsChanged { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("`n`: 1 -> 2") && msg.contains("write `null`"),
        "{msg}"
    );
    assert!(job.dir().join("kwargs-new.json").exists());

    std::fs::write(&data, "a\nb\nc\n").unwrap();
    let err = job.run::<_, Out>(&args).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, JobError::InputsChanged { .. }), "{msg}");
    assert!(
        msg.contains("data.txt changed") && msg.contains("delete its kwargs.sha256"),
        "{msg}"
    );

    // Accepting the new inputs keeps the old result.
    std::fs::remove_file(job.dir().join("kwargs.sha256")).unwrap();
    std::fs::write(job.dir().join("kwargs.json"), "null").unwrap();
    assert_eq!(job.run::<_, Out>(&args).unwrap(), Out { lines: 2, n: 1 });
    assert_eq!(runs(&job), 1);
}

#[test]
fn a_failed_job_is_an_error_until_resumed_or_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data.txt");
    std::fs::write(&data, "x\n").unwrap();
    let t = template(tmp.path());
    let dir = tmp.path().join("results/two");
    let args = Args { n: 5, data };
    let failing = TemplateJob::new(&t, &dir).env("FAIL", "1");
    let err = failing.run::<_, Out>(&args).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, JobError::Failed { .. }), "{msg}");
    assert!(msg.contains("broken on purpose"), "{msg}");

    let plain = TemplateJob::new(&t, &dir);
    let err = plain.run::<_, Out>(&args).unwrap_err();
    assert!(matches!(err, JobError::Unfinished { .. }), "{err}");
    assert!(err.to_string().contains("parade jobs clean"));

    assert_eq!(
        clean_jobs(tmp.path(), true).unwrap(),
        std::slice::from_ref(&dir)
    );
    assert!(dir.exists(), "a dry run removes nothing");
    let resumed = plain.clone().can_resume(true);
    assert_eq!(
        resumed.run::<_, Out>(&args).unwrap(),
        Out { lines: 1, n: 5 }
    );
    assert!(clean_jobs(tmp.path(), false).unwrap().is_empty());
}
