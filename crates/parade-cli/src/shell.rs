//! Shell text: filling a task's `{fields}` so that no value ever becomes shell text (each is
//! passed in an environment variable, referred to in the way valid where the field stands, as
//! [`crate::shell_context`] tells), filling paths and plain text, and environment variable
//! names. Running the command is the library's job (`parade::exec::CommandJob`).

use std::borrow::Cow;

use crate::shell_context::{Context, Lexer};

/// Whether `name` can be a field: a letter or `_`, then letters, digits, `_`, `-` or `.`.
fn is_field(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Quotes `value` for a POSIX shell, for reading (a dry run's commands): one word, exactly as
/// given, and bare where that is safe. What runs never holds values as text ([`script`]).
///
/// ```
/// use parade_cli::shell::quote;
/// assert_eq!(quote("prod"), "prod");
/// assert_eq!(quote("$(touch x)"), "'$(touch x)'");
/// assert_eq!(quote("it's"), r"'it'\''s'");
/// assert_eq!(quote(""), "''");
/// ```
pub fn quote(value: &str) -> String {
    let mut out = String::new();
    quote_into(&mut out, value);
    out
}

/// [`quote`], written at the end of `out`.
fn quote_into(out: &mut String, value: &str) {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        out.push_str(value);
    } else {
        out.push_str(&parade::exec::slurm::shell_quote(value));
    }
}

/// The `{field}` names in a command, in order. `{{` and `}}` are literal braces, and braces
/// around anything but a name (`awk '{print $1}'`) are left alone.
///
/// ```
/// assert_eq!(parade_cli::shell::fields("make {env} {params.region} {{x}}"), ["env", "params.region"]);
/// ```
pub fn fields(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.starts_with(char::from(c)) {
            rest = &after[1..];
        } else if c == b'{' {
            match after.find('}') {
                Some(end) if is_field(&after[..end]) => {
                    out.push(&after[..end]);
                    rest = &after[end + 1..];
                }
                _ => rest = after,
            }
        } else {
            rest = after;
        }
    }
    out
}

/// A task's command with its `{field}`s replaced by references to environment variables that
/// hold the values ([`Script::vars`]): a value reaches the command as data, never as shell text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// The shell text to run.
    pub text: String,
    /// The variables the text refers to, with their values.
    pub vars: Vec<(String, String)>,
}

/// Why a command's fields cannot be filled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    /// A value holds a NUL byte, which no program can receive in its environment or arguments.
    #[error("the value of `{{{0}}}` holds a NUL byte, which no command can receive")]
    Nul(String),
    /// A field stands in a heredoc whose word is quoted: nothing there is expanded, so no value
    /// can be put there without becoming part of the text.
    #[error(
        "`{{{0}}}` stands in a quoted heredoc (<<'WORD'), where the shell expands nothing; \
         unquote the word (<<WORD) or use $PARADE_ARG_*/$PARADE_PARAM_* in the command that reads it"
    )]
    QuotedHeredoc(String),
}

/// The prefix of the variables [`script`] passes values in.
pub const VALUE_VAR: &str = "PARADE_V_";

/// Fills the `{field}`s `value` knows with references to environment variables holding the
/// values, each valid where the field stands: `"${PARADE_V_1}"` outside quotes,
/// `${PARADE_V_1}` inside double quotes and unquoted heredocs, `'"${PARADE_V_1}"'` inside single
/// quotes. `{{field}}` is a literal `{field}`; every other brace is left as written.
///
/// ```
/// use parade_cli::shell::script;
/// let s = script("echo {msg} \"{msg}\" '{msg}' {{msg}} ${HOME} {a,b}", |f| {
///     (f == "msg").then(|| "$(touch x)".to_owned())
/// })
/// .unwrap();
/// assert_eq!(
///     s.text,
///     r#"echo "${PARADE_V_1}" "${PARADE_V_1}" ''"${PARADE_V_1}"'' {msg} ${HOME} {a,b}"#
/// );
/// assert_eq!(s.vars, [("PARADE_V_1".to_owned(), "$(touch x)".to_owned())]);
/// ```
pub fn script(template: &str, value: impl Fn(&str) -> Option<String>) -> Result<Script, FillError> {
    let mut lexer = Lexer::new();
    let mut out = Script::default();
    let mut names: Vec<String> = Vec::new();
    walk(template, value, |token| {
        match token {
            Token::Text(text) => {
                lexer.feed(text);
                out.text.push_str(text);
            }
            Token::Literal(field) => {
                let literal = format!("{{{field}}}");
                lexer.feed(&literal);
                out.text.push_str(&literal);
            }
            Token::Field(field, v) => {
                if v.contains('\0') {
                    return Err(FillError::Nul(field.to_owned()));
                }
                let n = if let Some(n) = names.iter().position(|f| f == field) {
                    n + 1
                } else {
                    names.push(field.to_owned());
                    out.vars.push((format!("{VALUE_VAR}{}", names.len()), v));
                    names.len()
                };
                let var = format!("${{{VALUE_VAR}{n}}}");
                let reference = match lexer.context() {
                    Context::Unquoted => format!("\"{var}\""),
                    Context::Double | Context::Heredoc => var,
                    Context::Single => format!("'\"{var}\"'"),
                    Context::Ansi => format!("'\"{var}\"$'"),
                    Context::QuotedHeredoc => {
                        return Err(FillError::QuotedHeredoc(field.to_owned()));
                    }
                };
                out.text.push_str(&reference);
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// A piece of a template as [`walk`] reads it.
enum Token<'t, V> {
    /// The template's own text, as written (a brace that opens no field among it).
    Text(&'t str),
    /// `{{name}}` of a known name: the literal `{name}`.
    Literal(&'t str),
    /// `{name}` of a known name, with what `known` gave for it.
    Field(&'t str, V),
}

/// Reads `template` once, in order, giving each piece to `visit`: `{name}` is a field where
/// `known(name)` gives something (asked once per `{name}`), `{{name}}` a literal `{name}`
/// there, every other brace text as written. [`script`], [`preview`], [`fill_with`] and
/// [`Fields::parse`] all go through it ([`fields`], which lists a template's field names for
/// the task-file checks, keeps its own reading: it knows no values). Stops at `visit`'s
/// first error.
fn walk<'t, V, E>(
    template: &'t str,
    known: impl Fn(&str) -> Option<V>,
    mut visit: impl FnMut(Token<'t, V>) -> Result<(), E>,
) -> Result<(), E> {
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        let (before, at) = rest.split_at(i);
        if !before.is_empty() {
            visit(Token::Text(before))?;
        }
        if let Some((field, len)) = escaped_field(at, &known) {
            visit(Token::Literal(field))?;
            rest = &at[len..];
        } else if let Some((field, v, len)) = field_at(at, &known) {
            visit(Token::Field(field, v))?;
            rest = &at[len..];
        } else {
            visit(Token::Text(&at[..1]))?;
            rest = &at[1..];
        }
    }
    if rest.is_empty() {
        Ok(())
    } else {
        visit(Token::Text(rest))
    }
}

/// [`walk`] for a visit that cannot fail.
fn walk_all<'t, V>(
    template: &'t str,
    known: impl Fn(&str) -> Option<V>,
    mut visit: impl FnMut(Token<'t, V>),
) {
    let done: Result<(), std::convert::Infallible> = walk(template, known, |token| {
        visit(token);
        Ok(())
    });
    let Ok(()) = done;
}

/// The command as a person reads it (`--dry-run`, like `make -n`): fields shown as their
/// values, shell-quoted. Only for showing: what runs is [`script`]'s text, where no value is
/// shell text.
///
/// ```
/// use parade_cli::shell::preview;
/// let v = |f: &str| (f == "env").then(|| "prod eu".to_owned());
/// assert_eq!(preview("deploy {env} {{env}} ${HOME}", v), "deploy 'prod eu' {env} ${HOME}");
/// ```
pub fn preview<V: AsRef<str>>(template: &str, value: impl Fn(&str) -> Option<V>) -> String {
    let mut out = String::with_capacity(template.len());
    walk_all(template, value, |token| match token {
        Token::Text(text) => out.push_str(text),
        Token::Literal(field) => push_literal(&mut out, field),
        Token::Field(_, v) => quote_into(&mut out, v.as_ref()),
    });
    out
}

/// The literal `{field}` a `{{field}}` stands for, written at the end of `out`.
fn push_literal(out: &mut String, field: &str) {
    out.push('{');
    out.push_str(field);
    out.push('}');
}

/// A template's own text and its `{field}`s, read once ([`Fields::parse`]) and filled many
/// times: a glob's instances share their task's `run`, so a dry run of a million of them
/// reads it once, not once per instance. What is a field depends on which fields are known
/// (a `{name}` nothing knows is text), so a parse holds for the values it was made for.
///
/// ```
/// use parade_cli::shell::Fields;
/// let fields = Fields::parse("echo {a} {{a}} {b}", |f| f == "a");
/// let mut out = String::new();
/// fields.preview_into(&mut out, |f| (f == "a").then_some("x y"));
/// assert_eq!(out, "echo 'x y' {a} {b}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// Text, then field, text, ..., text: the first and last are text (maybe empty).
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// The template's text between fields, a `{{field}}` in it the literal `{field}`.
    Text(String),
    /// A known field's name.
    Field(String),
}

impl Fields {
    /// `template` read: `{name}` is a field where `known(name)`, `{{name}}` a literal `{name}`
    /// there; every other brace is text as written.
    pub fn parse(template: &str, known: impl Fn(&str) -> bool) -> Self {
        let mut pieces = Vec::new();
        let mut text = String::new();
        walk_all(
            template,
            |f| known(f).then_some(()),
            |token| match token {
                Token::Text(t) => text.push_str(t),
                Token::Literal(field) => push_literal(&mut text, field),
                Token::Field(field, ()) => {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Field(field.to_owned()));
                }
            },
        );
        pieces.push(Piece::Text(text));
        Fields { pieces }
    }

    /// The text and the fields' values in order, each given to `write` (a field `value` does
    /// not know is text, as the template has it).
    fn each<V>(&self, value: impl Fn(&str) -> Option<V>, mut write: impl FnMut(Part<'_, V>)) {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => write(Part::Text(Cow::Borrowed(t))),
                Piece::Field(f) => match value(f) {
                    Some(v) => write(Part::Value(v)),
                    None => write(Part::Text(Cow::Owned(format!("{{{f}}}")))),
                },
            }
        }
    }

    /// The template as a person reads it ([`preview`]), written at the end of `out`: each
    /// field's value shell-quoted.
    pub fn preview_into<V: AsRef<str>>(&self, out: &mut String, value: impl Fn(&str) -> Option<V>) {
        self.each(value, |part| match part {
            Part::Text(t) => out.push_str(&t),
            Part::Value(v) => quote_into(out, v.as_ref()),
        });
    }
}

/// A piece of a filled template: its text, or a field's value.
enum Part<'p, V> {
    Text(Cow<'p, str>),
    Value(V),
}

/// `{name}` at the start of `text` where `value` knows `name`: the name, its value, the length.
fn field_at<'t, V>(
    text: &'t str,
    value: &impl Fn(&str) -> Option<V>,
) -> Option<(&'t str, V, usize)> {
    let after = text.strip_prefix('{')?;
    let end = after.find('}')?;
    let name = &after[..end];
    if !is_field(name) {
        return None;
    }
    value(name).map(|v| (name, v, end + 2))
}

/// `{{name}}` at the start of `text` where `value` knows `name`: the name and the length.
fn escaped_field<'t, V>(
    text: &'t str,
    value: &impl Fn(&str) -> Option<V>,
) -> Option<(&'t str, usize)> {
    let inner = text.strip_prefix('{')?;
    let (name, _, len) = field_at(inner, value)?;
    inner[len..].starts_with('}').then_some((name, len + 2))
}

/// Fills `{field}`s with their values as they are, for text no shell reads (kwargs, env
/// values). `{{field}}` is a literal `{field}`; every other brace is left as written.
///
/// ```
/// use parade_cli::shell::fill;
/// let v = |f: &str| (f == "seed").then(|| "a b".to_owned());
/// assert_eq!(fill("runs/{seed} {{seed}} {{.X}} {x}", v), "runs/a b {seed} {{.X}} {x}");
/// ```
pub fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    fill_with(template, value, str::to_owned)
}

/// [`fill`], with the file's own text between fields passed through `between` (for example
/// `${VAR}` expansion) and the values not: a value is never expanded or read as a template.
///
/// ```
/// use parade_cli::shell::fill_with;
/// let v = |f: &str| (f == "x").then(|| "$HOME".to_owned());
/// assert_eq!(fill_with("a{x}b", v, |t| t.to_uppercase()), "A$HOMEB");
/// ```
pub fn fill_with(
    template: &str,
    value: impl Fn(&str) -> Option<String>,
    between: impl Fn(&str) -> String,
) -> String {
    // The text between two fields goes through `between` whole (a `${VAR}` may hold a brace).
    let mut out = String::with_capacity(template.len());
    let mut text = String::new();
    walk_all(template, value, |token| match token {
        Token::Text(t) => text.push_str(t),
        Token::Literal(field) => push_literal(&mut text, field),
        Token::Field(_, v) => {
            out.push_str(&between(&text));
            text.clear();
            out.push_str(&v);
        }
    });
    out.push_str(&between(&text));
    out
}

/// [`fill`] for a path: a value may not climb out of where the file's own text points (no
/// `..` component, not absolute). Returns the field whose value would.
///
/// ```
/// use parade_cli::shell::fill_path;
/// let v = |x: &'static str| move |f: &str| (f == "x").then(|| x.to_owned());
/// assert_eq!(fill_path("../jobs/{x}", v("a")).unwrap(), "../jobs/a");
/// assert!(fill_path("jobs/{x}", v("../../etc")).is_err());
/// assert!(fill_path("jobs{x}", v("/etc")).is_err());
/// ```
pub fn fill_path(template: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let bad = std::cell::RefCell::new(None);
    let filled = fill(template, |f| {
        let v = value(f)?;
        let climbs =
            v.starts_with('/') || v.split('/').any(|part| part == "..") || v.contains('\0');
        if climbs && bad.borrow().is_none() {
            *bad.borrow_mut() = Some(format!(
                "the value {v:?} of `{{{f}}}` would take a path out of its directory \
                 (values in paths may not be absolute, hold `..` or NUL)"
            ));
        }
        Some(v)
    });
    bad.into_inner().map_or(Ok(filled), Err)
}

/// The `#!` line of a script: its interpreter and the one argument Linux passes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter: `/usr/bin/env`, `/bin/bash`.
    pub program: String,
    /// The rest of the line, as one argument (`python3` for `#!/usr/bin/env python3`).
    pub arg: Option<String>,
}

impl Shebang {
    /// Whether the script is a POSIX-family shell script (its fields can be filled safely).
    pub fn is_shell(&self) -> bool {
        let name = match (&self.arg, self.program.rsplit('/').next()) {
            (Some(arg), Some("env")) => arg.split_whitespace().last().unwrap_or(""),
            (_, program) => program.unwrap_or(""),
        };
        let name = name.rsplit('/').next().unwrap_or(name);
        ["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"].contains(&name)
    }
}

/// The `#!` line `run` starts with, if it does (just's shebang recipes).
///
/// ```
/// use parade_cli::shell::shebang;
/// let s = shebang("#!/usr/bin/env python3\nprint(1)").unwrap();
/// assert_eq!((s.program.as_str(), s.arg.as_deref()), ("/usr/bin/env", Some("python3")));
/// assert!(!s.is_shell());
/// assert!(shebang("#!/bin/bash -eu\necho").unwrap().is_shell());
/// assert_eq!(shebang("echo hi"), None);
/// ```
pub fn shebang(run: &str) -> Option<Shebang> {
    let line = run.strip_prefix("#!")?.lines().next()?.trim();
    let (program, arg) = match line.split_once([' ', '\t']) {
        Some((p, a)) => (p, Some(a.trim().to_owned()).filter(|a| !a.is_empty())),
        None => (line, None),
    };
    (!program.is_empty()).then(|| Shebang {
        program: program.to_owned(),
        arg,
    })
}

/// Turns a param or placeholder name into an environment variable suffix: `build-dir` →
/// `BUILD_DIR`.
pub fn env_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `script` with the fields of `template` filled with `value`; returns its stdout.
    fn run(template: &str, value: &str, dir: &std::path::Path) -> String {
        let s = script(template, |f| (f == "v").then(|| value.to_owned())).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(&s.text)
            .envs(s.vars.iter().cloned())
            .current_dir(dir)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn values_survive_a_real_shell_in_every_context() {
        let dir = tempfile::tempdir().unwrap();
        for value in [
            "$(touch x)",
            "`touch x`",
            "a b",
            "it's",
            "\"q\"",
            "*",
            "x;touch x",
            "",
            "\\n",
            "é",
            "'\"$(touch x)\"'",
        ] {
            for template in [
                "printf '%s' {v}",
                "printf '%s' \"{v}\"",
                "printf '%s' '{v}'",
                "printf '%s' \"a{v}b\" | cut -c2- | rev | cut -c2- | rev | tr -d '\\n'",
                "cat <<EOF | tr -d '\\n'\n{v}\nEOF",
                "printf '%s' \"$(printf '%s' '{v}')\"",
            ] {
                assert_eq!(run(template, value, dir.path()), value, "{template}");
            }
        }
        assert!(!dir.path().join("x").exists());
    }

    #[test]
    fn shell_code_passes_through() {
        for text in [
            "echo ${HOME} $(pwd) {a,b} `date`",
            "awk '{print $1}'",
            "find . -exec echo {} \\;",
            "docker inspect -f '{{.State.Running}}' x",
            "echo {unknown} {{unknown}}",
        ] {
            assert_eq!(script(text, |_| None).unwrap().text, text);
        }
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let nul = |f: &str| (f == "v").then(|| "a\0b".to_owned());
        assert_eq!(script("echo {v}", nul), Err(FillError::Nul("v".into())));
        let v = |f: &str| (f == "v").then(|| "x".to_owned());
        assert_eq!(
            script("cat <<'EOF'\n{v}\nEOF", v),
            Err(FillError::QuotedHeredoc("v".into()))
        );
    }

    #[test]
    fn a_template_is_read_once_each_field_asked_for_once() {
        let asked = std::cell::Cell::new(0);
        let value = |f: &str| {
            asked.set(asked.get() + 1);
            (f == "x").then(|| "a b".to_owned())
        };
        let template = "cp {x} {x} {y} ${HOME}/{{x}}";
        assert_eq!(preview(template, value), "cp 'a b' 'a b' {y} ${HOME}/{x}");
        assert_eq!(
            asked.replace(0),
            5,
            "x, x, y, HOME and {{{{x}}}}: each once"
        );
        assert_eq!(
            fill_with(template, value, str::to_uppercase),
            "CP a b a b {Y} ${HOME}/{X}",
            "the text goes through `between`, the values do not"
        );
        assert_eq!(asked.replace(0), 5);
        let s = script(template, value).unwrap();
        assert_eq!(
            s.text,
            r#"cp "${PARADE_V_1}" "${PARADE_V_1}" {y} ${HOME}/{x}"#
        );
        assert_eq!(asked.get(), 5);
    }

    #[test]
    fn fields_skip_escaped_braces() {
        assert_eq!(fields("{a}{{b}}{c}"), ["a", "c"]);
        assert_eq!(fields("awk '{print $1}'"), Vec::<&str>::new());
        assert_eq!(fill("a {unknown} b", |_| None), "a {unknown} b");
    }

    #[test]
    fn env_keys_are_upper_snake() {
        assert_eq!(env_key("build-dir.x"), "BUILD_DIR_X");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// Whatever the value, in every quoting context, the command receives exactly it and
        /// nothing executes; a NUL is an error, never a cut value.
        #[test]
        fn no_value_ever_becomes_shell_text(
            value in "([a-z ]|'|\"|\\$|\\(|\\)|`|\n|\\\\|EOF|;|\\{|\\}|\\*|touch x){0,12}",
        ) {
            let dir = tempfile::tempdir().unwrap();
            for template in [
                "printf '%s' {v}",
                "printf '%s' \"{v}\"",
                "printf '%s' '{v}'",
                "printf '%s' \"$(printf '%s' {v}; echo .)\" | sed '$ s/.$//'",
                "cat <<EOF | sed '$ s/.$//'\n{v}.\nEOF",
            ] {
                let got = run(template, &value, dir.path());
                let want = if template.contains("<<EOF") { format!("{value}\n") } else { value.clone() };
                proptest::prop_assert_eq!(&got, &want, "{}", template);
            }
            proptest::prop_assert!(!dir.path().join("x").exists());
            let with_nul = format!("{value}\0");
            proptest::prop_assert_eq!(
                script("echo {v}", |f| (f == "v").then(|| with_nul.clone())),
                Err(FillError::Nul("v".into()))
            );
        }
    }
}
