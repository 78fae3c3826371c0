//! Conversions between what is stored and what the CLI prints: session
//! data (MessagePack) as readable JSON and back, bytes as base64, times as
//! RFC 3339. docs/CLI.md states the mapping; the JSON is readable but not
//! always exact, which is why `export` also carries the MessagePack bytes.

use serde_json::{Map, Number, Value as Json};
use sessile::{Expiry, Value};

/// A session data key (or a whole map) whose one key is this holds binary.
pub const BINARY_TAG: &str = "$base64";
/// ... and this, a MessagePack extension value.
pub const EXT_TAG: &str = "$ext";

/// MessagePack → JSON, per docs/CLI.md: binary becomes `{"$base64": …}`,
/// an extension `{"$ext": {"type": t, "base64": …}}`, non-finite floats
/// `null`, non-string map keys their JSON text, and text that is not UTF-8
/// is repaired with U+FFFD.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Json::from(u),
            (None, Some(s)) => Json::from(s),
            // rmpv integers are always u64 or i64.
            (None, None) => Json::Null,
        },
        Value::F32(f) => float(f64::from(*f)),
        Value::F64(f) => float(*f),
        Value::String(s) => Json::String(match s.as_str() {
            Some(s) => s.to_owned(),
            None => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        }),
        Value::Binary(b) => tagged(BINARY_TAG, Json::String(base64_encode(b))),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Value::String(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                    other => to_json(other).to_string(),
                };
                map.insert(key, to_json(v));
            }
            Json::Object(map)
        }
        Value::Ext(t, b) => {
            let mut inner = Map::new();
            inner.insert("type".into(), Json::from(*t));
            inner.insert("base64".into(), Json::String(base64_encode(b)));
            tagged(EXT_TAG, Json::Object(inner))
        }
    }
}

fn float(f: f64) -> Json {
    Number::from_f64(f).map_or(Json::Null, Json::Number)
}

fn tagged(tag: &str, v: Json) -> Json {
    let mut map = Map::new();
    map.insert(tag.into(), v);
    Json::Object(map)
}

/// JSON → MessagePack, the inverse of [`to_json`] where it is exact:
/// integers stay integers, other numbers become 64-bit floats, and an
/// object whose only key is `$base64` or `$ext` becomes binary or an
/// extension value again.
pub fn from_json(v: &Json) -> Result<Value, String> {
    Ok(match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::Array(items.iter().map(from_json).collect::<Result<_, _>>()?),
        Json::Object(map) => {
            if map.len() == 1 {
                if let Some(b) = map.get(BINARY_TAG) {
                    let text = b
                        .as_str()
                        .ok_or_else(|| format!("{BINARY_TAG} must be a base64 string"))?;
                    return Ok(Value::Binary(base64_decode(text)?));
                }
                if let Some(ext) = map.get(EXT_TAG) {
                    return ext_from_json(ext);
                }
            }
            Value::Map(
                map.iter()
                    .map(|(k, v)| Ok((Value::from(k.as_str()), from_json(v)?)))
                    .collect::<Result<_, String>>()?,
            )
        }
    })
}

fn ext_from_json(ext: &Json) -> Result<Value, String> {
    let bad = || format!("{EXT_TAG} must be {{\"type\": -128..=127, \"base64\": string}}");
    let t = ext
        .get("type")
        .and_then(Json::as_i64)
        .and_then(|t| i8::try_from(t).ok())
        .ok_or_else(bad)?;
    let b = ext.get("base64").and_then(Json::as_str).ok_or_else(bad)?;
    Ok(Value::Ext(t, base64_decode(b)?))
}

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

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 §4) with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 with padding; anything else is an error.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(4) {
        return Err(format!("base64 length {} is not a multiple of 4", b.len()));
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (q, quad) in b.chunks(4).enumerate() {
        let last = q == b.len() / 4 - 1;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err("misplaced base64 padding".into());
        }
        let mut n = 0u32;
        for (i, &c) in quad.iter().enumerate() {
            let v = if i >= 4 - pad {
                0
            } else {
                sextet(c).ok_or_else(|| format!("{:?} is not a base64 character", c as char))?
            };
            n = (n << 6) | u32::from(v);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Ok(out)
}

fn sextet(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
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
    fn base64_round_trips_every_length() {
        let data: Vec<u8> = (0..=255).collect();
        for n in 0..40 {
            let enc = base64_encode(&data[..n]);
            assert_eq!(base64_decode(&enc).unwrap(), &data[..n]);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert!(base64_decode("Zm8").is_err());
        assert!(base64_decode("Z=8=").is_err());
        assert!(base64_decode("Zm8=Zm8=").is_err());
        assert!(base64_decode("Zm!=").is_err());
    }

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn binary_and_ext_survive_the_readable_mapping() {
        let v = Value::Map(vec![
            (Value::from("b"), Value::Binary(vec![0, 1, 255])),
            (Value::from("e"), Value::Ext(-3, vec![9])),
            (Value::from("n"), Value::from(-5)),
            (Value::from("u"), Value::from(u64::MAX)),
        ]);
        assert_eq!(from_json(&to_json(&v)).unwrap(), v);
    }
}
