//! `rediss://`: the Redis store over TLS (rustls, no system OpenSSL), on a
//! TLS-only redis-server with certificates generated for the test
//! (tests/common/redis_tls.rs). Guards that
//! - sessions are stored and read over TLS when `tls_ca=` names the CA
//!   that signed the server's certificate (the conformance suite runs on
//!   TLS too: tests/store_conformance.rs);
//! - a server whose certificate does not verify is refused with an
//!   `InvalidConfig` error saying the certificate is not trusted and what
//!   to set, never served, and never reported as `Unavailable` (retrying
//!   cannot help);
//! - a server that requires client certificates gets one from `tls_cert=`
//!   and `tls_key=`, and without them the error says so;
//! - TLS options on a plain `redis://` URL are refused, not ignored;
//! - a TLS-only Redis Cluster (`rediss+cluster://`) serves sessions and
//!   is listed through every master, and a TLS-only Sentinel set
//!   (`rediss+sentinel://`: the sentinels and the master over TLS) serves
//!   sessions; both refuse a certificate they do not trust as one server
//!   does.
#![cfg(feature = "redis")]

mod common;

use common::redis::tls::TlsServer;
use common::saved_session;
use sessile::{Config, Engine, Error};

fn open(url: &str) -> sessile::Result<Engine> {
    Engine::open_url(url, Config::new("").reaper_interval(None))
}

fn config_error(url: &str) -> String {
    match open(url) {
        Err(e @ Error::InvalidConfig(_)) => e.to_string(),
        other => panic!("expected InvalidConfig for {url}, got {other:?}"),
    }
}

#[test]
fn sessions_are_stored_and_read_over_tls() {
    let tls = TlsServer::start(false);
    let engine = open(&tls.url_with("&prefix=app:")).unwrap();
    let key = saved_session(&engine, &[("a", 1)]);
    let mut s = engine.session(&key);
    assert_eq!(s.get::<i64>("a").unwrap(), Some(1));
    s.insert("b", 2).unwrap();
    s.save().unwrap();
    assert_eq!(engine.session(&key).get::<i64>("b").unwrap(), Some(2));
    assert_eq!(engine.store().len().unwrap(), 1);
    // By name as well as by address: the certificate lists both.
    let by_name = tls
        .url_with("&prefix=app:")
        .replace("127.0.0.1", "localhost");
    let engine = open(&by_name).unwrap();
    assert_eq!(engine.session(&key).get::<i64>("a").unwrap(), Some(1));
}

#[test]
fn a_server_whose_certificate_is_not_trusted_is_refused() {
    let tls = TlsServer::start(false);
    // Trusting another CA only.
    let url = format!(
        "rediss://127.0.0.1:{}/0?tls_ca={}",
        tls.server.port(),
        tls.certs.query("other-ca.pem")
    );
    let msg = config_error(&url);
    println!("{msg}");
    assert!(
        msg.contains("not trusted") && msg.contains("tls_ca="),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("rediss://127.0.0.1:{}/0", tls.server.port())),
        "{msg}"
    );
    // The system's roots (no tls_ca) do not hold the test CA either.
    let msg = config_error(&format!("rediss://127.0.0.1:{}/0", tls.server.port()));
    assert!(msg.contains("not trusted"), "{msg}");
}

#[test]
fn a_server_that_requires_client_certificates_gets_one() {
    let tls = TlsServer::start(true);
    let msg = config_error(&tls.url_with(""));
    println!("{msg}");
    assert!(
        msg.contains("tls_cert=") && msg.contains("tls_key="),
        "{msg}"
    );
    let engine = open(&tls.url_with_client_cert()).unwrap();
    let key = saved_session(&engine, &[("a", 1)]);
    assert_eq!(engine.session(&key).get::<i64>("a").unwrap(), Some(1));
}

#[test]
fn tls_options_need_a_tls_url() {
    let tls = TlsServer::start(false);
    let plain = format!(
        "redis://127.0.0.1:{}/0?tls_ca={}",
        tls.server.port(),
        tls.certs.query("ca.pem")
    );
    let msg = config_error(&plain);
    assert!(msg.contains("rediss://"), "{msg}");
    let msg = config_error(&tls.url_with(&format!("&tls_cert={}", tls.certs.query("client.pem"))));
    assert!(msg.contains("tls_key="), "{msg}");
    let msg = config_error(&format!(
        "rediss://127.0.0.1:{}/0?tls_ca=/nonexistent/ca.pem",
        tls.server.port()
    ));
    assert!(msg.contains("/nonexistent/ca.pem"), "{msg}");
}

#[test]
fn a_tls_cluster_is_served_and_listed_on_every_master() {
    let cluster = common::redis::cluster::Cluster::start_tls();
    let url = cluster.url_with("?prefix=tls:");
    assert!(url.starts_with("rediss+cluster://"), "{url}");
    let engine = open(&url).unwrap();
    let keys: Vec<String> = (0..30)
        .map(|i| saved_session(&engine, &[("i", i)]))
        .collect();
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(engine.session(key).get::<i64>("i").unwrap(), Some(i as i64));
    }
    // Listed through every master, each reached over TLS.
    assert_eq!(engine.store().len().unwrap(), 30);
    assert_eq!(cluster.masters().len(), 3);
    // A certificate not trusted is said so, as for one server.
    let msg = config_error(&url.replace("ca.pem", "other-ca.pem"));
    assert!(msg.contains("not trusted"), "{msg}");
}

#[test]
fn a_tls_sentinel_set_is_served() {
    let set = common::redis::sentinel::SentinelSet::start_tls();
    let url = set.url_with("?prefix=tls:");
    assert!(url.starts_with("rediss+sentinel://"), "{url}");
    let engine = open(&url).unwrap();
    let key = saved_session(&engine, &[("a", 1)]);
    assert_eq!(engine.session(&key).get::<i64>("a").unwrap(), Some(1));
    let msg = config_error(&url.replace("ca.pem", "other-ca.pem"));
    assert!(msg.contains("not trusted"), "{msg}");
}
