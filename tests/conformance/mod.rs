//! The store conformance suite: the contract of `sessile::Store`, written
//! once and instantiated for every store with `store_conformance!`.

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
                decode_data, encode_data, Data, Delta, Error, Expiry, SessionKey, Store, Value,
                WriteCtx,
            };
            use std::sync::Arc;

            const NOW: i64 = 1_767_225_600_000;

            fn ctx(now_ms: i64) -> WriteCtx {
                WriteCtx {
                    now_ms,
                    default_age_s: 3600,
                    max_record_size: 64 * 1024,
                }
            }

            fn data(pairs: &[(&str, i64)]) -> Vec<u8> {
                let mut d = Data::new();
                for (k, v) in pairs {
                    d.insert((*k).to_owned(), Value::from(*v));
                }
                encode_data(&d)
            }

            fn pairs(store: &Arc<dyn Store>, key: &SessionKey, now: i64) -> Vec<(String, i64)> {
                let rec = store.load(key, now).unwrap().expect("live session");
                decode_data(rec.data())
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k, v.as_i64().unwrap()))
                    .collect()
            }

            fn make() -> (Arc<dyn Store>, Box<dyn std::any::Any>) {
                $make
            }

            fn new_session(store: &Arc<dyn Store>, p: &[(&str, i64)], e: Expiry) -> SessionKey {
                let key = SessionKey::generate();
                store
                    .create(&key, &data(p), e, &ctx(NOW))
                    .unwrap()
                    .expect("created");
                key
            }

            #[test]
            fn load_of_an_absent_key_is_none() {
                let (store, _g) = make();
                assert!(store.load(&SessionKey::generate(), NOW).unwrap().is_none());
                assert!(!store.exists(&SessionKey::generate(), NOW).unwrap());
            }

            #[test]
            fn create_then_load_returns_the_data_and_expiry() {
                let (store, _g) = make();
                let key = new_session(&store, &[("a", 1)], Expiry::Seconds(60));
                let rec = store.load(&key, NOW).unwrap().unwrap();
                assert_eq!(rec.header().expiry, Expiry::Seconds(60));
                assert_eq!(rec.header().expires_at_ms, NOW + 60_000);
                assert_eq!(rec.data(), &data(&[("a", 1)])[..]);
                assert!(store.exists(&key, NOW).unwrap());
                assert_eq!(store.len().unwrap(), 1);
            }

            #[test]
            fn create_is_insert_if_absent() {
                let (store, _g) = make();
                let key = new_session(&store, &[("a", 1)], Expiry::Default);
                let again = store.create(&key, &data(&[("b", 2)]), Expiry::Default, &ctx(NOW));
                assert!(again.unwrap().is_none(), "a live key is a collision");
                assert_eq!(pairs(&store, &key, NOW), vec![("a".into(), 1)]);
            }

            #[test]
            fn create_may_reuse_the_key_of_an_expired_session() {
                let (store, _g) = make();
                let key = new_session(&store, &[("a", 1)], Expiry::Seconds(1));
                let later = NOW + 5_000;
                let rec = store.create(&key, &data(&[("b", 2)]), Expiry::Default, &ctx(later));
                assert!(rec.unwrap().is_some());
                assert_eq!(pairs(&store, &key, later), vec![("b".into(), 2)]);
            }

            #[test]
            fn save_applies_the_delta() {
                let (store, _g) = make();
                let key = new_session(&store, &[("a", 1), ("b", 2)], Expiry::Default);
                let mut d = Delta::default();
                d.remove.insert("a".into());
                d.set.insert("c".into(), Value::from(3));
                store.save(&key, &d, None, &ctx(NOW)).unwrap();
                assert_eq!(
                    pairs(&store, &key, NOW),
                    vec![("b".into(), 2), ("c".into(), 3)]
                );
                let clear = Delta {
                    clear: true,
                    ..Delta::default()
                };
                store.save(&key, &clear, None, &ctx(NOW)).unwrap();
                assert!(pairs(&store, &key, NOW).is_empty());
            }

            #[test]
            fn save_against_a_stale_read_merges_instead_of_overwriting() {
                let (store, _g) = make();
                let key = new_session(&store, &[], Expiry::Default);
                let seen = store.load(&key, NOW).unwrap().unwrap();
                let mut a = Delta::default();
                a.set.insert("a".into(), Value::from(1));
                let mut b = Delta::default();
                b.set.insert("b".into(), Value::from(2));
                store.save(&key, &a, Some(&seen), &ctx(NOW)).unwrap();
                // `seen` is now stale: the store must notice and merge.
                store.save(&key, &b, Some(&seen), &ctx(NOW)).unwrap();
                assert_eq!(
                    pairs(&store, &key, NOW),
                    vec![("a".into(), 1), ("b".into(), 2)]
                );
            }

            #[test]
            fn a_change_given_as_two_maps_merges_like_a_delta() {
                let (store, _g) = make();
                let key = new_session(&store, &[("a", 1), ("b", 2)], Expiry::Seconds(60));
                // Saves the change from `seen` to `now`; returns what is stored.
                let between = |seen: &[(&str, i64)], now: &[(&str, i64)]| {
                    let delta = Delta::between(&data(seen), &data(now));
                    store.save(&key, &delta, None, &ctx(NOW)).unwrap();
                    pairs(&store, &key, NOW)
                };
                // Another request that sets "d".
                let other = Delta {
                    set: [("d".to_owned(), Value::from(4))].into_iter().collect(),
                    ..Delta::default()
                };
                // Unchanged since `seen`: `now` is written as it is.
                assert_eq!(
                    between(&[("a", 1), ("b", 2)], &[("a", 5), ("b", 2), ("c", 3)]),
                    vec![("a".into(), 5), ("b".into(), 2), ("c".into(), 3)]
                );
                // The other request saved meanwhile: only what differs between
                // the two maps lands ("a" changed, "c" removed), "d" stays.
                store.save(&key, &other, None, &ctx(NOW)).unwrap();
                assert_eq!(
                    between(&[("a", 5), ("b", 2), ("c", 3)], &[("a", 6), ("b", 2)]),
                    vec![("a".into(), 6), ("b".into(), 2), ("d".into(), 4)]
                );
                // No difference between the maps: nothing of theirs is undone.
                store.save(&key, &other, None, &ctx(NOW)).unwrap();
                assert_eq!(
                    between(&[("a", 6), ("b", 2)], &[("a", 6), ("b", 2)]),
                    vec![("a".into(), 6), ("b".into(), 2), ("d".into(), 4)]
                );
            }

            #[test]
            fn save_of_a_deleted_or_expired_session_is_refused() {
                let (store, _g) = make();
                let key = new_session(&store, &[("a", 1)], Expiry::Seconds(10));
                let seen = store.load(&key, NOW).unwrap().unwrap();
                let d = Delta::default();
                assert!(matches!(
                    store.save(&key, &d, Some(&seen), &ctx(NOW + 10_000)),
                    Err(Error::SessionDeleted)
                ));
                assert!(store.delete(&key).unwrap());
                assert!(!store.delete(&key).unwrap());
                assert!(matches!(
                    store.save(&key, &d, Some(&seen), &ctx(NOW)),
                    Err(Error::SessionDeleted)
                ));
                assert!(matches!(
                    store.save(&key, &d, None, &ctx(NOW)),
                    Err(Error::SessionDeleted)
                ));
                assert!(store.load(&key, NOW).unwrap().is_none());
                assert_eq!(store.len().unwrap(), 0);
            }

            #[test]
            fn expiry_moves_with_each_save_and_policy_changes_stick() {
                let (store, _g) = make();
                let key = new_session(&store, &[], Expiry::Seconds(60));
                let d = Delta::default();
                let rec = store.save(&key, &d, None, &ctx(NOW + 30_000)).unwrap();
                assert_eq!(rec.header().expires_at_ms, NOW + 90_000);
                // The lazy index: the entry stays at the first deadline.
                assert_eq!(rec.header().index_at_ms, NOW + 60_000);
                let at = Delta {
                    expiry: Some(Expiry::At(NOW + 40_000)),
                    ..Delta::default()
                };
                let rec = store.save(&key, &at, None, &ctx(NOW + 30_000)).unwrap();
                assert_eq!(rec.header().expiry, Expiry::At(NOW + 40_000));
                // Earlier than the filed entry: re-filed at the new deadline.
                assert_eq!(rec.header().index_at_ms, NOW + 40_000);
                // A save that does not touch the policy keeps it.
                let rec = store.save(&key, &d, None, &ctx(NOW + 31_000)).unwrap();
                assert_eq!(rec.header().expiry, Expiry::At(NOW + 40_000));
                assert_eq!(rec.header().expires_at_ms, NOW + 40_000);
                // Default counts from the store's default age.
                let def = Delta {
                    expiry: Some(Expiry::Default),
                    ..Delta::default()
                };
                let rec = store.save(&key, &def, None, &ctx(NOW)).unwrap();
                assert_eq!(rec.header().expires_at_ms, NOW + 3_600_000);
            }

            #[test]
            fn clear_expired_removes_only_expired_sessions() {
                let (store, _g) = make();
                let short: Vec<_> = (0..4)
                    .map(|_| new_session(&store, &[], Expiry::Seconds(10)))
                    .collect();
                let long = new_session(&store, &[], Expiry::Seconds(100));
                // Extended before it expired: must survive the sweep.
                store
                    .save(&short[0], &Delta::default(), None, &ctx(NOW + 5_000))
                    .unwrap();
                let sweep = store.clear_expired(NOW + 10_000, 100).unwrap();
                assert_eq!(sweep.removed, 3);
                assert!(!sweep.more);
                assert!(store.exists(&short[0], NOW + 10_000).unwrap());
                assert!(store.exists(&long, NOW + 10_000).unwrap());
                assert_eq!(store.len().unwrap(), 2);
                let sweep = store.clear_expired(NOW + 15_000, 100).unwrap();
                assert_eq!(sweep.removed, 1);
                assert_eq!(store.clear_expired(NOW + 200_000, 100).unwrap().removed, 1);
                assert_eq!(store.len().unwrap(), 0);
            }

            #[test]
            fn clear_expired_respects_its_budget() {
                let (store, _g) = make();
                for _ in 0..5 {
                    new_session(&store, &[], Expiry::Seconds(1));
                }
                let s = store.clear_expired(NOW + 1_000, 2).unwrap();
                assert_eq!((s.removed, s.examined, s.more), (2, 2, true));
                let s = store.clear_expired(NOW + 1_000, 3).unwrap();
                assert_eq!((s.removed, s.more), (3, false));
            }

            #[test]
            fn scan_pages_through_every_record() {
                let (store, _g) = make();
                let mut keys: Vec<Vec<u8>> = (0..7)
                    .map(|_| {
                        new_session(&store, &[], Expiry::Default)
                            .as_bytes()
                            .to_vec()
                    })
                    .collect();
                keys.sort();
                let mut seen = Vec::new();
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let page = store.scan(after.as_deref(), 3).unwrap();
                    if page.is_empty() {
                        break;
                    }
                    after = Some(page.last().unwrap().0.to_vec());
                    seen.extend(page.into_iter().map(|(k, _)| k.to_vec()));
                }
                assert_eq!(seen, keys);
            }

            #[test]
            fn records_over_the_size_limit_are_refused() {
                let (store, _g) = make();
                let mut small = ctx(NOW);
                small.max_record_size = 40;
                let big = data(&[("aaaaaaaaaaaa", 1), ("bbbbbbbbbbbbb", 2)]);
                assert!(matches!(
                    store.create(&SessionKey::generate(), &big, Expiry::Default, &small),
                    Err(Error::TooLarge { .. })
                ));
                assert_eq!(store.len().unwrap(), 0);
            }

            #[test]
            fn flush_succeeds() {
                let (store, _g) = make();
                new_session(&store, &[("a", 1)], Expiry::Default);
                store.flush().unwrap();
            }
        }
    };
}
