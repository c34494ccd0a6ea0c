//! Helpers shared by the flow tests: a log of which procs ran, and `both!`, which runs a case
//! in inline and in thread mode.

#![allow(dead_code, unused_macros)]

use std::sync::{Arc, Mutex};

use parade::flow::ProcError;

pub type Log = Arc<Mutex<Vec<String>>>;

pub fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

pub fn names(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// A proc body that records its name and returns it.
pub fn rec(
    log: &Log,
) -> impl Fn(&parade::flow::Context<'_>) -> Result<String, ProcError> + Send + Sync + 'static {
    let log = log.clone();
    move |ctx| {
        log.lock().unwrap().push(ctx.name().to_owned());
        Ok(ctx.name().to_owned())
    }
}

pub fn pos(log: &[String], name: &str) -> usize {
    log.iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} did not run: {log:?}"))
}

macro_rules! both {
    ($name:ident, |$flow:ident| $body:block) => {
        mod $name {
            use super::*;
            #[allow(unused_imports)]
            use parade::flow::{Flow, FlowOptions, Mode};
            fn case($flow: Flow, inline: bool) {
                let _ = inline;
                $body
            }
            #[test]
            fn inline() {
                case(Flow::inline(), true);
            }
            #[test]
            fn threads() {
                case(
                    Flow::with_options(FlowOptions::new().mode(Mode::Threads).parallel(4)).unwrap(),
                    false,
                );
            }
        }
    };
}
