//! Lazy parallel pipelines over any iterator: the `iter` face.
//!
//! [`iter`] wraps anything [`IntoIterator`] (a range, a `Vec`, the lines of a file, an endless
//! generator) in a [`Pipeline`]; [`iter_slice`] wraps a borrowed slice and hands workers
//! sub-slices without copying. Adapters (`map`, `filter`, `filter_map`, `flat_map`, `inspect`,
//! `map_init`, `map_with`, `try_map`; on chains that make one output per item, rayon's indexed
//! adapters `enumerate`, `zip`, `skip`, `take`, `chain`, `chunks`; and rayon's per-worker
//! `fold`) describe the work; nothing runs until the pipeline is
//! consumed (`collect`, `collect_vec`, `for_each`, `fold_in_order` (std's left fold), `reduce`, `count`, `sum`, `product`,
//! `any`, `all`, `find_first`, `find_any`, `position`, `min`/`max` (`_by`, `_by_key`), the `try_` consumers, or
//! a plain [`Iterator`] through `into_iter`).
//!
//! ```
//! let evens_doubled: Vec<u64> = parade::iter(0u64..) // endless: fine, it is lazy and bounded
//!     .filter(|x| x % 2 == 0)
//!     .map(|x| x * 2)
//!     .take(5)
//!     .collect();
//! assert_eq!(evens_doubled, [0, 4, 8, 12, 16]);
//! ```
//!
//! How it runs:
//!
//! - Workers (threads borrowed from a pool kept between runs, as many as the machine's cores unless
//!   [`workers`](Pipeline::workers) says otherwise) take batches of items from the source
//!   under a lock and push each item through the whole chain of stages: stages are fused, an
//!   item never changes thread between them. Where the calling thread works too (folds,
//!   sums, `collect_vec`), it starts alone and calls the other workers once it has worked
//!   about as long as waking one costs (10 µs), so a pipeline of a few cheap items wakes no
//!   thread; a source of only a few items gets them at once. As with rayon, items may run side
//!   by side but are never promised to: an item must not wait for another.
//! - A window bounds memory: the source is never more than [`in_flight`](Pipeline::in_flight)
//!   items ahead of what the consumer has taken, so one slow item makes the others wait
//!   instead of piling up. Finished batches are reordered so output keeps input order, unless
//!   [`unordered`](Pipeline::unordered) asks for completion order.
//! - Batch sizes adapt to how long items take (cheap items travel in big batches), or are
//!   fixed with [`batch`](Pipeline::batch).
//! - A panic in a stage reaches the consumer with its original payload, after the items before
//!   it; workers are stopped and joined when the consumer ends, stops early or unwinds.
//!
//! Items and outputs cross threads, so they must be [`Send`]; this does not build:
//!
//! ```compile_fail
//! let v: Vec<u32> = parade::iter(vec![std::rc::Rc::new(1)]).map(|r| *r).collect();
//! ```
//!
//! Consuming methods run their workers in a thread scope, so stages may borrow; a plain
//! iterator outlives the call that made it, so its stages may not:
//!
//! ```compile_fail
//! fn doubled(factor: &u64) -> impl Iterator<Item = u64> + '_ {
//!     parade::iter(0..10u64).map(move |x| x * factor).into_iter()
//! }
//! ```
//!
//! This module owns the pipeline, its stages and its worker machinery. It does not use the
//! engine or the executors: a run borrows threads from a pool kept between runs (see
//! `pool.rs`; threads of its own when it runs on a pool thread itself) and waits for them.

mod consume;
mod fallible;
mod gather;
mod indexed;
mod options;
mod ordered;
mod pipeline;
mod pool;
mod run;
mod search;
mod source;
mod stage;
mod window;
mod worker;

pub use consume::IntoIter;
pub use options::DEFAULT_IN_FLIGHT;
pub use ordered::Side;
pub use pipeline::Pipeline;
pub use source::Source;
pub use stage::Stage;

use options::Options;
use source::{IterSource, SliceSource};
use stage::Identity;

/// A lazy parallel pipeline over anything [`IntoIterator`] whose iterator can be sent to
/// another thread.
///
/// Items are pulled by the workers, in batches, under a lock. The source may be endless.
///
/// ```
/// use std::io::BufRead;
/// let text = "3\n1\n2\n";
/// let lines = std::io::Cursor::new(text).lines().map(Result::unwrap);
/// let doubled: Vec<u32> = parade::iter(lines).map(|l| l.parse::<u32>().unwrap() * 2).collect();
/// assert_eq!(doubled, [6, 2, 4]);
/// ```
pub fn iter<I>(
    source: I,
) -> Pipeline<impl Source<Item = I::Item>, impl Stage<I::Item, Out = I::Item>>
where
    I: IntoIterator,
    I::IntoIter: Send,
    I::Item: Send,
{
    Pipeline {
        source: IterSource::new(source.into_iter()),
        stage: Identity,
        options: Options::default(),
    }
}

/// A lazy parallel pipeline over a borrowed slice: workers get sub-slices, nothing is copied,
/// which makes cheap maps over data in memory fast. Items are `&T`.
///
/// ```
/// let v: Vec<u64> = (0..1000).collect();
/// let doubled: Vec<u64> = parade::iter_slice(&v).map(|x| x * 2).collect();
/// assert_eq!(doubled[999], 1998);
/// ```
pub fn iter_slice<T: Sync>(
    slice: &[T],
) -> Pipeline<impl Source<Item = &T>, impl Stage<&T, Out = &T>> {
    Pipeline {
        source: SliceSource::new(slice),
        stage: Identity,
        options: Options::default(),
    }
}
