//! A worker forked from a process that used sessile can open and use an
//! engine of its own: durable saves, flushes and close all return, whatever
//! the parent did before the fork (opened an engine and wrote durably,
//! closed it again, or kept writing from other threads while it forked).
//! This is the prefork server's life: gunicorn `--preload`, uWSGI, a
//! `multiprocessing` pool. sled's process-wide I/O pool has no threads in a
//! child, and a lock another thread held at the fork stays held there;
//! before the fix the child's first durable save never returned.
//!
//! Each child reports through its exit status and must finish within
//! `CHILD_LIMIT`; a child still running then is killed and the test fails
//! (a bound on a hang, not a timing assertion).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{config, saved_session};
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
/// result. Returns the child's exit status, or fails when it hangs.
fn fork_a_worker() -> i32 {
    // SAFETY: the child runs only sessile's own code (which the fork
    // handlers made safe to use in a child) and leaves with `_exit`, running
    // none of the parent's destructors.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // A panic must not unwind into the test harness's copy in the
        // child (it would wait forever for threads that are not there).
        let code = std::panic::catch_unwind(child_uses_its_own_engine).unwrap_or(99);
        // SAFETY: ends the child without unwinding into the test harness.
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
            panic!("the forked worker hung (still running after {CHILD_LIMIT:?})");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(libc::WIFEXITED(status), "the worker died: status {status}");
    libc::WEXITSTATUS(status)
}

#[test]
fn a_worker_forked_after_a_durable_write_uses_its_own_engine() {
    let f = common::sled();
    let mut s = f.engine.new_session();
    s.insert("parent", 1).unwrap();
    s.save_durable().unwrap();
    assert_eq!(fork_a_worker(), 0, "the worker failed (exit status = step)");
    // The parent is unharmed.
    assert_eq!(
        f.engine
            .session(s.session_key().unwrap())
            .get::<i64>("parent")
            .unwrap(),
        Some(1)
    );
}

#[test]
fn a_worker_forked_after_the_parent_closed_its_engine_uses_its_own() {
    let f = common::sled();
    let mut s = f.engine.new_session();
    s.insert("parent", 1).unwrap();
    s.save_durable().unwrap();
    drop(s);
    f.engine.clone().close().unwrap();
    assert_eq!(fork_a_worker(), 0, "the worker failed (exit status = step)");
}

#[test]
fn workers_forked_while_the_parent_writes_and_opens_use_their_own_engines() {
    let f = common::sled();
    let stop = Arc::new(AtomicBool::new(false));
    // One thread saves new sessions (durably every other time), another
    // opens and closes engines: the locks they take are held at some fork.
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
                // parent could not reopen this one meanwhile (README).
                let dir = tempfile::tempdir().unwrap();
                let e = Engine::open(config(&dir, &clock)).unwrap();
                saved_session(&e, &[("k", 1)]);
                e.close().unwrap();
                n += 1;
            }
            n
        })
    };
    let mut results = Vec::new();
    for _ in 0..8 {
        results.push(fork_a_worker());
    }
    stop.store(true, Ordering::Relaxed);
    let (writes, opens) = (writer.join().unwrap(), opener.join().unwrap());
    assert!(
        results.iter().all(|&r| r == 0),
        "worker exit statuses {results:?} (after {writes} writes, {opens} opens)"
    );
}
