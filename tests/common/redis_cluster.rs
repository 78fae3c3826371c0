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
use super::{RedisServer, Spec};

/// How long `--cluster create` and the nodes' agreement may take.
const FORM_WITHIN: Duration = Duration::from_secs(60);

/// The cluster's nodes, as started: the first three were made masters,
/// `nodes[3 + i]` a replica of `nodes[i]`, by `--cluster create`'s own
/// assignment (checked with ROLE, not assumed: see [`Cluster::replica_of`]).
pub struct Cluster {
    pub nodes: Vec<RedisServer>,
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
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                RedisServer::start_with(Spec {
                    args: [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-node-timeout",
                        "1000",
                        "--cluster-config-file",
                        "nodes.conf",
                    ]
                    .map(String::from)
                    .to_vec(),
                    ..Spec::default()
                })
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let out = Command::new("redis-cli")
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
        let cluster = Cluster { nodes };
        cluster.wait_until_formed(false);
        cluster
    }

    /// Polls (at most `FORM_WITHIN`) until every node sees the cluster
    /// as `ok` with six nodes, and with `replicas`, every replica is in
    /// sync.
    fn wait_until_formed(&self, replicas: bool) {
        let deadline = Instant::now() + FORM_WITHIN;
        loop {
            let ok = self.nodes.iter().all(|n| {
                query::<String>(n.port(), redis::cmd("CLUSTER").arg("INFO")).is_ok_and(|i| {
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
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}/{query}",
            self.nodes[0].port(),
            self.nodes[1].port()
        )
    }

    /// Whether the node at `index` is running and a master now.
    pub fn is_master(&self, index: usize) -> bool {
        self.nodes[index].is_running()
            && query::<Vec<redis::Value>>(self.nodes[index].port(), &redis::cmd("ROLE")).is_ok_and(
                |r| matches!(r.first(), Some(redis::Value::BulkString(b)) if b == b"master"),
            )
    }

    /// The index of the node that replicates the master at `index`.
    pub fn replica_of(&self, index: usize) -> usize {
        let port = self.nodes[index].port();
        (0..self.nodes.len())
            .find(|&i| {
                i != index
                    && query::<String>(self.nodes[i].port(), redis::cmd("INFO").arg("replication"))
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
