//! Where a connection goes: one server, the master that sentinels name,
//! or a Redis Cluster; and the few commands whose shape differs between
//! them (listing every key, reading many, pipelines, waiting for
//! replicas).
//!
//! - **One server**: a plain connection.
//! - **Sentinel**: every new connection asks the sentinels, in the order
//!   the URL lists them, for the master's address
//!   (`SENTINEL GET-MASTER-ADDR-BY-NAME`) and checks with `ROLE` that the
//!   node is a master before using it; a sentinel that cannot be reached,
//!   or names a node that is not (or not yet) a master, passes the
//!   question to the next. This follows the Sentinel client specification,
//!   done here rather than with the redis crate's `sentinel` feature so
//!   that each step has the store's connect and reply timeouts (the
//!   crate's synchronous client connects without one). After a failover,
//!   the pooled connections to the old master fail (closed, or `READONLY`
//!   once it is demoted) and are all dropped (`RedisStore::with_conn`), so
//!   the next connection finds the new master.
//! - **Cluster**: one `ClusterConnection` holds a connection per node and
//!   routes each command by its key's slot, following `MOVED`/`ASK`.
//!   Every session is one key, so each operation stays on one slot. A
//!   cluster connection that failed is dropped like any other, and the
//!   next one reads the slot map afresh (`CLUSTER SLOTS`), which is how a
//!   replica promoted after a master died is found.

use std::io::Read;
use std::path::Path;

use ::redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use ::redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use ::redis::{
    Client, ClientTlsConfig, Cmd, Connection, ConnectionLike, ErrorKind, FromRedisValue,
    RedisError, RedisResult, ServerErrorKind, TlsCertificates, Value,
};

use super::url::{display_url, Layout, NodeUrl, RedisOptions};
use crate::error::{ConfigError, Result};

/// How to open a connection to the servers a URL names.
pub(super) enum Topology {
    Single(Client),
    Sentinel(Sentinels),
    Cluster {
        client: ClusterClient,
        /// With TLS, a client per seed node: when the cluster client cannot
        /// connect, it reports its nodes' errors as one string, so a
        /// certificate it did not trust would look like a server that is
        /// down. A direct connection to a seed node tells which it is.
        tls_seeds: Vec<Client>,
    },
}

pub(super) struct Sentinels {
    /// One client per sentinel, in the URL's order.
    sentinels: Vec<(String, Client)>,
    master: String,
    node: NodeUrl,
    certs: Option<TlsCertificates>,
}

/// One connection: to a node, or to a whole cluster.
pub(super) enum Conn {
    Node(Connection),
    Cluster(Box<ClusterConnection>),
}

impl Topology {
    /// The topology of `url`, with the TLS files of `opts` read. Nothing
    /// is connected yet. A URL, option or file that cannot be used is
    /// [`crate::Error::InvalidConfig`].
    pub(super) fn new(url: &str, opts: &RedisOptions) -> Result<Topology> {
        let shown = display_url(url);
        let refused = |e: RedisError| ConfigError::RedisUrl {
            url: shown.clone(),
            source: Box::new(e),
        };
        let layout = Layout::parse(url)?;
        let tls = match &layout {
            Layout::Single(u) => u.starts_with("rediss://"),
            Layout::Sentinel { sentinels, .. } => sentinels[0].starts_with("rediss://"),
            Layout::Cluster(nodes) => nodes[0].starts_with("rediss://"),
        };
        if opts.has_tls_files() && !tls {
            return Err(ConfigError::RedisUrl {
                url: shown,
                source: "tls_ca, tls_cert and tls_key are for TLS: write rediss:// \
                         (rediss+sentinel://, rediss+cluster://)"
                    .into(),
            }
            .into());
        }
        let certs = certificates(opts, &shown)?;
        Ok(match layout {
            Layout::Single(u) => Topology::Single(client(&u, &certs).map_err(refused)?),
            Layout::Sentinel {
                sentinels,
                master,
                node,
            } => Topology::Sentinel(Sentinels {
                sentinels: sentinels
                    .into_iter()
                    .map(|u| Ok((display_url(&u), client(&u, &certs)?)))
                    .collect::<RedisResult<_>>()
                    .map_err(refused)?,
                master,
                node,
                certs,
            }),
            Layout::Cluster(nodes) => {
                let tls_seeds = if tls {
                    nodes
                        .iter()
                        .map(|u| client(u, &certs))
                        .collect::<RedisResult<_>>()
                        .map_err(refused)?
                } else {
                    Vec::new()
                };
                let mut b = ClusterClientBuilder::new(nodes)
                    .connection_timeout(opts.connect_timeout)
                    .response_timeout(opts.io_timeout)
                    // The client's defaults retry 16 times with waits
                    // growing to minutes; here a call must end within the
                    // timeouts, and fail as `Unavailable` for the caller to
                    // retry. Two retries follow a MOVED after a failover or
                    // a resharding.
                    .retries(2)
                    .min_retry_wait(10)
                    .max_retry_wait(100);
                if let Some(c) = certs {
                    b = b.certs(c);
                }
                Topology::Cluster {
                    client: b.build().map_err(refused)?,
                    tls_seeds,
                }
            }
        })
    }

    /// Whether the master may move (Sentinel, Cluster): then a `READONLY`
    /// reply means a failover demoted the node, not a misconfiguration.
    pub(super) fn follows_failover(&self) -> bool {
        !matches!(self, Topology::Single(_))
    }

    /// A new connection, with the timeouts of `opts`.
    pub(super) fn connect(&self, opts: &RedisOptions) -> RedisResult<Conn> {
        match self {
            Topology::Single(c) => Ok(Conn::Node(timed(c, opts)?)),
            Topology::Sentinel(s) => Ok(Conn::Node(s.master(opts)?)),
            Topology::Cluster { client, tls_seeds } => {
                let con = client.get_connection().map_err(|e| {
                    // The first seed's own error, if it is the TLS
                    // handshake's (typed, unlike the cluster client's).
                    tls_seeds
                        .iter()
                        .find_map(|seed| timed(seed, opts).err().filter(is_tls_error))
                        .unwrap_or(e)
                })?;
                con.set_write_timeout(Some(opts.io_timeout))?;
                Ok(Conn::Cluster(Box::new(con)))
            }
        }
    }
}

/// Whether `e` came from a TLS handshake (a certificate, an alert).
fn is_tls_error(e: &RedisError) -> bool {
    super::tls_refusal(e).is_some()
}

/// The client for one node's URL, with the TLS certificates if any.
fn client(url: &str, certs: &Option<TlsCertificates>) -> RedisResult<Client> {
    match certs {
        Some(c) => Client::build_with_tls(url, c.clone()),
        None => Client::open(url),
    }
}

fn timed(client: &Client, opts: &RedisOptions) -> RedisResult<Connection> {
    let con = client.get_connection_with_timeout(opts.connect_timeout)?;
    con.set_read_timeout(Some(opts.io_timeout))?;
    con.set_write_timeout(Some(opts.io_timeout))?;
    Ok(con)
}

/// The TLS files `opts` names, read.
fn certificates(opts: &RedisOptions, shown: &str) -> Result<Option<TlsCertificates>> {
    if !opts.has_tls_files() {
        return Ok(None);
    }
    let read = |p: &Path| -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        std::fs::File::open(p)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| ConfigError::RedisUrl {
                url: shown.into(),
                source: format!("cannot read {}: {e}", p.display()).into(),
            })?;
        Ok(buf)
    };
    let client_tls = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read(cert)?,
            client_key: read(key)?,
        }),
        (None, None) => None,
        _ => {
            return Err(ConfigError::RedisUrl {
                url: shown.into(),
                source: "a client certificate needs both tls_cert= and tls_key=".into(),
            }
            .into())
        }
    };
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert: opts.tls_ca.as_deref().map(read).transpose()?,
    }))
}

impl Sentinels {
    /// A connection to the master the sentinels name now.
    fn master(&self, opts: &RedisOptions) -> RedisResult<Connection> {
        let mut last = None;
        let mut unknown = 0;
        for (shown, sentinel) in &self.sentinels {
            let asked = timed(sentinel, opts).and_then(|mut con| {
                ::redis::cmd("SENTINEL")
                    .arg("GET-MASTER-ADDR-BY-NAME")
                    .arg(&self.master)
                    .query::<Option<(String, u16)>>(&mut con)
            });
            let (host, port) = match asked {
                Ok(Some(addr)) => addr,
                Ok(None) => {
                    unknown += 1;
                    continue;
                }
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let checked = client(&self.node.at(&host, port), &self.certs)
                .and_then(|c| timed(&c, opts))
                .and_then(|mut con| {
                    let role: Vec<Value> = ::redis::cmd("ROLE").query(&mut con)?;
                    Ok((con, role))
                });
            match checked {
                Ok((con, role)) if matches!(role.first(), Some(Value::BulkString(r)) if r == b"master") => {
                    return Ok(con)
                }
                // Mid-failover: the sentinel still names the old master,
                // now a replica, or not yet the new one.
                Ok(_) => {
                    last = Some(RedisError::from((
                        ErrorKind::Server(ServerErrorKind::MasterDown),
                        "the node a sentinel names is not a master (a failover is under way)",
                        format!("{host}:{port}, named by {shown}"),
                    )))
                }
                Err(e) => last = Some(e),
            }
        }
        if unknown == self.sentinels.len() {
            return Err(RedisError::from((
                ErrorKind::MasterNameNotFoundBySentinel,
                "no sentinel knows the master",
                self.master.clone(),
            )));
        }
        Err(last
            .unwrap_or_else(|| RedisError::from((ErrorKind::Io, "no sentinel named the master"))))
    }
}

impl Conn {
    /// Every key matching `pattern` on every master, of the type `kind`
    /// if given (`SCAN … TYPE`, Redis 6), `count` asked per `SCAN` step
    /// (with repeats: `SCAN` may return a key twice). On a cluster, the
    /// masters are those `CLUSTER SLOTS` lists now, each scanned to its
    /// end in turn; a master that does not answer fails the listing
    /// (`Unavailable`) rather than leaving its keys out.
    pub(super) fn scan_all(
        &mut self,
        pattern: &[u8],
        kind: Option<&str>,
        count: usize,
    ) -> RedisResult<Vec<Vec<u8>>> {
        match self {
            Conn::Node(con) => scan_node(pattern, kind, count, |c| c.query(con)),
            Conn::Cluster(con) => {
                let mut keys = Vec::new();
                for (host, port) in masters(con)? {
                    let at =
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
                    keys.extend(scan_node(pattern, kind, count, |c| {
                        let v = con.route_command(c, at.clone())?;
                        Ok(::redis::from_redis_value(v)?)
                    })?);
                }
                Ok(keys)
            }
        }
    }

    /// The values of `keys`, `None` where one is missing: one `MGET` on a
    /// node; on a cluster, one pipeline of `GET`s per node (an `MGET`
    /// across slots would be split into a request per slot).
    pub(super) fn get_many(&mut self, keys: &[Vec<u8>]) -> RedisResult<Vec<Option<Vec<u8>>>> {
        match self {
            Conn::Node(con) => ::redis::cmd("MGET").arg(keys).query(con),
            Conn::Cluster(con) => {
                let mut pipe = ::redis::cluster::cluster_pipe();
                for k in keys {
                    pipe.cmd("GET").arg(k);
                }
                pipe.query(con)
            }
        }
    }

    /// The replies to `cmds`, sent as one pipeline: on a cluster, one per
    /// node, each command routed by its key (so no `EVALSHA`: the cluster
    /// pipeline refuses it).
    pub(super) fn pipeline<T: FromRedisValue>(&mut self, cmds: Vec<Cmd>) -> RedisResult<T> {
        match self {
            Conn::Node(con) => {
                let mut pipe = ::redis::pipe();
                for c in cmds {
                    pipe.add_command(c);
                }
                pipe.query(con)
            }
            Conn::Cluster(con) => {
                let mut pipe = ::redis::cluster::cluster_pipe();
                for c in cmds {
                    pipe.add_command(c);
                }
                pipe.query(con)
            }
        }
    }

    /// Waits until `replicas` replicas have the writes this connection made
    /// to `key`'s master, at most `timeout_ms`; how many did.
    pub(super) fn wait(&mut self, key: &[u8], replicas: u32, timeout_ms: u64) -> RedisResult<u32> {
        let mut wait = ::redis::cmd("WAIT");
        wait.arg(replicas).arg(timeout_ms);
        match self {
            Conn::Node(con) => wait.query(con),
            Conn::Cluster(con) => {
                // The cluster client sends WAIT to every master; only the
                // one that took the write matters.
                let route = Route::with_slot(Slot::for_key(key), SlotAddr::Master);
                let v = con.route_command(
                    &wait,
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)),
                )?;
                Ok(::redis::from_redis_value(v)?)
            }
        }
    }
}

fn scan_node(
    pattern: &[u8],
    kind: Option<&str>,
    count: usize,
    mut query: impl FnMut(&Cmd) -> RedisResult<(u64, Vec<Vec<u8>>)>,
) -> RedisResult<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let mut scan = ::redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count);
        if let Some(kind) = kind {
            scan.arg("TYPE").arg(kind);
        }
        let (next, page) = query(&scan)?;
        keys.extend(page);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// The cluster's masters, from `CLUSTER SLOTS` (asked of any node): each
/// entry is `[first slot, last slot, [host, port, id, …], replicas…]`.
fn masters(con: &mut ClusterConnection) -> RedisResult<Vec<(String, u16)>> {
    let v = con.route_command(
        ::redis::cmd("CLUSTER").arg("SLOTS"),
        RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
    )?;
    let ranges: Vec<Vec<Value>> = ::redis::from_redis_value(v)?;
    let mut masters = Vec::new();
    for range in ranges {
        let Some(master) = range.into_iter().nth(2) else {
            continue;
        };
        let node: Vec<Value> = ::redis::from_redis_value(master)?;
        let mut node = node.into_iter();
        let (Some(host), Some(port)) = (node.next(), node.next()) else {
            continue;
        };
        let host: String = ::redis::from_redis_value(host)?;
        let port: u16 = ::redis::from_redis_value(port)?;
        if !masters.contains(&(host.clone(), port)) {
            masters.push((host, port));
        }
    }
    if masters.is_empty() {
        return Err(RedisError::from((
            ErrorKind::Server(ServerErrorKind::ClusterDown),
            "CLUSTER SLOTS lists no master",
        )));
    }
    Ok(masters)
}

impl ConnectionLike for Conn {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        match self {
            Conn::Node(c) => c.req_command(cmd),
            Conn::Cluster(c) => c.req_command(cmd),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }

    fn supports_pipelining(&self) -> bool {
        match self {
            Conn::Node(c) => c.supports_pipelining(),
            Conn::Cluster(c) => c.supports_pipelining(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match self {
            Conn::Node(c) => c.check_connection(),
            Conn::Cluster(c) => c.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Conn::Node(c) => c.is_open(),
            Conn::Cluster(c) => c.is_open(),
        }
    }
}
