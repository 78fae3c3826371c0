//! The session cookie: Django's cookie settings, reading the `Cookie:`
//! request header and writing the `Set-Cookie:` response header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::ConfigError;

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Lax` (Django's default).
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None` (browsers then require `Secure`).
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        }
    }
}

/// Django's `SESSION_COOKIE_*` settings, with Django's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieConfig {
    /// `SESSION_COOKIE_NAME`, default `sessionid`.
    pub name: String,
    /// `SESSION_COOKIE_AGE` in seconds, default 1209600 (two weeks).
    pub age_s: i64,
    /// `SESSION_COOKIE_DOMAIN`, default none (host-only cookie).
    pub domain: Option<String>,
    /// `SESSION_COOKIE_PATH`, default `/`.
    pub path: String,
    /// `SESSION_COOKIE_SECURE`, default false.
    pub secure: bool,
    /// `SESSION_COOKIE_HTTPONLY`, default true.
    pub httponly: bool,
    /// `SESSION_COOKIE_SAMESITE`, default `Lax`; `None` here omits the
    /// attribute (Django's `False`).
    pub samesite: Option<SameSite>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "sessionid".into(),
            age_s: 1_209_600,
            domain: None,
            path: "/".into(),
            secure: false,
            httponly: true,
            samesite: Some(SameSite::Lax),
        }
    }
}

/// Finds cookie `name` in a `Cookie:` header value, the way Django's
/// `parse_cookie` does: `;`-separated `name=value` pairs, whitespace
/// trimmed, surrounding double quotes removed, the last occurrence wins.
pub fn find_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    for chunk in header.split(';') {
        let (k, v) = chunk.split_once('=').unwrap_or(("", chunk));
        if k.trim() == name {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(v);
            found = Some(v);
        }
    }
    found
}

/// 9999-12-31T23:59:59Z, the last time an HTTP date can express.
const LAST_HTTP_DATE_S: i64 = 253_402_300_799;
/// The same instant's last millisecond.
pub(crate) const LAST_HTTP_DATE_MS: i64 = LAST_HTTP_DATE_S * 1000 + 999;

/// Whether `s` may appear in a Set-Cookie header as a cookie name (an
/// RFC 6265 token) — used to validate the configuration.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// Whether `s` may appear as an attribute value (no `;`, no control
/// characters, no whitespace other than plain spaces).
pub(crate) fn is_attr_value(s: &str) -> bool {
    s.bytes()
        .all(|b| (b.is_ascii_graphic() || b == b' ') && b != b';')
}

impl CookieConfig {
    /// Checks that the settings cannot produce a malformed or injected
    /// header: the name is a token, domain and path hold no `;` or control
    /// characters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_token(&self.name) {
            return Err(ConfigError::CookieName(self.name.clone()));
        }
        if let Some(d) = &self.domain {
            if d.is_empty() || !is_attr_value(d) {
                return Err(ConfigError::CookieDomain(d.clone()));
            }
        }
        if !is_attr_value(&self.path) {
            return Err(ConfigError::CookiePath(self.path.clone()));
        }
        Ok(())
    }

    /// The `Set-Cookie` value that stores `key`. `max_age_s` is `None` for a
    /// browser-session cookie; otherwise both `Max-Age` and `expires` are
    /// sent, as Django does. Attributes appear in Django's order.
    pub fn set_cookie(&self, key: &str, max_age_s: Option<i64>, now: SystemTime) -> String {
        let expires = max_age_s.map(|age| {
            // Clamp to what an HTTP date can say (1970 to the end of 9999).
            let now_s = now
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let at = now_s.saturating_add(age).clamp(0, LAST_HTTP_DATE_S);
            httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(at as u64))
        });
        self.render(key, expires.as_deref(), max_age_s, self.secure)
    }

    /// The `Set-Cookie` value that makes the browser drop the cookie
    /// (Django's `delete_cookie`).
    pub fn delete_cookie(&self) -> String {
        let secure = self.name.starts_with("__Secure-")
            || self.name.starts_with("__Host-")
            || self.samesite == Some(SameSite::None);
        self.render(
            "\"\"",
            Some("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(0),
            secure,
        )
    }

    fn render(
        &self,
        value: &str,
        expires: Option<&str>,
        max_age: Option<i64>,
        secure: bool,
    ) -> String {
        let mut out = format!("{}={}", self.name, value);
        if let Some(d) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(d);
        }
        if let Some(e) = expires {
            out.push_str("; expires=");
            out.push_str(e);
        }
        if self.httponly {
            out.push_str("; HttpOnly");
        }
        if let Some(m) = max_age {
            out.push_str(&format!("; Max-Age={m}"));
        }
        out.push_str("; Path=");
        out.push_str(&self.path);
        if let Some(s) = self.samesite {
            out.push_str("; SameSite=");
            out.push_str(s.as_str());
        }
        if secure {
            out.push_str("; Secure");
        }
        out
    }
}

/// What the response needs, decided by Django's `SessionMiddleware` rules
/// (`Engine::end_request`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseCookie {
    /// A `Set-Cookie` header value to send, if any.
    pub set_cookie: Option<String>,
    /// Whether to add `Cookie` to the `Vary` header.
    pub vary_cookie: bool,
    /// Whether the session was saved.
    pub saved: bool,
}
