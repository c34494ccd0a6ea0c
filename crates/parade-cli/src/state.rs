//! `parade state show [TASK]` and `parade state clean TASK... | --all`: what the run store
//! beside the task file remembers, printed for people, or forgotten.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use parade::store::{Execution, Store, StoreError};

/// How many executions `state show TASK` prints.
const SHOWN: usize = 10;

/// The text of `parade state show`: with a task, its last executions (newest first) with
/// state, key, reason, duration and result, and its expected duration; without, the
/// remembered tasks and the last runs.
pub fn show(store: &Store, task: Option<&str>) -> Result<String, StoreError> {
    let mut out = String::new();
    let Some(task) = task else {
        let names = store.task_names()?;
        let _ = writeln!(
            out,
            "{} tasks remembered in {}",
            names.len(),
            store.path().display()
        );
        for n in names {
            let _ = writeln!(out, "  {n}");
        }
        let _ = writeln!(out, "last runs:");
        for r in store.runs(SHOWN)? {
            let _ = write!(
                out,
                "  run {}: {} {} [{}]",
                r.id,
                stamp(r.started),
                r.outcome.as_deref().unwrap_or("unfinished"),
                r.targets.join(" ")
            );
            // Up-to-date tasks have no execution of their own: the run counts them.
            if r.up_to_date > 0 {
                let _ = write!(out, ", {} up to date", r.up_to_date);
            }
            let _ = writeln!(out);
        }
        return Ok(out);
    };
    let history = store.history(task, SHOWN)?;
    if history.is_empty() {
        let _ = writeln!(out, "nothing remembered about {task}");
        return Ok(out);
    }
    let _ = writeln!(out, "{task}:");
    for e in &history {
        line(&mut out, e);
    }
    if let Some(d) = store.expected_duration(task)? {
        let _ = writeln!(out, "expected duration: {:.1}s", d.as_secs_f64());
    }
    Ok(out)
}

fn line(out: &mut String, e: &Execution) {
    let _ = write!(out, "  run {}: {}", e.run, e.state);
    if let Some(started) = e.started {
        let _ = write!(out, " at {}", stamp(started));
    }
    if let Some(d) = e.duration() {
        let _ = write!(out, " ({:.2}s)", d.as_secs_f64());
    }
    if let Some(code) = e.exit_status {
        let _ = write!(out, ", exit {code}");
    }
    let _ = writeln!(out);
    if let Some(reason) = &e.reason {
        let _ = writeln!(out, "    why: {reason}");
    }
    if let Some(key) = &e.key {
        let _ = writeln!(out, "    key: {}", &key[..key.len().min(16)]);
    }
    if let Some(map) = e
        .inputs
        .as_ref()
        .and_then(|i| i.get("sources"))
        .and_then(|s| s.as_object())
        .filter(|m| !m.is_empty())
    {
        let names: Vec<&str> = map.keys().map(String::as_str).collect();
        let _ = writeln!(out, "    sources: {}", names.join(", "));
    }
    if !e.outputs.is_empty() {
        let names: Vec<&str> = e.outputs.iter().map(|(p, _)| p.as_str()).collect();
        let _ = writeln!(out, "    outputs: {}", names.join(", "));
    }
    if let Some(result) = e.result.as_ref().filter(|r| !r.is_null()) {
        let _ = writeln!(out, "    result: {result}");
    }
}

/// `2026-12-01 11:02:03 UTC`.
fn stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_423), (2025, 12, 1));
        assert_eq!(
            stamp(UNIX_EPOCH + std::time::Duration::from_secs(86_400 + 3661)),
            "1970-01-02 01:01:01 UTC"
        );
    }
}
