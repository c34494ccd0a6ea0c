//! A graph task's resource hints ([`Resources`]): cores, free-form `key=value` hints and the
//! counted resources it uses, shown in logs and the dry run. What a cluster makes of them
//! belongs to [`wire`](super::wire); counting uses belongs to the engine (see
//! [`Graph::resource`](super::Graph::resource)).

use std::fmt::{self, Display};

/// Resource hints of a task: cores it needs and free-form `key=value` hints. Shown in logs and
/// in the dry run; cores are checked against the executor's capacity.
///
/// ```
/// use parade::graph::Resources;
/// let r = Resources {
///     cores: Some(4),
///     hints: vec![("mem".into(), "2G".into())],
///     uses: vec![("gpu".into(), 1)],
/// };
/// assert_eq!(r.to_string(), "cores=4, mem=2G, uses gpu=1");
/// ```
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct Resources {
    /// How many cores the task uses.
    pub cores: Option<usize>,
    /// Other hints, in the order given.
    pub hints: Vec<(String, String)>,
    /// Counted resources used while running, and how much of each (see
    /// [`Graph::resource`](super::Graph::resource)).
    pub uses: Vec<(String, u32)>,
}

impl Resources {
    /// Whether there is no hint at all.
    pub fn is_empty(&self) -> bool {
        self.cores.is_none() && self.hints.is_empty() && self.uses.is_empty()
    }
}

impl Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if let Some(c) = self.cores {
            write!(f, "cores={c}")?;
            first = false;
        }
        for (k, v) in &self.hints {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v}")?;
            first = false;
        }
        for (k, n) in &self.uses {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "uses {k}={n}")?;
            first = false;
        }
        Ok(())
    }
}
