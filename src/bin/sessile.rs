//! `sessile`: the command-line tool for a session database. It looks
//! inside (`stats`, `list`, `get`), cleans (`delete`, `clear-expired`,
//! `flush-all`, `check --repair`), finds and ends one user's sessions
//! (`list --owner`, `delete --owner`) and moves sessions between databases
//! (`export`, `import`, as JSON Lines).
//!
//! docs/CLI.md is the manual: every command, the exit codes (0 ok, 1 error,
//! 2 usage) and the JSON formats. Errors go to stderr as `sessile: …`;
//! machine output goes to stdout.
//!
//! `--db` names a sled database (a path, or `sled://path`) or a Redis
//! server (`redis://…`, as `Engine::open_url` takes it), so `export` from
//! one and `import` into the other moves a site's sessions between them.
//! The tool opens the store itself rather than an `Engine`, so no
//! background reaper runs and nothing is swept unless asked for. A sled
//! database belongs to one process: while a server holds it, the tool
//! refuses with a message naming the path. A Redis server is shared: the
//! tool works beside the running servers. (`--owner` builds an engine over
//! the opened store, with no reaper either: `owners.rs`.)

#[path = "sessile/check.rs"]
mod check;
#[path = "sessile/clean.rs"]
mod clean;
#[path = "sessile/convert.rs"]
mod convert;
#[path = "sessile/inspect.rs"]
mod inspect;
#[path = "sessile/owners.rs"]
mod owners;
#[path = "sessile/transfer.rs"]
mod transfer;

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use clap::{ArgGroup, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
#[cfg(feature = "redis")]
use sessile::{RedisOptions, RedisStore};
use sessile::{SessionKey, SledOptions, SledStore, Store};

/// Inspect, clean and move a sessile session database.
#[derive(Debug, Parser)]
#[command(name = "sessile", version)]
struct Cli {
    /// The store: a sled database directory (a path, or `sled://` and a
    /// path) or a Redis server (`redis://host[:port][/db][?prefix=…]`,
    /// `rediss://`, `redis+unix://`, `redis+sentinel://`,
    /// `redis+cluster://`).
    #[arg(
        long,
        global = true,
        value_name = "PATH|URL",
        default_value = "./sessile.db"
    )]
    db: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Counts: sessions (live, expired but not yet swept, damaged), index
    /// entries, bytes on disk, record format version.
    Stats {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stored sessions in key order, with expiry and size; with --owner,
    /// one owner's live sessions.
    List {
        /// Only sessions that have expired but are not swept yet.
        #[arg(long, conflicts_with = "owner")]
        expired: bool,
        /// Print at most this many sessions.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Print a JSON array instead of text.
        #[arg(long)]
        json: bool,
        /// Only the live sessions of this owner (a user id: the value of
        /// the owner key in their data), found through the owner index,
        /// the one that expires last first.
        #[arg(long, value_name = "OWNER")]
        owner: Option<String>,
        /// The data key that names a session's owner (`_auth_user_id`,
        /// `passport.user`), for a database that keeps no owner index or
        /// keeps it by another key: the database builds its index by this
        /// key first, and keeps it from then on.
        #[arg(long, value_name = "PATH", requires = "owner")]
        owner_key: Option<String>,
    },
    /// One session as JSON: data, expiry, browser-close flag (expired
    /// sessions too, marked as such).
    Get {
        /// The session key (32 characters of a-z, 0-9).
        key: SessionKey,
    },
    /// Deletes one session; with --owner, ends every session of one owner
    /// ("log out everywhere") and prints how many.
    #[command(group(ArgGroup::new("which").required(true).args(["key", "owner"])))]
    Delete {
        /// The session key (32 characters of a-z, 0-9).
        #[arg(conflicts_with = "owner")]
        key: Option<SessionKey>,
        /// End every live session of this owner (a user id: the value of
        /// the owner key in their data), found through the owner index.
        #[arg(long, value_name = "OWNER")]
        owner: Option<String>,
        /// Keep this one session of the owner (the device that asked to
        /// sign out the others).
        #[arg(long, value_name = "KEY", requires = "owner")]
        except: Option<SessionKey>,
        /// The data key that names a session's owner, as for `list`.
        #[arg(long, value_name = "PATH", requires = "owner")]
        owner_key: Option<String>,
    },
    /// Deletes every expired session and prints how many (Django's
    /// `clearsessions`).
    ClearExpired {
        /// Print `{"removed": N}` instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Deletes every session. Refuses without --yes.
    FlushAll {
        /// Confirms that every session is to be deleted.
        #[arg(long)]
        yes: bool,
    },
    /// Writes every session to FILE as JSON Lines (`-`: stdout).
    Export {
        /// Where to write; an existing file is replaced.
        file: PathBuf,
    },
    /// Reads sessions from FILE (JSON Lines, as `export` writes; `-`:
    /// stdin). Bad lines are reported with their numbers and skipped;
    /// sessions whose key already exists are skipped.
    Import {
        /// What to read.
        file: PathBuf,
    },
    /// Walks the trees of a sled database (sessions, expiry index, owner
    /// index): records without index entries, index entries without
    /// records, records that do not decode.
    Check {
        /// Fix what was found: file missing index entries, remove orphaned
        /// entries and records that do not decode.
        #[arg(long)]
        repair: bool,
    },
}

/// How a command ended when it did not simply succeed.
#[derive(Debug)]
pub enum Failure {
    /// An error, printed as `sessile: <message>`; exit status 1.
    Error(String),
    /// The command line asks for something it must not; exit status 2.
    Usage(String),
    /// Problems were reported as they were found (bad import lines,
    /// damaged records, faults); exit status 1 and nothing more to say.
    Reported,
    /// Whoever reads stdout stopped reading (`sessile list | head`): not
    /// an error.
    BrokenPipe,
}

/// What every command returns.
pub type Outcome<T = ()> = Result<T, Failure>;

impl From<sessile::Error> for Failure {
    fn from(e: sessile::Error) -> Failure {
        Failure::Error(e.to_string())
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        // Plain `?` on an io::Error is used only for writes to stdout and
        // stderr; file errors are mapped with their path by the caller.
        if e.kind() == io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Error(format!("writing output: {e}"))
        }
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Failure {
        match e.io_error_kind() {
            Some(kind) => io::Error::from(kind).into(),
            None => Failure::Error(format!("encoding JSON: {e}")),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) | Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Reported) => ExitCode::from(1),
        Err(Failure::Error(msg)) => {
            eprintln!("sessile: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("sessile: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Outcome {
    let target = target(&cli.db)?;
    // Only `import` may create a sled database: a mistyped `--db` should
    // not leave an empty one behind, nor turn a project folder into one.
    let db = || open(&target, false);
    match cli.command {
        Command::Stats { json } => inspect::stats(&db()?, json),
        Command::List {
            owner: Some(owner),
            owner_key,
            limit,
            json,
            ..
        } => owners::list(db()?, &owner, owner_key.as_deref(), limit, json),
        Command::List {
            expired,
            limit,
            json,
            ..
        } => inspect::list(&db()?, expired, limit, json),
        Command::Get { key } => inspect::get(&db()?, &key),
        Command::Delete {
            owner: Some(owner),
            except,
            owner_key,
            ..
        } => owners::delete(db()?, &owner, except.as_ref(), owner_key.as_deref()),
        Command::Delete { key: Some(key), .. } => clean::delete(&db()?, &key),
        // clap's group makes one of the two required.
        Command::Delete { .. } => Err(Failure::Usage("delete needs a KEY or --owner".into())),
        Command::ClearExpired { json } => clean::clear_expired(&db()?, json),
        Command::FlushAll { yes } => {
            if !yes {
                return Err(Failure::Usage(format!(
                    "flush-all deletes every session in {}; add --yes to confirm",
                    target.name()
                )));
            }
            clean::flush_all(&db()?)
        }
        Command::Export { file } => transfer::export(&db()?, &file),
        Command::Import { file } => import(&target, &file),
        Command::Check { repair } => match db()? {
            Db::Sled(store) => check::check(&store, repair),
            #[cfg(feature = "redis")]
            Db::Redis(_) => Err(Failure::Usage(
                "check walks a sled database's expiry index; a Redis store keeps none \
                 (Redis expires keys itself): `sessile stats` counts damaged records"
                    .into(),
            )),
        },
    }
}

/// What `--db` names.
enum Target {
    /// A sled database directory.
    Sled(PathBuf),
    /// A Redis server's URL.
    #[cfg(feature = "redis")]
    Redis(String),
}

impl Target {
    /// For messages before the store is open (the URL may hold a
    /// password, so it is not repeated).
    fn name(&self) -> String {
        match self {
            Target::Sled(path) => path.display().to_string(),
            #[cfg(feature = "redis")]
            Target::Redis(_) => "the Redis store --db names".into(),
        }
    }
}

/// The store `--db` names: a path or `sled://` and a path (`sled:///var/
/// lib/app`, `sled://relative`) is a sled database; `redis://`,
/// `rediss://`, `redis+unix://` a Redis server, `redis+sentinel://` the
/// master that sentinels name, `redis+cluster://` a Redis Cluster (and
/// `rediss+sentinel://`, `rediss+cluster://` with TLS). Any other URL
/// (`memory:`, a typo) is a usage error, never a directory of that name:
/// taken as a path, `import --db redis://…` once wrote the sessions into
/// `./redis:/…` and reported success.
fn target(db: &Path) -> Outcome<Target> {
    let Some(text) = db.to_str() else {
        return Ok(Target::Sled(db.to_path_buf()));
    };
    let scheme = text.split_once("://").map(|(s, _)| s).filter(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    match scheme.or((text == "memory:").then_some("memory")) {
        None => Ok(Target::Sled(db.to_path_buf())),
        Some("sled") => match &text["sled://".len()..] {
            "" => Err(Failure::Usage(format!(
                "--db {text:?} names no directory (sled:///absolute/path or sled://relative/path)"
            ))),
            path => Ok(Target::Sled(PathBuf::from(path))),
        },
        #[cfg(feature = "redis")]
        Some(
            "redis" | "rediss" | "redis+unix" | "unix" | "redis+sentinel" | "rediss+sentinel"
            | "redis+cluster" | "rediss+cluster",
        ) => Ok(Target::Redis(text.into())),
        #[cfg(not(feature = "redis"))]
        Some(
            "redis" | "rediss" | "redis+unix" | "unix" | "redis+sentinel" | "rediss+sentinel"
            | "redis+cluster" | "rediss+cluster",
        ) => Err(Failure::Usage(format!(
            "--db {text:?}: this sessile was built without Redis support (cargo feature `redis`)"
        ))),
        Some(_) => Err(Failure::Usage(format!(
            "--db {text:?} is not a store this command opens: a sled database (a path, or \
             sled:///path) or Redis (redis://host:port/db, redis+sentinel://…, \
             redis+cluster://…)"
        ))),
    }
}

/// An open store: a sled database, which the tool holds alone while it
/// runs, or a Redis server, shared with the running servers.
pub enum Db {
    Sled(SledStore),
    #[cfg(feature = "redis")]
    Redis(Box<RedisStore>),
}

impl Db {
    /// The store, for what every store does.
    pub fn store(&self) -> &dyn Store {
        match self {
            Db::Sled(s) => s,
            #[cfg(feature = "redis")]
            Db::Redis(s) => s.as_ref(),
        }
    }

    /// The store, to put an engine over it.
    pub fn into_store(self) -> Arc<dyn Store> {
        match self {
            Db::Sled(s) => Arc::new(s),
            #[cfg(feature = "redis")]
            Db::Redis(s) => Arc::<RedisStore>::from(s),
        }
    }

    /// For messages: the database's path, or the server's URL without
    /// its password.
    pub fn name(&self) -> String {
        match self {
            Db::Sled(s) => s.path().display().to_string(),
            #[cfg(feature = "redis")]
            Db::Redis(s) => s.url().to_string(),
        }
    }

    /// How many due sessions one sweep call examines. sled's sweep walks
    /// its index a page at a time; Redis's reads every key per call, so
    /// one call does the whole job.
    pub fn sweep_budget(&self) -> usize {
        match self {
            Db::Sled(_) => PAGE,
            #[cfg(feature = "redis")]
            Db::Redis(_) => usize::MAX,
        }
    }
}

/// Opens the store; a sled database is created only when `create` says so.
fn open(target: &Target, create: bool) -> Outcome<Db> {
    match target {
        Target::Sled(path) => open_sled(path, create).map(Db::Sled),
        #[cfg(feature = "redis")]
        Target::Redis(url) => {
            let opened = RedisOptions::from_url(url).and_then(|o| RedisStore::open(url, &o));
            opened.map(|s| Db::Redis(Box::new(s))).map_err(|e| match e {
                sessile::Error::InvalidConfig(e) => Failure::Usage(format!("--db: {e}")),
                e => Failure::Error(e.to_string()),
            })
        }
    }
}

fn open_sled(path: &Path, create: bool) -> Outcome<SledStore> {
    if !create && !path.exists() {
        return Err(Failure::Error(format!("no database at {}", path.display())));
    }
    // The commands stream through the trees once: a large cache buys them
    // nothing (measured: 16 MiB exports and imports a million sessions as
    // fast as 64 MiB, with less memory).
    let opts = SledOptions::default()
        .cache_capacity(16 * 1024 * 1024)
        .flush_every_ms(Some(500))
        .compression(None);
    let store = if create {
        SledStore::open(path, &opts)
    } else {
        SledStore::open_existing(path, &opts)
    };
    store.map_err(|e| match e {
        sessile::OpenError::Locked { path, holder, .. } => Failure::Error(format!(
            "database {} is held by another process{} (a sled database is open \
             in one process at a time); stop that process and try again",
            path.display(),
            holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
        )),
        e @ sessile::OpenError::NotADatabase { .. } => Failure::Error(e.to_string()),
        e => Failure::Error(format!("cannot open database {}: {e}", path.display())),
    })
}

/// `sessile import FILE`. The file is opened first. A sled database this
/// import created is removed again when the import fails before storing
/// any session: a failed first import leaves the directory as it was.
fn import(target: &Target, file: &Path) -> Outcome {
    let input = transfer::Input::open(file)?;
    // (Without the `redis` feature, a sled path is the only target.)
    #[cfg_attr(not(feature = "redis"), allow(clippy::infallible_destructuring_match))]
    let db = match target {
        Target::Sled(path) => path,
        #[cfg(feature = "redis")]
        Target::Redis(_) => return transfer::import(&open(target, false)?, input),
    };
    let before = match std::fs::read_dir(db) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some(false),
        Ok(mut entries) => entries.next().is_none().then_some(true),
        Err(_) => None,
    };
    let undo = |store: Option<Db>| {
        if let Some(store) = &store {
            if !matches!(store.store().scan(None, 1), Ok(page) if page.is_empty()) {
                return;
            }
        }
        drop(store);
        match before {
            Some(false) => {
                let _ = std::fs::remove_dir_all(db);
            }
            Some(true) => {
                let _ = std::fs::remove_dir_all(db).and_then(|()| std::fs::create_dir(db));
            }
            None => {}
        }
    };
    let store = match open(target, true) {
        Ok(store) => store,
        Err(e) => {
            undo(None);
            return Err(e);
        }
    };
    let result = transfer::import(&store, input);
    if result.is_err() {
        undo(Some(store));
    }
    result
}

/// Records read per page when walking a tree: memory stays constant
/// whatever the size of the database.
pub const PAGE: usize = 1000;

/// Calls `f` on every stored record (key, bytes), in key order, while `f`
/// returns `Ok(true)` (`Store::walk`: memory stays flat whatever the size
/// of the store). `f` may remove the record it is given.
pub fn for_each_record(db: &Db, mut f: impl FnMut(&[u8], Vec<u8>) -> Outcome<bool>) -> Outcome {
    let mut failed = None;
    db.store().walk(None, &mut |key, raw| match f(&key, raw) {
        Ok(go_on) => Ok(go_on),
        Err(e) => {
            failed = Some(e);
            Ok(false)
        }
    })?;
    failed.map_or(Ok(()), Err)
}

/// The current time, ms since the Unix epoch (the CLI reads the system
/// clock, as a server does).
pub fn now_ms() -> i64 {
    sessile::to_ms(SystemTime::now())
}

/// A stored key for display: it may be damaged bytes, not a session key.
pub fn show_key(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}

/// Whether a person is watching: stderr and stdout are terminals, and
/// stdout does not carry the data. Only then is there a progress bar.
pub fn watched(data_on_stdout: bool) -> bool {
    io::stderr().is_terminal() && io::stdout().is_terminal() && !data_on_stdout
}

/// A progress bar on stderr over `len` items (or bytes), or a hidden one
/// when nobody is `watched`.
pub fn progress(watched: bool, len: Option<u64>, unit_bytes: bool) -> ProgressBar {
    if !watched {
        return ProgressBar::hidden();
    }
    let (bar, template) = match (len, unit_bytes) {
        (Some(n), true) => (
            ProgressBar::new(n),
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ),
        (Some(n), false) => (
            ProgressBar::new(n),
            "{bar:40} {human_pos}/{human_len} {per_sec} eta {eta}",
        ),
        (None, true) => (
            ProgressBar::new_spinner(),
            "{spinner} {bytes} {bytes_per_sec}",
        ),
        (None, false) => (
            ProgressBar::new_spinner(),
            "{spinner} {human_pos} {per_sec}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Reports a problem on stderr without garbling a progress bar.
pub fn warn(bar: &ProgressBar, msg: impl std::fmt::Display) {
    bar.suspend(|| eprintln!("sessile: {msg}"));
}
