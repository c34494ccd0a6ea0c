//! Template directories for the template-job suites (`template_job`, `graph_template`): a
//! `template/` whose executable `run` is the script a suite gives, and how many times a job
//! ran it (each script appends a line to `runs.txt` in the job's directory). It knows nothing
//! of what a script computes. Included with `#[path]` by the suites that use it.

#![allow(dead_code)] // each suite uses part of it

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use parade::exec::slurm::TemplateJob;

/// Makes `root/template` with `run` holding `script` (executable); returns the directory.
pub fn template_with(root: &Path, script: &str) -> PathBuf {
    let t = root.join("template");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("run"), script).unwrap();
    std::fs::set_permissions(t.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// How many times `job` ran its template (the lines of `runs.txt` in its directory).
pub fn runs(job: &TemplateJob) -> usize {
    std::fs::read_to_string(job.dir().join("runs.txt"))
        .unwrap_or_default()
        .lines()
        .count()
}
