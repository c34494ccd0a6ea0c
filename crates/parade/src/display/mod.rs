//! Terminal observers (being built on another branch); for now, the naming interface they use.

mod names;

pub use names::TaskNames;
