//! Task names with `[placeholders]`: parsing, matching concrete names, filling, globs.

use std::collections::BTreeMap;

pub use parade::flow::{glob_match, is_glob};

/// A piece of a task name.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Part {
    /// Text that must appear as is.
    Literal(String),
    /// `[name]`: a value chosen when the task is asked for.
    Placeholder(String),
}

/// A task name that may hold `[placeholders]`, like `build::[env]`.
///
/// ```
/// use parade_cli::taskfile::Pattern;
/// let p = Pattern::parse("deploy::[env]::[region]").unwrap();
/// assert_eq!(p.placeholders(), ["env", "region"]);
/// let args = p.matches("deploy::prod::eu", "::").unwrap();
/// assert_eq!(args["region"], "eu");
/// assert!(p.matches("deploy::prod", "::").is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Pattern {
    parts: Box<[Part]>,
    /// The flow's own pattern: matching and filling are the flow's, so a task file means
    /// exactly what the run will do. `None` for a name without placeholders (most names of a
    /// large file), which matches and fills as itself: no second copy of the name per task.
    inner: Option<Box<parade::flow::Pattern>>,
}

/// Whether `text` has a `[` or a `]`: whether it may hold placeholders. Asked once a
/// reference; bytes are compared (neither is ever part of a longer UTF-8 character), where
/// `str::contains` of two chars decodes every character.
pub(crate) fn has_brackets(text: &str) -> bool {
    text.bytes().any(|b| b == b'[' || b == b']')
}

impl Pattern {
    /// Parses a name. Errors: an unclosed `[`, a stray `]`, an empty `[]`, a nested `[`.
    pub fn parse(name: &str) -> Result<Self, String> {
        if !has_brackets(name) {
            // Most names: one literal part, made at its size.
            let parts = (!name.is_empty()).then(|| Part::Literal(name.to_owned()));
            return Ok(Self {
                parts: parts.into_iter().collect(),
                inner: None,
            });
        }
        let mut parts = Vec::new();
        let mut rest = name;
        while let Some(open) = rest.find(['[', ']']) {
            if rest[open..].starts_with(']') {
                return Err(format!("`]` without a `[` in \"{name}\""));
            }
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find(']')
                .ok_or_else(|| format!("unclosed `[` in \"{name}\""))?;
            let inner = &after[..close];
            if inner.is_empty() {
                return Err(format!("empty placeholder `[]` in \"{name}\""));
            }
            if inner.contains('[') {
                return Err(format!("placeholders cannot nest in \"{name}\""));
            }
            parts.push(Part::Placeholder(inner.to_owned()));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        let holes = parts.iter().any(|p| matches!(p, Part::Placeholder(_)));
        Ok(Self {
            parts: parts.into_boxed_slice(),
            inner: holes.then(|| Box::new(parade::flow::Pattern::parse(name))),
        })
    }

    /// The pieces of the name, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The placeholder names, in order.
    pub fn placeholders(&self) -> Vec<&str> {
        self.inner.as_ref().map_or_else(Vec::new, |p| {
            p.params().iter().map(String::as_str).collect()
        })
    }

    /// Whether the name has no placeholder.
    pub fn is_concrete(&self) -> bool {
        self.inner.is_none()
    }

    /// The name of a pattern without placeholders (its one literal part).
    fn literal(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(text)) => text,
            _ => "",
        }
    }

    /// The text between two placeholders that is not the separator, if any (placeholders must
    /// be separated by exactly the separator).
    pub fn bad_separator(&self, sep: &str) -> Option<&str> {
        self.parts.windows(3).find_map(|w| match w {
            [Part::Placeholder(_), Part::Literal(l), Part::Placeholder(_)] if l != sep => {
                Some(l.as_str())
            }
            _ => None,
        })
    }

    /// The placeholder values if `name` is an instance of this pattern. A placeholder matches a
    /// non-empty value without the separator; the last one, if it ends the name, matches the
    /// rest (separators included).
    pub fn matches(&self, name: &str, sep: &str) -> Option<BTreeMap<String, String>> {
        match &self.inner {
            Some(p) => p.matches(name, sep).map(|args| args.into_iter().collect()),
            None => (name == self.literal()).then(BTreeMap::new),
        }
    }

    /// The name with placeholders replaced by `args`; placeholders without a value stay.
    ///
    /// ```
    /// use parade_cli::taskfile::Pattern;
    /// let p = Pattern::parse("build::[env]").unwrap();
    /// let args = [("env".to_owned(), "prod".to_owned())].into();
    /// assert_eq!(p.fill(&args), "build::prod");
    /// ```
    pub fn fill(&self, args: &BTreeMap<String, String>) -> String {
        match &self.inner {
            Some(p) => p
                .fill_partial(|k| args.get(k).map(String::as_str))
                .as_str()
                .to_owned(),
            None => self.literal().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_are_explained() {
        assert!(Pattern::parse("a::[x").unwrap_err().contains("unclosed"));
        assert!(Pattern::parse("a::x]").unwrap_err().contains("without"));
        assert!(Pattern::parse("a::[]").unwrap_err().contains("empty"));
        assert!(Pattern::parse("a::[[x]]").unwrap_err().contains("nest"));
    }

    #[test]
    fn matching_follows_the_separator_rules() {
        let p = Pattern::parse("b::[a]::1::[b]").unwrap();
        let args = p.matches("b::foo::1::42", "::").unwrap();
        assert_eq!((args["a"].as_str(), args["b"].as_str()), ("foo", "42"));
        let two = Pattern::parse("B::[a]::[b]").unwrap();
        assert!(two.matches("B::test", "::").is_none());
        assert!(two.matches("B::::2", "::").is_none());
        // The last placeholder takes the rest, separators included, and may be empty.
        let last = Pattern::parse("e::[x]").unwrap();
        assert_eq!(last.matches("e::a::b", "::").unwrap()["x"], "a::b");
        assert_eq!(last.matches("e::", "::").unwrap()["x"], "");
        assert!(
            Pattern::parse("setup")
                .unwrap()
                .matches("setup", "::")
                .is_some()
        );
        assert!(
            Pattern::parse("setup")
                .unwrap()
                .matches("setup2", "::")
                .is_none()
        );
    }

    #[test]
    fn a_name_without_placeholders_matches_and_fills_as_the_flow_would() {
        for name in ["setup", "a::b", "x-1", ""] {
            let ours = Pattern::parse(name).unwrap();
            let flow = parade::flow::Pattern::parse(name);
            assert!(ours.is_concrete() && ours.placeholders().is_empty());
            for other in [name, "setup2", "a::", "", "x-1 "] {
                assert_eq!(
                    ours.matches(other, "::").is_some(),
                    flow.matches(other, "::").is_some(),
                    "{name:?} against {other:?}"
                );
            }
            assert_eq!(ours.fill(&BTreeMap::new()), name);
        }
    }

    #[test]
    fn separators_between_placeholders_are_checked() {
        let p = Pattern::parse("foo-[x]-[y]").unwrap();
        assert_eq!(p.bad_separator("::"), Some("-"));
        assert_eq!(
            Pattern::parse("f::[x]::[y]").unwrap().bad_separator("::"),
            None
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYc"));
        assert!(!glob_match("a*b", "ac"));
        assert!(is_glob("x*") && !is_glob("x"));
    }
}
