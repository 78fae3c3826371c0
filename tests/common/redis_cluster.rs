//! A Redis Cluster for the Redis store's tests: three masters and a
//! replica of each, redis-servers with `--cluster-enabled yes` on free
//! ports, joined by `redis-cli --cluster create`, with a node timeout of
//! 1 s (a dead master is replaced by its replica within a few seconds),
//! all stopped when dropped.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::sentinel::query;
use super::tls::Certs;
use super::{RedisServer, Spec};

/// How long `--cluster create` and the nodes' agreement may take.
const FORM_WITHIN: Duration = Duration::from_secs(60);

/// The cluster's nodes, as started: the first three were made masters,
/// `nodes[3 + i]` a replica of `nodes[i]`, by `--cluster create`'s own
/// assignment (checked with ROLE, not assumed: see [`Cluster::replica_of`]).
pub struct Cluster {
    pub nodes: Vec<RedisServer>,
    /// A TLS cluster's certificates (nodes, cluster bus and replication
    /// all over TLS).
    tls: Option<Certs>,
}

impl Cluster {
    /// A cluster shared by the tests running now, and a key prefix no
    /// other test uses: for the conformance suite, whose tests each start
    /// a fresh store but need not a fresh cluster (forming one takes
    /// seconds; the prefix keeps the tests' sessions apart, as it keeps
    /// applications apart). The cluster stops when the last test holding
    /// it ends; a later test forms a new one.
    pub fn shared() -> (Arc<Cluster>, String) {
        static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
        static PREFIXES: AtomicUsize = AtomicUsize::new(0);
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        let cluster = shared.upgrade().unwrap_or_else(|| {
            let c = Arc::new(Cluster::start_without_waiting_for_replicas());
            *shared = Arc::downgrade(&c);
            c
        });
        let prefix = format!("t{}:", PREFIXES.fetch_add(1, Ordering::Relaxed));
        (cluster, prefix)
    }

    /// Starts six nodes and forms the cluster: three masters with a
    /// replica each, every slot covered, every replica in sync.
    pub fn start() -> Cluster {
        let cluster = Cluster::start_without_waiting_for_replicas();
        cluster.wait_until_formed(true);
        cluster
    }

    /// [`Cluster::start`], serving every slot but with the replicas maybe
    /// still syncing.
    fn start_without_waiting_for_replicas() -> Cluster {
        Cluster::form(None)
    }

    /// A cluster that speaks TLS only, on certificates generated for it
    /// (tests/common/redis_tls.rs), serving every slot (the replicas may
    /// still be syncing).
    pub fn start_tls() -> Cluster {
        Cluster::form(Some(Certs::generate()))
    }

    fn form(tls: Option<Certs>) -> Cluster {
        let mut args: Vec<String> = [
            "--cluster-enabled",
            "yes",
            "--cluster-node-timeout",
            "1000",
            "--cluster-config-file",
            "nodes.conf",
        ]
        .map(String::from)
        .to_vec();
        if let Some(certs) = &tls {
            args.extend(certs.server_args(false));
            args.extend(["--tls-cluster", "yes", "--tls-replication", "yes"].map(String::from));
        }
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                RedisServer::start_with(Spec {
                    tls: tls.is_some(),
                    args: args.clone(),
                    cluster_bus: true,
                    ..Spec::default()
                })
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let mut create = Command::new("redis-cli");
        if let Some(certs) = &tls {
            create
                .arg("--tls")
                .arg("--cacert")
                .arg(certs.path("ca.pem"));
        }
        let out = create
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli (apt-get install redis-tools, or make test-rust) runs");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster { nodes, tls };
        cluster.wait_until_formed(false);
        cluster
    }

    /// One command's reply from the node at `index` (over TLS for a TLS
    /// cluster).
    pub fn query<T: redis::FromRedisValue>(
        &self,
        index: usize,
        cmd: &redis::Cmd,
    ) -> redis::RedisResult<T> {
        let port = self.nodes[index].port();
        let Some(certs) = &self.tls else {
            return query(port, cmd);
        };
        let ca = std::fs::read(certs.path("ca.pem")).expect("read ca.pem");
        let client = redis::Client::build_with_tls(
            format!("rediss://127.0.0.1:{port}/"),
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(ca),
            },
        )?;
        let mut con = client.get_connection_with_timeout(Duration::from_secs(1))?;
        con.set_read_timeout(Some(Duration::from_secs(2)))?;
        cmd.query(&mut con)
    }

    /// Polls (at most `FORM_WITHIN`) until every node sees the cluster
    /// as `ok` with six nodes, and with `replicas`, every replica is in
    /// sync.
    fn wait_until_formed(&self, replicas: bool) {
        let deadline = Instant::now() + FORM_WITHIN;
        loop {
            let ok = (0..self.nodes.len()).all(|n| {
                self.query::<String>(n, redis::cmd("CLUSTER").arg("INFO"))
                    .is_ok_and(|i| {
                        i.contains("cluster_state:ok") && i.contains("cluster_known_nodes:6")
                    })
            });
            let synced = !replicas
                || self.nodes.iter().all(|n| {
                    query::<String>(n.port(), redis::cmd("INFO").arg("replication")).is_ok_and(
                        |i| i.contains("role:master") || i.contains("master_link_status:up"),
                    )
                });
            if ok && synced {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not form within {FORM_WITHIN:?} (ok: {ok}, replicas synced: {synced})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `redis+cluster://` naming two of the nodes (the client learns the
    /// others), with `query` appended (e.g. `"?prefix=a:"`).
    pub fn url_with(&self, query: &str) -> String {
        let (p0, p1) = (self.nodes[0].port(), self.nodes[1].port());
        match &self.tls {
            None => format!("redis+cluster://127.0.0.1:{p0},127.0.0.1:{p1}/{query}"),
            Some(certs) => certs.url_with_ca(
                &format!("rediss+cluster://127.0.0.1:{p0},127.0.0.1:{p1}/"),
                query,
            ),
        }
    }

    /// Whether the node at `index` is running and a master now.
    pub fn is_master(&self, index: usize) -> bool {
        self.nodes[index].is_running()
            && self
                .query::<Vec<redis::Value>>(index, &redis::cmd("ROLE"))
                .is_ok_and(
                    |r| matches!(r.first(), Some(redis::Value::BulkString(b)) if b == b"master"),
                )
    }

    /// The index of the node that replicates the master at `index`.
    pub fn replica_of(&self, index: usize) -> usize {
        let port = self.nodes[index].port();
        (0..self.nodes.len())
            .find(|&i| {
                i != index
                    && self
                        .query::<String>(i, redis::cmd("INFO").arg("replication"))
                        .is_ok_and(|r| r.contains(&format!("master_port:{port}\r")))
            })
            .expect("every master has a replica")
    }

    /// The indices of the masters now.
    pub fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.is_master(i))
            .collect()
    }
}
