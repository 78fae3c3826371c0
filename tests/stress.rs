//! Many threads over overlapping sessions, checked against a model: loads,
//! writes to per-thread and shared keys, saves, `cycle_key`, `flush` and a
//! concurrent sweeper while the clock moves. Guards: no lost update on
//! distinct keys, no resurrection of a deleted or cycled-away key, no
//! expired session served, no session swept early, and no deadlock (the run
//! is bounded; a watchdog fails it instead of hanging).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use common::{saved_session, sled, T0};
use parking_lot::Mutex;
use sessile::{Error, Expiry};

const THREADS: usize = 6;
const ROUNDS: usize = 1000;

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn threads_over_shared_sessions_match_the_model() {
    let f = sled();
    let engine = f.engine.clone();
    // Counter sessions: every thread increments its own key in each.
    let counters: Vec<String> = (0..4).map(|_| saved_session(&engine, &[])).collect();
    // Short sessions: expire at a fixed time the clock will pass.
    let deadline = T0 + 60_000;
    let short: Vec<String> = (0..20)
        .map(|_| {
            let mut s = engine.new_session();
            s.insert("short", 1).unwrap();
            s.set_expiry(Expiry::At(deadline)).unwrap();
            s.save().unwrap();
            s.session_key().unwrap().to_owned()
        })
        .collect();
    // Chaos slots: threads update, cycle and flush these.
    let slots: Arc<Vec<Mutex<String>>> = Arc::new(
        (0..8)
            .map(|_| Mutex::new(saved_session(&engine, &[("n", 0)])))
            .collect(),
    );
    let dead: Arc<Mutex<HashSet<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));

    let (done_tx, done_rx) = mpsc::channel();
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let (engine, counters, short, slots, dead, done) = (
            engine.clone(),
            counters.clone(),
            short.clone(),
            slots.clone(),
            dead.clone(),
            done_tx.clone(),
        );
        let clock = f.clock.clone();
        handles.push(thread::spawn(move || {
            let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (t as u64 + 1));
            let mine = format!("t{t}");
            let mut increments = vec![0i64; counters.len()];
            for _ in 0..ROUNDS {
                // Distinct keys: my counter in a shared session.
                let c = rng.below(counters.len());
                let mut s = engine.session(&counters[c]);
                let n = s.get::<i64>(&mine).unwrap().unwrap_or(0);
                s.insert(&mine, n + 1).unwrap();
                s.insert("shared", t as i64).unwrap();
                s.save().unwrap();
                increments[c] += 1;

                // Expiry: once the clock is past the deadline, never served.
                let k = &short[rng.below(short.len())];
                let before = clock_now(&clock);
                let mut s = engine.session(k);
                let got = s.get::<i64>("short").unwrap();
                if before >= deadline {
                    assert_eq!(got, None, "expired session served");
                }

                // Chaos: update / cycle / flush; dead keys stay dead.
                let slot = &slots[rng.below(slots.len())];
                let key = slot.lock().clone();
                let started_dead = dead.lock().contains(&key);
                let mut s = engine.session(&key);
                let n = s.get::<i64>("n").unwrap();
                if started_dead {
                    assert_eq!(n, None, "a dead key came back");
                }
                match rng.below(10) {
                    0 => {
                        s.flush().unwrap();
                        dead.lock().insert(key.clone());
                        // Replace the slot with a fresh session.
                        let fresh = saved_session(&engine, &[("n", 0)]);
                        let mut guard = slot.lock();
                        if *guard == key {
                            *guard = fresh;
                        }
                    }
                    1 if n.is_some() => match s.cycle_key() {
                        Ok(()) => {
                            let new = s.session_key().unwrap().to_owned();
                            dead.lock().insert(key.clone());
                            let mut guard = slot.lock();
                            if *guard == key {
                                *guard = new;
                            }
                        }
                        // Flushed or cycled away by another thread since
                        // this one read it: not carried to a new key.
                        Err(Error::SessionDeleted) => {}
                        Err(e) => panic!("{e}"),
                    },
                    _ => {
                        s.insert("n", n.unwrap_or(0) + 1).unwrap();
                        match s.save() {
                            Ok(()) => {}
                            // Flushed or cycled away by another thread.
                            Err(Error::SessionDeleted) => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                if t == 0 {
                    clock.advance_secs(1);
                }
            }
            done.send(()).unwrap();
            increments
        }));
    }
    // The sweeper runs throughout.
    let sweeper = {
        let (engine, stop) = (engine.clone(), stop.clone());
        thread::spawn(move || {
            let mut removed = 0;
            while !stop.load(Ordering::SeqCst) {
                removed += engine.clear_expired().unwrap();
                thread::yield_now();
            }
            removed
        })
    };
    for _ in 0..THREADS {
        done_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("a worker is stuck: deadlock?");
    }
    let per_thread: Vec<Vec<i64>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, Ordering::SeqCst);
    sweeper.join().unwrap();

    // No lost update on distinct keys, and no counter session swept.
    for (c, key) in counters.iter().enumerate() {
        let mut s = engine.session(key);
        for (t, inc) in per_thread.iter().enumerate() {
            assert_eq!(s.get::<i64>(&format!("t{t}")).unwrap().unwrap_or(0), inc[c]);
        }
        let last = s.get::<i64>("shared").unwrap().unwrap();
        assert!((0..THREADS as i64).contains(&last));
    }
    // Expired sessions are gone after a final sweep; dead keys stay dead.
    f.clock.set_ms(deadline + 1);
    engine.clear_expired().unwrap();
    for k in &short {
        assert!(!engine.exists(k).unwrap());
    }
    for k in dead.lock().iter() {
        assert!(!engine.exists(k).unwrap(), "dead key {k} exists");
    }
    for slot in slots.iter() {
        assert!(engine.exists(&slot.lock()).unwrap(), "a live slot was lost");
    }
}

fn clock_now(clock: &sessile::ManualClock) -> i64 {
    use sessile::Clock;
    clock.now_ms()
}
