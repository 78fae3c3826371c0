//! `sessile_expiry`: a session's expiry policy as C sees it.

use super::error::Fail;
use crate::expiry::Expiry;

/// The kinds of `sessile_expiry`. Django's `set_expiry` argument, one kind
/// per form.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sessile_expiry_kind {
    /// Django's `set_expiry(None)`: the configured cookie age; whether the
    /// cookie outlives the browser follows the expire-at-browser-close
    /// option. `value` is ignored.
    Default = 0,
    /// Django's `set_expiry(0)`: a browser-session cookie; the server keeps
    /// the record for the configured cookie age. `value` is ignored.
    BrowserClose = 1,
    /// Django's `set_expiry(n)`: `value` seconds after the last save (each
    /// save slides it). As in Django, `value` 0 means `BROWSER_CLOSE`;
    /// otherwise `value` must be 1 to 34560000 (400 days, the longest
    /// browsers keep a cookie), else `SESSILE_RESULT_INVALID_ARGUMENT`.
    /// Unlike Django, a negative value is refused: to end a session now,
    /// flush or delete it.
    Seconds = 2,
    /// Django's `set_expiry(datetime)`: at `value` milliseconds since the
    /// Unix epoch. `sessile_session_set_expiry` needs it later than now and
    /// at most 400 days ahead; the store-level saves also accept a past
    /// time (the session is stored already expired), not one more than 400
    /// days ahead.
    At = 3,
    /// Only as an input to the store-level saves and touch: keep the policy
    /// the session already has (`DEFAULT` for a new one). `value` is
    /// ignored.
    Keep = 4,
}

/// A session's expiry policy. `kind` is one of `sessile_expiry_kind`; what
/// `value` means depends on it.
///
/// Inputs are passed by value; an unknown `kind` is
/// `SESSILE_RESULT_INVALID_ARGUMENT`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct sessile_expiry {
    /// A `sessile_expiry_kind`.
    pub kind: u32,
    /// Seconds for `SESSILE_EXPIRY_KIND_SECONDS`, milliseconds since the Unix
    /// epoch for `SESSILE_EXPIRY_KIND_AT`, otherwise 0 (ignored on input).
    pub value: i64,
}

impl sessile_expiry {
    /// Reads a caller's policy. `Ok(None)` is `Keep`, accepted only when
    /// `keep_ok`.
    pub(crate) fn to_policy(self, keep_ok: bool) -> Result<Option<Expiry>, Fail> {
        const DEFAULT: u32 = sessile_expiry_kind::Default as u32;
        const BROWSER_CLOSE: u32 = sessile_expiry_kind::BrowserClose as u32;
        const SECONDS: u32 = sessile_expiry_kind::Seconds as u32;
        const AT: u32 = sessile_expiry_kind::At as u32;
        const KEEP: u32 = sessile_expiry_kind::Keep as u32;
        match self.kind {
            DEFAULT => Ok(Some(Expiry::Default)),
            BROWSER_CLOSE => Ok(Some(Expiry::BrowserClose)),
            SECONDS => Ok(Some(Expiry::seconds(self.value))),
            AT => Ok(Some(Expiry::At(self.value))),
            KEEP if keep_ok => Ok(None),
            KEEP => Err(Fail::invalid(
                "SESSILE_EXPIRY_KIND_KEEP is accepted only by the store-level saves and touch",
            )),
            k => Err(Fail::invalid(format!("unknown sessile_expiry_kind {k}"))),
        }
    }

    pub(crate) fn from_policy(e: Expiry) -> sessile_expiry {
        let (kind, value) = match e {
            Expiry::Default => (sessile_expiry_kind::Default, 0),
            Expiry::BrowserClose => (sessile_expiry_kind::BrowserClose, 0),
            Expiry::Seconds(s) => (sessile_expiry_kind::Seconds, s),
            Expiry::At(ms) => (sessile_expiry_kind::At, ms),
        };
        sessile_expiry {
            kind: kind as u32,
            value,
        }
    }
}
