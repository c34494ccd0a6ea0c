//! [`Rdep`]: reverse dependencies, "run me before that", in three kinds.

use std::fmt;

use super::Pattern;

/// When a reverse dependency applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RdepKind {
    /// Whenever a proc matching the pattern is wanted, by any path, the declarer (or the proto
    /// instance the pattern's arguments make) becomes its dependency and so runs first. The
    /// declarer alone never pulls the target in.
    Plain,
    /// When the declarer is wanted, its target (the pattern filled from the declarer's
    /// arguments) is wanted too and runs after it. Wanting the target alone does not involve
    /// the declarer. An error if the target has already started.
    WhenScheduled,
    /// Like [`RdepKind::Plain`] when the target is wanted; and when the declarer is wanted
    /// while its target is wanted already, it still goes first (an error if the target has
    /// started). Never pulls the target in.
    WhenTargetScheduled,
}

impl RdepKind {
    /// The rule's name, as in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            RdepKind::Plain => "plain",
            RdepKind::WhenScheduled => "WhenScheduled",
            RdepKind::WhenTargetScheduled => "WhenTargetScheduled",
        }
    }
}

/// A reverse dependency: a pattern naming the procs the declarer must run before.
///
/// ```
/// use parade::flow::{Rdep, RdepKind};
/// let r: Rdep = "deploy::[env]".into();
/// assert_eq!(r.kind(), RdepKind::Plain);
/// assert_eq!(Rdep::when_scheduled("deploy::[env]").to_string(), "WhenScheduled(deploy::[env])");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rdep {
    pub(crate) kind: RdepKind,
    pub(crate) pattern: Pattern,
}

impl Rdep {
    /// A plain rdep.
    pub fn plain(pattern: &str) -> Self {
        Self {
            kind: RdepKind::Plain,
            pattern: Pattern::parse(pattern),
        }
    }

    /// A `WhenScheduled` rdep.
    pub fn when_scheduled(pattern: &str) -> Self {
        Self {
            kind: RdepKind::WhenScheduled,
            pattern: Pattern::parse(pattern),
        }
    }

    /// A `WhenTargetScheduled` rdep.
    pub fn when_target_scheduled(pattern: &str) -> Self {
        Self {
            kind: RdepKind::WhenTargetScheduled,
            pattern: Pattern::parse(pattern),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> RdepKind {
        self.kind
    }

    /// Its pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The same rule with the placeholders `args` know filled in.
    pub(crate) fn filled(&self, args: &[(String, String)]) -> Self {
        if args.is_empty() || !self.pattern.has_params() {
            return self.clone();
        }
        Self {
            kind: self.kind,
            pattern: self
                .pattern
                .fill_partial(|k| args.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())),
        }
    }
}

impl fmt::Display for Rdep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RdepKind::Plain => write!(f, "{}", self.pattern),
            k => write!(f, "{}({})", k.as_str(), self.pattern),
        }
    }
}

impl From<&str> for Rdep {
    fn from(s: &str) -> Self {
        Rdep::plain(s)
    }
}

impl From<String> for Rdep {
    fn from(s: String) -> Self {
        Rdep::plain(&s)
    }
}
