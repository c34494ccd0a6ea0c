//! [`LogIgnore`]: the log lines a task's definition says its snippet leaves out (parproc's
//! `log_ignore`, with its `IgnoreLogAlways` and `IgnoreLogIfSucceeded` rules).
//!
//! A rule is a regular expression searched anywhere in a line (Python's `re.search`, which is
//! what parproc does). An [`IgnoreWhen::Always`] rule drops the lines it matches from every
//! snippet; an [`IgnoreWhen::IfSucceeded`] rule only from the snippet of a task that did not
//! fail, so a warning a tool always prints stays hidden on success and shows when it may be
//! the cause of a failure. The rules only change what is *shown*: log files keep every line.
//! How the rules apply to a snippet is the `snippet` module's business; this
//! module knows only which line a rule drops.
//!
//! Regular expressions come from the `regex` crate (linear time, no backtracking: a rule cannot
//! make a long log slow to show).

use std::fmt;
use std::sync::Arc;

use regex::Regex;

/// When a [`LogIgnore`] rule drops a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoreWhen {
    /// From every snippet (parproc's `IgnoreLogAlways`, or a plain string).
    Always,
    /// Only when the task did not fail (parproc's `IgnoreLogIfSucceeded`): succeeded, skipped
    /// or up to date.
    IfSucceeded,
}

/// A rule whose pattern is not a valid regular expression.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid regex in log_ignore: {pattern:?}: {message}")]
pub struct InvalidLogIgnore {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it (the `regex` crate's explanation).
    pub message: String,
}

/// The log-ignore rules of one task: cheap to clone, shared by every instance of a proto.
///
/// ```
/// use parade::display::LogIgnore;
/// let rules = LogIgnore::new()
///     .always("^DEBUG ")
///     .unwrap()
///     .if_succeeded(r"warning: .*deprecated")
///     .unwrap();
/// assert!(rules.ignores("DEBUG connecting", false));
/// assert!(rules.ignores("warning: foo is deprecated", true)); // hidden on success
/// assert!(!rules.ignores("warning: foo is deprecated", false)); // shown on failure
/// assert!(!rules.ignores("error: disk full", true));
/// let err = LogIgnore::new().always("(").unwrap_err();
/// assert!(err.to_string().starts_with("invalid regex in log_ignore: \"(\""), "{err}");
/// ```
#[derive(Clone, Default)]
pub struct LogIgnore {
    rules: Arc<[(Regex, IgnoreWhen)]>,
}

impl fmt::Debug for LogIgnore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|(r, w)| (r.as_str(), w)))
            .finish()
    }
}

impl PartialEq for LogIgnore {
    fn eq(&self, other: &Self) -> bool {
        self.rules().eq(other.rules())
    }
}

impl LogIgnore {
    /// No rules: nothing is ignored.
    pub fn new() -> Self {
        Self::default()
    }

    /// These rules and one more.
    pub fn rule(self, pattern: &str, when: IgnoreWhen) -> Result<Self, InvalidLogIgnore> {
        let regex = Regex::new(pattern).map_err(|e| InvalidLogIgnore {
            pattern: pattern.to_owned(),
            message: match e {
                regex::Error::Syntax(s) => s.lines().last().unwrap_or_default().trim().to_owned(),
                other => other.to_string(),
            },
        })?;
        let mut rules: Vec<_> = self.rules.iter().cloned().collect();
        rules.push((regex, when));
        Ok(Self {
            rules: rules.into(),
        })
    }

    /// Adds a rule that drops matching lines from every snippet.
    pub fn always(self, pattern: &str) -> Result<Self, InvalidLogIgnore> {
        self.rule(pattern, IgnoreWhen::Always)
    }

    /// Adds a rule that drops matching lines only when the task did not fail.
    pub fn if_succeeded(self, pattern: &str) -> Result<Self, InvalidLogIgnore> {
        self.rule(pattern, IgnoreWhen::IfSucceeded)
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether some rule applies only on success (the snippet then depends on the outcome).
    pub fn has_if_succeeded(&self) -> bool {
        self.rules
            .iter()
            .any(|(_, w)| *w == IgnoreWhen::IfSucceeded)
    }

    /// The rules, as patterns, in the order given.
    pub fn rules(&self) -> impl Iterator<Item = (&str, IgnoreWhen)> {
        self.rules.iter().map(|(r, w)| (r.as_str(), *w))
    }

    /// Whether `line` is left out of the snippet of a task that `succeeded` (or failed).
    pub fn ignores(&self, line: &str, succeeded: bool) -> bool {
        self.rules
            .iter()
            .any(|(r, w)| (succeeded || *w == IgnoreWhen::Always) && r.is_match(line))
    }

    /// Whether the two share their rules (an instance and its proto do).
    pub fn same_rules(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.rules, &other.rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_searches_anywhere_in_the_line() {
        let r = LogIgnore::new().always("noise").unwrap();
        assert!(r.ignores("some noise here", false));
        assert!(!r.ignores("signal", false));
    }

    #[test]
    fn no_rules_ignore_nothing() {
        assert!(!LogIgnore::new().ignores("anything", true));
        assert!(LogIgnore::new().is_empty());
    }

    #[test]
    fn a_bad_pattern_says_which_and_why() {
        let err = LogIgnore::new().always("a(b").unwrap_err();
        assert_eq!(err.pattern, "a(b");
        assert!(err.message.contains("unclosed group"), "{}", err.message);
    }

    #[test]
    fn clones_share_the_rules() {
        let a = LogIgnore::new().if_succeeded("x").unwrap();
        let b = a.clone();
        assert!(a.same_rules(&b) && a == b && a.has_if_succeeded());
    }
}
