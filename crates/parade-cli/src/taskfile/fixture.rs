//! A task file the readers' tests share: the benchmark's layered file (`parade-bench cli`'s
//! `layered` graph). `tests/taskfile_alloc.rs` includes this file too (by `#[path]`), so it
//! uses nothing but std.

use std::fmt::Write as _;

/// `layers` of `width` tasks running `true`, each needing every task of the layer before.
pub fn layered(layers: usize, width: usize) -> String {
    let mut text = String::new();
    for l in 0..layers {
        for i in 0..width {
            let deps: Vec<String> = (0..width)
                .filter(|_| l > 0)
                .map(|j| format!("\"l{}_{j}\"", l - 1))
                .collect();
            let _ = write!(
                text,
                "[task.l{l}_{i}]\nrun = \"true\"\ndeps = [{}]\n\n",
                deps.join(", ")
            );
        }
    }
    text
}
