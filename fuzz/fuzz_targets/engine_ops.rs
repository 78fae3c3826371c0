//! Random operation sequences against the engine (memory store: the same
//! storage algorithm as sled) and a `BTreeMap` model, with a controlled
//! clock. After every operation the engine must agree with the model:
//! values, existence, expiry, no resurrection.
#![no_main]
use std::collections::BTreeMap;
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sessile::{Config, Engine, Expiry, ManualClock};

#[derive(Arbitrary, Debug)]
enum Op {
    Create { slot: u8, value: i16 },
    Set { slot: u8, key: u8, value: i16 },
    Remove { slot: u8, key: u8 },
    Clear { slot: u8 },
    Flush { slot: u8 },
    Cycle { slot: u8 },
    Expire { slot: u8, secs: i8 },
    Advance { secs: u8 },
    Sweep,
}

const T0: i64 = 1_767_225_600_000;
const AGE: i64 = 100;

#[derive(Clone, Debug)]
struct Model {
    key: String,
    data: BTreeMap<String, i64>,
    deadline: i64,
    /// Seconds each save adds (the policy: default age or `set_expiry`).
    age_s: i64,
}

fuzz_target!(|ops: Vec<Op>| {
    let clock = ManualClock::new(T0);
    let engine = Engine::memory(
        Config::new("unused")
            .clock(Arc::new(clock.clone()))
            .cookie_age(AGE)
            .reaper_interval(None),
    )
    .unwrap();
    let mut slots: Vec<Option<Model>> = vec![None; 4];
    let mut dead: Vec<String> = Vec::new();
    let now = |c: &ManualClock| {
        use sessile::Clock;
        c.now_ms()
    };
    for op in ops.iter().take(200) {
        // Sessions whose deadline passed are gone in the model.
        for s in slots.iter_mut() {
            if s.as_ref().is_some_and(|m| m.deadline <= now(&clock)) {
                dead.push(s.take().unwrap().key);
            }
        }
        match *op {
            Op::Create { slot, value } => {
                let i = slot as usize % 4;
                if slots[i].is_none() {
                    let mut s = engine.new_session();
                    s.insert("v", value).unwrap();
                    s.save().unwrap();
                    let mut data = BTreeMap::new();
                    data.insert("v".to_owned(), value as i64);
                    slots[i] = Some(Model {
                        key: s.session_key().unwrap().to_owned(),
                        data,
                        deadline: now(&clock) + AGE * 1000,
                        age_s: AGE,
                    });
                }
            }
            Op::Set { slot, key, value } => {
                if let Some(m) = &mut slots[slot as usize % 4] {
                    let k = format!("k{}", key % 8);
                    let mut s = engine.session(&m.key);
                    s.insert(&k, value).unwrap();
                    s.save().unwrap();
                    m.data.insert(k, value as i64);
                    m.deadline = now(&clock) + m.age_s * 1000;
                }
            }
            Op::Remove { slot, key } => {
                if let Some(m) = &mut slots[slot as usize % 4] {
                    let k = format!("k{}", key % 8);
                    let mut s = engine.session(&m.key);
                    assert_eq!(s.remove(&k).unwrap(), m.data.remove(&k).is_some());
                    s.save().unwrap();
                    m.deadline = now(&clock) + m.age_s * 1000;
                }
            }
            Op::Clear { slot } => {
                if let Some(m) = &mut slots[slot as usize % 4] {
                    let mut s = engine.session(&m.key);
                    s.clear();
                    s.save().unwrap();
                    m.data.clear();
                    // Django's clear() drops the expiry set with set_expiry.
                    m.age_s = AGE;
                    m.deadline = now(&clock) + AGE * 1000;
                }
            }
            Op::Flush { slot } => {
                if let Some(m) = slots[slot as usize % 4].take() {
                    engine.session(&m.key).flush().unwrap();
                    dead.push(m.key);
                }
            }
            Op::Cycle { slot } => {
                if let Some(m) = &mut slots[slot as usize % 4] {
                    let mut s = engine.session(&m.key);
                    s.cycle_key().unwrap();
                    dead.push(std::mem::replace(&mut m.key, s.session_key().unwrap().to_owned()));
                    m.deadline = now(&clock) + m.age_s * 1000;
                }
            }
            Op::Expire { slot, secs } => {
                if let Some(m) = &mut slots[slot as usize % 4] {
                    let mut s = engine.session(&m.key);
                    if secs < 0 {
                        // Refused (1 s to 400 days, or 0), and nothing changes.
                        assert!(matches!(
                            s.set_expiry(Expiry::seconds(secs as i64)),
                            Err(sessile::Error::InvalidExpiry(_))
                        ));
                        assert!(!s.modified());
                    } else {
                        s.set_expiry(Expiry::seconds(secs as i64)).unwrap();
                        s.save().unwrap();
                        // 0 is "at browser close": the server keeps the default age.
                        m.age_s = if secs == 0 { AGE } else { secs as i64 };
                        m.deadline = now(&clock) + m.age_s * 1000;
                    }
                }
            }
            Op::Advance { secs } => clock.advance_secs(secs as i64),
            Op::Sweep => {
                engine.clear_expired().unwrap();
            }
        }
        // Agreement after every operation.
        for m in slots.iter().flatten() {
            if m.deadline > now(&clock) {
                let mut s = engine.session(&m.key);
                let got: BTreeMap<String, i64> = s
                    .items()
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k, v.as_i64().unwrap()))
                    .collect();
                assert_eq!(got, m.data, "{op:?}");
            }
        }
        for k in &dead {
            assert!(!engine.exists(k).unwrap(), "resurrected {k}");
            let mut s = engine.session(k);
            assert!(s.keys().unwrap().is_empty());
            assert_eq!(s.session_key(), None);
        }
    }
});
