//! How untrusted values (task names, commands, output) enter the HTML page and never become
//! markup or code: [`Html`] for text and attribute values, [`script_json`] for the data block
//! the page's script reads with `JSON.parse` (and then shows with `textContent` only).

use std::fmt;

/// Displays a string escaped for HTML text and double- or single-quoted attribute values:
/// `&`, `<`, `>`, `"` and `'` become character references.
///
/// ```
/// use parade::report::Html;
/// assert_eq!(
///     Html("</script><img onerror='x'>&").to_string(),
///     "&lt;/script&gt;&lt;img onerror=&#39;x&#39;&gt;&amp;"
/// );
/// ```
pub struct Html<'a>(pub &'a str);

impl fmt::Display for Html<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// `value` as JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&`
/// are written as `\u003c`, `\u003e`, `\u0026` (so no `</script>` or `<!--` can appear), and
/// U+2028/U+2029 as escapes too. `JSON.parse` reads back the same value.
///
/// ```
/// let text = parade::report::script_json(&serde_json::json!({"name": "</script><b>"}));
/// assert_eq!(text, r#"{"name":"\u003c/script\u003e\u003cb\u003e"}"#);
/// ```
pub fn script_json(value: &serde_json::Value) -> String {
    let raw = value.to_string();
    let mut out = String::with_capacity(raw.len() + raw.len() / 16);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_json_reads_back_the_same() {
        let value = serde_json::json!({"a": "<!-- </script> & \u{2028} \"q\" \\"});
        let text = script_json(&value);
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(Html("build::prod é").to_string(), "build::prod é");
    }
}
