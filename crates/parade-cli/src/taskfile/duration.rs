//! Durations as people write them in task files: `500ms`, `30s`, `10m`, `1h30m`, `2d`.

use std::time::Duration;

/// What a duration may look like, for error messages.
pub const DURATION_HELP: &str = "write numbers with units, like 500ms, 30s, 10m or 1h30m (units: ms, s, m, h, d); a bare integer is seconds";

/// Parses `500ms`, `30s`, `10m`, `1h30m`, `1.5h`, `2d`; parts add up.
///
/// ```
/// use std::time::Duration;
/// use parade_cli::taskfile::parse_duration;
/// assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
/// assert_eq!(parse_duration("10x"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return None,
        };
        rest = rest[unit_len..].trim_start();
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// A duration field: a string like `"10m"` or an integer number of seconds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DurationValue(pub Duration);

impl<'de> serde::Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration like \"30s\" or a number of seconds")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DurationValue, E> {
                u64::try_from(v)
                    .map(|s| DurationValue(Duration::from_secs(s)))
                    .map_err(|_| E::custom(format!("a duration cannot be negative: {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationValue, E> {
                parse_duration(v).map(DurationValue).ok_or_else(|| {
                    E::custom(format!(
                        "invalid duration \"{v}\"{}{DURATION_HELP}",
                        super::diagnostic::HELP_MARK
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_add_up() {
        let cases = [
            ("30s", 30_000),
            ("10m", 600_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("1.5s", 1500),
            ("2d", 172_800_000),
            ("1m 30s", 90_000),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Some(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn nonsense_is_refused() {
        for text in ["", "10", "10x", "s", "1h30", "-5s", "1..2s", "ten seconds"] {
            assert_eq!(parse_duration(text), None, "{text}");
        }
    }
}
