//! `sessile::ActixStore` behind a real actix-web app with actix-session's
//! middleware, driven over HTTP on 127.0.0.1 as a browser would. It guards
//! what an actix-web user relies on: logging in (`Session::renew`) moves
//! the session to a new key and the old one is dead (session fixation); a
//! counter survives across requests; logging out (`purge`) deletes the
//! session, and its old cookie then finds nothing; sessions expire by the
//! engine's clock (a `ManualClock` moved forward, no sleeping) and the
//! sweeper removes them; keys are sessile's own; the engine, a
//! `sessile::Session` and the `sessile` CLI read what the adapter stored as
//! structured values. At the store level: an update does not bring back a
//! session deleted meanwhile.
#![cfg(feature = "actix-session")]

#[path = "common/http.rs"]
mod http;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use actix_session::config::PersistentSession;
use actix_session::storage::{
    LoadError, SaveError, SessionKey as ActixKey, SessionStore, UpdateError,
};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use sessile::{ActixStore, Config, Engine, Expiry, ManualClock, SessionKey};

/// actix-session's default cookie name.
const COOKIE: &str = "id";
/// Where every manual clock starts: 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const HOUR: time::Duration = time::Duration::hours(1);

async fn counter(session: Session) -> actix_web::Result<String> {
    let n = session.get::<i64>("counter")?.unwrap_or(0) + 1;
    session.insert("counter", n)?;
    Ok(n.to_string())
}

async fn whoami(session: Session) -> actix_web::Result<String> {
    Ok(session
        .get::<String>("user")?
        .unwrap_or_else(|| "anonymous".into()))
}

async fn login(session: Session, user: web::Path<String>) -> actix_web::Result<String> {
    session.renew();
    session.insert("user", user.as_str())?;
    Ok(format!("hello {user}"))
}

async fn logout(session: Session) -> &'static str {
    session.purge();
    "bye"
}

/// The store the server uses: an `ActixStore`, and a token whose drop
/// tells the test that this copy is gone. actix-web drops its workers' apps
/// (and so their engine handles) on the workers' threads, after the server
/// has reported that it stopped; the CLI can only open the database after
/// that.
#[derive(Clone)]
struct Tracked {
    store: ActixStore,
    // Declared last: dropped after `store`.
    _alive: mpsc::Sender<()>,
}

impl SessionStore for Tracked {
    async fn load(&self, key: &ActixKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        self.store.load(key).await
    }
    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &time::Duration,
    ) -> Result<ActixKey, SaveError> {
        self.store.save(state, ttl).await
    }
    async fn update(
        &self,
        key: ActixKey,
        state: HashMap<String, String>,
        ttl: &time::Duration,
    ) -> Result<ActixKey, UpdateError> {
        self.store.update(key, state, ttl).await
    }
    async fn update_ttl(&self, key: &ActixKey, ttl: &time::Duration) -> anyhow::Result<()> {
        self.store.update_ttl(key, ttl).await
    }
    async fn delete(&self, key: &ActixKey) -> anyhow::Result<()> {
        self.store.delete(key).await
    }
}

/// An actix-web server on 127.0.0.1 over a sled engine whose clock the
/// test moves; stopped when the fixture is dropped.
struct Server {
    addr: SocketAddr,
    engine: Engine,
    clock: ManualClock,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
    /// Disconnected once every copy of the server's store is dropped.
    released: mpsc::Receiver<()>,
    db: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        // actix-session hands the store a TTL, which the engine's clock
        // counts: the clock can start anywhere.
        let clock = ManualClock::new(T0);
        let config = Config::new(&db)
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None);
        let engine = Engine::open(config).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (alive, released) = mpsc::channel();
        let store = Tracked {
            store: ActixStore::new(engine.clone()),
            _alive: alive,
        };
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let sessions = SessionMiddleware::builder(store.clone(), Key::from(&[7; 64]))
                        .cookie_secure(false)
                        .session_lifecycle(PersistentSession::default().session_ttl(HOUR))
                        .build();
                    App::new()
                        .wrap(sessions)
                        .route("/counter", web::get().to(counter))
                        .route("/whoami", web::get().to(whoami))
                        .route("/login/{user}", web::get().to(login))
                        .route("/logout", web::get().to(logout))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                server.await.unwrap();
            });
        });
        let handle = rx.recv().unwrap();
        Server {
            addr,
            engine,
            clock,
            handle,
            thread: Some(thread),
            released,
            db,
            dir: Some(dir),
        }
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> http::Response {
        let res = http::get(self.addr, path, cookie);
        assert_eq!(res.status, 200, "GET {path}: {res:?}");
        res
    }

    /// The keys of the live sessions (the cookie is encrypted, so the
    /// tests find keys in the store).
    fn live_keys(&self) -> Vec<String> {
        let stored = self.engine.store().scan(None, 1000).unwrap();
        stored
            .into_iter()
            .map(|(k, _)| String::from_utf8(k.to_vec()).unwrap())
            .filter(|k| self.engine.exists(k).unwrap())
            .collect()
    }

    fn only_live_key(&self) -> String {
        let keys = self.live_keys();
        assert_eq!(keys.len(), 1, "{keys:?}");
        keys.into_iter().next().unwrap()
    }

    /// Stops the server and waits until it holds no engine handle.
    fn shut_down(&mut self) {
        if let Some(thread) = self.thread.take() {
            actix_web::rt::System::new().block_on(self.handle.stop(true));
            thread.join().unwrap();
            // Returns (with an error) once the last sender is dropped.
            assert!(self.released.recv().is_err());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

#[test]
fn login_moves_the_session_to_a_new_key_and_the_old_one_is_dead() {
    let server = Server::start();
    let before = server.get("/counter", None).cookie_pair(COOKIE).unwrap();
    let old_key = server.only_live_key();
    let after = server
        .get("/login/alice", Some(&before))
        .cookie_pair(COOKIE)
        .expect("login sets a cookie");
    let new_key = server.only_live_key();
    assert_ne!(new_key, old_key, "the key is cycled at login");
    assert!(SessionKey::parse(&new_key).is_ok(), "a sessile key");
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
    assert!(first.set_cookie(COOKIE).unwrap().contains("HttpOnly"));
    let cookie = first.cookie_pair(COOKIE).unwrap();
    let key = server.only_live_key();
    for n in 2..=4 {
        assert_eq!(server.get("/counter", Some(&cookie)).body, n.to_string());
    }
    assert_eq!(server.live_keys(), [key]);
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
    assert!(removal.starts_with("id=;"), "{removal}");
    assert_eq!(server.engine.store().len().unwrap(), 0);
    // Replaying the old cookie finds no session, and reading creates none.
    assert_eq!(server.get("/whoami", Some(&cookie)).body, "anonymous");
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
    // Reading does not extend the TTL (actix-session's default policy).
    assert_eq!(server.get("/whoami", Some(&cookie)).body, "alice");
    server.clock.advance_secs(2 * 60);
    assert_eq!(server.get("/whoami", Some(&cookie)).body, "anonymous");
    // Expired but not yet swept: still on disk, never served.
    assert_eq!(server.engine.store().len().unwrap(), 1);
    assert_eq!(server.engine.clear_expired().unwrap(), 1);
    assert_eq!(server.engine.store().len().unwrap(), 0);
    // The expired cookie starts a fresh session.
    assert_eq!(server.get("/counter", Some(&cookie)).body, "1");
}

#[test]
fn a_change_counts_the_ttl_again_from_now() {
    let server = Server::start();
    let cookie = server.get("/counter", None).cookie_pair(COOKIE).unwrap();
    server.clock.advance_secs(45 * 60);
    assert_eq!(server.get("/counter", Some(&cookie)).body, "2");
    server.clock.advance_secs(45 * 60);
    assert_eq!(server.get("/counter", Some(&cookie)).body, "3");
}

#[test]
fn the_engine_and_the_cli_read_what_actix_session_stored() {
    let mut server = Server::start();
    let cookie = server
        .get("/login/alice", None)
        .cookie_pair(COOKIE)
        .unwrap();
    server.get("/counter", Some(&cookie));
    server.get("/counter", Some(&cookie));
    let key = server.only_live_key();

    // Structured values, not strings of JSON.
    let mut session = server.engine.session(&key);
    assert_eq!(
        session.get::<String>("user").unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(session.get::<i64>("counter").unwrap(), Some(2));
    assert_eq!(session.expiry().unwrap(), Expiry::Seconds(3600));

    // The CLI is another process: every handle on the database goes first.
    drop(session);
    server.shut_down();
    let db = server.db.clone();
    let _dir = server.dir.take();
    drop(server);
    let out = Command::new(env!("CARGO_BIN_EXE_sessile"))
        .args(["get", &key, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["data"]["user"], "alice");
    assert_eq!(json["data"]["counter"], 2);
}

#[test]
fn an_update_does_not_bring_back_a_session_deleted_meanwhile() {
    let engine = Engine::memory(Config::new("unused").reaper_interval(None)).unwrap();
    let store = ActixStore::new(engine.clone());
    let state = HashMap::from([("user".to_owned(), r#""alice""#.to_owned())]);
    actix_web::rt::System::new().block_on(async {
        let key = store.save(state.clone(), &HOUR).await.unwrap();
        assert!(SessionKey::parse(key.as_ref()).is_ok());
        let same = ActixKey::try_from(key.as_ref().to_owned()).unwrap();
        // Logout in another tab, while this request still holds the state.
        store.delete(&key).await.unwrap();
        assert!(store.update(same, state, &HOUR).await.is_err());
        let again = ActixKey::try_from(key.as_ref().to_owned()).unwrap();
        assert!(store.update_ttl(&again, &HOUR).await.is_err());
        assert!(store.load(&again).await.unwrap().is_none());
    });
    assert_eq!(engine.store().len().unwrap(), 0);
}

#[test]
fn a_cookie_that_is_not_a_sessile_key_loads_nothing() {
    let engine = Engine::memory(Config::new("unused").reaper_interval(None)).unwrap();
    let store = ActixStore::new(engine);
    let foreign = ActixKey::try_from("not-ours".to_owned()).unwrap();
    actix_web::rt::System::new().block_on(async {
        assert!(store.load(&foreign).await.unwrap().is_none());
        store.delete(&foreign).await.unwrap();
    });
}
