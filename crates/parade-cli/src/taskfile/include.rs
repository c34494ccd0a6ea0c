//! `include = ["ci.toml"]`: task files composed of others. An included file (relative to the
//! file that names it) adds its tasks, `[params]`, `[env]` and `[choices]`; what the including
//! file says itself wins. Its problems point into it. It may include further files; a file
//! included twice, or including itself, is an error.
//!
//! This module reads included files; checking them is [`super::validate`]'s.

use std::path::{Path, PathBuf};

use super::diagnostic::{Problem, SourceFile};
use super::model::RawFile;

/// One included file: where it is, its text, what serde read.
pub(crate) struct Included {
    pub(crate) source: SourceFile,
    pub(crate) raw: RawFile,
}

/// Reads the files `raw` includes (of the file `path`, text `source`), depth first; problems
/// (a missing file, bad TOML, `[settings]` in an included file, a cycle) go to `problems`.
pub(crate) fn read_includes(
    path: &Path,
    source: &SourceFile,
    raw: &RawFile,
    seen: &mut Vec<PathBuf>,
    out: &mut Vec<Included>,
    problems: &mut Vec<Problem>,
) {
    if seen.is_empty() {
        seen.push(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    for item in &raw.include {
        let rel = item.get_ref();
        let file = dir.join(rel);
        let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if seen.contains(&canonical) {
            problems.push(
                Problem::new(
                    source,
                    item.span(),
                    format!("\"{rel}\" is included already"),
                )
                .with_label("included twice")
                .with_help("a file is included once; includes may not loop"),
            );
            continue;
        }
        seen.push(canonical);
        let text = match super::read_limited(&file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(
                    Problem::new(source, item.span(), format!("cannot read \"{rel}\": {e}"))
                        .with_label("included here")
                        .with_help(format!("the path is relative to {}", display_dir(dir))),
                );
                continue;
            }
        };
        let inc_source = SourceFile {
            name: file.display().to_string(),
            text,
        };
        let inc: RawFile = match super::read::raw_file(&inc_source.text) {
            Ok(r) => r,
            Err(e) => {
                problems.push(super::validate::toml_problem(&inc_source, &e));
                continue;
            }
        };
        if let Some(at) = settings_table(&inc_source.text) {
            problems.push(
                Problem::new(
                    &inc_source,
                    at..at + "[settings]".len(),
                    "[settings] in an included file",
                )
                .with_label("not used")
                .with_help("settings belong to the file that includes the others"),
            );
        }
        read_includes(&file, &inc_source, &inc, seen, out, problems);
        out.push(Included {
            source: inc_source,
            raw: inc,
        });
    }
}

fn display_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() {
        "the current directory".to_owned()
    } else {
        dir.display().to_string()
    }
}

/// Where a `[settings]` table starts in TOML text, if it has one.
fn settings_table(text: &str) -> Option<usize> {
    let table: toml::Table = toml::from_str(text).ok()?;
    table.contains_key("settings").then(|| {
        text.find("[settings]")
            .or_else(|| text.find("settings"))
            .unwrap_or(0)
    })
}
