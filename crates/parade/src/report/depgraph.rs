//! The dependency graph picture: an inline SVG, tasks in columns by depth (dependencies to
//! the left), edges from each dependency to its dependents, the critical path drawn thick.
//!
//! Laid out by hand (a layered drawing: columns by depth, rows ordered by the mean row of
//! each task's dependencies) because no layout crate is needed for a picture this plain, and
//! the page must not fetch one. A run of more than [`GRAPH_LIMIT`] tasks draws only its
//! critical path and its failures, so the page stays small.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use super::analysis::Analysis;
use super::escape::Html;
use super::record::RunRecord;
use super::timeline::shorten;
use super::words::{seconds, state_class};

/// The most tasks drawn in full.
pub const GRAPH_LIMIT: usize = 250;

const NODE_W: f64 = 150.0;
const NODE_H: f64 = 22.0;
const COL_W: f64 = 190.0;
const ROW_H: f64 = 30.0;
const PAD: f64 = 6.0;

/// The graph of `run` as an `<svg>` element (and a note when it is cut down), every node a
/// `<g class="node ...">` with `data-i` and `data-task`.
pub fn depgraph(run: &RunRecord, analysis: &Analysis) -> String {
    let n = run.tasks.len();
    let critical: HashSet<usize> = analysis.critical.iter().copied().collect();
    let shown: Vec<usize> = if n <= GRAPH_LIMIT {
        (0..n).collect()
    } else {
        (0..n)
            .filter(|i| critical.contains(i) || run.tasks[*i].is_root_failure())
            .collect()
    };
    let mut out = String::new();
    if shown.len() < n {
        let _ = write!(
            out,
            r#"<p class="note">{n} tasks: only the critical path and the failures are drawn ({} tasks).</p>"#,
            shown.len()
        );
    }
    if shown.is_empty() {
        return out;
    }
    let Layout {
        place,
        width,
        height,
    } = layout(&shown, analysis);
    let _ = write!(
        out,
        r#"<svg id="graph" class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="dependency graph">"#
    );
    let on_path: HashSet<(usize, usize)> =
        analysis.critical.windows(2).map(|w| (w[0], w[1])).collect();
    for &i in &shown {
        let (x2, y2) = place[&i];
        for &d in &analysis.deps[i] {
            let Some(&(x1, y1)) = place.get(&d) else {
                continue;
            };
            let (x1, y1, y2) = (x1 + NODE_W, y1 + NODE_H / 2.0, y2 + NODE_H / 2.0);
            let mid = f64::midpoint(x1, x2);
            let crit = if on_path.contains(&(d, i)) {
                " crit"
            } else {
                ""
            };
            let _ = write!(
                out,
                r#"<path class="edge{crit}" d="M{x1:.1} {y1:.1}C{mid:.1} {y1:.1} {mid:.1} {y2:.1} {x2:.1} {y2:.1}"/>"#
            );
        }
    }
    for &i in &shown {
        let t = &run.tasks[i];
        let (x, y) = place[&i];
        let crit = if critical.contains(&i) { " crit" } else { "" };
        let _ = write!(
            out,
            r#"<g class="node {}{crit}" data-i="{i}" data-task="{}"><title>{} · {} · {}</title><rect x="{x:.1}" y="{y:.1}" width="{NODE_W}" height="{NODE_H}" rx="4"/><text x="{:.1}" y="{:.1}">{}</text></g>"#,
            state_class(&t.state),
            Html(&t.name),
            Html(&t.name),
            Html(&t.state),
            seconds(super::analysis::run_time(t)),
            x + 6.0,
            y + 15.0,
            Html(&shorten(&t.name, 21)),
        );
    }
    out.push_str("</svg>");
    out
}

/// Where each shown task's node goes, and the picture's size.
struct Layout {
    place: HashMap<usize, (f64, f64)>,
    width: f64,
    height: f64,
}

/// Columns by depth (the depths that occur, packed), rows in each column ordered by the mean
/// row of the task's dependencies, so edges mostly run straight.
fn layout(shown: &[usize], analysis: &Analysis) -> Layout {
    // Columns: the depths that occur, packed.
    let depths: Vec<usize> = {
        let mut d: Vec<usize> = shown.iter().map(|&i| analysis.layers[i]).collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    let column: HashMap<usize, usize> = depths.iter().enumerate().map(|(c, &d)| (d, c)).collect();
    let mut by_column: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in shown {
        by_column
            .entry(column[&analysis.layers[i]])
            .or_default()
            .push(i);
    }
    let mut row: HashMap<usize, f64> = HashMap::new();
    for members in by_column.values_mut() {
        let key = |i: usize| {
            let rows: Vec<f64> = analysis.deps[i]
                .iter()
                .filter_map(|d| row.get(d))
                .copied()
                .collect();
            #[allow(clippy::cast_precision_loss)]
            let mean = rows.iter().sum::<f64>() / rows.len().max(1) as f64;
            mean
        };
        members.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
        for (r, &i) in members.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            row.insert(i, r as f64);
        }
    }
    let place = shown
        .iter()
        .map(|&i| {
            #[allow(clippy::cast_precision_loss)]
            let c = column[&analysis.layers[i]] as f64;
            (i, (PAD + c * COL_W, PAD + row[&i] * ROW_H))
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let width = PAD * 2.0 + (depths.len() - 1) as f64 * COL_W + NODE_W;
    #[allow(clippy::cast_precision_loss)]
    let tallest = by_column.values().map(Vec::len).max().unwrap_or(1) as f64;
    let height = PAD * 2.0 + (tallest - 1.0) * ROW_H + NODE_H;
    Layout {
        place,
        width,
        height,
    }
}
