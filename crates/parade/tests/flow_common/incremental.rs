//! parproc's incremental cases on flows with a run store (`FlowOptions::store`): no deps and
//! no inputs never skip; unchanged inputs are up to date with the stored result; a changed
//! input reruns the proc and its dependents (nothing else), a touched one does not (parproc
//! would: it compares mtimes); `no_skip`; `full`; missing outputs and outputs older than
//! `max_age` rerun; `outputs not refreshed`; ignores; directories as inputs; a dependency that
//! ran makes its dependents run and shows in `ctx.changed_deps()`; a proc that skipped itself
//! (or said "no change") is up to date while nothing it reads changes, as in parproc.
//! Every case runs inline, on threads and in worker processes (`flow_process`), where the
//! parent decides (no worker starts for an up-to-date proc) and records.

#![allow(unused_imports, clippy::wildcard_imports)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::flow_common::project::Project;
use crate::flow_common::*;
use parade::engine::TaskState::{self, Failed, Skipped, Succeeded, UpToDate};
use parade::flow::{Flow, FlowOptions, Output, ProcError};

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn plain() -> FlowOptions {
    FlowOptions::new()
}

suite! {
both!(no_deps_and_no_inputs_never_skip, |flow| {
    let p = Project::new(&flow);
    for _ in 0..2 {
        p.run(plain(), &["solo"], |f| f.proc("solo", p.body()).add().unwrap())
            .is(&[Succeeded], 1);
    }
});

both!(unchanged_inputs_are_up_to_date_with_the_stored_result, |flow| {
    let p = Project::new(&flow);
    let input = p.text("src/a.txt");
    let define = |f: &Flow| f.proc("read", p.body()).inputs([input.as_str()]).add().unwrap();
    p.run(plain(), &["read"], define).is(&[Succeeded], 1);
    let again = p.run(plain(), &["read"], define);
    again.is(&[UpToDate], 0);
    if !p.in_worker() {
        // The stored result is the result.
        assert_eq!(again.flow().result::<String>("read").unwrap(), "result of read");
        // Touched, same content: still up to date (parproc would rerun on the mtime).
        set_mtime(&p.path("src/a.txt"), SystemTime::now() + Duration::from_secs(30));
    }
    p.run(plain(), &["read"], define).is(&[UpToDate], 0);
    p.write("src/a.txt", "changed");
    p.run(plain(), &["read"], define).is(&[Succeeded], 1);
    p.run(plain(), &["read"], define).is(&[UpToDate], 0);
});

both!(no_skip_and_full_always_run, |flow| {
    let p = Project::new(&flow);
    let input = p.text("src/a.txt");
    let plain_read = |f: &Flow| f.proc("read", p.body()).inputs([input.as_str()]).add().unwrap();
    p.run(plain(), &["read"], plain_read).is(&[Succeeded], 1);
    p.run(plain().full(true), &["read"], plain_read).is(&[Succeeded], 1);
    let no_skip = |f: &Flow| {
        f.proc("read", p.body()).inputs([input.as_str()]).no_skip().add().unwrap();
    };
    p.run(plain(), &["read"], no_skip).is(&[Succeeded], 1);
    p.run(plain(), &["read"], plain_read).is(&[UpToDate], 0);
});

both!(missing_or_old_outputs_rerun_and_unmade_outputs_fail, |flow| {
    let p = Project::new(&flow);
    let input = p.text("src/a.txt");
    let out = p.path("out.txt");
    p.write("out.txt", "made");
    let define = |f: &Flow| {
        f.proc("make", p.body())
            .inputs([input.as_str()])
            .outputs([Output::from(out.clone()).max_age(Duration::from_secs(3600))])
            .add()
            .unwrap();
    };
    p.run(plain(), &["make"], define).is(&[Succeeded], 1);
    p.run(plain(), &["make"], define).is(&[UpToDate], 0);
    // Older than max_age: stale. The body does not refresh it, so it fails after running.
    if !p.in_worker() {
        set_mtime(&out, SystemTime::now() - Duration::from_secs(7200));
    }
    p.run(plain(), &["make"], define).is(&[Failed], 1);
    if !p.in_worker() {
        std::fs::remove_file(&out).unwrap();
    }
    let missing = p.run(plain(), &["make"], define);
    missing.is(&[Failed], 1);
    if !p.in_worker() {
        let failure = missing.flow().failures().remove(0);
        assert!(failure.to_string().contains("outputs not refreshed"), "{failure}");
        assert!(failure.to_string().contains("out.txt"), "{failure}");
    }
    // Made again: the last success (same inputs) holds again, as in parproc (failures are
    // not remembered as results).
    p.write("out.txt", "made");
    p.run(plain(), &["make"], define).is(&[UpToDate], 0);
});

both!(ignored_inputs_do_not_make_a_proc_stale, |flow| {
    let p = Project::new(&flow);
    p.write("src/scratch.tmp", "1");
    let glob = p.text("src/*");
    let ignore = p.text("src/*.tmp");
    let define = |f: &Flow| {
        f.proc("read", p.body())
            .inputs([glob.as_str()])
            .inputs_ignore([ignore.as_str()])
            .add()
            .unwrap();
    };
    p.run(plain(), &["read"], define).is(&[Succeeded], 1);
    p.write("src/scratch.tmp", "2");
    p.run(plain(), &["read"], define).is(&[UpToDate], 0);
    p.write("src/b.txt", "new");
    p.run(plain(), &["read"], define).is(&[Succeeded], 1);
});

both!(a_directory_input_covers_every_file_under_it, |flow| {
    let p = Project::new(&flow);
    if !p.in_worker() {
        std::fs::create_dir_all(p.path("src/deep/er")).unwrap();
    }
    p.write("src/deep/er/x.txt", "1");
    let dir = p.text("src");
    let cache = p.text("src/deep/cache");
    let define = |f: &Flow| {
        f.proc("tree", p.body())
            .inputs([dir.as_str()])
            .inputs_ignore([cache.as_str()])
            .add()
            .unwrap();
    };
    p.run(plain(), &["tree"], define).is(&[Succeeded], 1);
    p.run(plain(), &["tree"], define).is(&[UpToDate], 0);
    p.write("src/deep/er/x.txt", "2");
    p.run(plain(), &["tree"], define).is(&[Succeeded], 1);
    // Everything under an ignored directory is left out.
    if !p.in_worker() {
        std::fs::create_dir_all(p.path("src/deep/cache")).unwrap();
    }
    p.write("src/deep/cache/blob", "1");
    p.run(plain(), &["tree"], define).is(&[UpToDate], 0);
    p.write("src/deep/new.txt", "1");
    p.run(plain(), &["tree"], define).is(&[Succeeded], 1);
});

both!(a_changed_input_reruns_its_proc_and_dependents_only, |flow| {
    let p = Project::new(&flow);
    p.write("src/b.txt", "b");
    let (a, b) = (p.text("src/a.txt"), p.text("src/b.txt"));
    let define = |f: &Flow| {
        f.proc("gen", p.body()).inputs([a.as_str()]).add().unwrap();
        f.proc("use", p.body()).deps(["gen"]).add().unwrap();
        f.proc("other", p.body()).inputs([b.as_str()]).add().unwrap();
        f.proc("all", p.body()).deps(["use", "other"]).add().unwrap();
    };
    let names = ["gen", "use", "other", "all"];
    p.run(plain(), &names, define).is(&[Succeeded; 4], 4);
    // Deps only, all up to date: the dependents are up to date too.
    p.run(plain(), &names, define).is(&[UpToDate; 4], 0);
    p.write("src/a.txt", "changed");
    let step = p.run(plain(), &names, define);
    step.is(&[Succeeded, Succeeded, UpToDate, Succeeded], 3);
    if !p.in_worker() {
        let mut ran = step.ran.clone();
        ran.sort();
        assert_eq!(ran, ["all", "gen", "use"]);
    }
    p.write("src/b.txt", "changed");
    p.run(plain(), &names, define).is(&[UpToDate, UpToDate, Succeeded, Succeeded], 2);
});

both!(changed_deps_names_the_dependencies_that_ran, |flow| {
    let p = Project::new(&flow);
    p.write("src/b.txt", "b");
    let (a, b) = (p.text("src/a.txt"), p.text("src/b.txt"));
    let define = |f: &Flow| {
        f.proc("gen", p.body()).inputs([a.as_str()]).add().unwrap();
        f.proc("same", p.body()).inputs([b.as_str()]).add().unwrap();
        let log = p.body();
        f.proc("use", move |ctx| {
            log(ctx)?;
            Ok((ctx.changed_deps(), ctx.deps_changed()))
        })
        .deps(["gen", "same"])
        .add()
        .unwrap();
    };
    let names = ["gen", "same", "use"];
    let changed = |step: &crate::flow_common::project::Step| {
        step.flow().result::<(Vec<String>, bool)>("use").unwrap()
    };
    let first = p.run(plain(), &names, define);
    first.is(&[Succeeded; 3], 3);
    if !p.in_worker() {
        assert_eq!(changed(&first), (vec!["gen".to_owned(), "same".to_owned()], true));
    }
    p.write("src/a.txt", "changed");
    let second = p.run(plain(), &names, define);
    second.is(&[Succeeded, UpToDate, Succeeded], 2);
    if !p.in_worker() {
        assert_eq!(changed(&second), (vec!["gen".to_owned()], true));
    }
});

both!(a_result_that_is_not_json_fails_its_proc_only, |flow| {
    // parproc crashes the run when a result cannot be stored (quirk 11).
    let p = Project::new(&flow);
    let input = p.text("src/a.txt");
    let define = |f: &Flow| {
        f.proc("map", |_| Ok(std::collections::HashMap::from([((1_u8, 2_u8), 3_u8)])))
            .inputs([input.as_str()])
            .add()
            .unwrap();
        f.proc("fine", p.body()).inputs([input.as_str()]).add().unwrap();
    };
    let both = |f: &Flow| {
        define(f);
        f.proc("both", p.body()).deps(["fine"]).add().unwrap();
    };
    let step = p.run(plain(), &["map", "fine", "both"], |f| {
        both(f);
        if !p.in_worker() {
            f.run("map").unwrap();
        }
    });
    step.is(&[Failed, Succeeded, Succeeded], 2);
    if !p.in_worker() {
        let reason = step.flow().status("map").unwrap().reason.unwrap();
        assert!(reason.contains("cannot be serialized"), "{reason}");
    }
    p.run(plain(), &["map", "fine", "both"], |f| {
        both(f);
        if !p.in_worker() {
            f.run("map").unwrap();
        }
    })
    .is(&[Failed, UpToDate, UpToDate], 0);
});

both!(a_skipped_proc_is_up_to_date_until_what_it_reads_changes, |flow| {
    // parproc keeps a skipped proc's fingerprint (and None as its result): nothing changed,
    // it is up to date and does not run; its dependents are up to date too.
    let p = Project::new(&flow);
    p.write("src/b.txt", "b");
    let (a, b) = (p.text("src/a.txt"), p.text("src/b.txt"));
    let define = |f: &Flow| {
        let (log, also) = (p.body(), p.body());
        f.proc("skips", move |ctx| {
            log(ctx)?;
            Err::<(), _>(ProcError::skipped("nothing to do"))
        })
        .inputs([a.as_str()])
        .add()
        .unwrap();
        f.proc("same", move |ctx| {
            also(ctx)?;
            Err::<(), _>(ProcError::no_change())
        })
        .inputs([b.as_str()])
        .add()
        .unwrap();
        f.proc("after", p.body()).deps(["skips", "same"]).add().unwrap();
    };
    let names = ["skips", "same", "after"];
    p.run(plain(), &names, define).is(&[Skipped, Skipped, Succeeded], 3);
    let again = p.run(plain(), &names, define);
    again.is(&[UpToDate, UpToDate, UpToDate], 0);
    if !p.in_worker() {
        // The result it kept is none, as in parproc.
        assert_eq!(again.flow().result::<serde_json::Value>("skips").unwrap(), serde_json::Value::Null);
    }
    // Its input changed: it runs (and skips) again. A skip changes nothing its dependents
    // read (parproc: a dependency SKIPPED is not changed), so they stay up to date.
    p.write("src/a.txt", "changed");
    p.run(plain(), &names, define).is(&[Skipped, UpToDate, UpToDate], 1);
    p.run(plain(), &names, define).is(&[UpToDate, UpToDate, UpToDate], 0);
    // `full` runs it whatever it kept.
    p.run(plain().full(true), &names, define).is(&[Skipped, Skipped, Succeeded], 3);
});
}
