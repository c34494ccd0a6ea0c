//! Template jobs as graph tasks: parameters from handles, reuse across runs, and a job error
//! failing its task (and naming the root for its dependents).

#[path = "common/templates.rs"]
mod templates;

use templates::runs;

use std::path::{Path, PathBuf};

use parade::exec::slurm::TemplateJob;
use parade::graph::{Graph, GraphError};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Args {
    n: u64,
    label: String,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
struct Out {
    square: u64,
}

/// A template whose `run` counts its runs in `runs.txt` and writes `{"square": n * n}`.
fn template(root: &Path) -> PathBuf {
    let run = r#"#!/bin/sh
echo run >> runs.txt
n=$(sed -n 's/.*"n": *\([0-9]*\).*/\1/p' kwargs.json)
echo "{\"square\": $((n * n))}" > result.json
"#;
    templates::template_with(root, run)
}

fn workflow(g: &Graph, job: &TemplateJob, n: u64) -> parade::graph::Handle<u64> {
    let n = g.task("n").submit(move || n);
    let label = g.task("label").submit(|| "sq".to_owned());
    let out = g
        .task("square job")
        .submit_template(job, (&n, &label), |(n, label)| Args { n, label });
    g.task("plus one").submit_after(&out, |o: Out| o.square + 1)
}

#[test]
fn a_template_job_takes_its_parameters_from_handles_and_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let job = TemplateJob::new(template(tmp.path()), tmp.path().join("jobs/sq"));
    let g = Graph::new();
    assert_eq!(workflow(&g, &job, 7).value().unwrap(), 50);
    assert_eq!(runs(&job), 1);
    // Another run of the workflow with the same parameters reuses the result.
    let g = Graph::new();
    assert_eq!(workflow(&g, &job, 7).value().unwrap(), 50);
    assert_eq!(runs(&job), 1, "the finished job was reused");
}

#[test]
fn a_job_error_fails_its_task_and_dependents_name_it() {
    let tmp = tempfile::tempdir().unwrap();
    let job = TemplateJob::new(template(tmp.path()), tmp.path().join("jobs/sq"));
    let first: parade::graph::Handle<Out> =
        Graph::inline()
            .task("first")
            .submit_template(&job, (), |()| Args {
                n: 3,
                label: "sq".into(),
            });
    assert_eq!(first.value().unwrap(), Out { square: 9 });
    let g = Graph::inline();
    let end = workflow(&g, &job, 4);
    match end.value().unwrap_err() {
        GraphError::DepFailed { root, message, .. } => {
            assert_eq!(root.description.as_deref(), Some("square job"));
            assert!(
                message.contains("was run with other parameters"),
                "{message}"
            );
            assert!(message.contains("`n`: 3 -> 4"), "{message}");
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(runs(&job), 1);
}

#[test]
fn a_dry_run_runs_no_template_job() {
    let tmp = tempfile::tempdir().unwrap();
    let job = TemplateJob::new(template(tmp.path()), tmp.path().join("jobs/sq"));
    let g = Graph::dry_run();
    let n = g.task("n").mock(2_u64).submit(|| 2);
    let out = g
        .task("square job")
        .mock(Out { square: 4 })
        .submit_template(&job, &n, |n| Args {
            n,
            label: "x".into(),
        });
    assert_eq!(out.value().unwrap().square, 4);
    assert!(g.plan().check().is_ok());
    assert!(!job.dir().exists(), "a dry run made the job directory");
}
