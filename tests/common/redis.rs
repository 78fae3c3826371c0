//! A throwaway `redis-server` for the Redis store's tests: started on a
//! free 127.0.0.1 port with persistence off, stopped when dropped. Each
//! test that needs one starts its own, so tests never see each other's
//! keys and a test can stop and restart its server.
//!
//! A missing `redis-server` fails the test with instructions; it is never
//! a silent skip (`make test-rust` and `.ci/run` install it).
//!
//! The deployments past one server start several of these: a TLS server
//! with generated certificates (`redis_tls.rs`), a master, a replica and
//! three sentinels (`redis_sentinel.rs`), a cluster of three masters and
//! three replicas (`redis_cluster.rs`).

#[path = "redis_cluster.rs"]
pub mod cluster;
#[path = "redis_sentinel.rs"]
pub mod sentinel;
#[path = "redis_tls.rs"]
pub mod tls;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a server may take to answer PING after starting.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// One running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    spec: Spec,
}

/// How a server is started, beyond the defaults (a free 127.0.0.1 port,
/// persistence off, its own directory).
#[derive(Clone, Default)]
pub struct Spec {
    /// Listen with TLS only (`--port 0 --tls-port`); the arguments naming
    /// the certificates go in `args`. Readiness is then an accepted TCP
    /// connection rather than a PING.
    pub tls: bool,
    /// A configuration file's text, written to the server's directory and
    /// given as its first argument (a sentinel needs one to write to).
    pub conf: Option<String>,
    /// More arguments, after the defaults.
    pub args: Vec<String>,
    /// A cluster node: its bus listens on the port + 10000, which must be
    /// a port too, and free.
    pub cluster_bus: bool,
}

pub fn free_port() -> u16 {
    // Bind port 0, read what the kernel picked, and let it go for the
    // server to take (a tiny race with other processes: `start` retries).
    // Never the same port twice in one test process: a test that kills a
    // server must not find another test's server on its port (a sentinel
    // or a cluster would take it for the dead node).
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local addr").port();
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
}

/// A free port whose cluster bus port (+ 10000) is free too.
fn free_port_with_bus() -> u16 {
    loop {
        let port = free_port();
        if port
            .checked_add(10_000)
            .is_some_and(|bus| TcpListener::bind(("127.0.0.1", bus)).is_ok())
        {
            return port;
        }
    }
}

pub fn ping(port: u16) -> bool {
    let Ok(mut s) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers PING.
    pub fn start() -> RedisServer {
        RedisServer::start_with(Spec::default())
    }

    /// Starts a server as `spec` says, on a free port, and waits until it
    /// is ready.
    pub fn start_with(spec: Spec) -> RedisServer {
        for _ in 0..5 {
            let port = if spec.cluster_bus {
                free_port_with_bus()
            } else {
                free_port()
            };
            let mut server = RedisServer {
                child: None,
                port,
                dir: tempfile::tempdir().expect("tempdir"),
                spec: spec.clone(),
            };
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start on a free port after 5 attempts");
    }

    /// Launches the process on `self.port`; whether it came up.
    fn spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        if let Some(conf) = &self.spec.conf {
            let file = self.dir.path().join("redis.conf");
            std::fs::write(&file, conf).expect("write redis.conf");
            cmd.arg(file);
        }
        let port = self.port.to_string();
        if self.spec.tls {
            cmd.args(["--port", "0", "--tls-port", &port]);
        } else {
            cmd.args(["--port", &port]);
        }
        let child = cmd
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed; the Redis store's tests need it. \
                 Install it (apt-get install redis-server) or run `make test-rust`, \
                 which does."
            ),
            Err(e) => panic!("cannot start redis-server: {e}"),
        };
        let deadline = Instant::now() + START_DEADLINE;
        let ready = |port| {
            if self.spec.tls {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            } else {
                ping(port)
            }
        };
        loop {
            if ready(self.port) {
                self.child = Some(child);
                return true;
            }
            // Exited: most likely the port was taken meanwhile.
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server on port {} did not answer PING", self.port);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The URL of database 0, with `query` appended (e.g. `"?prefix=a:"`).
    pub fn url_with(&self, query: &str) -> String {
        format!("redis://127.0.0.1:{}/0{query}", self.port)
    }

    /// The URL of database 0.
    pub fn url(&self) -> String {
        self.url_with("")
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its directory (configuration, cluster state).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Whether the process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL: as abrupt as a crash) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port (empty unless its
    /// configuration says otherwise: persistence is off).
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn(),
            "redis-server did not restart on port {}",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
