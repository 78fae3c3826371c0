//! TLS for the Redis store's tests: a CA, a server certificate for
//! 127.0.0.1 and localhost, and a client certificate, generated for each
//! test (rcgen, pure Rust: no `openssl` command needed), and a
//! redis-server that speaks TLS only (`--port 0 --tls-port`).

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use super::{RedisServer, Spec};

/// Certificate files in a temporary directory.
pub struct Certs {
    dir: tempfile::TempDir,
}

/// A CA that signs what `sign` is given.
fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

/// A certificate for `names` signed by `ca`: (certificate PEM, key PEM).
fn sign(ca: &CertifiedIssuer<'static, KeyPair>, names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "sessile test");
    let cert = params.signed_by(&key, ca).expect("sign");
    (cert.pem(), key.serialize_pem())
}

impl Certs {
    /// A CA, a server and a client certificate signed by it, and another
    /// CA that signed nothing here (a client trusting only that one must
    /// refuse the server).
    pub fn generate() -> Certs {
        let dir = tempfile::tempdir().expect("tempdir");
        let authority = ca("sessile test CA");
        let (server, server_key) = sign(&authority, &["127.0.0.1", "localhost"]);
        let (client, client_key) = sign(&authority, &["sessile-client"]);
        let files = [
            ("ca.pem", authority.pem()),
            ("other-ca.pem", ca("some other CA").pem()),
            ("server.pem", server),
            ("server.key", server_key),
            ("client.pem", client),
            ("client.key", client_key),
        ];
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write certificate");
        }
        Certs { dir }
    }

    /// The path of one of the files (`ca.pem`, `other-ca.pem`,
    /// `server.pem`, `server.key`, `client.pem`, `client.key`).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `base` (a URL without its query) with `tls_ca=` naming this CA,
    /// then `query`'s options (`?prefix=a:`, or empty).
    pub fn url_with_ca(&self, base: &str, query: &str) -> String {
        let more = query
            .strip_prefix('?')
            .map(|q| format!("&{q}"))
            .unwrap_or_default();
        format!("{base}?tls_ca={}{more}", self.query("ca.pem"))
    }

    /// `path(name)` as a URL query value.
    pub fn query(&self, name: &str) -> String {
        let mut out = String::new();
        for c in self.path(name).display().to_string().chars() {
            match c {
                '%' | '&' | '#' | '+' | ' ' | '?' => out.push_str(&format!("%{:02X}", c as u32)),
                c => out.push(c),
            }
        }
        out
    }

    /// The arguments that make a redis-server use these certificates;
    /// with `clients`, it requires a client certificate signed by the CA.
    pub fn server_args(&self, clients: bool) -> Vec<String> {
        let p = |n: &str| self.path(n).display().to_string();
        vec![
            "--tls-cert-file".into(),
            p("server.pem"),
            "--tls-key-file".into(),
            p("server.key"),
            "--tls-ca-cert-file".into(),
            p("ca.pem"),
            "--tls-auth-clients".into(),
            if clients { "yes" } else { "no" }.into(),
        ]
    }
}

/// A TLS-only redis-server on these certificates, and the certificates.
pub struct TlsServer {
    pub server: RedisServer,
    pub certs: Certs,
}

impl TlsServer {
    /// Generates certificates and starts a server on them; `clients`: it
    /// requires a client certificate.
    pub fn start(clients: bool) -> TlsServer {
        let certs = Certs::generate();
        let server = RedisServer::start_with(Spec {
            tls: true,
            args: certs.server_args(clients),
            ..Spec::default()
        });
        TlsServer { server, certs }
    }

    /// `rediss://127.0.0.1:port/0?tls_ca=…` (trusting the test CA), with
    /// `more` appended to the query (e.g. `"&prefix=a:"`).
    pub fn url_with(&self, more: &str) -> String {
        format!(
            "rediss://127.0.0.1:{}/0?tls_ca={}{more}",
            self.server.port(),
            self.certs.query("ca.pem")
        )
    }

    /// [`TlsServer::url_with`] with the client certificate too.
    pub fn url_with_client_cert(&self) -> String {
        self.url_with(&format!(
            "&tls_cert={}&tls_key={}",
            self.certs.query("client.pem"),
            self.certs.query("client.key")
        ))
    }
}
