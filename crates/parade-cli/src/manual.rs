//! What is generated from the command line's definition ([`crate::cli::Cli`]): shell
//! completion scripts (`clap_complete`) and the man page (`clap_mangen`).
//!
//! This module knows the generators, not the commands.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
///
/// ```
/// let mut out = Vec::new();
/// parade_cli::manual::completions(clap_complete::Shell::Bash, &mut out);
/// assert!(String::from_utf8(out).unwrap().contains("parade"));
/// ```
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "parade", out);
}

/// Writes the man page (roff) to `out`.
///
/// ```
/// let mut out = Vec::new();
/// parade_cli::manual::man(&mut out).unwrap();
/// assert!(String::from_utf8(out).unwrap().contains(".TH parade"));
/// ```
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}
