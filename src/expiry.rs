//! When sessions expire: the expiry policy of one session and the clock
//! every expiry decision reads.
//!
//! Time is milliseconds since the Unix epoch (`i64`) everywhere inside the
//! engine; it comes from a [`Clock`] so tests control it instead of sleeping.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the engine reads the current time.
pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The real wall clock (the default).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        to_ms(SystemTime::now())
    }
}

/// A clock that moves only when told to. Shared by cloning; every clone
/// sees the same time. Used by tests (and binding tests) to exercise expiry
/// without sleeping.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock stopped at `start_ms` milliseconds since the Unix epoch.
    pub fn new(start_ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start_ms)))
    }

    /// Moves the clock forward (or backward, with a negative amount).
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(saturating_ms(by), Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs` seconds (negative moves it back).
    pub fn advance_secs(&self, secs: i64) {
        self.0
            .fetch_add(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Sets the clock to `ms` milliseconds since the Unix epoch.
    pub fn set_ms(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The expiry policy of one session: Django's `set_expiry` argument.
///
/// | Django                         | sessile                  |
/// |--------------------------------|--------------------------|
/// | `set_expiry(None)`             | [`Expiry::Default`]      |
/// | `set_expiry(0)`                | [`Expiry::BrowserClose`] |
/// | `set_expiry(300)`              | [`Expiry::Seconds`]`(300)` |
/// | `set_expiry(datetime)`         | [`Expiry::At`]`(ms)`     |
/// | `set_expiry(timedelta)`        | `Session::set_expiry_in` (becomes `At`) |
///
/// Except for `At`, the deadline is counted from the last save, so every
/// save slides it forward (Django recomputes `expire_date` on each save).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    /// The configured cookie age (`SESSION_COOKIE_AGE`); whether the cookie
    /// lasts past the browser session follows
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    #[default]
    Default,
    /// The cookie is a browser-session cookie (no `Max-Age`); the server
    /// keeps the record for the configured cookie age.
    BrowserClose,
    /// Expires this many seconds after the last save. Zero or negative
    /// means already expired (use [`Expiry::BrowserClose`] for Django's `0`;
    /// [`Expiry::seconds`] maps `0` for you).
    Seconds(i64),
    /// Expires at this absolute time (milliseconds since the Unix epoch).
    At(i64),
}

impl Expiry {
    /// Django's integer form: `0` means "at browser close", anything else a
    /// number of seconds after the last save (negative: already expired).
    pub fn seconds(secs: i64) -> Expiry {
        if secs == 0 {
            Expiry::BrowserClose
        } else {
            Expiry::Seconds(secs)
        }
    }

    /// Django's datetime form: expires at `at`.
    pub fn at(at: SystemTime) -> Expiry {
        Expiry::At(to_ms(at))
    }

    /// The absolute deadline in ms when saved at `now_ms`, with the
    /// configured default age of `default_age_s` seconds.
    pub fn deadline_ms(self, now_ms: i64, default_age_s: i64) -> i64 {
        match self {
            Expiry::Default | Expiry::BrowserClose => {
                now_ms.saturating_add(default_age_s.saturating_mul(1000))
            }
            Expiry::Seconds(s) => now_ms.saturating_add(s.saturating_mul(1000)),
            Expiry::At(at) => at,
        }
    }

    /// Django's `get_expiry_age()`: seconds until expiry, as seen at `now_ms`.
    /// For `Default`/`BrowserClose` it is the cookie age, for `Seconds(n)` it
    /// is `n` (counted from the next save), for `At` the whole seconds left
    /// (rounded down, negative once past).
    pub fn age_secs(self, now_ms: i64, default_age_s: i64) -> i64 {
        match self {
            Expiry::Default | Expiry::BrowserClose => default_age_s,
            Expiry::Seconds(s) => s,
            Expiry::At(at) => at.saturating_sub(now_ms).div_euclid(1000),
        }
    }

    /// Django's `get_expire_at_browser_close()`.
    pub fn at_browser_close(self, default_at_browser_close: bool) -> bool {
        match self {
            Expiry::Default => default_at_browser_close,
            Expiry::BrowserClose => true,
            Expiry::Seconds(_) | Expiry::At(_) => false,
        }
    }
}

/// A `SystemTime` as ms since the epoch (negative before 1970, saturating).
pub fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => saturating_ms(d),
        Err(e) => saturating_ms(e.duration()).saturating_neg(),
    }
}

/// Ms since the epoch as a `SystemTime`.
pub fn from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

fn saturating_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
