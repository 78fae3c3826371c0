//! What is on disk stays there: a database reopened after close holds every
//! session; one process opening a path twice shares one sled database
//! instead of failing; another process holding the directory gets a clear
//! `Locked` error naming it, the holder's pid and what to do instead, and
//! nothing stored is harmed; a child forked meanwhile (holding inherited
//! files until it execs) never makes this process's reopen fail. A file, or a folder of other things, is
//! `NotADatabase` and nothing is created in it; a missing or empty
//! directory becomes a database. Compression is
//! fixed when a database is created: asking for the other setting later is
//! a clear `InvalidConfig`, and leaving it unset follows the database.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::{config, saved_session, T0};
use sessile::{ConfigError, Engine, Expiry, ManualClock, NotADatabase, OpenError, SledStore};

#[test]
fn reopen_after_close_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let engine = Engine::open(config(&dir, &clock)).unwrap();
    let a = saved_session(&engine, &[("a", 1)]);
    let mut s = engine.new_session();
    s.insert("name", "Roy").unwrap();
    s.set_expiry(Expiry::seconds(600)).unwrap();
    s.save().unwrap();
    let b = s.session_key().unwrap().to_owned();
    drop(s);
    engine.close().unwrap();

    let engine = Engine::open(config(&dir, &clock)).unwrap();
    assert_eq!(engine.session(&a).get::<i64>("a").unwrap(), Some(1));
    let mut s = engine.session(&b);
    assert_eq!(s.get::<String>("name").unwrap().as_deref(), Some("Roy"));
    assert_eq!(s.expiry().unwrap(), Expiry::Seconds(600));
    // The index survived too: the sweeper still finds the session.
    clock.advance_secs(601);
    assert_eq!(engine.clear_expired().unwrap(), 1);
}

#[test]
fn compression_is_fixed_when_the_database_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let engine = Engine::open(config(&dir, &clock).compression(true)).unwrap();
    let a = saved_session(&engine, &[("a", 1)]);
    engine.close().unwrap();

    match Engine::open(config(&dir, &clock).compression(false)) {
        Err(OpenError::InvalidConfig(
            e @ ConfigError::Compression {
                created_with: true, ..
            },
        )) => {
            let msg = e.to_string();
            assert!(msg.contains("created with compression"), "{msg}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    // Unset follows the database; asking for what it has works too.
    for config in [config(&dir, &clock), config(&dir, &clock).compression(true)] {
        let engine = Engine::open(config).unwrap();
        assert_eq!(engine.session(&a).get::<i64>("a").unwrap(), Some(1));
        engine.close().unwrap();
    }
    // A database made without it refuses it the same way.
    let plain = tempfile::tempdir().unwrap();
    Engine::open(config(&plain, &clock))
        .unwrap()
        .close()
        .unwrap();
    assert!(matches!(
        Engine::open(config(&plain, &clock).compression(true)),
        Err(OpenError::InvalidConfig(ConfigError::Compression {
            created_with: false,
            ..
        }))
    ));
}

#[test]
fn the_same_path_opened_twice_shares_one_db() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let first = Engine::open(config(&dir, &clock)).unwrap();
    // A second open of the same directory (through another spelling of the
    // path) does not fail with sled's lock error: it shares the database.
    let other_spelling = dir.path().join(".").join("db");
    let second = Engine::open(
        sessile::Config::new(&other_spelling)
            .clock(std::sync::Arc::new(clock.clone()))
            .reaper_interval(None),
    )
    .unwrap();
    let key = saved_session(&first, &[("x", 1)]);
    assert_eq!(second.session(&key).get::<i64>("x").unwrap(), Some(1));

    let opts = sessile::SledOptions::default()
        .cache_capacity(1 << 20)
        .flush_every_ms(None)
        .compression(None);
    let s1 = SledStore::open(dir.path().join("db"), &opts).unwrap();
    let s2 = SledStore::open(other_spelling, &opts).unwrap();
    assert!(s1.shares_db_with(&s2));
}

/// Not a test on its own: the child process of
/// `a_path_held_by_another_process_is_locked`, run with `--ignored`.
#[test]
#[ignore]
fn lock_holder_child() {
    let Ok(path) = std::env::var("SESSILE_TEST_HOLD") else {
        return;
    };
    let engine = Engine::open(sessile::Config::new(&path).reaper_interval(None)).unwrap();
    saved_session(&engine, &[("held", 1)]);
    println!("ready");
    std::io::stdout().flush().unwrap();
    // Hold the database until the parent closes our stdin.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn a_path_held_by_another_process_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "lock_holder_child", "--nocapture"])
        .env("SESSILE_TEST_HOLD", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ready") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
    }

    let err = Engine::open(sessile::Config::new(&path)).unwrap_err();
    match &err {
        OpenError::Locked {
            path: p, holder, ..
        } => {
            assert_eq!(p, &path.canonicalize().unwrap());
            assert_eq!(*holder, Some(child.id()));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    // What gunicorn -w 2's second worker logs on every request: it must say
    // who holds the database and what to do instead.
    let msg = err.to_string();
    assert!(msg.contains("locked by another process"), "{msg}");
    assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
    assert!(msg.contains(&format!("(pid {})", child.id())), "{msg}");
    assert!(msg.contains("one process at a time"), "{msg}");
    assert!(msg.contains("redis://"), "{msg}");
    assert!(msg.contains("one worker with threads"), "{msg}");

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    // Released: this process can open it now, and the child's data is there.
    let engine = Engine::open(sessile::Config::new(&path).reaper_interval(None)).unwrap();
    assert_eq!(engine.store().len().unwrap(), 1);
}

#[test]
fn closing_and_reopening_at_once_never_reports_a_lock() {
    // sled lets go of its file lock from background threads after the last
    // handle is dropped; an immediate reopen in the same process must wait
    // for that rather than fail with `Locked`.
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut keys = Vec::new();
    for _ in 0..20 {
        let engine = Engine::open(config(&dir, &clock)).unwrap();
        keys.push(saved_session(&engine, &[("n", keys.len() as i64)]));
        drop(engine);
    }
    let engine = Engine::open(config(&dir, &clock)).unwrap();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(engine.session(k).get::<i64>("n").unwrap(), Some(i as i64));
    }
}

#[test]
fn a_child_forked_meanwhile_does_not_make_a_reopen_fail() {
    // A child that any thread forks (`Command::spawn`, a test's `mount`)
    // shares this process's files until it execs or exits, the lock on
    // `sessile.lock` with them: a reopen right after close must wait for
    // it, not report this very process as the holder. (Seen in CI: another
    // test's `umount` child made `disk_full`'s reopen fail with `Locked`.)
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let engine = Engine::open(config(&dir, &clock)).unwrap();
    let key = saved_session(&engine, &[("n", 7)]);
    let mut pipe = [0; 2];
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    // SAFETY: the child only reads the pipe and exits (both
    // async-signal-safe), holding what it inherited until then.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            libc::close(pipe[1]);
            let mut b = 0u8;
            libc::read(pipe[0], (&raw mut b).cast(), 1);
            libc::_exit(0);
        }
    }
    unsafe { libc::close(pipe[0]) };
    drop(engine);
    // The child holds the lock now (another open file sees it taken).
    let lock = std::fs::File::open(dir.path().join("db/sessile.lock")).unwrap();
    assert!(matches!(
        lock.try_lock(),
        Err(std::fs::TryLockError::WouldBlock)
    ));
    let reopen = std::thread::spawn({
        let path = config(&dir, &clock);
        move || Engine::open(path)
    });
    // Let the child go: it exits, and the lock with it.
    unsafe { libc::close(pipe[1]) };
    let mut status = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    let engine = reopen.join().unwrap().expect("reopen");
    assert_eq!(engine.session(&key).get::<i64>("n").unwrap(), Some(7));
}

#[test]
fn a_file_or_a_folder_of_other_things_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manage.py");
    std::fs::write(&file, "print('hi')\n").unwrap();
    let err = Engine::open(sessile::Config::new(&file)).unwrap_err();
    assert!(
        matches!(&err, OpenError::NotADatabase { path, found: NotADatabase::File } if *path == file),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("is not a sessile database"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"print('hi')\n");

    // A project folder given by mistake: nothing is created in it.
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("manage.py"), "").unwrap();
    let err = Engine::open(sessile::Config::new(&project)).unwrap_err();
    assert!(
        matches!(
            &err,
            OpenError::NotADatabase {
                found: NotADatabase::OtherFiles,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("is not a sessile database"),
        "{err}"
    );
    let names: Vec<_> = std::fs::read_dir(&project)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["manage.py"]);
    let opts = sessile::SledOptions::default()
        .cache_capacity(1 << 20)
        .flush_every_ms(None)
        .compression(None);
    assert!(matches!(
        SledStore::open(&project, &opts),
        Err(OpenError::NotADatabase { .. })
    ));
}

#[test]
fn a_missing_or_empty_directory_becomes_a_database_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for path in [dir.path().join("missing/nested"), empty] {
        let cfg = || {
            sessile::Config::new(&path)
                .clock(std::sync::Arc::new(clock.clone()))
                .reaper_interval(None)
        };
        let engine = Engine::open(cfg()).unwrap();
        let key = saved_session(&engine, &[("x", 1)]);
        engine.close().unwrap();
        // A stray file beside an existing database does not hide it.
        std::fs::write(path.join(".DS_Store"), "").unwrap();
        let engine = Engine::open(cfg()).unwrap();
        assert_eq!(engine.session(&key).get::<i64>("x").unwrap(), Some(1));
    }
    // Only an existing database opens without creating.
    let opts = sessile::SledOptions::default()
        .cache_capacity(1 << 20)
        .flush_every_ms(None)
        .compression(None);
    let fresh = dir.path().join("fresh");
    assert!(matches!(
        SledStore::open_existing(&fresh, &opts),
        Err(OpenError::NotADatabase {
            found: NotADatabase::Nothing,
            ..
        })
    ));
    assert!(!fresh.exists());
}
