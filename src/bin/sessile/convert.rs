//! Conversions between what is stored and what the CLI prints: expiry
//! policies as JSON and text, times as RFC 3339. Session data as readable
//! JSON and back, and base64, are the library's (`sessile::json`, whose
//! readable form docs/CLI.md states); that JSON is readable but not always
//! exact, which is why `export` also carries the MessagePack bytes.

use sessile::Expiry;

/// The expiry policy as it appears in every JSON the CLI reads or writes:
/// `{"policy": "default" | "browser_close" | "seconds" | "at", …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Policy {
    /// [`Expiry::Default`].
    Default,
    /// [`Expiry::BrowserClose`].
    BrowserClose,
    /// [`Expiry::Seconds`].
    Seconds {
        /// Seconds after the last save.
        seconds: i64,
    },
    /// [`Expiry::At`].
    At {
        /// The absolute deadline, ms since the Unix epoch.
        at_ms: i64,
    },
}

impl From<Expiry> for Policy {
    fn from(e: Expiry) -> Policy {
        match e {
            Expiry::Default => Policy::Default,
            Expiry::BrowserClose => Policy::BrowserClose,
            Expiry::Seconds(seconds) => Policy::Seconds { seconds },
            Expiry::At(at_ms) => Policy::At { at_ms },
        }
    }
}

impl From<Policy> for Expiry {
    fn from(p: Policy) -> Expiry {
        match p {
            Policy::Default => Expiry::Default,
            Policy::BrowserClose => Expiry::BrowserClose,
            Policy::Seconds { seconds } => Expiry::Seconds(seconds),
            Policy::At { at_ms } => Expiry::At(at_ms),
        }
    }
}

/// The policy in a few characters, for text output.
pub fn policy_text(e: Expiry) -> String {
    match e {
        Expiry::Default => "default".into(),
        Expiry::BrowserClose => "browser-close".into(),
        Expiry::Seconds(s) => format!("seconds:{s}"),
        Expiry::At(_) => "at".into(),
    }
}

/// Whether the browser drops the cookie at close: `None` under the default
/// policy, where that is the application's `SESSION_EXPIRE_AT_BROWSER_CLOSE`
/// setting, which the database does not record.
pub fn browser_close(e: Expiry) -> Option<bool> {
    match e {
        Expiry::Default => None,
        other => Some(other.at_browser_close(false)),
    }
}

/// `ms` since the Unix epoch as RFC 3339 in UTC with milliseconds,
/// e.g. `2024-05-01T12:00:00.000Z`.
pub fn rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }
}
