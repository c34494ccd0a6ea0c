//! Template jobs against parman 0.4.3's job directories (issue "fidelity to the seeds") and
//! the job-directory lock (issue "faults of real life"): `kwargs.sha256` relative to the job
//! directory (a moved tree, or one parman wrote, is reused), a deleted `kwargs.sha256`
//! recreated without a rerun, `jobenv.sh` and `PARMAN_WORKDIR`, one run at a time in a job
//! directory, and `jobs clean` leaving a running job alone; path-valued parameters written
//! relative to the job directory and path results made global ([`JobPath`]); the broken
//! states of a job directory (rows of parman's `Job.__call__` not covered in `template_job.rs`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parade::exec::slurm::{JobError, JobPath, TemplateJob, clean_jobs_report};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Serialize)]
struct Args {
    n: u32,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Out {
    n: u32,
}

/// A template whose `run` counts its runs, runs `body`, and writes `{"n": <n>}`.
fn template(root: &Path, body: &str) -> PathBuf {
    let t = root.join("template");
    std::fs::create_dir_all(&t).unwrap();
    let run = format!(
        "#!/bin/sh\necho run >> runs.txt\n{body}\nn=$(sed -n 's/.*\"n\": *\\([0-9]*\\).*/\\1/p' kwargs.json)\necho \"{{\\\"n\\\": $n}}\" > result.json\n"
    );
    std::fs::write(t.join("run"), run).unwrap();
    std::fs::set_permissions(t.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs.txt"))
        .unwrap_or_default()
        .lines()
        .count()
}

fn sha(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[test]
fn kwargs_sha256_lists_inputs_relative_to_the_job_dir_so_a_moved_tree_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let t = template(&a, "");
    std::fs::write(a.join("input.txt"), "data\n").unwrap();
    let job = TemplateJob::new(&t, a.join("results/one")).input(a.join("input.txt"));
    assert_eq!(job.run::<_, Out>(&Args { n: 1 }).unwrap(), Out { n: 1 });
    let hashes = std::fs::read_to_string(a.join("results/one/kwargs.sha256")).unwrap();
    assert_eq!(hashes, format!("{}  ../../input.txt\n", sha(b"data\n")));
    // The whole tree moves; the job is found finished where it now is.
    let b = tmp.path().join("b");
    std::fs::rename(&a, &b).unwrap();
    let moved =
        TemplateJob::new(b.join("template"), b.join("results/one")).input(b.join("input.txt"));
    assert_eq!(moved.run::<_, Out>(&Args { n: 1 }).unwrap(), Out { n: 1 });
    assert_eq!(runs(&b.join("results/one")), 1, "reused, not run again");
}

#[test]
fn a_results_tree_written_by_parman_is_reused_as_it_stands() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path(), "");
    std::fs::write(tmp.path().join("input.txt"), "x\n").unwrap();
    // What parman 0.4.3 leaves in results/sim: kwargs.json (indent 2, no newline at the end),
    // kwargs.sha256 relative to the job directory, the script's files, result.json.
    let dir = tmp.path().join("results/sim");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kwargs.json"), "{\n  \"n\": 4\n}").unwrap();
    std::fs::write(
        dir.join("kwargs.sha256"),
        format!("{}  ../../input.txt\n", sha(b"x\n")),
    )
    .unwrap();
    std::fs::write(dir.join("jobenv.sh"), "export PARMAN_WORKDIR=\"/old\"\n").unwrap();
    std::fs::write(dir.join("result.json"), "{\"n\": 4}").unwrap();
    let job = TemplateJob::new(&t, &dir).input(tmp.path().join("input.txt"));
    assert_eq!(job.run::<_, Out>(&Args { n: 4 }).unwrap(), Out { n: 4 });
    assert_eq!(runs(&dir), 0, "parman's finished job was reused");
    // A changed input is still caught, naming the file as parman writes it.
    std::fs::write(tmp.path().join("input.txt"), "y\n").unwrap();
    let err = job.run::<_, Out>(&Args { n: 4 }).unwrap_err();
    assert!(err.to_string().contains("../../input.txt changed"), "{err}");
}

#[test]
fn a_deleted_kwargs_sha256_is_recreated_on_reuse_without_a_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path(), "");
    std::fs::write(tmp.path().join("in.txt"), "1").unwrap();
    let dir = tmp.path().join("results/j");
    let job = TemplateJob::new(&t, &dir).input(tmp.path().join("in.txt"));
    job.run::<_, Out>(&Args { n: 2 }).unwrap();
    let written = std::fs::read_to_string(dir.join("kwargs.sha256")).unwrap();
    std::fs::remove_file(dir.join("kwargs.sha256")).unwrap();
    job.run::<_, Out>(&Args { n: 2 }).unwrap();
    assert_eq!(runs(&dir), 1);
    assert_eq!(
        std::fs::read_to_string(dir.join("kwargs.sha256")).unwrap(),
        written
    );
    // So the input check is on again.
    std::fs::write(tmp.path().join("in.txt"), "2").unwrap();
    assert!(matches!(
        job.run::<_, Out>(&Args { n: 2 }),
        Err(JobError::InputsChanged { .. })
    ));
}

#[test]
fn jobenv_sh_records_the_environment_and_the_script_sees_parman_workdir() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(
        tmp.path(),
        "printf '%s|%s|%s' \"$PARMAN_WORKDIR\" \"$PARADE_WORKDIR\" \"$TRICKY\" > seen.txt",
    );
    let dir = tmp.path().join("results/env");
    let tricky = "a \"b\" $(touch PWNED) `c` \\ d";
    let job = TemplateJob::new(&t, &dir).env("TRICKY", tricky);
    job.run::<_, Out>(&Args { n: 1 }).unwrap();
    let cwd = std::env::current_dir().unwrap().display().to_string();
    assert_eq!(
        std::fs::read_to_string(dir.join("seen.txt")).unwrap(),
        format!("{cwd}|{cwd}|{tricky}")
    );
    let env = std::fs::read_to_string(dir.join("jobenv.sh")).unwrap();
    assert!(
        env.starts_with(&format!("export PARMAN_WORKDIR=\"{cwd}\"\n")),
        "{env}"
    );
    // Sourcing jobenv.sh gives the values back as they were, and runs nothing.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(". ./jobenv.sh; printf %s \"$TRICKY\"")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), tricky);
    assert!(!dir.join("PWNED").exists());
    // A name the shell cannot take is refused before anything runs.
    let bad = TemplateJob::new(&t, tmp.path().join("results/bad")).env("A-B", "1");
    let err = bad.run::<_, Out>(&Args { n: 1 }).unwrap_err();
    assert!(matches!(err, JobError::BadEnvName { .. }), "{err}");
    assert_eq!(runs(&tmp.path().join("results/bad")), 0);
}

#[test]
fn two_runs_of_one_resumable_job_never_run_both_scripts_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    // A second script in the directory at the same time fails (mkdir is atomic).
    let t = template(
        tmp.path(),
        "mkdir inside || { echo two at once >&2; exit 9; }\nsleep 0.3\nrmdir inside",
    );
    let dir = tmp.path().join("results/shared");
    let job = TemplateJob::new(&t, &dir).can_resume(true);
    let first = {
        let job = job.clone();
        std::thread::spawn(move || job.run::<_, Out>(&Args { n: 5 }))
    };
    let second = {
        let job = job.clone();
        std::thread::spawn(move || job.run::<_, Out>(&Args { n: 5 }))
    };
    assert_eq!(first.join().unwrap().unwrap(), Out { n: 5 });
    assert_eq!(second.join().unwrap().unwrap(), Out { n: 5 });
    assert_eq!(
        runs(&dir),
        1,
        "the second run waited, then reused the first's result"
    );
}

#[test]
fn jobs_clean_skips_a_running_job_and_removes_a_dead_one() {
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    let t = template(
        tmp.path(),
        &format!("while [ ! -e '{}' ]; do sleep 0.05; done", go.display()),
    );
    let results = tmp.path().join("results");
    let dir = results.join("running");
    let job = TemplateJob::new(&t, &dir);
    let running = std::thread::spawn(move || job.run::<_, Out>(&Args { n: 3 }));
    let start = Instant::now();
    while runs(&dir) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A dead unfinished job beside it.
    let dead = results.join("dead");
    std::fs::create_dir_all(&dead).unwrap();
    std::fs::write(dead.join("kwargs.json"), "{}").unwrap();
    let cleaned = clean_jobs_report(&results, false).unwrap();
    assert_eq!(cleaned.running, std::slice::from_ref(&dir));
    assert_eq!(cleaned.removed, std::slice::from_ref(&dead));
    assert!(dir.join("kwargs.json").exists() && !dead.exists());
    std::fs::write(&go, "").unwrap();
    assert_eq!(running.join().unwrap().unwrap(), Out { n: 3 });
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn temp_dir_mode_keeps_only_the_listed_results_and_removes_the_temp_dir_on_success() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(
        tmp.path(),
        "mkdir -p out && echo data > out/a.txt && echo scratch > scratch.txt\nprintf '# kept\\nout\\n\\n' > result.extra",
    );
    std::fs::write(t.join("helper.sh"), "true\n").unwrap();
    let scratch = tmp.path().join("scratch");
    let dir = tmp.path().join("results/tmpjob");
    let job = TemplateJob::new(&t, &dir).temp_dir(&scratch);
    assert_eq!(job.run::<_, Out>(&Args { n: 8 }).unwrap(), Out { n: 8 });
    assert_eq!(
        names(&dir),
        [
            "kwargs.json",
            "kwargs.sha256",
            "out",
            "result.extra",
            "result.json",
            "run",
            "run.err",
            "run.out"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out/a.txt")).unwrap(),
        "data\n"
    );
    assert!(
        names(&scratch).is_empty(),
        "the temporary directory is gone"
    );
    // Reused from the job directory like any finished job.
    assert_eq!(job.run::<_, Out>(&Args { n: 8 }).unwrap(), Out { n: 8 });
}

#[test]
fn temp_dir_mode_keeps_the_temp_dir_on_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path(), "echo broken >&2; exit 4");
    let scratch = tmp.path().join("scratch");
    let dir = tmp.path().join("results/bad");
    let job = TemplateJob::new(&t, &dir).temp_dir(&scratch);
    let err = job.run::<_, Out>(&Args { n: 1 }).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("temporary directory") && msg.contains("is kept"),
        "{msg}"
    );
    assert!(msg.contains("broken"), "{msg}");
    assert_eq!(names(&dir), ["kwargs.sha256"]);
    let kept = names(&scratch);
    assert_eq!(kept.len(), 1);
    let work = scratch.join(&kept[0]).join("bad");
    assert!(work.join("run.err").exists() && work.join("jobenv.sh").exists());
}

#[derive(Serialize)]
struct PathArgs {
    data: JobPath,
    n: u32,
}

#[derive(Deserialize, Debug, PartialEq)]
struct PathOut {
    out: JobPath,
    extra: Vec<JobPath>,
}

/// A template that copies the `data` parameter (a path relative to the job directory, read
/// from kwargs.json) into `sample/copy.txt` and returns relative result paths.
fn path_template(root: &Path) -> PathBuf {
    let t = root.join("template");
    std::fs::create_dir_all(&t).unwrap();
    let run = "#!/bin/sh\necho run >> runs.txt\n\
        data=$(sed -n 's/.*\"data\": *\"\\([^\"]*\\)\".*/\\1/p' kwargs.json)\n\
        mkdir -p sample && cp \"$data\" sample/copy.txt\n\
        echo '{\"out\": \"sample/copy.txt\", \"extra\": [\"runs.txt\", \"/abs/elsewhere\"]}' > result.json\n";
    std::fs::write(t.join("run"), run).unwrap();
    std::fs::set_permissions(t.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

#[test]
fn path_parameters_are_written_relative_to_the_job_dir_and_path_results_are_made_global() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let t = path_template(&a);
    std::fs::write(a.join("input.txt"), "data\n").unwrap();
    let dir = a.join("results/one");
    let job = TemplateJob::new(&t, &dir);
    let args = PathArgs {
        data: JobPath::new(a.join("input.txt")),
        n: 1,
    };
    let out: PathOut = job.run(&args).unwrap();
    // kwargs.json names the file as parman's localize does; it is hashed as an input.
    let kwargs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kwargs.json")).unwrap()).unwrap();
    assert_eq!(
        kwargs,
        serde_json::json!({"data": "../../input.txt", "n": 1})
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("kwargs.sha256")).unwrap(),
        format!("{}  ../../input.txt\n", sha(b"data\n"))
    );
    // Result paths are global: `<job_dir>/<relpath>`; an absolute one stays as it is.
    assert_eq!(out.out.as_path(), dir.join("sample/copy.txt"));
    assert_eq!(std::fs::read_to_string(&out.out).unwrap(), "data\n");
    assert_eq!(
        out.extra,
        [
            JobPath::new(dir.join("runs.txt")),
            JobPath::new("/abs/elsewhere")
        ]
    );
    // The tree moves: the relative parameters still match, the job is reused, and its result
    // paths are where the tree now is.
    let b = tmp.path().join("b");
    std::fs::rename(&a, &b).unwrap();
    let moved = TemplateJob::new(b.join("template"), b.join("results/one"));
    let args = PathArgs {
        data: JobPath::new(b.join("input.txt")),
        n: 1,
    };
    let out: PathOut = moved.run(&args).unwrap();
    assert_eq!(runs(&b.join("results/one")), 1, "reused, not run again");
    assert_eq!(out.out.as_path(), b.join("results/one/sample/copy.txt"));
    // The path parameter is an input: changing the file is caught.
    std::fs::write(b.join("input.txt"), "other\n").unwrap();
    let err = moved.run::<_, PathOut>(&args).unwrap_err();
    assert!(matches!(err, JobError::InputsChanged { .. }), "{err}");
}

#[test]
fn a_tree_parman_wrote_with_path_parameters_and_results_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = path_template(tmp.path());
    std::fs::write(tmp.path().join("input.txt"), "x\n").unwrap();
    let dir = tmp.path().join("results/sim");
    std::fs::create_dir_all(dir.join("sample")).unwrap();
    std::fs::write(
        dir.join("kwargs.json"),
        "{\n  \"data\": \"../../input.txt\",\n  \"n\": 3\n}",
    )
    .unwrap();
    std::fs::write(
        dir.join("kwargs.sha256"),
        format!("{}  ../../input.txt\n", sha(b"x\n")),
    )
    .unwrap();
    std::fs::write(dir.join("sample/copy.txt"), "x\n").unwrap();
    std::fs::write(
        dir.join("result.json"),
        "{\"out\": \"sample/copy.txt\", \"extra\": []}",
    )
    .unwrap();
    let job = TemplateJob::new(&t, &dir);
    let args = PathArgs {
        data: JobPath::new(tmp.path().join("input.txt")),
        n: 3,
    };
    let out: PathOut = job.run(&args).unwrap();
    assert_eq!(runs(&dir), 0, "parman's finished job was reused");
    assert_eq!(out.out.as_path(), dir.join("sample/copy.txt"));
}

#[test]
fn broken_state_result_json_without_kwargs_json_is_an_error_and_runs_nothing() {
    // parman: ValueError("Found result.json in L while kwargs.json is absent.")
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path(), "");
    let dir = tmp.path().join("results/x");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("result.json"), "{\"n\": 1}").unwrap();
    let err = TemplateJob::new(&t, &dir)
        .run::<_, Out>(&Args { n: 1 })
        .unwrap_err();
    assert!(matches!(err, JobError::ResultWithoutKwargs { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("has result.json but no kwargs.json; remove the directory to run the job"),
        "{err}"
    );
    assert_eq!(runs(&dir), 0);
}

#[test]
fn broken_state_no_result_json_after_a_successful_script_is_an_error() {
    // parman: OSError("No result.json after completion of L")
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path(), "exit 0");
    let dir = tmp.path().join("results/x");
    let err = TemplateJob::new(&t, &dir)
        .run::<_, Out>(&Args { n: 1 })
        .unwrap_err();
    assert!(matches!(err, JobError::NoResult { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("no result.json after {} completed", dir.display())
    );
    // The job is now unfinished: a plain rerun is refused until resumed or cleaned.
    let err = TemplateJob::new(&t, &dir)
        .run::<_, Out>(&Args { n: 1 })
        .unwrap_err();
    assert!(matches!(err, JobError::Unfinished { .. }), "{err}");
}

#[test]
fn broken_state_nullified_kwargs_json_is_rewritten_and_the_results_kept() {
    // parman: "Rewriting nullified kwargs.json in L"; the old results are kept.
    let tmp = tempfile::tempdir().unwrap();
    let t = template(tmp.path(), "");
    let dir = tmp.path().join("results/x");
    let job = TemplateJob::new(&t, &dir);
    assert_eq!(job.run::<_, Out>(&Args { n: 1 }).unwrap(), Out { n: 1 });
    std::fs::write(dir.join("kwargs.json"), "null").unwrap();
    assert_eq!(
        job.run::<_, Out>(&Args { n: 2 }).unwrap(),
        Out { n: 1 },
        "the kept result"
    );
    assert_eq!(runs(&dir), 1);
    let kwargs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kwargs.json")).unwrap()).unwrap();
    assert_eq!(kwargs, serde_json::json!({"n": 2}));
}
