//! [`Dep`]: what a proc or proto may depend on, and [`Lookup`], what dependency and choices
//! closures see.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// What a dependency closure or a choices closure sees: the name of the proc being made, its
/// arguments (as text, before any conversion) and the flow's params.
pub struct Lookup<'a> {
    pub(crate) name: &'a str,
    pub(crate) args: &'a [(String, String)],
    pub(crate) params: &'a serde_json::Map<String, Value>,
}

impl<'a> Lookup<'a> {
    /// The name of the proc being made.
    pub fn name(&self) -> &str {
        self.name
    }

    /// An argument's text, if the proc has it.
    pub fn arg(&self, key: &str) -> Option<&'a str> {
        arg_of(self.args, key)
    }

    /// Every argument, in pattern order.
    pub fn args(&self) -> &[(String, String)] {
        self.args
    }

    /// A flow param.
    pub fn param(&self, key: &str) -> Option<&Value> {
        self.params.get(key)
    }
}

/// A closure computing dependency names from the proc's name, arguments and params.
pub type DepFn = Arc<dyn Fn(&Lookup<'_>) -> Vec<String> + Send + Sync>;

/// One dependency of a proc or proto.
///
/// A name is a shared string (`Arc<str>`): a task file whose tasks name the same dependency
/// share one copy of its name, from the file's reader through to the flow.
///
/// A string is read by its shape: with `[placeholders]` it is a pattern filled from the
/// proc's own arguments; with `*` or `?` a glob over a proto's choices; otherwise a name. A
/// name (filled or given) that no proc has yet but a proto matches creates that proc. A name
/// nothing matches is missing: the dependent ends dep-failed, unless a proc of that name is
/// defined before the run goes quiet (or it is an error, with `allow_missing_deps` off).
///
/// ```
/// use parade::flow::Dep;
/// let deps: Vec<Dep> = vec![
///     "setup".into(),                       // a proc name
///     Dep::pattern("build::[env]"),         // filled from the proc's own arguments
///     Dep::glob("lint::*"),                 // every choice of a proto placeholder
///     Dep::closure(|l| vec![format!("provision::{}", l.arg("env").unwrap_or("dev"))]),
///     Dep::NoFailures,                      // run only if nothing has failed so far
/// ];
/// assert_eq!(deps.len(), 5);
/// ```
#[derive(Clone)]
pub enum Dep {
    /// A name, pattern or glob (see above).
    Name(Arc<str>),
    /// A closure computing names; called when the proc is made.
    Closure(DepFn),
    /// Run only if no proc of the run has failed so far; else end as dep-failed.
    NoFailures,
}

impl Dep {
    /// A proc name (a filled-out proto name creates the proc from its proto).
    pub fn name(name: impl Into<String>) -> Self {
        Dep::Name(name.into().into())
    }

    /// A pattern filled from the proc's own arguments, e.g. `build::[env]`.
    pub fn pattern(pattern: impl Into<String>) -> Self {
        Dep::Name(pattern.into().into())
    }

    /// A glob over a proto's choices, e.g. `build::*`.
    pub fn glob(glob: impl Into<String>) -> Self {
        Dep::Name(glob.into().into())
    }

    /// Names computed from the proc's name, arguments and params when the proc is made.
    pub fn closure(f: impl Fn(&Lookup<'_>) -> Vec<String> + Send + Sync + 'static) -> Self {
        Dep::Closure(Arc::new(f))
    }
}

impl fmt::Debug for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dep::Name(n) => write!(f, "{n:?}"),
            Dep::Closure(_) => f.write_str("<closure>"),
            Dep::NoFailures => f.write_str("NoFailures"),
        }
    }
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dep::Name(n) => f.write_str(n),
            Dep::Closure(_) => f.write_str("<closure>"),
            Dep::NoFailures => f.write_str("<no failures>"),
        }
    }
}

impl From<&str> for Dep {
    fn from(s: &str) -> Self {
        Dep::Name(s.into())
    }
}

impl From<String> for Dep {
    fn from(s: String) -> Self {
        Dep::Name(s.into())
    }
}

impl From<&String> for Dep {
    fn from(s: &String) -> Self {
        Dep::Name(s.as_str().into())
    }
}

/// A shared name, shared on (no copy of the text).
///
/// ```
/// use std::sync::Arc;
/// use parade::flow::Dep;
/// let name: Arc<str> = Arc::from("setup");
/// let Dep::Name(dep) = Dep::from(name.clone()) else { unreachable!() };
/// assert!(Arc::ptr_eq(&dep, &name));
/// ```
impl From<Arc<str>> for Dep {
    fn from(s: Arc<str>) -> Self {
        Dep::Name(s)
    }
}

impl From<&Arc<str>> for Dep {
    fn from(s: &Arc<str>) -> Self {
        Dep::Name(s.clone())
    }
}

/// The text of argument `key` among a proc's `args` (its pattern's order): what a dependency
/// closure's [`Lookup::arg`] and a proc body's [`Context::arg_str`](super::Context::arg_str) read.
pub(crate) fn arg_of<'a>(args: &'a [(String, String)], key: &str) -> Option<&'a str> {
    args.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
