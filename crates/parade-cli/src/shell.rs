//! Shell text: filling a task's `{fields}` with shell-quoted values, and environment variable
//! names. Running the command is the library's job (`parade::exec::CommandJob`).

/// Quotes `value` for a POSIX shell: it reaches the command as one word, exactly as given.
///
/// ```
/// use parade_cli::shell::quote;
/// assert_eq!(quote("prod"), "prod");
/// assert_eq!(quote("$(touch x)"), "'$(touch x)'");
/// assert_eq!(quote("it's"), r"'it'\''s'");
/// assert_eq!(quote(""), "''");
/// ```
pub fn quote(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        return value.to_owned();
    }
    parade::exec::slurm::shell_quote(value)
}

/// Whether `name` can be a field: a letter or `_`, then letters, digits, `_`, `-` or `.`.
fn is_field(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
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

/// Fills `{field}`s with the quoted value `value(field)` gives; a field it does not know stays
/// as written. `{{` and `}}` become `{` and `}`.
///
/// ```
/// use parade_cli::shell::substitute;
/// let cmd = substitute("echo {env} {{ok}}", |f| (f == "env").then(|| "$(touch x)".to_owned()));
/// assert_eq!(cmd, "echo '$(touch x)' {ok}");
/// ```
pub fn substitute(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    replace(template, value, quote)
}

/// [`substitute`] without quoting: `{field}`s become their values as they are (for paths and
/// parameters that no shell reads).
///
/// ```
/// use parade_cli::shell::fill;
/// assert_eq!(fill("runs/{seed} {{x}}", |f| (f == "seed").then(|| "a b".to_owned())), "runs/a b {x}");
/// ```
pub fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    replace(template, value, str::to_owned)
}

fn replace(
    template: &str,
    value: impl Fn(&str) -> Option<String>,
    wrap: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.starts_with(char::from(c)) {
            out.push(char::from(c));
            rest = &after[1..];
            continue;
        }
        if c == b'{'
            && let Some(end) = after.find('}')
            && is_field(&after[..end])
            && let Some(v) = value(&after[..end])
        {
            out.push_str(&wrap(&v));
            rest = &after[end + 1..];
            continue;
        }
        out.push(char::from(c));
        rest = after;
    }
    out.push_str(rest);
    out
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

    #[test]
    fn quoting_survives_a_real_shell() {
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
        ] {
            let cmd = substitute("printf '%s' {v}", |f| (f == "v").then(|| value.to_owned()));
            let out = Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), value, "{cmd}");
        }
        assert!(!dir.path().join("x").exists());
    }

    #[test]
    fn fields_skip_escaped_braces() {
        assert_eq!(fields("{a}{{b}}{c}"), ["a", "c"]);
        assert_eq!(fields("awk '{print $1}'"), Vec::<&str>::new());
        assert_eq!(substitute("a {unknown} b", |_| None), "a {unknown} b");
    }

    #[test]
    fn env_keys_are_upper_snake() {
        assert_eq!(env_key("build-dir.x"), "BUILD_DIR_X");
    }
}
