//! A tour of parade's `iter` face: lazy, ordered, bounded parallel pipelines over any iterator.
//!
//! Run with `cargo run --release --example iter_tour`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

fn main() -> std::io::Result<()> {
    // 1. Any iterator, any chain of stages; output keeps input order.
    let words: Vec<String> = parade::iter(["alpha", "beta", "gamma", "delta"])
        .filter(|w| w.len() > 4)
        .map(str::to_uppercase)
        .collect();
    println!("1. filtered and mapped, in order: {words:?}");

    // 2. Endless sources are fine: nothing runs before consumption, and the workers never run
    //    more than the in-flight bound ahead of what was taken.
    let first_primes: Vec<u64> = parade::iter(2u64..)
        .in_flight(256)
        .filter(|&n| is_prime(n))
        .take(10)
        .collect();
    println!("2. first primes from an endless range: {first_primes:?}");

    // 3. flat_map maps, then flattens; fold_in_order is std's left fold on the calling thread
    // (`fold` is rayon's: one accumulator per worker's batch).
    let sentence = parade::iter(vec![vec!["a", "b"], vec![], vec!["c"]])
        .flat_map(|v| v)
        .fold_in_order(String::new(), |acc, w| acc + w);
    println!("3. flat_map then fold: {sentence:?}");

    // 4. reduce and sum fold batches on the workers; reduce_with starts from a value.
    let longest = parade::iter(["pear", "fig", "banana"])
        .reduce(|a, b| if b.len() > a.len() { b } else { a });
    let product = parade::iter(1..=10u64).reduce_with(1, |a, b| a * b);
    let squares: u64 = parade::iter(1..=1000u64).map(|x| x * x).sum();
    println!("4. longest {longest:?}, 10! = {product}, sum of squares = {squares}");

    // 5. Per-worker state: one scratch buffer per worker, reused across its items.
    let lengths: Vec<usize> = parade::iter(0..5u32)
        .map_init(String::new, |buf, x| {
            buf.clear();
            buf.push_str(&"*".repeat(x as usize));
            buf.len()
        })
        .collect();
    println!("5. map_init with a reused buffer: {lengths:?}");

    // 6. Fallible stages stop at the first error, in input order.
    let parsed: Result<Vec<u16>, _> = parade::iter(["1", "2", "oops", "4"])
        .try_map(str::parse::<u16>)
        .try_collect();
    println!("6. try_map / try_collect: {parsed:?}");

    // 7. Completion order when order does not matter, and a plain Iterator for `for` loops.
    let mut done: Vec<u32> = parade::iter(0..8u32)
        .unordered()
        .map(|x| x * 10)
        .into_iter()
        .collect();
    done.sort_unstable();
    print!("7. unordered, then sorted:");
    for x in done {
        print!(" {x}");
    }
    println!();

    // 8. A panic in a stage reaches the consumer with its own payload, after the items before it.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the tour's output tidy
    let caught = std::panic::catch_unwind(|| {
        parade::iter(0..100)
            .map(|x| if x == 42 { std::panic::panic_any(x) } else { x })
            .count()
    });
    std::panic::set_hook(quiet);
    let payload = caught.expect_err("item 42 panics");
    println!(
        "8. the panic payload came back: {:?}",
        payload.downcast_ref::<i32>()
    );

    // 9. A large file, line by line, in parallel: the reading stays sequential (workers take
    //    batches of lines under a lock), the parsing runs on every core, the order is kept.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("measurements.csv");
    let lines = 1_000_000u64;
    {
        let mut out = BufWriter::new(File::create(&path)?);
        for i in 0..lines {
            writeln!(out, "station-{},{}.{}", i % 7, (i * 7919) % 400, i % 10)?;
        }
    }
    let size = std::fs::metadata(&path)?.len();
    let started = Instant::now();
    let reader = BufReader::new(File::open(&path)?);
    let per_station: BTreeMap<String, (u64, f64)> = parade::iter(reader.lines())
        .map(|line| {
            let line = line.expect("the file is readable");
            let (station, value) = line.split_once(',').expect("two fields");
            (station.to_owned(), value.parse::<f64>().expect("a number"))
        })
        .fold_in_order(BTreeMap::new(), |mut acc, (station, value)| {
            let entry = acc.entry(station).or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 += value;
            acc
        });
    println!(
        "9. {lines} lines ({:.1} MB) read and parsed in parallel in {:?}:",
        f64::from(u32::try_from(size / 1000).unwrap_or(u32::MAX)) / 1e3,
        started.elapsed()
    );
    for (station, (n, total)) in &per_station {
        println!(
            "   {station}: {n} readings, mean {:.2}",
            total / f64::from(u32::try_from(*n).unwrap_or(u32::MAX))
        );
    }
    Ok(())
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..n)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}
