//! A forked child never touches its parent's database: using the parent's
//! engine gives a clear `Forked` error (a child writing into the parent's
//! sled log would corrupt it), dropping it writes nothing, and the child's
//! session keys come from a freshly seeded stream, so no two processes
//! ever issue the same keys.
//!
//! Forking needs `unsafe` (libc); this file is the only test that does it,
//! and it runs one test so the child starts from a quiet process.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{saved_session, sled};
use sessile::{Error, SessionKey};

#[test]
fn a_forked_child_cannot_use_the_parents_engine_and_draws_fresh_keys() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    // Use the generator so its state is what the child inherits.
    let _ = SessionKey::generate();
    let (mut reader, mut writer) = std::io::pipe().unwrap();

    // SAFETY: the child only does work that does not depend on other
    // threads' locks (one sled-free engine call that fails fast, key
    // generation, a pipe write) and leaves with `_exit`, running no
    // destructors.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut s = f.engine.session(&key);
        let verdict = match s.get::<i64>("a") {
            Err(Error::Forked { path }) if path.ends_with("db") => "forked",
            Err(_) => "other-error",
            Ok(_) => "served",
        };
        let saved = match f.engine.new_session().save() {
            Err(Error::Forked { .. }) => "refused",
            _ => "wrote",
        };
        let keys: Vec<String> = (0..4).map(|_| SessionKey::generate().to_string()).collect();
        let _ = writeln!(writer, "{verdict} {saved} {}", keys.join(" "));
        drop(writer);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    drop(writer);
    let parent_keys: Vec<String> = (0..4).map(|_| SessionKey::generate().to_string()).collect();
    let mut out = String::new();
    reader.read_to_string(&mut out).unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child, without blocking.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        assert!(Instant::now() < deadline, "the child hung");
        std::thread::yield_now();
    }
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        fields.get(..2),
        Some(&["forked", "refused"][..]),
        "child said {out:?}"
    );
    let child_keys = &fields[2..];
    assert_eq!(child_keys.len(), 4);
    for k in child_keys {
        assert!(
            !parent_keys.iter().any(|p| p == k),
            "a key repeated across the fork"
        );
    }
    // The parent is unharmed.
    assert_eq!(f.engine.session(&key).get::<i64>("a").unwrap(), Some(1));
    saved_session(&f.engine, &[("after", 1)]);
}
