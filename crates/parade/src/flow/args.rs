//! A proc's arguments, [`ArgList`]: a list of its own, or one combination of a glob's
//! [`Span`] (the choices each placeholder ranges over, shared by every instance the glob
//! made), whose values are read from the span when asked for.
//!
//! A glob over a million combinations makes a million procs; held as lists of their own, their
//! arguments were four small strings and a slice each (≈240 bytes with the allocator's
//! rounding). Here each instance holds the span and its position: the values are the span's
//! strings, borrowed. This module knows arguments only; which proto a name addresses and how
//! a glob expands is `proto.rs`'s.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// The arguments of a glob's instances: per argument (in the proto's order) the values it
/// takes (one for an argument the glob fixes), then the proto's further arguments, the same
/// for every instance. Instance `at` is the `at`-th combination, the first argument varying
/// slowest.
#[derive(Debug)]
pub(crate) struct Span {
    keys: Box<[String]>,
    axes: Box<[Box<[String]>]>,
    /// How many combinations one step of each argument spans.
    strides: Box<[usize]>,
    extras: Box<[(String, String)]>,
    len: usize,
}

impl Span {
    /// The span of `keys` over `axes` (one list of values per key, none empty), each
    /// combination followed by `extras`.
    pub(crate) fn new(
        keys: Vec<String>,
        axes: Vec<Vec<String>>,
        extras: Vec<(String, String)>,
    ) -> Self {
        debug_assert_eq!(keys.len(), axes.len());
        let mut strides = vec![1; axes.len()];
        let mut len = 1_usize;
        for (k, axis) in axes.iter().enumerate().rev() {
            strides[k] = len;
            len = len.saturating_mul(axis.len());
        }
        Self {
            keys: keys.into(),
            axes: axes.into_iter().map(Vec::into_boxed_slice).collect(),
            strides: strides.into(),
            extras: extras.into(),
            len,
        }
    }

    /// How many combinations it has.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Argument `k`'s value in combination `at`.
    fn value(&self, at: usize, k: usize) -> &str {
        let axis = &self.axes[k];
        &axis[(at / self.strides[k]) % axis.len()]
    }

    fn arity(&self) -> usize {
        self.keys.len() + self.extras.len()
    }

    /// The `i`-th argument of combination `at`.
    fn pair(&self, at: usize, i: usize) -> (&str, &str) {
        if let Some(key) = self.keys.get(i) {
            (key, self.value(at, i))
        } else {
            let (k, v) = &self.extras[i - self.keys.len()];
            (k, v)
        }
    }

    /// The value of argument `key` in combination `at` (the first, if it repeats): the keys
    /// compared first, the value of the one that matches read alone.
    fn get(&self, at: usize, key: &str) -> Option<&str> {
        match self.keys.iter().position(|k| k == key) {
            Some(k) => Some(self.value(at, k)),
            None => self
                .extras
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str()),
        }
    }
}

/// The pairs of an [`ArgList`], in order ([`ArgList::iter`]): counted without being read.
struct Iter<'a> {
    args: &'a ArgList,
    next: usize,
    len: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.len {
            return None;
        }
        let i = self.next;
        self.next += 1;
        Some(match &self.args.0 {
            Repr::Own(list) => (list[i].0.as_str(), list[i].1.as_str()),
            Repr::Span(span, at) => span.pair(*at, i),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len - self.next;
        (left, Some(left))
    }

    fn count(self) -> usize {
        self.len - self.next
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// A proc's arguments, in the proto's order (a proto's further arguments after its
/// placeholders'). Cheap to clone: a glob's instances share their values.
///
/// ```
/// use parade::flow::ArgList;
/// let args = ArgList::from(vec![("env".to_owned(), "prod".to_owned())]);
/// assert_eq!(args.get("env"), Some("prod"));
/// assert_eq!(args.iter().collect::<Vec<_>>(), [("env", "prod")]);
/// assert_eq!(args.to_vec(), [("env".to_owned(), "prod".to_owned())]);
/// ```
#[derive(Clone)]
pub struct ArgList(Repr);

#[derive(Clone)]
enum Repr {
    Own(Arc<[(String, String)]>),
    Span(Arc<Span>, usize),
}

impl ArgList {
    /// Combination `at` of `span`.
    pub(crate) fn of_span(span: &Arc<Span>, at: usize) -> Self {
        debug_assert!(at < span.len());
        Self(Repr::Span(Arc::clone(span), at))
    }

    /// How many arguments.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Own(list) => list.len(),
            Repr::Span(span, _) => span.arity(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `(name, value)` pairs, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        Iter {
            args: self,
            next: 0,
            len: self.len(),
        }
    }

    /// The value of argument `key` (the first, if it repeats).
    pub fn get(&self, key: &str) -> Option<&str> {
        match &self.0 {
            Repr::Own(list) => list.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()),
            Repr::Span(span, at) => span.get(*at, key),
        }
    }

    /// The pairs as a list of their own.
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// The pairs as a slice: borrowed from a list of its own, made for a span's instance.
    pub(crate) fn as_slice(&self) -> Cow<'_, [(String, String)]> {
        match &self.0 {
            Repr::Own(list) => Cow::Borrowed(list),
            Repr::Span(..) => Cow::Owned(self.to_vec()),
        }
    }

    /// The pairs as a shared slice (a count for a list of its own).
    pub(crate) fn to_shared(&self) -> Arc<[(String, String)]> {
        match &self.0 {
            Repr::Own(list) => Arc::clone(list),
            Repr::Span(..) => self.to_vec().into(),
        }
    }
}

impl Default for ArgList {
    fn default() -> Self {
        Self(Repr::Own(Arc::from(Vec::new())))
    }
}

impl From<Vec<(String, String)>> for ArgList {
    fn from(list: Vec<(String, String)>) -> Self {
        Self(Repr::Own(list.into()))
    }
}

impl PartialEq for ArgList {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ArgList {}

impl fmt::Debug for ArgList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_span_lists_its_combinations_first_argument_slowest() {
        let span = Arc::new(Span::new(
            s(&["a", "b"]),
            vec![s(&["1", "2"]), s(&["x", "y", "z"])],
            vec![("k".into(), "v".into())],
        ));
        assert_eq!(span.len(), 6);
        let all: Vec<Vec<(String, String)>> = (0..6)
            .map(|at| ArgList::of_span(&span, at).to_vec())
            .collect();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(all[0], [pair("a", "1"), pair("b", "x"), pair("k", "v")]);
        assert_eq!(all[2], [pair("a", "1"), pair("b", "z"), pair("k", "v")]);
        assert_eq!(all[3], [pair("a", "2"), pair("b", "x"), pair("k", "v")]);
        assert_eq!(all[5], [pair("a", "2"), pair("b", "z"), pair("k", "v")]);
        let one = ArgList::of_span(&span, 4);
        assert_eq!(one.iter().count(), 3);
        assert_eq!(one.iter().len(), 3);
        assert_eq!(one.get("a"), Some("2"));
        assert_eq!(one.get("b"), Some("y"));
        assert_eq!(one.get("k"), Some("v"));
        assert_eq!(one.get("c"), None);
        assert_eq!(
            one,
            ArgList::from(one.to_vec()),
            "the same arguments either way"
        );
    }

    #[test]
    fn instances_share_their_span_and_hold_no_string() {
        let values: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let span = Arc::new(Span::new(
            s(&["a", "b"]),
            vec![values.clone(), values],
            Vec::new(),
        ));
        let all: Vec<ArgList> = (0..span.len())
            .map(|at| ArgList::of_span(&span, at))
            .collect();
        assert_eq!(Arc::strong_count(&span), 1 + 10_000, "one span for all");
        assert!(size_of::<ArgList>() <= 24);
        assert_eq!(all[9_999].get("a"), Some("99"));
    }
}
