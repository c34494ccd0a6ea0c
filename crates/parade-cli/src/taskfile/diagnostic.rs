//! Task-file problems as miette diagnostics: a message, a label at the line and column, a hint;
//! and the "did you mean" suggestions they use.

use std::ops::Range;

use miette::{Diagnostic, NamedSource, SourceSpan};

/// Separates a message from its help inside serde error text (serde errors carry one string).
pub(crate) const HELP_MARK: &str = "\u{1f}help:";

/// One problem in a task file, pointing at where it is.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(parade::taskfile))]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    #[source_code]
    src: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    /// How to fix it.
    #[help]
    pub help: Option<String>,
}

impl Problem {
    /// A problem at byte range `span` of the file.
    pub fn new(file: &SourceFile, span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            src: file.named(),
            span: span.into(),
            label: "here".to_owned(),
            help: None,
        }
    }

    /// Sets the label shown under the marked text.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the hint.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the hint when there is one.
    #[must_use]
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// The byte offset the problem points at.
    pub fn offset(&self) -> usize {
        self.span.offset()
    }
}

/// Every problem found in a task file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{} problems in {name}", problems.len())]
pub struct Problems {
    name: String,
    /// The problems, in the order they appear in the file.
    #[related]
    pub problems: Vec<Problem>,
}

/// Why a task file could not be used.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum TaskFileError {
    /// No file to read.
    #[error("{0}")]
    #[diagnostic(code(parade::taskfile::missing))]
    NotFound(String),
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// One problem.
    #[error(transparent)]
    #[diagnostic(transparent)]
    One(Box<Problem>),
    /// Several problems.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Many(Problems),
}

impl TaskFileError {
    /// The error for a list of problems (which must not be empty), sorted by position.
    pub fn from_problems(file: &SourceFile, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(Problem::offset);
        if problems.len() == 1 {
            TaskFileError::One(Box::new(problems.remove(0)))
        } else {
            TaskFileError::Many(Problems {
                name: file.name.clone(),
                problems,
            })
        }
    }
}

/// A task file's text and the name to show for it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name shown in messages (the path as given or found).
    pub name: String,
    /// The text.
    pub text: String,
}

impl SourceFile {
    fn named(&self) -> NamedSource<String> {
        NamedSource::new(&self.name, self.text.clone())
    }

    /// `line:column` (both from 1) of a byte offset.
    ///
    /// ```
    /// use parade_cli::taskfile::SourceFile;
    /// let f = SourceFile { name: "t".into(), text: "a\nbc".into() };
    /// assert_eq!(f.line_col(3), (2, 2));
    /// ```
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// The candidates close to `word`, nearest first (at most three): within a third of the
/// word's length (at least 2 edits, Levenshtein distance by `strsim`), and at most one edit
/// farther than the nearest.
///
/// ```
/// use parade_cli::taskfile::suggest;
/// assert_eq!(suggest("tiemout", ["timeout", "run", "deps"]), ["timeout"]);
/// assert!(suggest("zzz", ["timeout"]).is_empty());
/// ```
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let mut close: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .collect();
    close.sort_unstable();
    close.dedup();
    let best = close.first().map_or(0, |&(d, _)| d);
    close
        .into_iter()
        .take_while(|&(d, _)| d <= best + 1)
        .take(3)
        .map(|(_, c)| c)
        .collect()
}

/// `did you mean `a` or `b`?`, or `None` with no suggestion.
pub fn did_you_mean(close: &[&str]) -> Option<String> {
    match close {
        [] => None,
        [one] => Some(format!("did you mean `{one}`?")),
        many => Some(format!(
            "did you mean one of {}?",
            many.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_nearest_first() {
        assert_eq!(
            suggest("lnt::[env]", ["lint::[env]", "build::[env]", "setup"]),
            ["lint::[env]"]
        );
        assert_eq!(
            did_you_mean(&["a", "b"]).unwrap(),
            "did you mean one of `a`, `b`?"
        );
    }

    #[test]
    fn line_and_column_count_characters() {
        let f = SourceFile {
            name: "x".into(),
            text: "é = 1\n\nab".into(),
        };
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col("é = 1\n\na".len()), (3, 2));
    }
}
