//! A worker forked from a process that used sessile can open and use an
//! engine of its own: durable saves, flushes and close all return, whatever
//! the parent did before the fork (opened an engine and wrote durably,
//! closed it again, or kept writing from another thread while it forked).
//! This is the prefork server's life: gunicorn `--preload`, uWSGI, a
//! `multiprocessing` pool. sled's process-wide I/O pool has no threads in a
//! child, and a lock another thread held at the fork stays held there;
//! before the fix the child's first durable save never returned.
//!
//! This test has no Rust `main` (`harness = false`, and `main` is a C
//! function): the library runs as it does inside a C, Python or Node
//! program. A Rust program's `main` makes the standard library set up its
//! stack-overflow guard, and from then on every thread takes a lock of the
//! standard library when it starts and when it ends; a child forked while
//! another thread was starting or ending can never start a thread, which
//! sled must do. That is Rust's, not sessile's: docs/OPERATIONS.md says so ("One
//! process per directory"). Without it, these scenarios fork while other
//! threads write durably and open and close engines (their own threads
//! coming and going), as the C suite's do.
//!
//! Each child reports through its exit status and must finish within
//! `CHILD_LIMIT`; a child still running then is killed and the test fails
//! (a bound on a hang, not a timing assertion).

#![no_main]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::config;
use sessile::{Engine, ManualClock};

const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// What the child does: open an engine on a directory of its own, create a
/// session durably, save another and flush, read both back, close. Returns
/// the step that failed, as the exit status.
fn child_uses_its_own_engine() -> i32 {
    let Ok(dir) = tempfile::tempdir() else {
        return 10;
    };
    let clock = ManualClock::new(common::T0);
    let Ok(engine) = Engine::open(config(&dir, &clock)) else {
        return 11;
    };
    let mut first = engine.new_session();
    if first.insert("worker", 1).is_err() || first.save_durable().is_err() {
        return 12;
    }
    let mut second = engine.new_session();
    if second.insert("worker", 2).is_err() || second.save().is_err() {
        return 17;
    }
    let Some(key) = second.session_key().map(str::to_owned) else {
        return 18;
    };
    if engine.flush().is_err() {
        return 13;
    }
    let Some(first_key) = first.session_key().map(str::to_owned) else {
        return 14;
    };
    for (k, want) in [(first_key, 1), (key, 2)] {
        if engine.session(&k).get::<i64>("worker").ok().flatten() != Some(want) {
            return 15;
        }
    }
    drop(first);
    if engine.close().is_err() {
        return 16;
    }
    0
}

/// Forks; the child runs `child_uses_its_own_engine` and leaves with its
/// result. Returns the child's exit status; fails when it hangs or dies.
fn fork_a_worker() -> Result<i32, String> {
    // SAFETY: the child runs only sessile's own code (which the fork
    // handlers made safe to use in a child) and leaves with `_exit`, running
    // none of the parent's destructors.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // A panic must not unwind into the parent's code in the child.
        let code = std::panic::catch_unwind(child_uses_its_own_engine).unwrap_or(99);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let deadline = Instant::now() + CHILD_LIMIT;
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child without blocking.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if Instant::now() > deadline {
            // SAFETY: kills and reaps our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err(format!(
                "the forked worker hung (still running after {CHILD_LIMIT:?})"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if !libc::WIFEXITED(status) {
        return Err(format!("the worker died: status {status}"));
    }
    Ok(libc::WEXITSTATUS(status))
}

/// One worker, which must succeed.
fn one_worker() -> Result<(), String> {
    match fork_a_worker()? {
        0 => Ok(()),
        step => Err(format!(
            "the worker failed at step {step} (its exit status)"
        )),
    }
}

fn a_worker_forked_after_a_durable_write_uses_its_own_engine() -> Result<(), String> {
    let f = common::sled();
    let mut s = f.engine.new_session();
    s.insert("parent", 1).unwrap();
    s.save_durable().unwrap();
    one_worker()?;
    // The parent is unharmed.
    let mut again = f.engine.session(s.session_key().unwrap());
    match again.get::<i64>("parent") {
        Ok(Some(1)) => Ok(()),
        other => Err(format!("the parent's session after the fork: {other:?}")),
    }
}

fn a_worker_forked_after_the_parent_closed_its_engine_uses_its_own() -> Result<(), String> {
    let f = common::sled();
    let mut s = f.engine.new_session();
    s.insert("parent", 1).unwrap();
    s.save_durable().unwrap();
    drop(s);
    f.engine.clone().close().unwrap();
    one_worker()
}

fn workers_forked_while_the_parent_writes_and_opens_use_their_own_engines() -> Result<(), String> {
    let f = common::sled();
    let stop = Arc::new(AtomicBool::new(false));
    // One thread saves new sessions (durably every other time), another
    // opens and closes engines: the locks they take are held at some fork,
    // and sled's threads come and go meanwhile.
    let writer = {
        let (engine, stop) = (f.engine.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut s = engine.new_session();
                s.insert("n", n).unwrap();
                if n.is_multiple_of(2) {
                    s.save_durable().unwrap();
                } else {
                    s.save().unwrap();
                }
                n += 1;
            }
            n
        })
    };
    let opener = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let clock = ManualClock::new(common::T0);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // A new directory each time: a child holds the file locks
                // of the databases open at its fork until it exits, so the
                // parent could not reopen this one meanwhile (docs/OPERATIONS.md).
                let dir = tempfile::tempdir().unwrap();
                let e = Engine::open(config(&dir, &clock)).unwrap();
                common::saved_session(&e, &[("k", 1)]);
                e.close().unwrap();
                n += 1;
            }
            n
        })
    };
    let results: Vec<Result<i32, String>> = (0..8).map(|_| fork_a_worker()).collect();
    stop.store(true, Ordering::Relaxed);
    let (writes, opens) = (writer.join().unwrap(), opener.join().unwrap());
    if results.iter().all(|r| r == &Ok(0)) {
        Ok(())
    } else {
        Err(format!(
            "workers: {results:?} (after {writes} writes, {opens} opens)"
        ))
    }
}

/// The test runner: each scenario in turn, as `cargo test` reports them.
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    type Scenario = fn() -> Result<(), String>;
    let scenarios: [(&str, Scenario); 3] = [
        (
            "a_worker_forked_after_a_durable_write_uses_its_own_engine",
            a_worker_forked_after_a_durable_write_uses_its_own_engine,
        ),
        (
            "a_worker_forked_after_the_parent_closed_its_engine_uses_its_own",
            a_worker_forked_after_the_parent_closed_its_engine_uses_its_own,
        ),
        (
            "workers_forked_while_the_parent_writes_and_opens_use_their_own_engines",
            workers_forked_while_the_parent_writes_and_opens_use_their_own_engines,
        ),
    ];
    let mut failed = 0;
    for (name, run) in scenarios {
        match std::panic::catch_unwind(run) {
            Ok(Ok(())) => println!("test {name} ... ok"),
            Ok(Err(why)) => {
                println!("test {name} ... FAILED: {why}");
                failed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED (panicked)");
                failed += 1;
            }
        }
    }
    println!("{} passed, {failed} failed", scenarios.len() - failed);
    i32::from(failed > 0)
}
