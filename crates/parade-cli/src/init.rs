//! `parade init`: a commented starter `parade.toml` that runs as written and shows the keys a
//! new user reaches for first. It never writes over a file that exists.
//!
//! This module knows the starter text and where it goes; the format itself is
//! `docs/taskfile.md`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::taskfile::FILE_NAME;

/// The starter task file.
pub const STARTER: &str = r#"# parade.toml: tasks run in parallel as soon as what they need has succeeded.
# The format: docs/taskfile.md. Try: parade list, parade run, parade run test -- -v
[settings]
default = "test"                 # what `parade run` runs when no task is named
# parallel = 4                   # most tasks at once (default: one per CPU)
# shell = ["bash", "-e", "-o", "pipefail", "-c"]   # default: sh -e -c (stops at the first failure)
# retries = 0                    # how many times a failed task runs again
# dotenv = ".env"                # variables read from this file when it exists

[params]
greeting = "hello"               # {params.greeting} in commands; --param greeting=hi overrides

[env]
# PATH = "bin:${PATH}"           # every task's environment; values may use ${VAR}

[task.build]
description = "Build the project"
run = """
echo "{params.greeting} from $PARADE_TASK"
mkdir -p out
date > out/built.txt
"""

[task.test]
description = "Test what was built (arguments after -- are \"$@\")"
deps = ["build"]
aliases = ["t"]
run = 'test -s out/built.txt && echo "tests passed" "$@"'

[task."deploy::[env]"]
description = "Deploy to one environment: parade run deploy::dev, or deploy::* for all"
choices = { env = ["dev", "prod"] }
deps = ["test"]
run = "echo deploying to {env}"
"#;

/// Writes [`STARTER`] to `dir/parade.toml`; returns its path. Refuses when the file exists.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = parade_cli::init::write_starter(dir.path()).unwrap();
/// assert!(parade_cli::taskfile::load(Some(&path)).is_ok());
/// assert!(parade_cli::init::write_starter(dir.path()).is_err());
/// ```
pub fn write_starter(dir: &Path) -> Result<PathBuf, String> {
    let path = dir.join(FILE_NAME);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!("{} exists; not writing over it", path.display())
            } else {
                format!("cannot create {}: {e}", path.display())
            }
        })?;
    file.write_all(STARTER.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
