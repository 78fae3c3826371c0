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
    /// A clock stopped at `start_ms` milliseconds since the Unix epoch,
    /// clamped to [`ManualClock::RANGE_MS`].
    pub fn new(start_ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(Self::clamp(start_ms))))
    }

    /// The times a manual clock can show: the Unix epoch to the last
    /// millisecond of the year 9999, the last time an HTTP date can state.
    /// Every move stops at these ends (saturates) instead of wrapping, so
    /// `now` plus a session's age never overflows and a cookie's `expires`
    /// is always a real date.
    pub const RANGE_MS: std::ops::RangeInclusive<i64> = 0..=crate::cookie::LAST_HTTP_DATE_MS;

    fn clamp(ms: i64) -> i64 {
        ms.clamp(*Self::RANGE_MS.start(), *Self::RANGE_MS.end())
    }

    /// Moves the clock by `ms` milliseconds (negative moves it back),
    /// stopping at the ends of [`ManualClock::RANGE_MS`]. One atomic
    /// update: concurrent moves add up.
    pub fn advance_ms(&self, ms: i64) {
        // fetch_update retries until no other move came in between.
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(Self::clamp(now.saturating_add(ms)))
            });
    }

    /// Moves the clock forward, stopping at the end of
    /// [`ManualClock::RANGE_MS`].
    pub fn advance(&self, by: Duration) {
        self.advance_ms(saturating_ms(by));
    }

    /// Moves the clock forward by `secs` seconds (negative moves it back),
    /// stopping at the ends of [`ManualClock::RANGE_MS`].
    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs.saturating_mul(1000));
    }

    /// Sets the clock to `ms` milliseconds since the Unix epoch, clamped to
    /// [`ManualClock::RANGE_MS`].
    pub fn set_ms(&self, ms: i64) {
        self.0.store(Self::clamp(ms), Ordering::SeqCst);
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
///
/// # Range
///
/// [`Session::set_expiry`](crate::Session::set_expiry) accepts `Seconds`
/// from 1 to [`MAX_AGE_S`] (400 days) and `At` from just after now to
/// [`MAX_AGE_S`] ahead; anything else is [`crate::Error::InvalidExpiry`].
/// This differs from Django on purpose: Django takes any integer and sends
/// `Max-Age=-1` for a negative one, and any date; browsers cap a cookie at
/// 400 days (RFC 6265bis), so a longer age only keeps a record no cookie
/// can reach. To end a session now, use `flush` or `delete`. The
/// store-level saves (records, not cookies) accept `Seconds` in the same
/// range and any `At`, past or future up to [`MAX_AGE_S`] from now (a past
/// one stores a session already expired, as Django's database backend does
/// for a past `expire_date`).
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
    /// Expires this many seconds after the last save: 1 to [`MAX_AGE_S`]
    /// (use [`Expiry::BrowserClose`] for Django's `0`; [`Expiry::seconds`]
    /// maps `0` for you).
    Seconds(i64),
    /// Expires at this absolute time (milliseconds since the Unix epoch).
    At(i64),
}

impl Expiry {
    /// Django's integer form: `0` means "at browser close", anything else a
    /// number of seconds after the last save (1 to [`MAX_AGE_S`] is
    /// accepted by [`Session::set_expiry`](crate::Session::set_expiry)).
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

    /// Checks the range a session accepts (see "Range" above), as seen at
    /// `now_ms`. `Default` and `BrowserClose` always pass.
    pub fn check(self, now_ms: i64) -> Result<Expiry, ExpiryError> {
        match self {
            Expiry::At(at_ms) if at_ms <= now_ms => {
                Err(ExpiryError::AtNotAfterNow { at_ms, now_ms })
            }
            _ => self.check_stored(now_ms),
        }
    }

    /// Checks the range the store-level saves accept: `Seconds` in range,
    /// `At` at most [`MAX_AGE_S`] ahead of `now_ms` (or in the past).
    pub fn check_stored(self, now_ms: i64) -> Result<Expiry, ExpiryError> {
        match self {
            Expiry::Seconds(s) if !(1..=MAX_AGE_S).contains(&s) => {
                Err(ExpiryError::SecondsOutOfRange(s))
            }
            Expiry::At(at_ms) if at_ms > now_ms.saturating_add(MAX_AGE_S * 1000) => {
                Err(ExpiryError::AtTooFar { at_ms, now_ms })
            }
            _ => Ok(self),
        }
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

/// The longest expiry a session accepts: 400 days, in seconds. Browsers cap
/// a cookie's lifetime at 400 days (RFC 6265bis, "The Max-Age Attribute"),
/// so a record kept longer could never be found by its cookie.
pub const MAX_AGE_S: i64 = 400 * 24 * 60 * 60;

/// An expiry outside the range sessile accepts (see [`Expiry`], "Range").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpiryError {
    /// `Seconds(n)` with `n` not in 1 to [`MAX_AGE_S`].
    #[error(
        "expiry seconds must be 0 (browser close) or 1 to {MAX_AGE_S} (400 days), not {0}; \
         to end a session now, flush or delete it"
    )]
    SecondsOutOfRange(i64),
    /// A relative expiry (Django's timedelta) of zero or more than
    /// [`MAX_AGE_S`], in milliseconds (negative from the C ABI).
    #[error(
        "expiry duration must be more than 0 and at most 400 days ({max} ms), not {0} ms; \
         to end a session now, flush or delete it",
        max = MAX_AGE_S * 1000
    )]
    DurationOutOfRange(i64),
    /// An absolute expiry that is not after now.
    #[error(
        "expiry date {at_ms} ms since the epoch is not after now ({now_ms}); \
         it must be later than now and at most 400 days ahead"
    )]
    AtNotAfterNow {
        /// The date given, ms since the Unix epoch.
        at_ms: i64,
        /// The engine's time, ms since the Unix epoch.
        now_ms: i64,
    },
    /// An absolute expiry more than [`MAX_AGE_S`] after now.
    #[error(
        "expiry date {at_ms} ms since the epoch is more than 400 days after now ({now_ms}); \
         it must be later than now and at most 400 days ahead"
    )]
    AtTooFar {
        /// The date given, ms since the Unix epoch.
        at_ms: i64,
        /// The engine's time, ms since the Unix epoch.
        now_ms: i64,
    },
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
