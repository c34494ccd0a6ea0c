//! The timeline picture: an inline SVG with one row per worker slot (and a `not run` row),
//! one bar per task coloured by its final state, time along the top.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::analysis::Analysis;
use super::escape::Html;
use super::record::RunRecord;
use super::words::{seconds, state_class};

/// Width of the row labels, in pixels.
const LABEL_W: f64 = 70.0;
/// Width of the plotted time span, in pixels.
const PLOT_W: f64 = 1000.0;
/// Height of one row.
const ROW_H: f64 = 20.0;
/// Height of a bar.
const BAR_H: f64 = 15.0;
/// Height of the time axis.
const AXIS_H: f64 = 20.0;
/// The narrowest bar drawn, so every task stays visible and clickable.
const MIN_BAR: f64 = 2.0;
/// The narrowest bar of a failed task, so it stands out among a thousand.
const MIN_FAILED_BAR: f64 = 4.0;
/// The width of the mark of a task that never started.
const MARK_W: f64 = 6.0;
/// Roughly the width of one character of a bar's label.
const CHAR_W: f64 = 6.5;

/// The timeline of `run` as an `<svg>` element. Every task gets one `<rect class="bar ...">`
/// with `data-i` (its index in `run.tasks`) and `data-task` (its name); a task that never
/// started gets a narrow bar on the `not run` row at the moment it was decided.
pub fn timeline(run: &RunRecord, analysis: &Analysis) -> String {
    let span = run
        .tasks
        .iter()
        .filter_map(|t| t.end.or(t.start))
        .fold(run.elapsed, f64::max)
        .max(1e-3);
    let x = |t: f64| LABEL_W + t.clamp(0.0, span) / span * PLOT_W;
    let not_run = run.tasks.iter().any(|t| t.start.is_none());
    let rows = run.slots as usize + usize::from(not_run);
    #[allow(clippy::cast_precision_loss)] // a handful of rows
    let height = AXIS_H + ROW_H * rows.max(1) as f64 + 4.0;
    let width = LABEL_W + PLOT_W + 10.0;
    let mut svg = String::with_capacity(200 + run.tasks.len() * 160);
    let _ = write!(
        svg,
        r#"<svg id="timeline" class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="timeline">"#
    );
    // The axis: a tick every "nice" step.
    let step = nice_step(span / 8.0);
    let mut tick = 0.0;
    while tick <= span + step * 1e-9 {
        let tx = x(tick);
        let _ = write!(
            svg,
            r#"<line class="tick" x1="{tx:.1}" y1="{AXIS_H}" x2="{tx:.1}" y2="{height}"/><text class="axis" x="{tx:.1}" y="13">{}</text>"#,
            seconds(tick)
        );
        tick += step;
    }
    let row_y = |row: usize| {
        #[allow(clippy::cast_precision_loss)]
        let r = row as f64;
        AXIS_H + r * ROW_H
    };
    for slot in 0..run.slots as usize {
        let _ = write!(
            svg,
            r#"<text class="lane" x="4" y="{:.1}">slot {}</text>"#,
            row_y(slot) + BAR_H - 3.0,
            slot + 1
        );
    }
    if not_run {
        let _ = write!(
            svg,
            r#"<text class="lane" x="4" y="{:.1}">not run</text>"#,
            row_y(run.slots as usize) + BAR_H - 3.0
        );
    }
    let critical: std::collections::HashSet<usize> = analysis.critical.iter().copied().collect();
    let marks = not_run_marks(run, &x);
    for (i, t) in run.tasks.iter().enumerate() {
        let (x0, w, row, extra) = if let (Some(start), Some(slot)) = (t.start, t.slot) {
            let end = t.end.unwrap_or(span).max(start);
            let x0 = x(start);
            let min = if t.is_failure() {
                MIN_FAILED_BAR
            } else {
                MIN_BAR
            };
            (x0, (x(end) - x0).max(min), slot as usize, "")
        } else {
            (marks[&i], MARK_W, run.slots as usize, " notrun")
        };
        let y = row_y(row) + 1.0;
        let crit = if critical.contains(&i) { " crit" } else { "" };
        let _ = write!(
            svg,
            r#"<rect class="bar {}{extra}{crit}" x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{BAR_H}" data-i="{i}" data-task="{}"><title>{} · {} · {}{}</title></rect>"#,
            state_class(&t.state),
            Html(&t.name),
            Html(&t.name),
            Html(&t.state),
            seconds(super::analysis::run_time(t)),
            t.reason
                .as_deref()
                .map(|r| format!(" · {}", Html(r)))
                .unwrap_or_default(),
        );
        if w > 40.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // small, positive
            let fits = ((w - 6.0) / CHAR_W) as usize;
            let label = shorten(&t.name, fits);
            if !label.is_empty() {
                let _ = write!(
                    svg,
                    r#"<text class="blabel" x="{:.1}" y="{:.1}">{}</text>"#,
                    x0 + 3.0,
                    y + BAR_H - 4.0,
                    Html(&label)
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Where the marks of tasks that never started go on the `not run` row, by task index: at the
/// moment each was decided, pushed right so marks decided at once sit side by side (up to the
/// end of the plot, where they pile up).
fn not_run_marks(run: &RunRecord, x: &impl Fn(f64) -> f64) -> HashMap<usize, f64> {
    let mut at: Vec<(f64, usize)> = run
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.start.is_none() || t.slot.is_none())
        .map(|(i, t)| (x(t.end.or(t.wanted).unwrap_or(0.0)) - MARK_W / 2.0, i))
        .collect();
    at.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut next = f64::MIN;
    let last = LABEL_W + PLOT_W - MARK_W;
    at.into_iter()
        .map(|(x0, i)| {
            let placed = x0.max(next).min(last.max(x0));
            next = placed + MARK_W + 1.0;
            (i, placed)
        })
        .collect()
}

/// `name` cut to `max` characters, with `…` when cut (empty when not even one fits).
pub(crate) fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    if max < 2 {
        return String::new();
    }
    let mut s: String = name.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `rough`.
fn nice_step(rough: f64) -> f64 {
    let rough = rough.max(1e-3);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_nice() {
        assert!((nice_step(0.7) - 1.0).abs() < 1e-9);
        assert!((nice_step(1.3) - 2.0).abs() < 1e-9);
        assert!((nice_step(3.0) - 5.0).abs() < 1e-9);
        assert!((nice_step(0.03) - 0.05).abs() < 1e-9);
    }

    #[test]
    fn marks_decided_at_once_sit_side_by_side() {
        let mut run = RunRecord::default();
        for (name, end) in [("a", 1.0), ("b", 1.0), ("c", 0.0)] {
            let mut t = crate::report::TaskRecord::new(name, "dep-failed");
            t.end = Some(end);
            run.tasks.push(t);
        }
        let marks = not_run_marks(&run, &|t| t * 100.0);
        assert!((marks[&2] - (0.0 - MARK_W / 2.0)).abs() < 1e-9);
        assert!((marks[&0] - (100.0 - MARK_W / 2.0)).abs() < 1e-9);
        assert!(marks[&1] >= marks[&0] + MARK_W, "{marks:?}");
    }

    #[test]
    fn names_are_shortened_by_characters() {
        assert_eq!(shorten("build::prod", 20), "build::prod");
        assert_eq!(shorten("ééééé", 3), "éé…");
        assert_eq!(shorten("abc", 1), "");
    }
}
