//! Name patterns: `[placeholders]` in proc names, how a filled-out name matches a pattern, how
//! a pattern is filled from arguments, and `*` / `?` globs over placeholder choices.
//!
//! A pattern such as `sim::[temp]::[seed]` is literal text and placeholders. Matching follows
//! three rules, the same for proto names and rdep patterns:
//!
//! - literal text matches itself, case-sensitively;
//! - a placeholder that is not the last one matches one or more characters and stops before the
//!   separator (`::` unless the flow says otherwise);
//! - the **last** placeholder matches anything, including nothing and the separator, so
//!   `e::[rest]` matches `e::` (`rest` is empty) and `e::a::b` (`rest` is `a::b`).
//!
//! Matching is a small backtracking walk over the segments (there are as many as the pattern
//! has pieces, never as many as the graph has procs).

use std::fmt;

use super::FlowError;

/// One piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Param(String),
}

/// A parsed name pattern such as `build::[env]`.
///
/// ```
/// use parade::flow::Pattern;
/// let p = Pattern::parse("sim::[temp]::[seed]");
/// assert_eq!(p.params(), ["temp", "seed"]);
/// let args = p.matches("sim::hot::42", "::").unwrap();
/// assert_eq!(args, [("temp".to_owned(), "hot".to_owned()), ("seed".to_owned(), "42".to_owned())]);
/// assert!(p.matches("sim::hot", "::").is_none());
/// assert_eq!(p.fill(|k| Some(if k == "temp" { "cold" } else { "1" })).unwrap(), "sim::cold::1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    segs: Vec<Seg>,
    params: Vec<String>,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `s` holds a `[placeholder]`.
///
/// ```
/// assert!(parade::flow::has_placeholders("build::[env]"));
/// assert!(!parade::flow::has_placeholders("build::prod"));
/// ```
pub fn has_placeholders(s: &str) -> bool {
    // Bytes, not chars: both brackets are ASCII, and a plain loop over a short name is a few
    // instructions a byte where `str::find` set up a searcher per call (asked once per
    // dependency of every task).
    let b = s.as_bytes();
    b.iter().position(|&c| c == b'[').is_some_and(|open| {
        b[open + 1..]
            .iter()
            .position(|&c| c == b']')
            .is_some_and(|close| close > 0)
    })
}

/// Whether `s` holds a glob character (`*` or `?`).
///
/// A scan of bytes, not of characters (a task body asks it of each of its task's
/// dependencies): both are ASCII, and no byte of a longer UTF-8 character is ASCII.
///
/// ```
/// use parade::flow::is_glob;
/// assert!(is_glob("t::*") && is_glob("é?") && !is_glob("l9_0") && !is_glob("déjà"));
/// ```
pub fn is_glob(s: &str) -> bool {
    s.bytes().any(|b| b == b'*' || b == b'?')
}

/// Whether `text` matches the glob `pattern`, where `*` matches any run of characters and `?`
/// any one character.
///
/// ```
/// use parade::flow::glob_match;
/// assert!(glob_match("p*", "prod"));
/// assert!(glob_match("?ev", "dev"));
/// assert!(!glob_match("p?", "prod"));
/// ```
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

impl Pattern {
    /// Parses `text`; every `[name]` is a placeholder, everything else literal.
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        let mut params = Vec::new();
        let mut rest = text;
        let mut lit = String::new();
        while let Some(open) = rest.find('[') {
            let after = &rest[open + 1..];
            match after.find(']') {
                Some(close) if close > 0 => {
                    lit.push_str(&rest[..open]);
                    if !lit.is_empty() {
                        segs.push(Seg::Lit(std::mem::take(&mut lit)));
                    }
                    let name = after[..close].to_owned();
                    params.push(name.clone());
                    segs.push(Seg::Param(name));
                    rest = &after[close + 1..];
                }
                _ => {
                    lit.push_str(&rest[..=open]);
                    rest = after;
                }
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            segs.push(Seg::Lit(lit));
        }
        Self {
            text: text.to_owned(),
            segs,
            params,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The placeholder names, in order.
    pub fn params(&self) -> &[String] {
        &self.params
    }

    /// Whether the pattern has placeholders.
    pub fn has_params(&self) -> bool {
        !self.params.is_empty()
    }

    /// Checks that the text between two placeholders is exactly the separator (proto names
    /// must be unambiguous to split).
    ///
    /// ```
    /// use parade::flow::Pattern;
    /// assert!(Pattern::parse("foo::[x]::[y]").check_separators("::").is_ok());
    /// let err = Pattern::parse("foo-[x]-[y]").check_separators("::").unwrap_err();
    /// assert_eq!(err.to_string(), r#"pattern "foo-[x]-[y]" must put the separator "::" between placeholders, found "-""#);
    /// ```
    pub fn check_separators(&self, sep: &str) -> Result<(), FlowError> {
        for w in self.segs.windows(2) {
            let found = match w {
                [Seg::Param(_), Seg::Param(_)] => Some(""),
                _ => None,
            };
            if let Some(found) = found {
                return Err(self.sep_error(sep, found));
            }
        }
        for w in self.segs.windows(3) {
            if let [Seg::Param(_), Seg::Lit(l), Seg::Param(_)] = w
                && l != sep
            {
                return Err(self.sep_error(sep, l));
            }
        }
        Ok(())
    }

    fn sep_error(&self, sep: &str, found: &str) -> FlowError {
        FlowError::Separator {
            pattern: self.text.clone(),
            separator: sep.to_owned(),
            found: found.to_owned(),
        }
    }

    /// Matches a whole name; on success gives every placeholder's value, in order.
    pub fn matches(&self, name: &str, sep: &str) -> Option<Vec<(String, String)>> {
        if self.params.is_empty() {
            return (self.text == name).then(Vec::new);
        }
        let last = self
            .segs
            .iter()
            .rposition(|s| matches!(s, Seg::Param(_)))
            .unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(self.params.len());
        self.walk(0, name, 0, last, sep, &mut out).then_some(out)
    }

    fn walk(
        &self,
        i: usize,
        name: &str,
        pos: usize,
        last: usize,
        sep: &str,
        out: &mut Vec<(String, String)>,
    ) -> bool {
        let Some(seg) = self.segs.get(i) else {
            return pos == name.len();
        };
        match seg {
            Seg::Lit(l) => {
                name[pos..].starts_with(l.as_str())
                    && self.walk(i + 1, name, pos + l.len(), last, sep, out)
            }
            Seg::Param(p) => {
                // Candidate ends, longest first (greedy, like a regex).
                let mut ends: Vec<usize> = Vec::new();
                if i == last {
                    ends.extend(
                        name[pos..]
                            .char_indices()
                            .map(|(k, _)| pos + k)
                            .chain([name.len()]),
                    );
                } else {
                    for (k, c) in name[pos..].char_indices() {
                        let q = pos + k;
                        if !sep.is_empty() && name[q..].starts_with(sep) {
                            break;
                        }
                        ends.push(q + c.len_utf8());
                    }
                }
                for &end in ends.iter().rev() {
                    out.push((p.clone(), name[pos..end].to_owned()));
                    if self.walk(i + 1, name, end, last, sep, out) {
                        return true;
                    }
                    out.pop();
                }
                false
            }
        }
    }

    /// Fills every placeholder from `lookup`; fails naming the first one it has no value for.
    pub fn fill<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> Result<String, FlowError> {
        let mut s = String::with_capacity(self.text.len() + 8);
        self.fill_into(&mut s, lookup)?;
        Ok(s)
    }

    /// [`Pattern::fill`] into `out` (cleared first), so that many names can be made in one
    /// buffer.
    pub(crate) fn fill_into<'a>(
        &self,
        out: &mut String,
        lookup: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<(), FlowError> {
        out.clear();
        for seg in &self.segs {
            match seg {
                Seg::Lit(l) => out.push_str(l),
                Seg::Param(p) => match lookup(p) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(FlowError::MissingArg {
                            pattern: self.text.clone(),
                            arg: p.clone(),
                        });
                    }
                },
            }
        }
        Ok(())
    }

    /// Fills the placeholders `lookup` knows and keeps the others as `[name]`.
    pub fn fill_partial<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> Pattern {
        let mut s = String::with_capacity(self.text.len());
        for seg in &self.segs {
            match seg {
                Seg::Lit(l) => s.push_str(l),
                Seg::Param(p) => {
                    if let Some(v) = lookup(p) {
                        s.push_str(v);
                    } else {
                        s.push('[');
                        s.push_str(p);
                        s.push(']');
                    }
                }
            }
        }
        Pattern::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> Option<Vec<String>> {
        Pattern::parse(p)
            .matches(n, "::")
            .map(|v| v.into_iter().map(|(_, v)| v).collect())
    }

    #[test]
    fn last_placeholder_takes_the_rest() {
        assert_eq!(m("e::[x]", "e::"), Some(vec![String::new()]));
        assert_eq!(m("e::[x]", "e::a::b"), Some(vec!["a::b".into()]));
        assert_eq!(m("A::[x]", "A::"), Some(vec![String::new()]));
    }

    #[test]
    fn inner_placeholders_stop_at_the_separator() {
        assert_eq!(m("B::[a]::[b]", "B::test"), None);
        assert_eq!(m("B::[a]::[b]", "B::::2"), None);
        assert_eq!(m("B::[a]::[b]", "B-my-cluster-2"), None);
        assert_eq!(
            m("B::[a]::1::[b]", "B::foo::1::42"),
            Some(vec!["foo".into(), "42".into()])
        );
        assert_eq!(
            m("A::[x]::B::[y]::C", "A::1::B::2::C"),
            Some(vec!["1".into(), "2".into()])
        );
        assert_eq!(
            m("x::[a]::[b]", "x::a::b::c"),
            Some(vec!["a".into(), "b::c".into()])
        );
    }

    #[test]
    fn literal_patterns_match_exactly() {
        assert_eq!(m("setup", "setup"), Some(vec![]));
        assert_eq!(m("setup", "setup2"), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c", "abbbc"));
        assert!(!glob_match("a*c", "abbb"));
        assert!(glob_match("*::*", "a::b"));
    }

    #[test]
    fn brackets_without_a_name_are_literal() {
        let p = Pattern::parse("a[]b");
        assert!(!p.has_params());
        assert!(!has_placeholders("a[]b"));
    }
}
