//! Shell-free simple commands, as GNU make runs them: a task whose `run` is only words of
//! characters no shell treats specially, whose first word is a program on `PATH` (not a
//! builtin, keyword or assignment), runs that program directly, without `sh` in between. What
//! the program sees is what `sh -e -c` would have given it: the same arguments, the same
//! environment (with `PWD` set as `sh` sets it), the same exit status; a program that cannot
//! start exits 127 (not found) or 126, as under `sh`.
//!
//! Owns: the decision ([`simple_words`], [`direct`]) and what `sh` would have changed in the
//! environment. Must not know: how the program is started (the library's child runner does).
//!
//! Only the default shell goes without it: a task that names its own shell, or a file naming
//! another than `sh -e -c`, keeps it, and
//! `PARADE_FORCE_SHELL=1` in parade's environment keeps the shell for every task (to compare
//! both, or should a difference ever matter). The rules are our own, written after GNU make's
//! (`job.c`: `sh_chars`, `sh_cmds`), stricter: no quotes or backslashes at all (make
//! unquotes them itself), and every builtin of `dash` and `bash` stays with the shell, since a
//! builtin and the program of the same name need not agree (`echo -e`, `pwd`, `test`),
//! except `true` and `false` without arguments, which cannot differ.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The variable that, set to anything but `0` or empty, keeps every task's command in the
/// shell.
pub const FORCE_SHELL_VAR: &str = "PARADE_FORCE_SHELL";

/// Words a shell gives meaning to in the first place of a command: POSIX reserved words and
/// special builtins, and the builtins of `dash` and `bash` (sorted, for a binary search).
const SHELL_WORDS: &[&str] = &[
    "!",
    ".",
    ":",
    "[",
    "[[",
    "]]",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "case",
    "cd",
    "chdir",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "coproc",
    "declare",
    "dirs",
    "disown",
    "do",
    "done",
    "echo",
    "elif",
    "else",
    "enable",
    "esac",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "fi",
    "for",
    "function",
    "getopts",
    "hash",
    "help",
    "history",
    "if",
    "in",
    "jobs",
    "kill",
    "let",
    "local",
    "login",
    "logout",
    "mapfile",
    "newgrp",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "select",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "then",
    "time",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "until",
    "wait",
    "while",
    "{",
    "}",
];

/// Whether `c` means nothing to a POSIX shell inside a word: it stands for itself wherever it
/// is (no quoting, expansion, globbing, redirection, separation or comment).
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c)
}

/// The words of `text` when it is a simple command a shell would run as those words: words
/// of plain characters (`A-Z a-z 0-9 - _ . / : = @ % + ,`) separated by spaces or tabs, the
/// first neither a shell word (a builtin, keyword or reserved word; `true`/`false` alone are
/// allowed), an assignment (`A=1`) nor a path (`./x`: run from a directory, it is the shell's
/// to find). `None` for anything else.
///
/// ```
/// use parade_cli::direct::simple_words;
/// assert_eq!(simple_words("cc -O2 -c main.c -o main.o"), Some(vec!["cc", "-O2", "-c", "main.c", "-o", "main.o"]));
/// assert_eq!(simple_words("true"), Some(vec!["true"]));
/// assert_eq!(simple_words("echo hi"), None); // a builtin
/// assert_eq!(simple_words("cc *.c"), None); // a glob
/// assert_eq!(simple_words("CC=gcc make"), None); // an assignment
/// assert_eq!(simple_words("make; make install"), None);
/// assert_eq!(simple_words("ls ~"), None);
/// ```
pub fn simple_words(text: &str) -> Option<Vec<&str>> {
    let words: Vec<&str> = text.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let first = *words.first()?;
    let plain_text = text.chars().all(|c| c == ' ' || c == '\t' || plain(c));
    let shell_word = SHELL_WORDS.binary_search(&first).is_ok()
        && !(words.len() == 1 && (first == "true" || first == "false"));
    (plain_text && !shell_word && !first.contains(['=', '/'])).then_some(words)
}

/// Whether `shell` is the shell a task file has when it names none (`sh -e -c`).
pub fn is_default_shell(shell: &[String]) -> bool {
    static DEFAULT: OnceLock<Vec<String>> = OnceLock::new();
    shell
        == DEFAULT
            .get_or_init(|| crate::taskfile::Settings::default().shell)
            .as_slice()
}

/// Whether the environment asks for the shell for every task ([`FORCE_SHELL_VAR`]).
pub fn shell_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| {
        std::env::var_os(FORCE_SHELL_VAR).is_some_and(|v| !v.is_empty() && v != "0")
    })
}

/// How to run `text` without a shell, when that is invisible: the program's path on the
/// `PATH` the task sees (`env` added to parade's), its arguments (the first word as the
/// program's own name), and the `PWD` `sh` would have set for `cwd`. `None` when the text is no
/// [`simple_words`], or its program is not on `PATH` as an executable or script (then `sh`
/// runs it, and says what it says).
pub fn direct(text: &str, env: &[(String, String)], cwd: &Path) -> Option<Direct> {
    let words = simple_words(text)?;
    let path = parade::exec::find_program(words[0], env)?;
    if !starts_as_program(&path) {
        return None;
    }
    Some(Direct {
        program: words[0].to_owned(),
        args: words[1..].iter().map(|w| (*w).to_owned()).collect(),
        pwd: shell_pwd(cwd, env)?,
    })
}

/// A command [`direct`] found runnable without a shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Direct {
    /// The program, as the command names it (found on `PATH` when it starts).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// `PWD` as `sh` sets it.
    pub pwd: String,
}

/// Whether `path` is a file `execve` runs (an ELF binary or a `#!` script): a file without
/// either is run by `sh` as a script of its own, which `execve` does not do. Remembered per
/// path.
fn starts_as_program(path: &Path) -> bool {
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, bool>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(&known) = seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(path)
    {
        return known;
    }
    let mut head = [0u8; 4];
    let runs = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"\x7fELF" || head.starts_with(b"#!"));
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(path.to_path_buf(), runs);
    runs
}

/// The `PWD` `sh` exports when it starts in `cwd`: the `PWD` it was given if that is an
/// absolute path to the same directory, else the directory's physical path (`getcwd`).
/// Remembered per directory and given `PWD`; `None` when `cwd` cannot be resolved (the shell
/// then starts, and fails as it does).
fn shell_pwd(cwd: &Path, env: &[(String, String)]) -> Option<String> {
    type Seen = HashMap<(PathBuf, Option<String>), String>;
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    let given = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PWD")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PWD").ok());
    let key = (cwd.to_path_buf(), given);
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(pwd) = seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return Some(pwd.clone());
    }
    let here = std::fs::metadata(cwd).ok()?;
    let same = |p: &str| {
        p.starts_with('/')
            && std::fs::metadata(p).is_ok_and(|m| m.dev() == here.dev() && m.ino() == here.ino())
    };
    let pwd = match &key.1 {
        Some(p) if same(p) => p.clone(),
        _ => std::fs::canonicalize(cwd).ok()?.to_str()?.to_owned(),
    };
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, pwd.clone());
    Some(pwd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn shell_words_are_sorted_for_the_search() {
        assert!(SHELL_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn only_plain_simple_commands_go_without_the_shell() {
        for text in [
            "ls -la /tmp",
            "cc -c a.c -o a.o",
            "make -j4 all",
            "env",
            "true",
            "false",
        ] {
            assert!(simple_words(text).is_some(), "{text}");
        }
        for text in [
            "", "  ", "echo hi", "true x", "cd /tmp", "exit 3", "ls > x", "ls | wc", "ls && ls",
            "ls\nls", "ls $HOME", "ls 'a b'", "ls \"a\"", "ls a\\ b", "ls #c", "ls *", "ls ?",
            "ls [a]", "ls {a,b}", "ls ~", "ls `x`", "X=1 ls", "./run.sh", "if", "ls (x)", "ls !",
            "ls ^", "ls &",
        ] {
            assert_eq!(simple_words(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_program_not_on_path_is_left_to_the_shell() {
        let cwd = Path::new(".");
        assert_eq!(direct("no-such-program-anywhere x", &[], cwd), None);
        let d = direct("ls -a", &[], cwd).unwrap();
        assert_eq!(
            (d.program.as_str(), d.args.as_slice()),
            ("ls", &["-a".to_owned()][..])
        );
    }

    #[test]
    fn pwd_is_what_sh_exports() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&sub, &link).unwrap();
        let sh_pwd = |given: &Path| {
            let out = Command::new("sh")
                .args(["-c", "printf %s \"$PWD\""])
                .env("PWD", given)
                .current_dir(&link)
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        for given in [link.as_path(), Path::new("/"), sub.as_path()] {
            let env = [("PWD".to_owned(), given.to_string_lossy().into_owned())];
            assert_eq!(shell_pwd(&link, &env).unwrap(), sh_pwd(given), "{given:?}");
        }
    }

    /// Runs `text` as `sh -e -c` would and as [`direct`] says: (stdout, status) each, the
    /// lines of stdout sorted (`sh` passes the environment on in an order of its own).
    fn both_ways(text: &str, dir: &Path) -> ((Vec<String>, i32), (Vec<String>, i32)) {
        let sh = Command::new("sh")
            .args(["-e", "-c", text])
            .current_dir(dir)
            .output()
            .unwrap();
        let d = direct(text, &[], dir).expect("a simple command");
        let own = Command::new(&d.program)
            .args(&d.args)
            .env("PWD", &d.pwd)
            .current_dir(dir)
            .output()
            .unwrap();
        let code = |o: &std::process::Output| o.status.code().unwrap_or(-1);
        let lines = |o: &std::process::Output| {
            let mut l: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            l.sort();
            l
        };
        ((lines(&sh), code(&sh)), (lines(&own), code(&own)))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

        /// A simple command prints the same and exits the same run by `sh` or directly.
        #[test]
        fn a_simple_command_runs_the_same_both_ways(
            program in proptest::sample::select(vec!["printenv", "ls", "basename", "expr", "seq", "env", "dirname", "uname"]),
            args in proptest::collection::vec("[-a-z0-9_./:=@%+,]{1,6}", 0..4),
            gap in "[ \t]{1,3}",
        ) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("a.txt"), "x").unwrap();
            let mut text = program.to_owned();
            for a in &args {
                text.push_str(&gap);
                text.push_str(a);
            }
            proptest::prop_assume!(simple_words(&text).is_some());
            let (sh, own) = both_ways(&text, dir.path());
            proptest::prop_assert_eq!(sh, own, "{:?}", text);
        }
    }
}
