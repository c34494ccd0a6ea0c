//! The report page: one self-contained HTML file (styles, pictures and script inline, nothing
//! fetched when it is viewed) with, in this order, the failures, a timeline, the dependency
//! graph with its critical path, a summary, and a panel showing the task you click.
//!
//! Every value from the run goes through [`Html`] (text and attributes) or [`script_json`]
//! (the data block); the page's own script reads that block with `JSON.parse` and writes only
//! through `textContent`, so no task name, command or output line ever becomes markup or code.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::analysis::{Analysis, run_time};
use super::depgraph::depgraph;
use super::escape::{Html, script_json};
use super::record::{RunRecord, TaskRecord};
use super::timeline::timeline;
use super::words::{seconds, state_class};

/// How many of the slowest tasks the summary lists.
pub const SLOWEST: usize = 10;
/// How many failures that are not root causes (dep-failed, cancelled) are listed by name.
pub const LISTED_FOLLOWERS: usize = 50;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The report page of `run`.
///
/// ```
/// use parade::report::{RunRecord, TaskRecord, html};
/// let mut t = TaskRecord::new("<b>build</b>", "failed");
/// (t.start, t.end, t.duration, t.slot) = (Some(0.0), Some(1.0), 1.0, Some(0));
/// t.reason = Some("exit status 2".into());
/// let page = html(&RunRecord { slots: 1, elapsed: 1.0, tasks: vec![t], ..RunRecord::default() });
/// assert!(page.starts_with("<!doctype html>"));
/// assert!(page.contains("&lt;b&gt;build&lt;/b&gt;") && !page.contains("<b>build"));
/// assert!(page.contains(r#"class="bar s-failed"#));
/// ```
pub fn html(run: &RunRecord) -> String {
    let analysis = Analysis::of(run);
    let mut page = String::with_capacity(8_000 + run.tasks.len() * 600);
    let title = run
        .run_id
        .as_deref()
        .map_or_else(|| "parade run".to_owned(), |id| format!("parade run {id}"));
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        Html(&title)
    );
    header(&mut page, run, &analysis, &title);
    failures(&mut page, run);
    page.push_str("<section id=\"timeline-section\"><h2>Timeline</h2>");
    legend(&mut page, &analysis);
    page.push_str("<div class=\"scroll\">");
    page.push_str(&timeline(run, &analysis));
    page.push_str("</div></section>\n");
    page.push_str(
        "<section id=\"graph-section\"><h2>Dependencies</h2>\
         <p class=\"note\">Dependencies on the left, dependents on the right; \
         the critical path is drawn thick.</p><div class=\"scroll\">",
    );
    page.push_str(&depgraph(run, &analysis));
    page.push_str("</div>");
    critical_path(&mut page, run, &analysis);
    page.push_str("</section>\n");
    summary(&mut page, run, &analysis);
    page.push_str(
        "<aside id=\"detail\" hidden><button type=\"button\" id=\"detail-close\" \
         aria-label=\"close\">×</button><div id=\"detail-body\"></div></aside>\n",
    );
    let _ = write!(
        page,
        "<script type=\"application/json\" id=\"run-data\">{}</script>\n<script>{SCRIPT}</script>\n</body></html>\n",
        script_json(&data(run, &analysis))
    );
    page
}

fn header(page: &mut String, run: &RunRecord, analysis: &Analysis, title: &str) {
    let _ = write!(
        page,
        "<header><h1>{}</h1><p class=\"meta\">started <span class=\"when\" data-ms=\"{}\"></span> · \
         took <b>{}</b> · {} tasks on {} slot{}</p><p class=\"counts\">",
        Html(title),
        run.started_unix_ms,
        seconds(run.elapsed),
        run.tasks.len(),
        run.slots,
        if run.slots == 1 { "" } else { "s" }
    );
    for (state, n) in &analysis.counts {
        let _ = write!(
            page,
            "<span class=\"chip {}\">{n} {}</span> ",
            state_class(state),
            Html(state)
        );
    }
    page.push_str("</p></header>\n");
}

/// Root failures with their reason, command and log excerpt; then, briefly, what they took
/// down with them.
fn failures(page: &mut String, run: &RunRecord) {
    let roots: Vec<(usize, &TaskRecord)> = run
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_root_failure())
        .collect();
    let followers: Vec<(usize, &TaskRecord)> = run
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_failure() && !t.is_root_failure())
        .collect();
    if roots.is_empty() && followers.is_empty() {
        return;
    }
    let _ = write!(
        page,
        "<section id=\"failures\"><h2>Failures</h2><p class=\"note\">{} failed, {} more did not finish because of them.</p>",
        roots.len(),
        followers.len()
    );
    for (i, t) in roots {
        let _ = write!(
            page,
            "<div class=\"failure\" data-i=\"{i}\"><h3><span class=\"chip s-failed\">failed</span> {}</h3>\
             <p>{} after {}</p>",
            Html(&t.name),
            Html(t.reason.as_deref().unwrap_or("failed")),
            seconds(run_time(t)),
        );
        if let Some(c) = &t.command {
            let _ = write!(page, "<pre class=\"command\">{}</pre>", Html(c));
        }
        if !t.log.is_empty() {
            let _ = write!(
                page,
                "<pre class=\"log\">{}</pre><p class=\"note\">{} of {} lines</p>",
                Html(&t.log.join("\n")),
                t.log.len(),
                t.log_lines
            );
        }
        page.push_str("</div>");
    }
    if !followers.is_empty() {
        page.push_str("<ul class=\"followers\">");
        for (i, t) in followers.iter().take(LISTED_FOLLOWERS) {
            let _ = write!(
                page,
                "<li data-i=\"{i}\"><span class=\"chip {}\">{}</span> {} <span class=\"note\">{}</span></li>",
                state_class(&t.state),
                Html(&t.state),
                Html(&t.name),
                Html(t.reason.as_deref().unwrap_or(""))
            );
        }
        if followers.len() > LISTED_FOLLOWERS {
            let _ = write!(
                page,
                "<li class=\"note\">and {} more</li>",
                followers.len() - LISTED_FOLLOWERS
            );
        }
        page.push_str("</ul>");
    }
    page.push_str("</section>\n");
}

fn legend(page: &mut String, analysis: &Analysis) {
    page.push_str("<p class=\"legend\">");
    for state in analysis.counts.keys() {
        let _ = write!(
            page,
            "<span class=\"key {}\"></span>{} ",
            state_class(state),
            Html(state)
        );
    }
    page.push_str(
        "<span class=\"key crit-key\"></span>critical path · hover a bar for its task, \
         click it for details (or open the page at <code>#task=NAME</code>)</p>",
    );
}

fn critical_path(page: &mut String, run: &RunRecord, analysis: &Analysis) {
    if analysis.critical.is_empty() {
        return;
    }
    let _ = write!(
        page,
        "<p class=\"critical\">Critical path ({}): ",
        seconds(analysis.critical_time)
    );
    for (k, &i) in analysis.critical.iter().enumerate() {
        if k > 0 {
            page.push_str(" → ");
        }
        let _ = write!(
            page,
            "<span class=\"crit-name\" data-i=\"{i}\">{}</span>",
            Html(&run.tasks[i].name)
        );
    }
    page.push_str("</p>");
}

fn summary(page: &mut String, run: &RunRecord, analysis: &Analysis) {
    page.push_str("<section id=\"summary\"><h2>Summary</h2><table class=\"figures\"><tbody>");
    let mut row = |k: &str, v: String| {
        let _ = write!(page, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row("tasks", run.tasks.len().to_string());
    for (state, n) in &analysis.counts {
        row(&Html(state).to_string(), n.to_string());
    }
    row("total time", seconds(run.elapsed));
    row("time tasks ran (sum)", seconds(analysis.busy));
    row("critical path", seconds(analysis.critical_time));
    row(
        "waiting for a slot, lock or resource (sum)",
        seconds(analysis.total_wait()),
    );
    if run.elapsed > 0.0 {
        row(
            "mean parallelism",
            format!("{:.2} of {}", analysis.busy / run.elapsed, run.slots),
        );
    }
    page.push_str("</tbody></table>");
    let slowest = Analysis::slowest(run, SLOWEST);
    if !slowest.is_empty() {
        page.push_str(
            "<h3>Slowest tasks</h3><table class=\"tasks\"><thead><tr><th>task</th><th>state</th>\
             <th>ran</th><th>waited</th><th>slot</th></tr></thead><tbody>",
        );
        for i in slowest {
            let t = &run.tasks[i];
            let _ = write!(
                page,
                "<tr data-i=\"{i}\"><td>{}</td><td><span class=\"chip {}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                Html(&t.name),
                state_class(&t.state),
                Html(&t.state),
                seconds(run_time(t)),
                seconds(analysis.waits[i]),
                t.slot.map(|s| (s + 1).to_string()).unwrap_or_default(),
            );
        }
        page.push_str("</tbody></table>");
    }
    page.push_str("</section>\n");
}

/// What the click panel shows, per task (short keys: the block is the bulk of a big page).
fn data(run: &RunRecord, analysis: &Analysis) -> Value {
    let tasks: Vec<Value> = run
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut v = json!({
                "n": t.name,
                "s": t.state,
                "du": seconds(run_time(t)),
            });
            if let Some(r) = &t.reason {
                v["r"] = json!(r);
            }
            if let Some(c) = &t.command {
                v["c"] = json!(c);
            }
            if !t.deps.is_empty() {
                v["d"] = json!(t.deps);
            }
            if let (Some(a), Some(b)) = (t.start, t.end) {
                v["at"] = json!(format!("{} → {}", seconds(a), seconds(b)));
            }
            if analysis.waits[i] > 0.0005 {
                v["w"] = json!(seconds(analysis.waits[i]));
            }
            if let Some(s) = t.slot {
                v["sl"] = json!(s + 1);
            }
            if !t.log.is_empty() {
                v["l"] = json!(t.log);
                v["ll"] = json!(t.log_lines);
            }
            v
        })
        .collect();
    json!({ "tasks": tasks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_run_still_makes_a_page() {
        let page = html(&RunRecord::default());
        assert!(page.contains("<body>"));
        assert!(page.contains(r#"id="timeline""#));
        assert!(!page.contains(r#"id="failures""#));
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn a_record_with_odd_states_gets_no_odd_classes() {
        let mut t = TaskRecord::new("x", r#"evil" onclick="x"#);
        (t.start, t.end, t.slot) = (Some(0.0), Some(1.0), Some(0));
        let page = html(&RunRecord {
            slots: 1,
            tasks: vec![t],
            ..RunRecord::default()
        });
        assert!(page.contains(r#"class="bar s-other"#));
        assert!(!page.contains(r#"onclick="x"#));
    }
}
