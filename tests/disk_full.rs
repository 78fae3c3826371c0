//! A full disk is an error, not an outage, and a deleted directory is not
//! a place saves can succeed in. On a real 8 MB tmpfs (mounted by the test;
//! it needs root, and says clearly when it skips) a filler file takes every
//! free byte, and then:
//! - durable creates fail with an I/O error carrying the OS's "No space
//!   left on device", and the engine counts the condition once, not once
//!   per failing call;
//! - every session saved durably before still loads, while the disk is full;
//! - once the filler is deleted, creates, loads and `end_request` work again
//!   in the same engine, with no reopen by the application;
//! - after closing and reopening, every durably acknowledged session is
//!   there with its data;
//! - the first flush after a failure that no failing flush reported says
//!   that plain saves were lost, once.
//!
//! And after `rm -rf` of an open database directory, a durable save and a
//! flush fail with an I/O error naming the path, and opening the path again
//! in the same process does not serve the deleted data.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use sessile::{Config, Engine, Error, ManualClock};

mod common;
use common::T0;

/// An 8 MB tmpfs mounted for one test, unmounted when dropped (also when
/// the test fails).
struct Tmpfs {
    mnt: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (after printing why) where mounting is not allowed.
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).expect("mkdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
            .arg(&mnt)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { mnt, _dir: dir }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount an 8 MB tmpfs (needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount(8): {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: sled's threads may hold a file a moment after a failed
        // test dropped its engine; the mount goes away in any case.
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
    }
}

/// Writes `path` until the file system refuses another byte.
fn fill(path: &Path) {
    let mut f = File::create(path).expect("create filler");
    let chunk = vec![0xa5u8; 64 * 1024];
    loop {
        if let Err(e) = f.write_all(&chunk) {
            assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "filler: {e}");
            break;
        }
    }
    // A last few small writes take the bytes a chunk did not fit into.
    while f.write_all(&[0u8; 512]).is_ok() {}
}

fn config(path: &Path, clock: &ManualClock) -> Config {
    Config::new(path)
        .clock(Arc::new(clock.clone()))
        .reaper_interval(None)
}

/// The payload of session number `i`: big enough that a few hundred fill
/// a good part of the 8 MB.
fn payload(i: usize) -> String {
    format!("{i:06}-").repeat(80)
}

/// Creates a session holding `payload(i)`, saved durably; its key.
fn create_durable(engine: &Engine, i: usize) -> sessile::Result<String> {
    let mut s = engine.new_session();
    s.insert("n", i as i64)?;
    s.insert("p", payload(i))?;
    s.save_durable()?;
    Ok(s.session_key().expect("key after save").to_owned())
}

fn assert_no_space(e: &Error, what: &str) {
    assert!(
        matches!(e, Error::Storage(_) | Error::Io { .. }),
        "{what}: not an I/O error: {e:?}"
    );
    assert!(
        e.to_string().contains("No space left on device"),
        "{what}: no ENOSPC text in {e}"
    );
}

/// Loads `key` and checks it holds session `i`.
fn check_loads(engine: &Engine, key: &str, i: usize) -> sessile::Result<()> {
    let mut s = engine.session(key);
    assert_eq!(s.get::<i64>("n")?, Some(i as i64), "session {i} ({key})");
    assert_eq!(s.get::<String>("p")?, Some(payload(i)), "session {i}");
    Ok(())
}

#[test]
fn a_full_disk_fails_writes_and_recovers_when_space_returns() {
    let Some(fs) = Tmpfs::mount() else { return };
    let path = fs.mnt.join("db");
    let clock = ManualClock::new(T0);
    let engine = Engine::open(config(&path, &clock)).expect("open");

    // Acknowledged durable sessions: key -> number.
    let mut acked = BTreeMap::new();
    for i in 0..300 {
        let key = create_durable(&engine, i).expect("create before the disk is full");
        acked.insert(key, i);
    }

    fill(&fs.mnt.join("filler"));

    // sled may still have room inside its file: keep creating until the
    // disk says no, then 20 more, all of which must fail the same way.
    let mut i = 300;
    let mut failures = 0;
    while failures < 20 {
        assert!(i < 20_000, "the disk never filled");
        match create_durable(&engine, i) {
            Ok(key) => {
                assert_eq!(
                    failures, 0,
                    "a create succeeded on a full disk after one failed"
                );
                acked.insert(key, i);
            }
            Err(e) => {
                assert_no_space(&e, "durable create on a full disk");
                failures += 1;
            }
        }
        i += 1;
    }
    let mut visitor = engine.begin_request(None);
    visitor.insert("cart", 1).expect("insert");
    visitor
        .save_durable()
        .expect_err("a durable save on a full disk");
    assert_eq!(
        engine.stats().storage_failures,
        1,
        "the condition is counted once, not per failing call"
    );

    // Reading needs no free space.
    let mut unreadable = Vec::new();
    for (key, &n) in &acked {
        if let Err(e) = check_loads(&engine, key, n) {
            unreadable.push(format!("{n}: {e}"));
        }
    }
    assert!(
        unreadable.is_empty(),
        "{} of {} durable sessions failed to load on a full disk: {:?}",
        unreadable.len(),
        acked.len(),
        &unreadable[..unreadable.len().min(3)]
    );

    // Space comes back: the same engine works again.
    std::fs::remove_file(fs.mnt.join("filler")).expect("remove filler");
    for _ in 0..20 {
        let key = create_durable(&engine, i).expect("durable create once space is back");
        acked.insert(key, i);
        i += 1;
    }
    for (key, &n) in &acked {
        check_loads(&engine, key, n).expect("load once space is back");
    }
    let mut visitor = engine.begin_request(None);
    visitor.insert("cart", 2).expect("insert");
    let cookie = engine
        .end_request(&mut visitor, 200)
        .expect("end_request for a new visitor once space is back");
    assert!(cookie.saved && cookie.set_cookie.is_some());
    engine.flush().expect("flush once space is back");
    let stats = engine.stats();
    assert_eq!(
        (stats.storage_failures, stats.storage_recoveries),
        (1, 1),
        "one failure, one reopen in place"
    );

    // A second in-process open shares a working database.
    let second = Engine::open(config(&path, &clock)).expect("second open");
    for (key, &n) in &acked {
        check_loads(&second, key, n).expect("load through the second engine");
    }
    drop(second);
    engine.close().expect("close");

    let reopened = Engine::open(config(&path, &clock)).expect("reopen");
    for (key, &n) in &acked {
        check_loads(&reopened, key, n).expect("every acknowledged session after reopening");
    }
    reopened.close().expect("close");
}

/// What one writer thread knows about its sessions: for each key, the
/// last value acknowledged durably and the last value it tried to save
/// (a save that failed may still have reached the disk).
#[derive(Default)]
struct Writer {
    acked: BTreeMap<String, (i64, i64)>,
    errors: usize,
    acks_after_errors: usize,
}

/// Creates and updates sessions, every save durable, until `stop`.
fn write_until(engine: &Engine, stop: &AtomicBool, seed: u64) -> Writer {
    let mut w = Writer::default();
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let note = |w: &mut Writer, r: sessile::Result<()>| match r {
        Ok(()) if w.errors > 0 => w.acks_after_errors += 1,
        Ok(()) => {}
        Err(e) => {
            assert!(
                e.to_string().contains("No space left on device")
                    || e.to_string().contains("could not be reopened")
                    || e.to_string().contains("are lost"),
                "an error other than a full disk: {e:?}"
            );
            w.errors += 1;
        }
    };
    while !stop.load(SeqCst) {
        let keys: Vec<String> = w.acked.keys().cloned().collect();
        if keys.is_empty() || next() % 4 == 0 {
            let mut s = engine.new_session();
            s.insert("n", 0).expect("insert");
            s.insert("p", payload(0)).expect("insert");
            let r = s.save_durable();
            if r.is_ok() {
                w.acked
                    .insert(s.session_key().expect("key").to_owned(), (0, 0));
            }
            note(&mut w, r);
        } else {
            let key = &keys[next() as usize % keys.len()];
            let mut s = engine.session(key);
            let r = s.get::<i64>("n").and_then(|n| {
                let (acked, tried) = w.acked[key];
                let n = n.expect("an acknowledged session is gone");
                assert!(
                    n >= acked && n <= tried,
                    "{key}: {n} not in {acked}..={tried}"
                );
                w.acked.insert(key.clone(), (acked, n + 1));
                s.insert("n", n + 1)?;
                s.save_durable()?;
                w.acked.insert(key.clone(), (n + 1, n + 1));
                Ok(())
            });
            note(&mut w, r);
        }
    }
    w
}

/// Polls until `cond` holds (a minute at most: then the test fails).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed().as_secs() < 60, "never happened: {what}");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn saves_in_flight_lose_nothing_acknowledged_when_the_disk_fills_and_frees() {
    let Some(fs) = Tmpfs::mount() else { return };
    let path = fs.mnt.join("db");
    let clock = ManualClock::new(T0);
    let engine = Engine::open(config(&path, &clock)).expect("open");
    let stop = AtomicBool::new(false);
    let writers: Vec<Writer> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (engine, stop) = (&engine, &stop);
                scope.spawn(move || write_until(engine, stop, 0x9e37_79b9 + t))
            })
            .collect();
        let mut probe = 0;
        wait_for("saves before the disk fills", || {
            probe += 1;
            create_durable(&engine, probe).is_ok() && probe > 50
        });
        fill(&fs.mnt.join("filler"));
        wait_for("the disk to fail a write", || {
            engine.stats().storage_failures > 0
        });
        std::fs::remove_file(fs.mnt.join("filler")).expect("remove filler");
        wait_for("a reopen in place", || {
            let _ = engine.session(&"a".repeat(32)).get::<i64>("n");
            engine.stats().storage_recoveries > 0
        });
        // Let every writer get a few saves through the new handle.
        let mut extra = 0;
        wait_for("saves after the reopen", || {
            extra += 1;
            create_durable(&engine, extra).is_ok() && extra > 200
        });
        stop.store(true, SeqCst);
        threads
            .into_iter()
            .map(|t| t.join().expect("writer"))
            .collect()
    });
    assert!(
        writers.iter().any(|w| w.errors > 0),
        "no writer saw the disk full"
    );
    let check = |engine: &Engine, when: &str| {
        let mut n_checked = 0;
        for w in &writers {
            for (key, &(acked, tried)) in &w.acked {
                let mut s = engine.session(key);
                let n = s
                    .get::<i64>("n")
                    .expect("load")
                    .unwrap_or_else(|| panic!("{when}: acknowledged session {key} is gone"));
                assert!(
                    n >= acked && n <= tried,
                    "{when}: {key} holds {n}, acknowledged {acked}, tried {tried}"
                );
                n_checked += 1;
            }
        }
        n_checked
    };
    let n = check(&engine, "in the same engine");
    engine.close().expect("close");
    let reopened = Engine::open(config(&path, &clock)).expect("reopen");
    assert_eq!(check(&reopened, "after reopening"), n);
    eprintln!(
        "{n} sessions; errors per writer {:?}; saves acknowledged after errors {:?}",
        writers.iter().map(|w| w.errors).collect::<Vec<_>>(),
        writers
            .iter()
            .map(|w| w.acks_after_errors)
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_first_flush_after_a_failure_no_call_reported_says_saves_were_lost() {
    let Some(fs) = Tmpfs::mount() else { return };
    let path = fs.mnt.join("db");
    let clock = ManualClock::new(T0);
    // Plain saves, written out by sled's background flusher only.
    let engine = Engine::open(config(&path, &clock).flush_every_ms(Some(5))).expect("open");
    create_durable(&engine, 0).expect("create");
    fill(&fs.mnt.join("filler"));
    // The background flusher hits the full disk; a plain save is the first
    // call to hear of it. No flush has reported it.
    let mut i = 0;
    wait_for("a plain save to fail", || {
        i += 1;
        let mut s = engine.new_session();
        s.insert("n", i).expect("insert");
        match s.save() {
            Ok(()) => false,
            Err(e) => {
                assert_no_space(&e, "a plain save on a full disk");
                true
            }
        }
    });
    std::fs::remove_file(fs.mnt.join("filler")).expect("remove filler");
    let e = engine
        .flush()
        .expect_err("saves acknowledged before the failure are lost: the flush says so");
    assert!(e.to_string().contains("are lost"), "{e}");
    engine.flush().expect("then flushes succeed again");
    create_durable(&engine, 1).expect("and durable saves");
    assert_eq!(engine.stats().storage_recoveries, 1);
}

#[test]
fn a_deleted_directory_fails_durable_saves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let clock = ManualClock::new(T0);
    let engine = Engine::open(config(&path, &clock)).expect("open");
    let key = create_durable(&engine, 1).expect("create");

    std::fs::remove_dir_all(&path).expect("rm -rf");

    let e = create_durable(&engine, 2).expect_err("a durable create in a deleted directory");
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&*path.to_string_lossy()),
        "the error names the path: {e}"
    );
    engine.flush().expect_err("a flush in a deleted directory");

    // Opening the path again gives a new, empty database, not the deleted one.
    let again = Engine::open(config(&path, &clock)).expect("open the path again");
    assert!(!again.exists(&key).expect("exists"), "deleted data served");
    let fresh = create_durable(&again, 3).expect("a durable create in the new database");
    drop(again);
    engine
        .close()
        .expect_err("the old engine's last flush fails too");
    let reopened = Engine::open(config(&path, &clock)).expect("reopen");
    check_loads(&reopened, &fresh, 3).expect("the new database's session");
}
