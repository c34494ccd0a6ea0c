//! The parts of `parade`'s commands that are not running tasks: the commands that need no task
//! file (`init`, `completions`, `man`), the targets of `parade run` (the default task, aliases,
//! names too long to be names), and params whose value is a command's output.
//!
//! This module knows the command line and the checked task file; running is [`crate::runner`].

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::cli::Command;
use crate::runner::RunError;
use crate::taskfile::{MAX_NAME_LEN, TaskFile};

/// Runs a command that needs no task file; `None` for the others.
pub fn without_task_file(command: &Command) -> Option<ExitCode> {
    match command {
        Command::Init => Some(
            match std::env::current_dir()
                .map_err(|e| format!("no current directory: {e}"))
                .and_then(|dir| crate::init::write_starter(&dir))
            {
                Ok(path) => {
                    println!("wrote {}; try: parade list, parade run", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("parade: {e}");
                    ExitCode::from(2)
                }
            },
        ),
        Command::Completions(args) => {
            crate::manual::completions(args.shell, &mut std::io::stdout());
            Some(ExitCode::SUCCESS)
        }
        Command::Man => Some(match crate::manual::man(&mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("parade: cannot write the man page: {e}");
                ExitCode::from(1)
            }
        }),
        _ => None,
    }
}

/// The targets of `parade run`: as given, aliases replaced by their tasks; none given: the
/// file's `default`, else an error listing the tasks.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("parade.toml");
/// std::fs::write(&path, "[settings]\ndefault = \"b\"\n[task.build]\naliases = [\"b\"]\nrun = \"true\"\n").unwrap();
/// let file = parade_cli::taskfile::load(Some(&path)).unwrap();
/// assert_eq!(parade_cli::commands::targets(&file, &[]).unwrap(), ["build"]);
/// ```
pub fn targets(file: &TaskFile, given: &[String]) -> Result<Vec<String>, RunError> {
    if let Some(long) = given.iter().find(|t| t.len() > MAX_NAME_LEN) {
        return Err(RunError(format!(
            "a target of {} bytes; names are at most {MAX_NAME_LEN} bytes",
            long.len()
        )));
    }
    if given.is_empty() {
        return match &file.settings.default {
            Some(name) => Ok(vec![file.unalias(name).to_owned()]),
            None => Err(RunError(format!(
                "no task named and no `default` in [settings]; tasks: {}",
                file.tasks
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        };
    }
    Ok(given.iter().map(|t| file.unalias(t).to_owned()).collect())
}

/// Runs the commands of params whose value is a command's output (`{ run = "..." }`), once,
/// in the task file's directory, with the file's shell; a param set with `--param` is not run.
/// Its value is the output without the trailing newline.
pub fn command_params(
    file: &TaskFile,
    overridden: &[(String, String)],
    params: &mut BTreeMap<String, String>,
) -> Result<(), RunError> {
    for (key, command) in &file.param_commands {
        if overridden.iter().any(|(k, _)| k == key) {
            continue;
        }
        let shell = &file.settings.shell;
        let out = std::process::Command::new(&shell[0])
            .args(&shell[1..])
            .arg(command)
            .current_dir(file.dir())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| RunError(format!("param `{key}`: cannot start {}: {e}", shell[0])))?;
        if !out.status.success() {
            return Err(RunError(format!(
                "param `{key}`: `{command}` failed ({})",
                out.status
            )));
        }
        let text = String::from_utf8(out.stdout).map_err(|_| {
            RunError(format!(
                "param `{key}`: `{command}` printed non-UTF-8 output"
            ))
        })?;
        if text.contains('\0') {
            return Err(RunError(format!(
                "param `{key}`: `{command}` printed a NUL byte"
            )));
        }
        params.insert(key.clone(), text.trim_end_matches(['\n', '\r']).to_owned());
    }
    Ok(())
}
