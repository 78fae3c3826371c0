//! The store conformance suite: the contract of `sessile::Store` (load,
//! create-if-absent, update with a closure, delete, sweep, scan, and the
//! owner index, which no listing may see), written once and instantiated
//! for every store with `store_conformance!`. Most
//! tests drive the store through an engine, as applications do: the merge
//! of a delta is the engine's, and what each store must get right is that
//! the record it hands to the change is the one stored, and that it never
//! writes a session that is gone.

/// `store_conformance!(name, make)` where `make()` returns
/// `(Arc<dyn Store>, guard)`; the guard (e.g. a temp dir) lives as long as
/// the store.
#[macro_export]
macro_rules! store_conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use sessile::{
                decode_data, encode_data, Config, Data, Delta, Engine, Error, Expiry, Header,
                ManualClock, Record, SaveOptions, SessionKey, Store, Value,
            };
            use std::sync::Arc;

            const NOW: i64 = 1_767_225_600_000;

            fn data(pairs: &[(&str, i64)]) -> Vec<u8> {
                let mut d = Data::new();
                for (k, v) in pairs {
                    d.insert((*k).to_owned(), Value::from(*v));
                }
                encode_data(&d)
            }

            fn change(pairs: &[(&str, i64)]) -> Delta {
                pairs
                    .iter()
                    .fold(Delta::new(), |d, (k, v)| d.set(*k, Value::from(*v)))
            }

            /// A store under test, an engine over it and the engine's clock.
            struct T {
                store: Arc<dyn Store>,
                engine: Engine,
                clock: ManualClock,
                _guard: Box<dyn std::any::Any>,
            }

            fn make() -> T {
                let (store, guard): (Arc<dyn Store>, Box<dyn std::any::Any>) = $make;
                let clock = ManualClock::new(NOW);
                let config = Config::new("unused")
                    .clock(Arc::new(clock.clone()))
                    .reaper_interval(None)
                    .cookie_age(3600)
                    .max_record_size(64 * 1024);
                let engine = Engine::with_store(config, store.clone()).unwrap();
                T {
                    store,
                    engine,
                    clock,
                    _guard: guard,
                }
            }

            impl T {
                /// Sets the clock to `ms`.
                fn at(&self, ms: i64) {
                    self.clock.advance_ms(ms - self.engine.now_ms());
                }

                fn new_session(&self, p: &[(&str, i64)], e: Expiry) -> SessionKey {
                    let (key, _) = self
                        .engine
                        .create(&change(p).with_expiry(e), SaveOptions::default())
                        .unwrap();
                    key
                }

                fn save(&self, key: &SessionKey, d: &Delta) -> sessile::Result<Record> {
                    self.engine.save(key, d, SaveOptions::default())
                }

                fn pairs(&self, key: &SessionKey) -> Vec<(String, i64)> {
                    let rec = self
                        .store
                        .load(key, self.engine.now_ms())
                        .unwrap()
                        .expect("live session");
                    decode_data(rec.data())
                        .unwrap()
                        .into_iter()
                        .map(|(k, v)| (k, v.as_i64().unwrap()))
                        .collect()
                }

                fn live(&self, key: &SessionKey) -> bool {
                    self.engine.exists(key.as_str()).unwrap()
                }
            }

            /// A record of `p` under `expiry`, deadline counted from `now`
            /// with the suite's default age.
            fn record(p: &[(&str, i64)], expiry: Expiry, now: i64) -> Record {
                Record::new(Header::new(expiry, now, 3600), &data(p))
            }

            #[test]
            fn load_of_an_absent_key_is_none() {
                let t = make();
                assert!(t
                    .store
                    .load(&SessionKey::generate(), NOW)
                    .unwrap()
                    .is_none());
                assert!(!t.live(&SessionKey::generate()));
            }

            #[test]
            fn create_then_load_returns_the_data_and_expiry() {
                let t = make();
                let key = t.new_session(&[("a", 1)], Expiry::Seconds(60));
                let rec = t.store.load(&key, NOW).unwrap().unwrap();
                assert_eq!(rec.header().expiry, Expiry::Seconds(60));
                assert_eq!(rec.header().expires_at_ms, NOW + 60_000);
                assert_eq!(rec.data(), &data(&[("a", 1)])[..]);
                assert!(t.live(&key));
                assert_eq!(t.store.len().unwrap(), 1);
            }

            #[test]
            fn create_is_insert_if_absent() {
                let t = make();
                let key = t.new_session(&[("a", 1)], Expiry::Default);
                let again = t
                    .store
                    .create(&key, record(&[("b", 2)], Expiry::Default, NOW), NOW);
                assert!(again.unwrap().is_none(), "a live key is a collision");
                assert_eq!(t.pairs(&key), vec![("a".into(), 1)]);
            }

            #[test]
            fn create_may_reuse_the_key_of_an_expired_session() {
                let t = make();
                let key = t.new_session(&[("a", 1)], Expiry::Seconds(1));
                let later = NOW + 5_000;
                t.at(later);
                let rec = t
                    .store
                    .create(&key, record(&[("b", 2)], Expiry::Default, later), later);
                assert!(rec.unwrap().is_some());
                assert_eq!(t.pairs(&key), vec![("b".into(), 2)]);
            }

            #[test]
            fn save_applies_the_delta() {
                let t = make();
                let key = t.new_session(&[("a", 1), ("b", 2)], Expiry::Default);
                let d = Delta::new().remove("a").set("c", Value::from(3));
                t.save(&key, &d).unwrap();
                assert_eq!(t.pairs(&key), vec![("b".into(), 2), ("c".into(), 3)]);
                t.save(&key, &Delta::new().clear()).unwrap();
                assert!(t.pairs(&key).is_empty());
            }

            #[test]
            fn update_hands_the_change_the_stored_record_and_says_if_it_was_seen() {
                let t = make();
                let key = t.new_session(&[], Expiry::Default);
                let seen = t.store.load(&key, NOW).unwrap().unwrap();
                let calls = std::cell::RefCell::new(Vec::new());
                let add = |k: &'static str| {
                    let calls = &calls;
                    move |current: &Record, unchanged: bool| {
                        let mut d = decode_data(current.data()).unwrap();
                        calls.borrow_mut().push((d.len(), unchanged));
                        d.insert(k.to_owned(), Value::from(1));
                        Ok(Record::new(*current.header(), &encode_data(&d)))
                    }
                };
                t.store
                    .update(&key, Some(&seen), NOW, &mut add("a"))
                    .unwrap();
                assert_eq!(calls.take(), vec![(0, true)]);
                // `seen` is now stale: the store must notice, and hand the
                // change the record that is stored. A store that checks
                // only as it writes (Redis's compare-and-set) may first try
                // the change on `seen`, which it then does not write.
                t.store
                    .update(&key, Some(&seen), NOW, &mut add("b"))
                    .unwrap();
                let mut b = calls.take();
                assert_eq!(b.pop(), Some((1, false)));
                assert!(b.iter().all(|&c| c == (0, true)), "{b:?}");
                t.store.update(&key, None, NOW, &mut add("c")).unwrap();
                assert_eq!(calls.take(), vec![(2, false)]);
                assert_eq!(
                    t.pairs(&key),
                    vec![("a".into(), 1), ("b".into(), 1), ("c".into(), 1)]
                );
            }

            #[test]
            fn an_update_that_fails_writes_nothing() {
                let t = make();
                let key = t.new_session(&[("a", 1)], Expiry::Default);
                let r = t
                    .store
                    .update(&key, None, NOW, &mut |_, _| Err(Error::Closed));
                assert!(matches!(r, Err(Error::Closed)));
                assert_eq!(t.pairs(&key), vec![("a".into(), 1)]);
            }

            #[test]
            fn a_change_given_as_two_maps_merges_like_a_delta() {
                let t = make();
                let key = t.new_session(&[("a", 1), ("b", 2)], Expiry::Seconds(60));
                // Saves the change from `seen` to `now`; returns what is stored.
                let between = |seen: &[(&str, i64)], now: &[(&str, i64)]| {
                    t.save(&key, &Delta::between(&data(seen), &data(now)))
                        .unwrap();
                    t.pairs(&key)
                };
                // Another request that sets "d".
                let other = change(&[("d", 4)]);
                // Unchanged since `seen`: `now` is written as it is.
                assert_eq!(
                    between(&[("a", 1), ("b", 2)], &[("a", 5), ("b", 2), ("c", 3)]),
                    vec![("a".into(), 5), ("b".into(), 2), ("c".into(), 3)]
                );
                // The other request saved meanwhile: only what differs between
                // the two maps lands ("a" changed, "c" removed), "d" stays.
                t.save(&key, &other).unwrap();
                assert_eq!(
                    between(&[("a", 5), ("b", 2), ("c", 3)], &[("a", 6), ("b", 2)]),
                    vec![("a".into(), 6), ("b".into(), 2), ("d".into(), 4)]
                );
                // No difference between the maps: nothing of theirs is undone.
                t.save(&key, &other).unwrap();
                assert_eq!(
                    between(&[("a", 6), ("b", 2)], &[("a", 6), ("b", 2)]),
                    vec![("a".into(), 6), ("b".into(), 2), ("d".into(), 4)]
                );
            }

            #[test]
            fn save_of_a_deleted_or_expired_session_is_refused() {
                let t = make();
                let key = t.new_session(&[("a", 1)], Expiry::Seconds(10));
                let seen = t.store.load(&key, NOW).unwrap().unwrap();
                let mut keep = |current: &Record, _: bool| Ok(current.clone());
                assert!(matches!(
                    t.store.update(&key, Some(&seen), NOW + 10_000, &mut keep),
                    Err(Error::SessionDeleted)
                ));
                assert!(t.store.delete(&key).unwrap());
                assert!(!t.store.delete(&key).unwrap());
                assert!(matches!(
                    t.store.update(&key, Some(&seen), NOW, &mut keep),
                    Err(Error::SessionDeleted)
                ));
                assert!(matches!(
                    t.save(&key, &Delta::new()),
                    Err(Error::SessionDeleted)
                ));
                assert!(t.store.load(&key, NOW).unwrap().is_none());
                assert_eq!(t.store.len().unwrap(), 0);
            }

            #[test]
            fn an_upsert_creates_a_session_that_is_gone_under_its_key() {
                let t = make();
                let key = SessionKey::generate();
                let upsert = SaveOptions::default().upsert();
                t.engine.save(&key, &change(&[("a", 1)]), upsert).unwrap();
                t.engine.save(&key, &change(&[("b", 2)]), upsert).unwrap();
                assert_eq!(t.pairs(&key), vec![("a".into(), 1), ("b".into(), 2)]);
            }

            #[test]
            fn a_create_only_save_writes_only_a_key_nobody_holds() {
                let t = make();
                let key = SessionKey::generate();
                let only = SaveOptions::default().create_only();
                t.engine.save(&key, &change(&[("a", 1)]), only).unwrap();
                assert!(matches!(
                    t.engine.save(&key, &change(&[("b", 2)]), only),
                    Err(Error::SessionExists)
                ));
                assert_eq!(t.pairs(&key), vec![("a".into(), 1)]);
                // It wins over an upsert asked for with it.
                let both = SaveOptions::default().create_only().upsert();
                assert!(matches!(
                    t.engine.save(&key, &change(&[("b", 2)]), both),
                    Err(Error::SessionExists)
                ));
                // A session that is gone frees its key.
                t.store.delete(&key).unwrap();
                t.engine.save(&key, &change(&[("b", 2)]), only).unwrap();
                assert_eq!(t.pairs(&key), vec![("b".into(), 2)]);
            }

            #[test]
            fn expiry_moves_with_each_save_and_policy_changes_stick() {
                let t = make();
                let key = t.new_session(&[], Expiry::Seconds(60));
                t.at(NOW + 30_000);
                let rec = t.save(&key, &Delta::new()).unwrap();
                assert_eq!(rec.header().expires_at_ms, NOW + 90_000);
                // The lazy index: the entry stays at the first deadline.
                assert_eq!(rec.header().index_at_ms, NOW + 60_000);
                let at = Delta::new().with_expiry(Expiry::At(NOW + 40_000));
                let rec = t.save(&key, &at).unwrap();
                assert_eq!(rec.header().expiry, Expiry::At(NOW + 40_000));
                // Earlier than the filed entry: re-filed at the new deadline.
                assert_eq!(rec.header().index_at_ms, NOW + 40_000);
                // A save that does not touch the policy keeps it.
                t.at(NOW + 31_000);
                let rec = t.save(&key, &Delta::new()).unwrap();
                assert_eq!(rec.header().expiry, Expiry::At(NOW + 40_000));
                assert_eq!(rec.header().expires_at_ms, NOW + 40_000);
                // Default counts from the engine's default age.
                let rec = t.save(&key, &Delta::new().with_expiry(Expiry::Default));
                assert_eq!(
                    rec.unwrap().header().expires_at_ms,
                    NOW + 31_000 + 3_600_000
                );
            }

            #[test]
            fn sweep_removes_only_expired_sessions() {
                let t = make();
                let short: Vec<_> = (0..4)
                    .map(|_| t.new_session(&[], Expiry::Seconds(10)))
                    .collect();
                let long = t.new_session(&[], Expiry::Seconds(100));
                // Extended before it expired: must survive the sweep.
                t.at(NOW + 5_000);
                t.save(&short[0], &Delta::new()).unwrap();
                let sweep = t.store.sweep(NOW + 10_000, 100).unwrap();
                assert_eq!(sweep.removed, 3);
                assert!(!sweep.more);
                t.at(NOW + 10_000);
                assert!(t.live(&short[0]));
                assert!(t.live(&long));
                assert_eq!(t.store.len().unwrap(), 2);
                let sweep = t.store.sweep(NOW + 15_000, 100).unwrap();
                assert_eq!(sweep.removed, 1);
                assert_eq!(t.store.sweep(NOW + 200_000, 100).unwrap().removed, 1);
                assert_eq!(t.store.len().unwrap(), 0);
            }

            #[test]
            fn sweep_respects_its_budget() {
                let t = make();
                for _ in 0..5 {
                    t.new_session(&[], Expiry::Seconds(1));
                }
                let s = t.store.sweep(NOW + 1_000, 2).unwrap();
                assert_eq!((s.removed, s.examined, s.more), (2, 2, true));
                let s = t.store.sweep(NOW + 1_000, 3).unwrap();
                assert_eq!((s.removed, s.more), (3, false));
            }

            #[test]
            fn scan_pages_through_every_record() {
                let t = make();
                let mut keys: Vec<Vec<u8>> = (0..7)
                    .map(|_| t.new_session(&[], Expiry::Default).as_bytes().to_vec())
                    .collect();
                keys.sort();
                let mut seen = Vec::new();
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let page = t.store.scan(after.as_deref(), 3).unwrap();
                    if page.is_empty() {
                        break;
                    }
                    after = Some(page.last().unwrap().0.to_vec());
                    seen.extend(page.into_iter().map(|(k, _)| k.to_vec()));
                }
                assert_eq!(seen, keys);
            }

            #[test]
            fn walk_visits_every_record_in_key_order_and_may_delete_them() {
                let t = make();
                let mut keys: Vec<Vec<u8>> = (0..7)
                    .map(|_| t.new_session(&[], Expiry::Default).as_bytes().to_vec())
                    .collect();
                keys.sort();
                // After a key, and stopped by the visitor.
                let mut seen = Vec::new();
                let done = t
                    .store
                    .walk(Some(&keys[1]), &mut |k, _| {
                        seen.push(k);
                        Ok(seen.len() < 3)
                    })
                    .unwrap();
                assert_eq!((done, &seen[..]), (false, &keys[2..5]));
                // To the end, deleting each record it is given.
                let mut seen = Vec::new();
                let done = t
                    .store
                    .walk(None, &mut |k, raw| {
                        Record::decode(&raw).unwrap();
                        assert!(t
                            .store
                            .delete(&SessionKey::from_bytes(&k).unwrap())
                            .unwrap());
                        seen.push(k);
                        Ok(true)
                    })
                    .unwrap();
                assert_eq!((done, seen), (true, keys));
                assert_eq!(t.store.len().unwrap(), 0);
            }

            #[test]
            fn records_over_the_size_limit_are_refused() {
                let (store, guard): (Arc<dyn Store>, Box<dyn std::any::Any>) = $make;
                let config = Config::new("unused")
                    .clock(Arc::new(ManualClock::new(NOW)))
                    .reaper_interval(None)
                    .max_record_size(40);
                let engine = Engine::with_store(config, store.clone()).unwrap();
                let big = change(&[("aaaaaaaaaaaa", 1), ("bbbbbbbbbbbbb", 2)]);
                assert!(matches!(
                    engine.create(&big, SaveOptions::default()),
                    Err(Error::TooLarge { .. })
                ));
                assert_eq!(store.len().unwrap(), 0);
                drop(guard);
            }

            #[test]
            fn an_owner_index_finds_an_owners_sessions_and_no_listing_sees_it() {
                let (store, guard): (Arc<dyn Store>, Box<dyn std::any::Any>) = $make;
                let clock = ManualClock::new(NOW);
                let config = Config::new("unused")
                    .clock(Arc::new(clock.clone()))
                    .reaper_interval(None)
                    .cookie_age(3600)
                    .owner_key("uid");
                let engine = Engine::with_store(config, store.clone()).unwrap();
                assert_eq!(store.owner_key().unwrap().as_str(), "uid");
                let create = |p: &[(&str, i64)], e: Expiry| {
                    let d = change(p).with_expiry(e);
                    engine.create(&d, SaveOptions::default()).unwrap().0
                };
                let keys_of = |owner: &str| {
                    let mut keys: Vec<SessionKey> = engine
                        .sessions_of(owner)
                        .unwrap()
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect();
                    keys.sort();
                    keys
                };
                let short = create(&[("uid", 42)], Expiry::Seconds(10));
                let long = create(&[("uid", 42)], Expiry::Default);
                let other = create(&[("uid", 7)], Expiry::Default);
                create(&[("n", 1)], Expiry::Default);
                let mut both = vec![short.clone(), long.clone()];
                both.sort();
                assert_eq!(keys_of("42"), both);

                // Listings and counts see the four sessions, nothing of
                // the index the store keeps beside them.
                assert_eq!(store.len().unwrap(), 4);
                let page = store.scan(None, 100).unwrap();
                assert_eq!(page.len(), 4);
                let mut walked = 0;
                store
                    .walk(None, &mut |k, raw| {
                        SessionKey::from_bytes(&k).unwrap();
                        Record::decode(&raw).unwrap();
                        walked += 1;
                        Ok(true)
                    })
                    .unwrap();
                assert_eq!(walked, 4);

                // A sweep deletes the expired session and its entry.
                clock.advance_ms(10_000);
                let writes = store.stats().owner_writes;
                assert_eq!(engine.clear_expired().unwrap(), 1);
                assert_eq!(store.stats().owner_writes, writes + 1);
                assert_eq!(keys_of("42"), vec![long.clone()]);
                // A deletion, its entry.
                assert!(engine.delete(&long).unwrap());
                assert!(keys_of("42").is_empty());
                assert_eq!(engine.delete_all().unwrap(), 2);
                assert!(keys_of("7").is_empty());
                assert_eq!(store.len().unwrap(), 0);
                assert!(!engine.exists(other.as_str()).unwrap());
                drop(guard);
            }

            #[test]
            fn flush_succeeds() {
                let t = make();
                t.new_session(&[("a", 1)], Expiry::Default);
                t.store.flush().unwrap();
            }
        }
    };
}
