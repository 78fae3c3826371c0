//! `sessile::TowerStore` behind a real axum app with tower-sessions'
//! middleware, driven over HTTP on 127.0.0.1 as a browser would. It guards
//! what an axum user relies on: logging in issues a new session id and the
//! old one is dead (session fixation); a counter survives across requests;
//! logging out deletes the session, and its old cookie then finds nothing;
//! sessions expire by the engine's clock (a `ManualClock` moved forward, no
//! sleeping) and `delete_expired` sweeps them; the engine, a
//! `sessile::Session` and the `sessile` CLI read what the adapter stored.
//! At the store level: a colliding id gets a new one instead of
//! overwriting, a session deleted meanwhile is not brought back by a
//! save, and a record's expiry date loads back exactly as it was saved,
//! nanoseconds included (tower-sessions' own service tests save twice
//! within a millisecond and compare the two dates; the engine's deadline
//! is in ms).
#![cfg(feature = "tower-sessions")]

#[path = "common/http.rs"]
mod http;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use sessile::{to_ms, Config, Engine, Expiry, ManualClock, SessionKey, TowerStore};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};
use tower_sessions::{Session, SessionManagerLayer};

/// tower-sessions' default cookie name.
const COOKIE: &str = "id";

/// The app: `/counter` counts visits, `/whoami` only reads, `/login/NAME`
/// cycles the id and stores the user, `/logout` flushes.
fn app(store: TowerStore) -> Router {
    async fn counter(session: Session) -> String {
        let n: i64 = session.get("counter").await.unwrap().unwrap_or(0) + 1;
        session.insert("counter", n).await.unwrap();
        n.to_string()
    }
    async fn whoami(session: Session) -> String {
        let user: Option<String> = session.get("user").await.unwrap();
        user.unwrap_or_else(|| "anonymous".into())
    }
    async fn login(session: Session, Path(user): Path<String>) -> String {
        session.cycle_id().await.unwrap();
        session.insert("user", &user).await.unwrap();
        format!("hello {user}")
    }
    async fn logout(session: Session) -> &'static str {
        session.flush().await.unwrap();
        "bye"
    }
    let layer = SessionManagerLayer::new(store)
        .with_secure(false)
        .with_expiry(tower_sessions::Expiry::OnInactivity(time::Duration::hours(
            1,
        )));
    Router::new()
        .route("/counter", get(counter))
        .route("/whoami", get(whoami))
        .route("/login/{user}", get(login))
        .route("/logout", get(logout))
        .layer(layer)
}

/// An axum server on 127.0.0.1 over a sled engine whose clock the test
/// moves; stopped (and its engine dropped) when the fixture is dropped.
struct Server {
    addr: SocketAddr,
    engine: Engine,
    clock: ManualClock,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    db: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        // tower-sessions dates expiry by the wall clock, so the engine's
        // clock starts there; from then on only the test moves it.
        let clock = ManualClock::new(to_ms(SystemTime::now()));
        let config = Config::new(&db)
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None);
        let engine = Engine::open(config).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = app(TowerStore::new(engine.clone()));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Server {
            addr,
            engine,
            clock,
            stop: Some(stop),
            thread: Some(thread),
            db,
            dir: Some(dir),
        }
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> http::Response {
        let res = http::get(self.addr, path, cookie);
        assert_eq!(res.status, 200, "GET {path}: {res:?}");
        res
    }

    /// Stops the server and closes the engine, so another process (the
    /// CLI) may open the database.
    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The sessile key of the session a `id=…` cookie names.
fn key_of(cookie_pair: &str) -> SessionKey {
    let value = cookie_pair.strip_prefix("id=").unwrap();
    TowerStore::session_key(&Id::from_str(value).unwrap())
}

#[test]
fn login_issues_a_new_session_id_and_the_old_one_is_dead() {
    let server = Server::start();
    let before = server.get("/counter", None).cookie_pair(COOKIE).unwrap();
    let res = server.get("/login/alice", Some(&before));
    let after = res.cookie_pair(COOKIE).expect("login sets a cookie");
    assert_ne!(after, before, "the id is cycled at login");
    assert!(!server.engine.exists(key_of(&before).as_str()).unwrap());
    assert!(server.engine.exists(key_of(&after).as_str()).unwrap());
    // Whoever holds the pre-login cookie is not logged in.
    assert_eq!(server.get("/whoami", Some(&before)).body, "anonymous");
    assert_eq!(server.get("/whoami", Some(&after)).body, "alice");
    // The data moved with the session.
    assert_eq!(server.get("/counter", Some(&after)).body, "2");
}

#[test]
fn counter_counts_across_requests_in_one_session() {
    let server = Server::start();
    let first = server.get("/counter", None);
    assert_eq!(first.body, "1");
    let cookie = first.cookie_pair(COOKIE).unwrap();
    assert!(first.set_cookie(COOKIE).unwrap().contains("HttpOnly"));
    for n in 2..=4 {
        assert_eq!(server.get("/counter", Some(&cookie)).body, n.to_string());
    }
    assert_eq!(server.engine.store().len().unwrap(), 1);
}

#[test]
fn logout_deletes_the_session_and_its_old_cookie_finds_nothing() {
    let server = Server::start();
    let cookie = server
        .get("/login/alice", None)
        .cookie_pair(COOKIE)
        .unwrap();
    let res = server.get("/logout", Some(&cookie));
    let removal = res.set_cookie(COOKIE).expect("logout removes the cookie");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(!server.engine.exists(key_of(&cookie).as_str()).unwrap());
    assert_eq!(server.engine.store().len().unwrap(), 0);
    // Replaying the old cookie finds no session, and reading creates none
    // (tower-sessions only tells the browser again to drop the cookie).
    let replay = server.get("/whoami", Some(&cookie));
    assert_eq!(replay.body, "anonymous");
    if let Some(set) = replay.set_cookie(COOKIE) {
        assert!(set.contains("Max-Age=0"), "{set}");
    }
    assert_eq!(server.engine.store().len().unwrap(), 0);
}

#[test]
fn sessions_expire_by_the_engine_clock_and_are_swept() {
    let server = Server::start();
    let cookie = server
        .get("/login/alice", None)
        .cookie_pair(COOKIE)
        .unwrap();
    server.clock.advance_secs(59 * 60);
    // Reading is not activity: this does not extend the session.
    assert_eq!(server.get("/whoami", Some(&cookie)).body, "alice");
    server.clock.advance_secs(2 * 60);
    assert_eq!(server.get("/whoami", Some(&cookie)).body, "anonymous");
    // Expired but not yet swept: still on disk, never served.
    assert_eq!(server.engine.store().len().unwrap(), 1);
    let store = TowerStore::new(server.engine.clone());
    runtime().block_on(store.delete_expired()).unwrap();
    assert_eq!(server.engine.store().len().unwrap(), 0);
    // The expired cookie starts a fresh session.
    assert_eq!(server.get("/counter", Some(&cookie)).body, "1");
}

#[test]
fn the_engine_and_the_cli_read_what_tower_sessions_stored() {
    let mut server = Server::start();
    let cookie = server
        .get("/login/alice", None)
        .cookie_pair(COOKIE)
        .unwrap();
    server.get("/counter", Some(&cookie));
    server.get("/counter", Some(&cookie));
    let key = key_of(&cookie);

    let mut session = server.engine.session(key.as_str());
    assert_eq!(
        session.get::<String>("user").unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(session.get::<i64>("counter").unwrap(), Some(2));
    let Expiry::At(deadline) = session.expiry().unwrap() else {
        panic!("tower-sessions' expiry date is stored as an absolute deadline");
    };
    let hour_ms = 3_600_000;
    assert!((deadline - server.engine.now_ms() - hour_ms).abs() < 60_000);

    // The CLI is another process: every handle on the database goes first.
    drop(session);
    let db = server.db.clone();
    let _dir = server.dir.take();
    drop(server);
    let out = Command::new(env!("CARGO_BIN_EXE_sessile"))
        .args(["get", key.as_str(), "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["data"]["user"], "alice");
    assert_eq!(json["data"]["counter"], 2);
    assert_eq!(json["expiry"]["policy"], "at");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn record(id: Id, pairs: &[(&str, serde_json::Value)]) -> Record {
    Record {
        id,
        data: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<HashMap<_, _>>(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    }
}

fn memory_store() -> TowerStore {
    let dir = std::env::temp_dir();
    TowerStore::new(Engine::memory(Config::new(dir).reaper_interval(None)).unwrap())
}

#[test]
fn a_colliding_id_gets_a_new_one_instead_of_overwriting() {
    let rt = runtime();
    let store = memory_store();
    let id = Id(42);
    let mut first = record(id, &[("who", "first".into())]);
    rt.block_on(store.create(&mut first)).unwrap();
    assert_eq!(first.id, id);
    let mut second = record(id, &[("who", "second".into())]);
    rt.block_on(store.create(&mut second)).unwrap();
    assert_ne!(second.id, id, "the colliding record was given a new id");
    let load = |id| rt.block_on(store.load(&id)).unwrap().unwrap().data["who"].clone();
    assert_eq!(load(id), "first");
    assert_eq!(load(second.id), "second");
}

#[test]
fn a_save_does_not_bring_back_a_session_deleted_meanwhile() {
    let rt = runtime();
    let store = memory_store();
    let mut rec = record(Id(7), &[("user", "alice".into())]);
    rt.block_on(store.create(&mut rec)).unwrap();
    // Logout in another tab, while this request still holds the record.
    rt.block_on(store.delete(&rec.id)).unwrap();
    rec.data.insert("counter".into(), 1.into());
    assert!(rt.block_on(store.save(&rec)).is_err());
    assert!(rt.block_on(store.load(&rec.id)).unwrap().is_none());
}

#[test]
fn values_keep_their_json_shape() {
    let rt = runtime();
    let store = memory_store();
    let value = serde_json::json!({"n": -3, "big": u64::MAX, "x": 0.25, "list": [null, true, "s"]});
    let mut rec = record(Id(9), &[("v", value.clone())]);
    rt.block_on(store.create(&mut rec)).unwrap();
    let loaded = rt.block_on(store.load(&rec.id)).unwrap().unwrap();
    assert_eq!(loaded.data, rec.data);
    assert_eq!(loaded.expiry_date, rec.expiry_date);
}

/// A day from now, 456_789 ns past a whole millisecond: a date the
/// engine's ms deadline cannot hold.
fn date_with_nanos() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000 + 456_789)
        .unwrap()
}

#[test]
fn expiry_dates_load_back_exactly_as_saved() {
    let rt = runtime();
    let store = memory_store();
    let mut rec = record(Id(11), &[("user", "alice".into())]);
    rec.expiry_date = date_with_nanos();
    assert_ne!(rec.expiry_date.nanosecond() % 1_000_000, 0);
    rt.block_on(store.create(&mut rec)).unwrap();
    let loaded = rt.block_on(store.load(&rec.id)).unwrap().unwrap();
    assert_eq!(loaded.expiry_date, rec.expiry_date);
    // Only the user's data comes back.
    assert_eq!(loaded.data, rec.data);

    // A save 1 ns later, within the same millisecond, loads back later.
    let earlier = rec.expiry_date;
    rec.expiry_date += time::Duration::nanoseconds(1);
    rt.block_on(store.save(&rec)).unwrap();
    let loaded = rt.block_on(store.load(&rec.id)).unwrap().unwrap();
    assert_eq!(loaded.expiry_date, rec.expiry_date);
    assert!(earlier < loaded.expiry_date);
}

#[test]
fn a_deadline_another_binding_moved_wins_over_the_saved_date() {
    let rt = runtime();
    let store = memory_store();
    let mut rec = record(Id(12), &[("user", "alice".into())]);
    rec.expiry_date = date_with_nanos();
    rt.block_on(store.create(&mut rec)).unwrap();
    // Another binding (Python, the CLI) sets a new deadline on the record.
    let key = TowerStore::session_key(&rec.id);
    let at = sessile::to_ms(SystemTime::now()) + 7_200_000;
    let mut session = store.engine().session(key.as_str());
    session.set_expiry(Expiry::At(at)).unwrap();
    session.save().unwrap();
    let loaded = rt.block_on(store.load(&rec.id)).unwrap().unwrap();
    assert_eq!(
        loaded.expiry_date.unix_timestamp_nanos(),
        i128::from(at) * 1_000_000
    );
    assert_eq!(loaded.data, rec.data);
}
