//! A Sentinel-managed master for the Redis store's tests: a master, one
//! replica of it and three sentinels watching it under the name
//! `mymaster` (quorum 2, a master is down after 1 s without answers), each
//! a redis-server on a free port, all stopped when dropped.

use std::time::{Duration, Instant};

use super::tls::Certs;
use super::{RedisServer, Spec};

/// The name the sentinels know the master by.
pub const MASTER: &str = "mymaster";

/// The master, its replica and three sentinels.
pub struct SentinelSet {
    pub master: RedisServer,
    pub replica: RedisServer,
    pub sentinels: Vec<RedisServer>,
    /// A TLS set's certificates (clients, replication and the sentinels'
    /// own connections all over TLS). The waiting helpers below speak
    /// plain TCP: they are for the plain set.
    tls: Option<Certs>,
}

/// One command's reply on a plain connection, for the fixture's checks.
pub fn query<T: redis::FromRedisValue>(port: u16, cmd: &redis::Cmd) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let mut con = client.get_connection_with_timeout(Duration::from_secs(1))?;
    con.set_read_timeout(Some(Duration::from_secs(2)))?;
    cmd.query(&mut con)
}

impl SentinelSet {
    /// Starts the five servers. The sentinels answer at once (they read
    /// the master from their configuration); being able to fail over takes
    /// them a few seconds more: see [`SentinelSet::wait_until_failover_ready`].
    pub fn start() -> SentinelSet {
        SentinelSet::form(None)
    }

    /// [`SentinelSet::start`], every server speaking TLS only, on
    /// certificates generated for it.
    pub fn start_tls() -> SentinelSet {
        SentinelSet::form(Some(Certs::generate()))
    }

    fn form(tls: Option<Certs>) -> SentinelSet {
        let tls_args = |mut args: Vec<String>| {
            if let Some(certs) = &tls {
                args.extend(certs.server_args(false));
                args.extend(["--tls-replication", "yes"].map(String::from));
            }
            args
        };
        let master = RedisServer::start_with(Spec {
            tls: tls.is_some(),
            args: tls_args(vec![]),
            ..Spec::default()
        });
        let replica = RedisServer::start_with(Spec {
            tls: tls.is_some(),
            args: tls_args(vec![
                "--replicaof".into(),
                "127.0.0.1".into(),
                master.port().to_string(),
            ]),
            ..Spec::default()
        });
        let conf = format!(
            "sentinel monitor {MASTER} 127.0.0.1 {} 2\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 10000\n\
             sentinel parallel-syncs {MASTER} 1\n",
            master.port()
        );
        let sentinels = (0..3)
            .map(|_| {
                RedisServer::start_with(Spec {
                    tls: tls.is_some(),
                    conf: Some(conf.clone()),
                    args: tls_args(vec!["--sentinel".into()]),
                    ..Spec::default()
                })
            })
            .collect();
        SentinelSet {
            master,
            replica,
            sentinels,
            tls,
        }
    }

    /// `redis+sentinel://` naming the three sentinels and the master,
    /// database 0, with `query` appended (e.g. `"?prefix=a:"`).
    pub fn url_with(&self, query: &str) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect();
        match &self.tls {
            None => format!("redis+sentinel://{}/{MASTER}/0{query}", hosts.join(",")),
            Some(certs) => certs.url_with_ca(
                &format!("rediss+sentinel://{}/{MASTER}/0", hosts.join(",")),
                query,
            ),
        }
    }

    /// The master's port as each sentinel names it (`None`: no answer).
    /// Right after a failover they may disagree: the sentinel that led it
    /// tells the others within a few seconds.
    pub fn masters_named(&self) -> Vec<Option<u16>> {
        self.sentinels
            .iter()
            .map(|s| {
                query::<Option<(String, u16)>>(
                    s.port(),
                    redis::cmd("SENTINEL")
                        .arg("GET-MASTER-ADDR-BY-NAME")
                        .arg(MASTER),
                )
                .ok()
                .flatten()
                .map(|(_, port)| port)
            })
            .collect()
    }

    /// Waits (at most `within`) until every sentinel names `port` as the
    /// master.
    pub fn wait_until_all_name(&self, port: u16, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let named = self.masters_named();
            if named.iter().all(|&p| p == Some(port)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinels did not all name {port} as the master within {within:?}: {named:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (at most `within`) until a failover can happen: the replica
    /// is in sync, and every sentinel knows the replica and the two other
    /// sentinels (they find each other through the master every 2 s).
    pub fn wait_until_failover_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let synced =
                query::<String>(self.replica.port(), redis::cmd("INFO").arg("replication"))
                    .is_ok_and(|i| i.contains("master_link_status:up"));
            let known = self.sentinels.iter().all(|s| {
                query::<std::collections::HashMap<String, String>>(
                    s.port(),
                    redis::cmd("SENTINEL").arg("MASTER").arg(MASTER),
                )
                .is_ok_and(|m| {
                    m.get("num-other-sentinels").map(String::as_str) == Some("2")
                        && m.get("num-slaves").map(String::as_str) == Some("1")
                })
            });
            if synced && known {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinels were not ready to fail over within {within:?} \
                 (replica in sync: {synced}, sentinels know each other and the replica: {known})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
