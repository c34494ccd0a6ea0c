//! A tour of parade's `join` face: typed fork-join calls, failures, options, a dynamic number of
//! calls, parallel resources and scoped calls.
//!
//! Run it with `cargo run --example join_tour`.

use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use parade::join::{Acquire, Join, Release, scoped};

fn to_string(n: i32) -> String {
    n.to_string()
}

/// A connection whose close can fail.
struct Conn {
    name: &'static str,
}

impl Release for Conn {
    type Error = String;
    fn release(self) -> Result<(), String> {
        println!("  closing {}", self.name);
        if self.name == "flaky" {
            Err(format!("{} did not close cleanly", self.name))
        } else {
            Ok(())
        }
    }
}

fn main() {
    // Some calls below panic on purpose; keep the default hook from printing their backtraces.
    // The panics are still caught and reported by the joins.
    std::panic::set_hook(Box::new(|_| {}));

    // 1. A tuple of closures of different types: values come back typed, in call order.
    let (three, four, five) = parade::join((|| 1 + 2, || to_string(4), || 1 + 4)).unwrap();
    println!("1. join: {three} {four} {five}");

    // 2. Every call has a thread of its own, so calls may wait for each other.
    let barrier = Arc::new(Barrier::new(3));
    let (b1, b2, b3) = (barrier.clone(), barrier.clone(), barrier);
    parade::join((move || b1.wait(), move || b2.wait(), move || b3.wait())).unwrap();
    println!("2. three calls met at one barrier");

    // 3. Started step by step: the first call runs while the caller goes on.
    let early = parade::calls().call(|| (1..=1_000_u64).sum::<u64>());
    let word = String::from("parade");
    let (sum, len) = early.call(move || word.len()).join().unwrap();
    println!("3. builder: sum {sum}, len {len}");

    // 4. No failure hides another: every error and panic, by call index.
    let err = parade::try_join((
        || "12".parse::<u8>(),
        || "x".parse::<u8>(),
        || -> Result<u8, std::num::ParseIntError> { panic!("the third call broke") },
    ))
    .unwrap_err();
    println!("4. try_join failed: {err}");

    // 5. A timeout: the late call keeps running on its thread; its value is dropped there.
    let (tx, rx) = mpsc::channel::<()>();
    let err = Join::new()
        .timeout(Duration::from_millis(20))
        .join((|| "fast", move || rx.recv().is_ok()))
        .unwrap_err();
    println!("5. timeout: {err}");
    drop(tx);

    // 6. Per-call results instead of failing as a whole.
    let (ok, bad) = Join::new().settle((|| 1, || -> i32 { panic!("only this one") }));
    println!("6. settle: {:?} / {}", ok.ok(), bad.unwrap_err());

    // 7. A number of calls known at run time.
    let squares = parade::join_all((1..=5_u32).map(|i| move || i * i)).unwrap();
    println!("7. join_all: {squares:?}");

    // 8. Resources acquired in parallel, held in one typed guard, released in reverse order.
    let guard = Acquire::new()
        .acquire_releasable((
            || Ok::<_, String>(Conn { name: "db" }),
            || Ok(Conn { name: "flaky" }),
            || Ok(Conn { name: "cache" }),
        ))
        .unwrap();
    let (db, flaky, cache) = &*guard;
    println!(
        "8. acquired {}, {}, {}; releasing:",
        db.name, flaky.name, cache.name
    );
    if let Err(err) = guard.release() {
        println!("  release reported: {err}");
    }

    // 9. If one acquisition fails, the others are released and every error is returned.
    let err = parade::acquire((
        || Ok::<_, String>(vec![0_u8; 16]),
        || Err::<Vec<u8>, _>("no route to host".to_owned()),
    ))
    .unwrap_err();
    println!("9. acquire failed: {err}");

    // 10. Scoped calls borrow from the stack (no timeout: a scope waits for its threads).
    let data = [3, 1, 4, 1, 5, 9, 2, 6];
    let (sum, max) =
        scoped::join((|| data.iter().sum::<i32>(), || data.iter().copied().max())).unwrap();
    println!("10. scoped: sum {sum}, max {max:?}");
}
