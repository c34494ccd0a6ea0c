//! Finding a program on `PATH`, once per process: a thousand tasks do not each make libc try
//! every `PATH` entry with `execve`, and a caller can learn ahead of a spawn whether a name
//! resolves at all (the `parade` command runs a shell-free command only when it does).
//!
//! Owns: the lookup and its cache. Must not know: what runs the program. Hand-written: the
//! `which` crate walks the same directories but keeps no cache and reads the environment of
//! this process, not the child's.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use parking_lot::Mutex;

type Found = HashMap<(String, Option<OsString>), PathBuf>;

fn found() -> &'static Mutex<Found> {
    static FOUND: OnceLock<Mutex<Found>> = OnceLock::new();
    FOUND.get_or_init(Mutex::default)
}

/// The executable file `program` (a name without a slash) names on the `PATH` a child with
/// `env` added to this process's environment sees: the first match in its absolute
/// directories, remembered for the rest of the process. `None` when no absolute directory
/// before the first relative one holds it (a relative directory depends on the child's working
/// directory), when `program` has a slash, or when there is no `PATH`.
///
/// ```
/// use parade::exec::find_program;
/// let sh = find_program("sh", &[]).expect("sh is on PATH");
/// assert!(sh.is_absolute() && sh.ends_with("sh"));
/// assert_eq!(find_program("no-such-program-anywhere", &[]), None);
/// assert_eq!(find_program("./local", &[]), None);
/// ```
pub fn find_program(program: &str, env: &[(String, String)]) -> Option<PathBuf> {
    if program.contains('/') || program.is_empty() {
        return None;
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| OsString::from(v))
        .or_else(|| std::env::var_os("PATH"));
    let key = (program.to_owned(), path);
    if let Some(p) = found().lock().get(&key) {
        return Some(p.clone());
    }
    for dir in std::env::split_paths(key.1.as_ref()?) {
        if !dir.is_absolute() {
            return None;
        }
        let candidate = dir.join(program);
        let executable = std::fs::metadata(&candidate)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        if executable {
            found().lock().insert(key, candidate.clone());
            return Some(candidate);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::find_program;

    #[test]
    fn the_childs_path_decides() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("my-tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let env = [("PATH".to_owned(), dir.path().to_string_lossy().into_owned())];
        assert_eq!(find_program("my-tool", &env), None, "not executable");
        std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        assert_eq!(find_program("my-tool", &env), Some(tool));
        assert_eq!(find_program("my-tool", &[]), None, "not on this PATH");
        let relative = [("PATH".to_owned(), "bin:/usr/bin".to_owned())];
        assert_eq!(find_program("sh", &relative), None);
    }
}
