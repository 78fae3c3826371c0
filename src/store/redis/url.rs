//! The store URL: which servers it names (one server, a Sentinel-managed
//! master, a cluster) and the options in its query.
//!
//! The forms, with the query options every one of them takes:
//!
//! - `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS),
//!   `redis+unix:///path/to/socket`: one server, as the redis client
//!   parses it;
//! - `redis+sentinel://[user:password@]host1[:port],host2[:port]/master[/db]`
//!   (`rediss+sentinel://` with TLS): the sentinels (port 26379 by
//!   default) and the name they know the master by. The user and password
//!   are the master's; the sentinels are asked without;
//! - `redis+cluster://[user:password@]host1[:port],host2[:port][/]`
//!   (`rediss+cluster://` with TLS): any nodes of a Redis Cluster (port
//!   6379 by default), from which the client learns the others.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ConfigError, Error, Result};

/// How a [`RedisStore`](super::RedisStore) connects. Every field can also
/// be given in the URL's query (see [`RedisOptions::from_url`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Prepended to every session key, so several applications can share
    /// one Redis database. URL: `prefix=`. Default `sessile:`.
    pub prefix: String,
    /// The longest wait for a new connection (TCP connect and handshake).
    /// URL: `connect_timeout_ms=`. Default 1 s.
    pub connect_timeout: Duration,
    /// The longest wait for one reply (or to send one command).
    /// URL: `timeout_ms=`. Default 2 s.
    pub io_timeout: Duration,
    /// The most idle connections kept open for reuse; a burst beyond it
    /// opens more and closes them afterwards. URL: `pool_size=`. Default 16.
    pub max_idle: usize,
    /// TLS (`rediss…` URLs): a PEM file of the certificate authorities
    /// that the server's certificate must be signed by, instead of the
    /// system's. URL: `tls_ca=`. Default none (the system's roots).
    pub tls_ca: Option<PathBuf>,
    /// TLS: a PEM file with the client certificate (chain) to present, for
    /// a server that requires one (`tls-auth-clients yes`); needs
    /// [`tls_key`](Self::tls_key). URL: `tls_cert=`. Default none.
    pub tls_cert: Option<PathBuf>,
    /// TLS: the PEM file of [`tls_cert`](Self::tls_cert)'s private key.
    /// URL: `tls_key=`. Default none.
    pub tls_key: Option<PathBuf>,
    /// After every write, wait until this many replicas have it (`WAIT`),
    /// at most half of [`io_timeout`](Self::io_timeout); a write that fewer
    /// replicas acknowledged in time is [`Error::Unavailable`] although
    /// the master has it. Narrows, without closing, the window in which a
    /// failover loses acknowledged writes (docs/OPERATIONS.md). URL:
    /// `wait=`. Default 0: no waiting.
    pub wait_replicas: u32,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "sessile:".to_owned(),
            connect_timeout: Duration::from_secs(1),
            io_timeout: Duration::from_secs(2),
            max_idle: 16,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            wait_replicas: 0,
        }
    }
}

impl RedisOptions {
    /// The options a `redis://host:port/db?prefix=app:&timeout_ms=500` URL
    /// asks for: `prefix`, `connect_timeout_ms`, `timeout_ms`, `pool_size`,
    /// `tls_ca`, `tls_cert`, `tls_key` and `wait` from its query
    /// (percent-decoded), the defaults for the rest. Other query
    /// parameters are left to the Redis client (e.g. `protocol=resp3`). A
    /// malformed value is [`Error::InvalidConfig`].
    pub fn from_url(url: &str) -> Result<RedisOptions> {
        let mut opts = RedisOptions::default();
        let Some((_, query)) = url.split_once('?') else {
            return Ok(opts);
        };
        let query = query.split('#').next().unwrap_or("");
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            let ms = || -> Result<Duration> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .map(Duration::from_millis)
                    .ok_or_else(|| url_option(name, &value, "milliseconds > 0"))
            };
            let file = || -> Result<Option<PathBuf>> {
                if value.is_empty() {
                    return Err(url_option(name, &value, "a file"));
                }
                Ok(Some(PathBuf::from(&value)))
            };
            match name {
                "prefix" => opts.prefix = value.clone(),
                "connect_timeout_ms" => opts.connect_timeout = ms()?,
                "timeout_ms" => opts.io_timeout = ms()?,
                "pool_size" => {
                    opts.max_idle = value
                        .parse()
                        .map_err(|_| url_option(name, &value, "a count"))?
                }
                "tls_ca" => opts.tls_ca = file()?,
                "tls_cert" => opts.tls_cert = file()?,
                "tls_key" => opts.tls_key = file()?,
                "wait" => {
                    opts.wait_replicas = value
                        .parse()
                        .map_err(|_| url_option(name, &value, "a number of replicas"))?
                }
                _ => {}
            }
        }
        Ok(opts)
    }

    /// Whether any TLS file is named.
    pub(super) fn has_tls_files(&self) -> bool {
        self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_key.is_some()
    }
}

pub(super) fn url_option(name: &str, value: &str, expected: &'static str) -> Error {
    ConfigError::UrlOption {
        name: name.into(),
        value: value.into(),
        expected,
    }
    .into()
}

fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ConfigError::PercentEscape(s.into()))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ConfigError::QueryNotUtf8(s.into()).into())
}

/// The URL as shown in messages: no password, no query.
pub(super) fn display_url(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or(url);
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => base.to_owned(),
    }
}

/// The servers a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Layout {
    /// One server: the URL, as the redis client takes it.
    Single(String),
    /// A master that sentinels watch.
    Sentinel {
        /// Each sentinel's URL (no user, password or database).
        sentinels: Vec<String>,
        /// The name the sentinels know the master by.
        master: String,
        /// How to reach the master once a sentinel gave its address.
        node: NodeUrl,
    },
    /// A Redis Cluster: the URLs of the nodes to learn it from.
    Cluster(Vec<String>),
}

/// The URL of a data node at an address learnt at run time: the scheme,
/// credentials, database and query of the store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NodeUrl {
    scheme: &'static str,
    userinfo: String,
    db: i64,
    query: String,
}

impl NodeUrl {
    /// The URL of the node at `host:port`.
    pub(super) fn at(&self, host: &str, port: u16) -> String {
        let NodeUrl {
            scheme,
            userinfo,
            db,
            query,
        } = self;
        format!("{scheme}://{userinfo}{}:{port}/{db}{query}", bracket(host))
    }
}

/// An IPv6 address in brackets, as URLs write it.
fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

impl Layout {
    /// The servers `url` names. A multi-host URL that cannot be read is
    /// [`Error::InvalidConfig`]; a single-server URL is left to the client.
    pub(super) fn parse(url: &str) -> Result<Layout> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Ok(Layout::Single(url.to_owned()));
        };
        let (node_scheme, default_port, sentinel) = match scheme {
            "redis+sentinel" => ("redis", 26379, true),
            "rediss+sentinel" => ("rediss", 26379, true),
            "redis+cluster" => ("redis", 6379, false),
            "rediss+cluster" => ("rediss", 6379, false),
            _ => return Ok(Layout::Single(url.to_owned())),
        };
        let bad = |why: String| -> Error {
            ConfigError::RedisUrl {
                url: display_url(url),
                source: why.into(),
            }
            .into()
        };
        let rest = rest.split('#').next().unwrap_or("");
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, format!("?{q}")),
            None => (rest, String::new()),
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), authority),
        };
        let mut addrs = Vec::new();
        for host in hosts.split(',') {
            addrs.push(host_port(host, default_port).ok_or_else(|| {
                bad(format!(
                    "{host:?} is not a host[:port] (write hosts as host1:port1,host2:port2)"
                ))
            })?);
        }
        let mut segments = path.split('/').skip(1).filter(|s| !s.is_empty());
        if sentinel {
            let master = segments.next().ok_or_else(|| {
                bad(
                    "no master name: write redis+sentinel://host1:26379,host2:26379/mymaster[/db]"
                        .into(),
                )
            })?;
            let db = match segments.next() {
                None => 0,
                Some(d) => d
                    .parse()
                    .map_err(|_| bad(format!("{d:?} is not a database number")))?,
            };
            if segments.next().is_some() {
                return Err(bad("the path is /master or /master/db".into()));
            }
            let sentinels = addrs
                .iter()
                .map(|(h, p)| format!("{node_scheme}://{}:{p}", bracket(h)))
                .collect();
            Ok(Layout::Sentinel {
                sentinels,
                master: percent_decode(master)?,
                node: NodeUrl {
                    scheme: node_scheme,
                    userinfo,
                    db,
                    query,
                },
            })
        } else {
            match segments.next() {
                None | Some("0") => {}
                Some(_) => {
                    return Err(bad("a Redis Cluster has database 0 only".into()));
                }
            }
            let node = NodeUrl {
                scheme: node_scheme,
                userinfo,
                db: 0,
                query,
            };
            Ok(Layout::Cluster(
                addrs.iter().map(|(h, p)| node.at(h, *p)).collect(),
            ))
        }
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None => default_port,
        Some(p) => p.parse().ok()?,
    };
    Some((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_options_are_read_from_the_query() {
        let o = RedisOptions::from_url(
            "redis://127.0.0.1:6379/2?prefix=app%3As%3A&timeout_ms=500&pool_size=4&protocol=resp2\
             &tls_ca=%2Fetc%2Fca.pem&wait=1",
        )
        .unwrap();
        assert_eq!(o.prefix, "app:s:");
        assert_eq!(o.io_timeout, Duration::from_millis(500));
        assert_eq!(o.connect_timeout, Duration::from_secs(1));
        assert_eq!(o.max_idle, 4);
        assert_eq!(o.tls_ca, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(o.tls_cert, None);
        assert_eq!(o.wait_replicas, 1);
        assert_eq!(
            RedisOptions::from_url("redis://h/0").unwrap(),
            RedisOptions::default()
        );
        assert!(RedisOptions::from_url("redis://h/0?timeout_ms=0").is_err());
        assert!(RedisOptions::from_url("redis://h/0?prefix=%zz").is_err());
        assert!(RedisOptions::from_url("rediss://h/0?tls_ca=").is_err());
        assert!(RedisOptions::from_url("redis://h/0?wait=x").is_err());
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            display_url("redis://user:secret@h:1/0?prefix=a"),
            "redis://user:***@h:1/0"
        );
        assert_eq!(display_url("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(
            display_url("redis+sentinel://:pw@a:1,b:2/m/0?prefix=x"),
            "redis+sentinel://:***@a:1,b:2/m/0"
        );
    }

    #[test]
    fn sentinel_urls_name_the_sentinels_and_the_master() {
        let l = Layout::parse("redis+sentinel://u:p%40w@s1,s2:26380,[::1]:7/mymaster/3?prefix=a:")
            .unwrap();
        let Layout::Sentinel {
            sentinels,
            master,
            node,
        } = l
        else {
            panic!("{l:?}")
        };
        assert_eq!(
            sentinels,
            ["redis://s1:26379", "redis://s2:26380", "redis://[::1]:7"]
        );
        assert_eq!(master, "mymaster");
        assert_eq!(
            node.at("10.0.0.5", 6380),
            "redis://u:p%40w@10.0.0.5:6380/3?prefix=a:"
        );
        assert!(matches!(
            Layout::parse("rediss+sentinel://s1/m").unwrap(),
            Layout::Sentinel { node, .. } if node.at("h", 1) == "rediss://h:1/0"
        ));
        for bad in [
            "redis+sentinel://s1:26379",
            "redis+sentinel://s1:26379/",
            "redis+sentinel://s1:x/m",
            "redis+sentinel://s1,/m",
            "redis+sentinel://s1/m/x",
        ] {
            assert!(
                matches!(Layout::parse(bad), Err(Error::InvalidConfig(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn cluster_urls_name_seed_nodes() {
        assert_eq!(
            Layout::parse("redis+cluster://:pw@a:7000,b/?prefix=p:").unwrap(),
            Layout::Cluster(vec![
                "redis://:pw@a:7000/0?prefix=p:".into(),
                "redis://:pw@b:6379/0?prefix=p:".into()
            ])
        );
        assert_eq!(
            Layout::parse("rediss+cluster://a:1").unwrap(),
            Layout::Cluster(vec!["rediss://a:1/0".into()])
        );
        assert!(Layout::parse("redis+cluster://a:1/2").is_err());
        assert_eq!(
            Layout::parse("redis://h:1/0").unwrap(),
            Layout::Single("redis://h:1/0".into())
        );
    }
}
