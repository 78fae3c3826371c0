//! Overwrites 2 KB records in a sled database as fast as one thread can,
//! and reports a stall: the workload under which sled 0.34.7 deadlocks
//! (vendor/sled/PATCHES.md). Not a test: it runs for minutes and decides
//! by the clock. Run two at once on a 2-core machine (the stall needs the
//! CPUs busy):
//!
//! ```sh
//! cargo run --release --example sled_stress -- 150 &
//! cargo run --release --example sled_stress -- 150; wait
//! ```
//!
//! Arguments: seconds to run (default 150), record size in bytes (default
//! 2048). Exits 0 after the time, or 3 when no write has completed for
//! 20 s (then attach `gdb -p <pid>` before it exits to see the stacks:
//! run it with `--hold` to wait instead of exiting).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let hold = args.iter().any(|a| a == "--hold");
    let mut numbers = args.iter().filter_map(|a| a.parse::<u64>().ok());
    let limit = Duration::from_secs(numbers.next().unwrap_or(150));
    let size = numbers.next().unwrap_or(2048) as usize;

    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(256 << 20)
        .flush_every_ms(Some(500))
        .open()
        .expect("open sled");
    let n = 10_000u64;
    let keys: Vec<String> = (0..n)
        .map(|i| format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect();
    let mut value = vec![b'x'; size.max(8)];
    for k in &keys {
        db.insert(k, &value[..]).expect("insert");
    }

    let done = Arc::new(AtomicU64::new(0));
    let watched = done.clone();
    let start = Instant::now();
    std::thread::spawn(move || {
        let (mut last, mut still) = (0, 0);
        loop {
            std::thread::sleep(Duration::from_secs(5));
            let now = watched.load(Relaxed);
            still = if now == last { still + 5 } else { 0 };
            last = now;
            if still >= 20 {
                println!(
                    "STALLED: no write completed for 20 s, after {now} writes, {:.0} s in (pid {})",
                    start.elapsed().as_secs_f64(),
                    std::process::id()
                );
                if !hold {
                    std::process::exit(3);
                }
            }
        }
    });

    // xorshift: which key each write goes to.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut count: u64 = 0;
    while start.elapsed() < limit {
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            count += 1;
            // Every write changes the bytes (sled skips an equal value).
            value[..8].copy_from_slice(&count.to_le_bytes());
            db.insert(&keys[(x % n) as usize], &value[..])
                .expect("insert");
        }
        done.fetch_add(1000, Relaxed);
    }
    println!(
        "ok: {} writes in {:.0} s",
        done.load(Relaxed),
        start.elapsed().as_secs_f64()
    );
}
