//! Small pieces of text the report's pictures share: durations as people read them, and the
//! CSS class of a state.

/// Seconds as a person reads them: `850 ms`, `1.23 s`, `2 m 05 s`, `1 h 02 m`.
///
/// ```
/// use parade::report::seconds;
/// assert_eq!(seconds(0.25), "250 ms");
/// assert_eq!(seconds(1.234), "1.23 s");
/// assert_eq!(seconds(125.0), "2 m 05 s");
/// assert_eq!(seconds(3720.0), "1 h 02 m");
/// ```
pub fn seconds(s: f64) -> String {
    let s = if s.is_finite() { s.max(0.0) } else { 0.0 };
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 60.0 {
        format!("{s:.2} s")
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // finite, >= 60
        let whole = s.round() as u64;
        if whole < 3600 {
            format!("{} m {:02} s", whole / 60, whole % 60)
        } else {
            format!("{} h {:02} m", whole / 3600, whole % 3600 / 60)
        }
    }
}

/// The CSS class of a state word: `s-failed`; words outside the known states (a hand-edited
/// record) get `s-other`, so no value ever becomes a class it should not.
pub(crate) fn state_class(state: &str) -> &'static str {
    match state {
        "succeeded" => "s-succeeded",
        "failed" => "s-failed",
        "dep-failed" => "s-dep-failed",
        "skipped" => "s-skipped",
        "cancelled" => "s-cancelled",
        "running" => "s-running",
        "wanted" => "s-wanted",
        _ => "s-other",
    }
}
