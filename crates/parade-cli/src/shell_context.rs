//! Where a position in POSIX shell text stands: outside quotes, inside `"..."`, `'...'`,
//! `$'...'`, a comment, or a heredoc body (quoted or not). [`crate::shell`] uses it to put a
//! reference to a value's variable that is valid where the `{field}` stands, so no value ever
//! becomes shell text.
//!
//! This module knows shell lexing and nothing else: not task files, not values. It is
//! hand-written because no well-kept crate exposes a shell lexer's *context* (the `shell-words`
//! and `shlex` crates split words; they cannot say "this byte is inside a heredoc body").
//! It follows POSIX `sh` (with bash's `$'...'`); it does not need to accept every script, only to
//! never mistake quoted text for unquoted text in scripts people write. Even where it misreads
//! a script, no value can execute: what is put in place of a field is always a variable
//! expansion, and the shell never parses the result of an expansion as code (a misread context
//! can only cost word splitting or a literal `${PARADE_V_1}`, never an injection).

/// What kind of text a position of a script is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Outside quotes (also inside `$(...)`, backticks and comments).
    Unquoted,
    /// Inside `"..."`.
    Double,
    /// Inside `'...'`.
    Single,
    /// Inside bash's `$'...'`.
    Ansi,
    /// The body of a heredoc whose word is not quoted (`<<EOF`): `$` expansions happen, quotes
    /// are plain characters.
    Heredoc,
    /// The body of a heredoc whose word is quoted (`<<'EOF'`): nothing is expanded.
    QuotedHeredoc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// Shell code: the top level, or `$(...)` (with its open parentheses counted).
    Code {
        subst: bool,
        parens: u32,
    },
    Backtick,
    Double,
    Single,
    Ansi,
    Comment,
    /// `${...}`, with its open braces counted.
    Param(u32),
    Heredoc {
        quoted: bool,
    },
}

#[derive(Clone, Debug)]
struct PendingHeredoc {
    delimiter: String,
    quoted: bool,
    strip_tabs: bool,
}

/// A shell lexer fed one piece of text at a time; [`Lexer::context`] says where the next
/// character stands.
///
/// ```
/// use parade_cli::shell_context::{Context, Lexer};
/// let mut lexer = Lexer::new();
/// lexer.feed("echo \"a ");
/// assert_eq!(lexer.context(), Context::Double);
/// lexer.feed("\" 'b");
/// assert_eq!(lexer.context(), Context::Single);
/// ```
#[derive(Clone, Debug)]
pub struct Lexer {
    stack: Vec<Frame>,
    pending: Vec<PendingHeredoc>,
    /// The heredoc whose body is being read.
    body: Option<PendingHeredoc>,
    /// The current line so far (for heredoc delimiters).
    line: String,
    escaped: bool,
    /// The previous character (for `$(`, `${`, `$'`, `<<` and word starts).
    prev: Option<char>,
    /// Characters of a heredoc word still being read after `<<`.
    word: Option<(String, bool, bool)>,
}

impl Default for Lexer {
    fn default() -> Self {
        Self::new()
    }
}

impl Lexer {
    /// A lexer at the start of a script.
    pub fn new() -> Self {
        Self {
            stack: vec![Frame::Code {
                subst: false,
                parens: 0,
            }],
            pending: Vec::new(),
            body: None,
            line: String::new(),
            escaped: false,
            prev: None,
            word: None,
        }
    }

    /// Where the next character stands.
    pub fn context(&self) -> Context {
        for frame in self.stack.iter().rev() {
            match frame {
                Frame::Param(_) => {}
                Frame::Code { .. } | Frame::Backtick | Frame::Comment => {
                    return Context::Unquoted;
                }
                Frame::Double => return Context::Double,
                Frame::Single => return Context::Single,
                Frame::Ansi => return Context::Ansi,
                Frame::Heredoc { quoted: false } => return Context::Heredoc,
                Frame::Heredoc { quoted: true } => return Context::QuotedHeredoc,
            }
        }
        Context::Unquoted
    }

    /// Reads `text`.
    pub fn feed(&mut self, text: &str) {
        for c in text.chars() {
            self.char(c);
        }
    }

    fn top(&self) -> Frame {
        *self.stack.last().expect("the lexer keeps its top frame")
    }

    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    fn word_start(prev: Option<char>) -> bool {
        prev.is_none_or(|p| p.is_whitespace() || ";&|()<>".contains(p))
    }

    #[allow(clippy::too_many_lines)] // one state machine
    fn char(&mut self, c: char) {
        let prev = self.prev;
        self.prev = Some(c);
        if c == '\n' {
            let line = std::mem::take(&mut self.line);
            if let Some(body) = &self.body {
                let text = if body.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line.as_str()
                };
                if text == body.delimiter {
                    self.body = None;
                    self.pop();
                    self.start_body();
                    return;
                }
            }
        } else {
            self.line.push(c);
        }
        if self.escaped {
            self.escaped = false;
            if let Some((word, quoted, _)) = &mut self.word {
                word.push(c);
                *quoted = true;
            }
            return;
        }
        if self.heredoc_word(c, prev) {
            return;
        }
        match self.top() {
            Frame::Code { .. } | Frame::Backtick | Frame::Param(_) => self.code(c, prev),
            Frame::Comment => {
                if c == '\n' {
                    self.pop();
                    self.newline();
                }
            }
            Frame::Double => {
                if c == '"' {
                    self.pop();
                } else {
                    self.expansion(c, prev);
                }
            }
            Frame::Single => {
                if c == '\'' {
                    self.pop();
                }
            }
            Frame::Ansi => match c {
                '\\' => self.escaped = true,
                '\'' => self.pop(),
                _ => {}
            },
            Frame::Heredoc { quoted } => {
                if !quoted {
                    self.expansion(c, prev);
                }
            }
        }
    }

    /// Inside double quotes and an unquoted heredoc alike: a backslash escapes the next
    /// character, and `` ` ``, `$(` and `${` open what they open.
    fn expansion(&mut self, c: char, prev: Option<char>) {
        match c {
            '\\' => self.escaped = true,
            '`' => self.stack.push(Frame::Backtick),
            '(' if prev == Some('$') => self.stack.push(Frame::Code {
                subst: true,
                parens: 0,
            }),
            '{' if prev == Some('$') => self.stack.push(Frame::Param(0)),
            _ => {}
        }
    }

    /// Reads a character of the word after `<<`; true when the character is used up.
    fn heredoc_word(&mut self, c: char, prev: Option<char>) -> bool {
        let top = self.top();
        let Some((word, quoted, strip)) = &mut self.word else {
            return false;
        };
        match top {
            Frame::Code { .. } | Frame::Backtick => {
                if word.is_empty() && (c == ' ' || c == '\t') {
                    return true;
                }
                if word.is_empty() && c == '-' && !*strip && prev == Some('<') {
                    *strip = true;
                    return true;
                }
                if word.is_empty() && c == '<' {
                    self.word = None; // `<<<`: a here-string
                    return true;
                }
                if c == '\'' || c == '"' {
                    *quoted = true;
                } else if c.is_whitespace() || ";&|<>()".contains(c) {
                    let (delimiter, quoted, strip_tabs) = self.word.take().expect("a word");
                    if !delimiter.is_empty() {
                        self.pending.push(PendingHeredoc {
                            delimiter,
                            quoted,
                            strip_tabs,
                        });
                    }
                } else if c != '\\' {
                    word.push(c);
                }
            }
            Frame::Single if c == '\'' => {}
            Frame::Double if c == '"' => {}
            _ if c != '\\' => word.push(c),
            _ => {}
        }
        false
    }

    /// A character of shell code (top level, `$(...)`, backticks, `${...}`).
    fn code(&mut self, c: char, prev: Option<char>) {
        match c {
            '\\' => self.escaped = true,
            '\'' if prev == Some('$') => self.stack.push(Frame::Ansi),
            '\'' => self.stack.push(Frame::Single),
            '"' => self.stack.push(Frame::Double),
            '`' if self.top() == Frame::Backtick => self.pop(),
            '`' => self.stack.push(Frame::Backtick),
            '#' if Self::word_start(prev) && !matches!(self.top(), Frame::Param(_)) => {
                self.stack.push(Frame::Comment);
            }
            '(' if prev == Some('$') => self.stack.push(Frame::Code {
                subst: true,
                parens: 0,
            }),
            '{' if prev == Some('$') => self.stack.push(Frame::Param(0)),
            '{' => {
                if let Frame::Param(n) = self.top() {
                    *self.stack.last_mut().expect("a frame") = Frame::Param(n + 1);
                }
            }
            '}' => {
                if let Frame::Param(n) = self.top() {
                    if n == 0 {
                        self.pop();
                    } else {
                        *self.stack.last_mut().expect("a frame") = Frame::Param(n - 1);
                    }
                }
            }
            '(' => {
                if let Frame::Code { subst, parens } = self.top() {
                    *self.stack.last_mut().expect("a frame") = Frame::Code {
                        subst,
                        parens: parens + 1,
                    };
                }
            }
            ')' => {
                if let Frame::Code { subst, parens } = self.top() {
                    if parens == 0 {
                        if subst {
                            self.pop();
                        }
                    } else {
                        *self.stack.last_mut().expect("a frame") = Frame::Code {
                            subst,
                            parens: parens - 1,
                        };
                    }
                }
            }
            '<' if prev == Some('<')
                && self.word.is_none()
                && !matches!(self.top(), Frame::Code { parens: 1.., .. }) =>
            {
                // `<<` starts a heredoc word (`<<<` is a here-string: the third `<` undoes it).
                self.word = Some((String::new(), false, false));
            }
            '\n' => self.newline(),
            _ => {}
        }
    }

    /// An unescaped newline in code: pending heredoc bodies start.
    fn newline(&mut self) {
        if let Some((delimiter, quoted, strip_tabs)) = self.word.take()
            && !delimiter.is_empty()
        {
            self.pending.push(PendingHeredoc {
                delimiter,
                quoted,
                strip_tabs,
            });
        }
        self.start_body();
    }

    fn start_body(&mut self) {
        if self.body.is_none() && !self.pending.is_empty() {
            let next = self.pending.remove(0);
            self.stack.push(Frame::Heredoc {
                quoted: next.quoted,
            });
            self.body = Some(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(text: &str) -> Context {
        let mut l = Lexer::new();
        l.feed(text);
        l.context()
    }

    #[test]
    fn quotes_nest_as_the_shell_reads_them() {
        assert_eq!(after("echo "), Context::Unquoted);
        assert_eq!(after("echo \"a"), Context::Double);
        assert_eq!(after("echo \"a\\\""), Context::Double);
        assert_eq!(after("echo 'a\\'"), Context::Unquoted);
        assert_eq!(after("echo \"$(echo '"), Context::Single);
        assert_eq!(after("echo \"$(echo 'x') "), Context::Double);
        assert_eq!(after("echo $'a\\'"), Context::Ansi);
        assert_eq!(after("echo `echo \""), Context::Double);
        assert_eq!(after("echo ${x:-\""), Context::Double);
        assert_eq!(after("echo \"${x:-a} "), Context::Double);
        assert_eq!(after("# don't\necho "), Context::Unquoted);
        assert_eq!(after("echo a#b'"), Context::Single);
        assert_eq!(after("awk '{print $1}' "), Context::Unquoted);
    }

    #[test]
    fn heredoc_bodies_are_their_own_context() {
        assert_eq!(after("cat <<EOF\nit's "), Context::Heredoc);
        assert_eq!(after("cat <<EOF\nit's\nEOF\n"), Context::Unquoted);
        assert_eq!(after("cat <<'EOF'\n"), Context::QuotedHeredoc);
        assert_eq!(after("cat <<\"EOF\" > f\n"), Context::QuotedHeredoc);
        assert_eq!(after("cat <<-EOF\n\tx\n\tEOF\necho '"), Context::Single);
        assert_eq!(after("cat <<A <<'B'\na\nA\n"), Context::QuotedHeredoc);
        assert_eq!(after("cat <<< 'x' \""), Context::Double);
        assert_eq!(after("cat <<EOF\n$(echo '"), Context::Single);
    }
}
