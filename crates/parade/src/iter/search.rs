//! The consumers people reach for in rayon: tests (`any`, `all`), searches (`find_first`,
//! `find_any`, `position`), extremes (`min`, `max` and their `_by` and `_by_key` forms) and
//! `product`.
//!
//! Predicates and keys run on the workers, as stages; what they produce is read in order on the
//! calling thread, which stops the workers as soon as the answer is known (the window bounds
//! how far they ran ahead). Extremes are a parallel [`reduce`](Pipeline::reduce) whose ties
//! resolve as std's do: `min` keeps the first of equal items, `max` the last.

use std::cmp::Ordering;
use std::iter::Product;

use super::pipeline::Pipeline;
use super::source::Source;
use super::stage::Stage;

impl<Src, St> Pipeline<Src, St>
where
    Src: Source,
    St: Stage<Src::Item>,
{
    /// Whether `f` holds for some item; stops the workers at the first that does.
    ///
    /// ```
    /// assert!(parade::iter(0u64..).any(|x| x * x > 1000)); // endless: stops early
    /// assert!(!parade::iter(0..10).any(|x| x > 10));
    /// ```
    pub fn any<F>(self, f: F) -> bool
    where
        F: Fn(St::Out) -> bool + Send + Sync,
    {
        self.map(f).drain(|items| items.any(|b| b))
    }

    /// Whether `f` holds for every item; stops the workers at the first that does not.
    ///
    /// ```
    /// assert!(parade::iter(0..100).all(|x| x < 100));
    /// assert!(!parade::iter(0u64..).all(|x| x < 5)); // endless: stops early
    /// ```
    pub fn all<F>(self, f: F) -> bool
    where
        F: Fn(St::Out) -> bool + Send + Sync,
    {
        self.map(f).drain(|items| items.all(|b| b))
    }

    /// The first item in order for which `f` holds (rayon's `find_first`).
    ///
    /// ```
    /// assert_eq!(parade::iter(1u64..).find_first(|x| x % 7 == 0), Some(7));
    /// ```
    pub fn find_first<F>(self, f: F) -> Option<St::Out>
    where
        F: Fn(&St::Out) -> bool + Send + Sync,
    {
        self.map(move |x| f(&x).then_some(x))
            .drain(|items| items.flatten().next())
    }

    /// Some item for which `f` holds, the first one found in completion order (rayon's
    /// `find_any`): faster than [`find_first`](Self::find_first) when any match will do.
    ///
    /// ```
    /// let x = parade::iter(1u64..1000).find_any(|x| x % 7 == 0).unwrap();
    /// assert_eq!(x % 7, 0);
    /// ```
    pub fn find_any<F>(self, f: F) -> Option<St::Out>
    where
        F: Fn(&St::Out) -> bool + Send + Sync,
    {
        self.unordered()
            .map(move |x| f(&x).then_some(x))
            .drain(|items| items.flatten().next())
    }

    /// The position, in order, of the first item for which `f` holds.
    ///
    /// ```
    /// assert_eq!(parade::iter(["a", "b", "c"]).position(|s| s == "c"), Some(2));
    /// ```
    pub fn position<F>(self, f: F) -> Option<usize>
    where
        F: Fn(St::Out) -> bool + Send + Sync,
    {
        self.map(f).drain(|items| items.position(|b| b))
    }

    /// The least item (the first of equal ones), `None` if there are none.
    ///
    /// ```
    /// assert_eq!(parade::iter(vec![3, 1, 2]).min(), Some(1));
    /// ```
    pub fn min(self) -> Option<St::Out>
    where
        St::Out: Ord,
    {
        self.min_by(Ord::cmp)
    }

    /// The greatest item (the last of equal ones), `None` if there are none.
    ///
    /// ```
    /// assert_eq!(parade::iter(vec![3, 1, 2]).max(), Some(3));
    /// ```
    pub fn max(self) -> Option<St::Out>
    where
        St::Out: Ord,
    {
        self.max_by(Ord::cmp)
    }

    /// The least item by `compare` (the first of equal ones).
    ///
    /// ```
    /// let v = parade::iter(vec![2.5f64, -1.0, 7.0]).min_by(|a, b| a.total_cmp(b));
    /// assert_eq!(v, Some(-1.0));
    /// ```
    pub fn min_by<F>(self, compare: F) -> Option<St::Out>
    where
        F: Fn(&St::Out, &St::Out) -> Ordering + Send + Sync,
    {
        self.reduce(move |a, b| {
            if compare(&b, &a) == Ordering::Less {
                b
            } else {
                a
            }
        })
    }

    /// The greatest item by `compare` (the last of equal ones).
    ///
    /// ```
    /// let v = parade::iter(vec![2.5f64, -1.0, 7.0]).max_by(|a, b| a.total_cmp(b));
    /// assert_eq!(v, Some(7.0));
    /// ```
    pub fn max_by<F>(self, compare: F) -> Option<St::Out>
    where
        F: Fn(&St::Out, &St::Out) -> Ordering + Send + Sync,
    {
        self.reduce(move |a, b| {
            if compare(&b, &a) == Ordering::Less {
                a
            } else {
                b
            }
        })
    }

    /// The item whose key is least (the first of equal keys); keys are computed on the workers,
    /// once per item.
    ///
    /// ```
    /// assert_eq!(parade::iter(["ccc", "a", "bb"]).min_by_key(|s| s.len()), Some("a"));
    /// ```
    pub fn min_by_key<K, F>(self, key: F) -> Option<St::Out>
    where
        K: Ord + Send,
        F: Fn(&St::Out) -> K + Send + Sync,
    {
        self.map(move |x| (key(&x), x))
            .min_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, x)| x)
    }

    /// The item whose key is greatest (the last of equal keys).
    ///
    /// ```
    /// assert_eq!(parade::iter(["ccc", "a", "bb"]).max_by_key(|s| s.len()), Some("ccc"));
    /// ```
    pub fn max_by_key<K, F>(self, key: F) -> Option<St::Out>
    where
        K: Ord + Send,
        F: Fn(&St::Out) -> K + Send + Sync,
    {
        self.map(move |x| (key(&x), x))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, x)| x)
    }

    /// Multiplies the items, in order, on the calling thread (the stages before it run on the
    /// workers).
    ///
    /// ```
    /// let p: u64 = parade::iter(1..=10u64).product();
    /// assert_eq!(p, 3_628_800);
    /// ```
    pub fn product<P>(self) -> P
    where
        P: Product<St::Out>,
    {
        self.drain(|items| items.product())
    }
}
