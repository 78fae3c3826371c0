//! `sessile`: the command-line tool for a session database. It looks
//! inside (`stats`, `list`, `get`), cleans (`delete`, `clear-expired`,
//! `flush-all`, `check --repair`) and moves sessions between databases
//! (`export`, `import`, as JSON Lines).
//!
//! docs/CLI.md is the manual: every command, the exit codes (0 ok, 1 error,
//! 2 usage) and the JSON formats. Errors go to stderr as `sessile: …`;
//! machine output goes to stdout.
//!
//! The tool opens the store itself rather than an `Engine`, so no
//! background reaper runs and nothing is swept unless asked for. A sled
//! database belongs to one process: while a server holds it, the tool
//! refuses with a message naming the path.

#[path = "sessile/check.rs"]
mod check;
#[path = "sessile/clean.rs"]
mod clean;
#[path = "sessile/convert.rs"]
mod convert;
#[path = "sessile/inspect.rs"]
mod inspect;
#[path = "sessile/transfer.rs"]
mod transfer;

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sessile::{SessionKey, SledOptions, SledStore, Store};

/// Inspect, clean and move a sessile session database.
#[derive(Debug, Parser)]
#[command(name = "sessile", version)]
struct Cli {
    /// The database directory: a path, or `sled://` and a path.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
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
    /// Stored sessions in key order, with expiry and size.
    List {
        /// Only sessions that have expired but are not swept yet.
        #[arg(long)]
        expired: bool,
        /// Print at most this many sessions.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Print a JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One session as JSON: data, expiry, browser-close flag (expired
    /// sessions too, marked as such).
    Get {
        /// The session key (32 characters of a-z, 0-9).
        key: SessionKey,
    },
    /// Deletes one session.
    Delete {
        /// The session key (32 characters of a-z, 0-9).
        key: SessionKey,
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
    /// Walks both trees: records without index entries, index entries
    /// without records, records that do not decode.
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
    let db = db_path(&cli.db)?;
    let db = db.as_path();
    match cli.command {
        Command::Stats { json } => inspect::stats(&open(db, false)?, json),
        Command::List {
            expired,
            limit,
            json,
        } => inspect::list(&open(db, false)?, expired, limit, json),
        Command::Get { key } => inspect::get(&open(db, false)?, &key),
        Command::Delete { key } => clean::delete(&open(db, false)?, &key),
        Command::ClearExpired { json } => clean::clear_expired(&open(db, false)?, json),
        Command::FlushAll { yes } => {
            if !yes {
                return Err(Failure::Usage(format!(
                    "flush-all deletes every session in {}; add --yes to confirm",
                    db.display()
                )));
            }
            clean::flush_all(&open(db, false)?)
        }
        Command::Export { file } => transfer::export(&open(db, false)?, &file),
        Command::Import { file } => import(db, &file),
        Command::Check { repair } => check::check(&open(db, false)?, repair),
    }
}

/// The sled database directory `--db` names: a path, or `sled://` and a
/// path (`sled:///var/lib/app`, `sled://relative`). Any other store URL
/// (`redis://…`, `memory:`) is a usage error, never a directory of that
/// name: taken as a path, `import --db redis://…` would write the sessions
/// into `./redis:/…` and report success.
fn db_path(db: &Path) -> Outcome<PathBuf> {
    let Some(text) = db.to_str() else {
        return Ok(db.to_path_buf());
    };
    if let Some(path) = text.strip_prefix("sled://") {
        if path.is_empty() {
            return Err(Failure::Usage(format!(
                "--db {text:?} names no directory (sled:///absolute/path or sled://relative/path)"
            )));
        }
        return Ok(PathBuf::from(path));
    }
    let scheme = text.split_once("://").map(|(s, _)| s).filter(|s| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if scheme.is_some() || text == "memory:" {
        return Err(Failure::Usage(format!(
            "--db {text:?} is a store URL, and this command opens sled databases only \
             (a path, or sled:///path)"
        )));
    }
    Ok(db.to_path_buf())
}

/// Opens the database. Only `import` may create one: a mistyped `--db`
/// should not leave an empty database behind, nor turn a project folder
/// into one.
fn open(path: &Path, create: bool) -> Outcome<SledStore> {
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

/// `sessile import FILE`. The file is opened first, and a database this
/// import created is removed again when the import fails before storing
/// any session: a failed first import leaves the directory as it was.
fn import(db: &Path, file: &Path) -> Outcome {
    let input = transfer::Input::open(file)?;
    let before = match std::fs::read_dir(db) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some(false),
        Ok(mut entries) => entries.next().is_none().then_some(true),
        Err(_) => None,
    };
    let undo = |store: Option<SledStore>| {
        if let Some(store) = &store {
            if !matches!(store.scan(None, 1), Ok(page) if page.is_empty()) {
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
    let store = match open(db, true) {
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

/// Calls `f` on every stored record (key, bytes), in key order, one page in
/// memory at a time, while `f` returns `Ok(true)`. `f` may remove the
/// record it is given.
pub fn for_each_record(
    store: &SledStore,
    mut f: impl FnMut(&[u8], Vec<u8>) -> Outcome<bool>,
) -> Outcome {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(after.as_deref(), PAGE)?;
        let full = page.len() == PAGE;
        for (key, raw) in page {
            if !f(&key, raw)? {
                return Ok(());
            }
            after = Some(key);
        }
        if !full {
            return Ok(());
        }
    }
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
