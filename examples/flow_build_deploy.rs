//! A build → test → deploy flow over three environments.
//!
//! - `fetch` runs once; every `build::[env]` depends on it.
//! - `test::[env]` depends on the build of the same environment.
//! - `deploy::[env]` is in wave 1: no deploy starts before every build and test that was asked
//!   for is done. Deploys share the `cluster` lock, so they go one at a time.
//! - `migrate::[env]` has a `WhenScheduled` rule: asking for a migration brings the deploy of
//!   that environment in, and the migration runs first.
//! - `backup` is a plain rdep of every deploy: whatever asks for a deploy, the backup runs first.
//! - `notify` (wave 2) runs only if nothing has failed.
//!
//! Run with `cargo run --example flow_build_deploy`.

use std::time::{Duration, Instant};

use parade::display::TaskNames;
use parade::engine::{Event, TaskState};
use parade::flow::{Dep, Flow, FlowOptions, Mode, ProcError};

fn work(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[allow(clippy::too_many_lines)] // one flow, defined top to bottom
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flow = Flow::with_options(FlowOptions::new().mode(Mode::Threads).parallel(4))?;
    flow.set_param("version", "1.4.2")?;

    // A small plain-text observer: one line when a proc starts, prints, or ends.
    let names = flow.names();
    let started = Instant::now();
    flow.observe(move |e: &Event| {
        let name = names.name(e.id()).unwrap_or_default();
        let t = started.elapsed().as_millis();
        match e {
            Event::Started { .. } => println!("{t:>5}ms  •  {name}"),
            Event::Output { line, .. } => println!("{t:>5}ms     {name}: {line}"),
            Event::Finished { state, reason, .. } => {
                let mark = match state {
                    TaskState::Succeeded => "✓",
                    TaskState::Skipped => "⊘",
                    _ => "✗",
                };
                let why = reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                println!("{t:>5}ms  {mark}  {name}{why}");
            }
            Event::Wanted { .. } => {}
        }
    });

    flow.proc("fetch", |ctx| {
        ctx.emit("cloning repository");
        work(30);
        Ok("abc123")
    })
    .description("fetch the sources")
    .add()?;

    flow.proc("backup", |ctx| {
        ctx.emit("snapshotting the database");
        work(20);
        Ok(())
    })
    .rdeps(["deploy::[env]"])
    .description("back up before any deploy")
    .add()?;

    flow.proto("build::[env]", |ctx| {
        let env: String = ctx.arg("env")?;
        let commit: String = ctx.result("fetch")?;
        let version: String = ctx.param("version").unwrap_or_default();
        ctx.emit(format!("compiling {commit} for {env}"));
        work(40);
        Ok(format!("app-{version}-{env}.tar.gz"))
    })
    .deps(["fetch"])
    .choices("env", ["dev", "staging", "prod"])
    .description("build the release artifact of one environment")
    .add()?;

    flow.proto("test::[env]", |ctx| {
        let artifact: String = ctx.result(&format!("build::{}", ctx.arg::<String>("env")?))?;
        ctx.emit(format!("testing {artifact}"));
        work(25);
        Ok(42_u32) // tests passed
    })
    .deps([Dep::pattern("build::[env]")])
    .description("run the test suite against one build")
    .add()?;

    flow.proto("migrate::[env]", |ctx| {
        ctx.emit(format!(
            "migrating the {} schema",
            ctx.arg::<String>("env")?
        ));
        work(15);
        Ok(())
    })
    .when_scheduled("deploy::[env]")
    .description("migrate the database; brings the deploy in")
    .add()?;

    flow.proto("deploy::[env]", |ctx| {
        let env: String = ctx.arg("env")?;
        if env == "dev" {
            return Err(ProcError::skipped("dev deploys itself"));
        }
        ctx.emit(format!("rolling out to {env}"));
        work(30);
        Ok(format!("{env}.example.com"))
    })
    .deps(["test::[env]"])
    .choices("env", ["dev", "staging", "prod"])
    .locks(["cluster"])
    .wave(1)
    .description("roll out one environment")
    .add()?;

    flow.proc("notify", |ctx| {
        let urls: Vec<String> = ["staging", "prod"]
            .iter()
            .filter_map(|e| ctx.result::<String>(&format!("deploy::{e}")).ok())
            .collect();
        ctx.emit(format!("released to {}", urls.join(", ")));
        Ok(())
    })
    .deps(["deploy::*"])
    .no_failures()
    .wave(2)
    .add()?;

    println!("plan (a dry run):");
    for step in flow.plan(["notify", "migrate::prod"])? {
        println!("  {:<16} wave {}  {}", step.name, step.wave, step.why);
    }
    println!();

    flow.start(["notify"])?;
    flow.run("migrate::prod")?;
    flow.wait_all()?;

    println!("\nresults:");
    for (name, value) in flow.results() {
        println!("  {name:<16} {value}");
    }
    Ok(())
}
