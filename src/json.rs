//! Session values as JSON: the one mapping between MessagePack values
//! ([`rmpv::Value`], what a record stores) and JSON values
//! ([`serde_json::Value`]).
//!
//! It comes in two forms that share every rule but the ones for what JSON
//! has no type for:
//!
//! - **Plain JSON** ([`to_json`], [`from_json`]): what the C ABI's `_json`
//!   functions, the tower-sessions store and the actix-session store hand to
//!   programs that hold JSON values. A value JSON cannot hold, stored there
//!   by another binding, is an error ([`NotJson`]) rather than a look-alike:
//!   a program shown `null` for a binary value, or `"1"` for an integer key,
//!   would write that back in its place.
//! - **Readable JSON** ([`to_readable_json`], [`from_readable_json`]): what
//!   the `sessile` CLI prints and reads back (`get`, `export`'s `data`,
//!   `import`; docs/CLI.md). Every value has a form, for people to read: the
//!   types JSON lacks are tagged objects that read back exactly, and the
//!   rest is shown as near as JSON gets (the CLI's exports also carry the
//!   exact bytes).
//!
//! | MessagePack | plain JSON | readable JSON |
//! |-------------|------------|---------------|
//! | nil, boolean | `null`, `true`/`false` | the same |
//! | integer | number, exact over the whole u64 and i64 ranges | the same |
//! | float 32/64, finite | number | the same |
//! | float NaN, ±∞ | [`NotJson::NonFinite`] | `null` |
//! | string | string | the same |
//! | string that is not UTF-8 | [`NotJson::NotUtf8`] | repaired with U+FFFD |
//! | binary | [`NotJson::Binary`] | `{"$base64": "…"}` |
//! | extension | [`NotJson::Extension`] | `{"$ext": {"type": T, "base64": "…"}}` |
//! | array | array | the same |
//! | map with string keys | object | the same |
//! | map with other keys | [`NotJson::NonStringKey`] | object; such a key becomes its JSON text (`1` → `"1"`) |
//!
//! Back from JSON, in both forms: `null` and booleans are themselves, a
//! number that is an integer in the i64 or u64 range is an integer, any
//! other number a 64-bit float, strings, arrays and objects are strings,
//! arrays and maps with string keys. The readable form alone reads an object
//! whose only key is `$base64` or `$ext` as binary or an extension value
//! (its base64 is standard, RFC 4648 §4, padded).
//!
//! Object keys come out in serde_json's order (sorted); when two map keys
//! give the same JSON key, the last one's value is kept. The conversions
//! recurse once per level of nesting and set no depth limit of their own:
//! serde_json's parser stops at 128 levels and stored values at
//! [`MAX_NESTING`](crate::MAX_NESTING).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rmpv::Value;
use serde_json::{Map, Number, Value as Json};

/// The readable form's tag for binary: `{"$base64": "…"}`.
pub const BINARY_TAG: &str = "$base64";
/// The readable form's tag for an extension value:
/// `{"$ext": {"type": T, "base64": "…"}}`.
pub const EXT_TAG: &str = "$ext";

/// What in a MessagePack value plain JSON cannot hold ([`to_json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotJson {
    /// A float that is NaN or infinite.
    #[error("the value holds an infinite or NaN number, which JSON cannot represent")]
    NonFinite,
    /// A string (a value or a map key) that is not UTF-8.
    #[error("the value holds a string that is not UTF-8, which JSON cannot represent")]
    NotUtf8,
    /// MessagePack binary.
    #[error("the value holds binary data, which JSON cannot represent")]
    Binary,
    /// A MessagePack extension value.
    #[error("the value holds a MessagePack extension value, which JSON cannot represent")]
    Extension,
    /// A map key that is not a string.
    #[error("the value holds a map key that is not a string, which JSON cannot represent")]
    NonStringKey,
}

/// Why readable JSON does not read back ([`from_readable_json`]), or text
/// is not base64; the message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(String);

/// Which of the two forms a conversion writes or reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Plain,
    Readable,
}

/// A MessagePack value as plain JSON, or what in it JSON cannot hold.
///
/// ```
/// use sessile::json::{to_json, NotJson};
/// use sessile::Value;
///
/// let v = Value::Map(vec![(Value::from("n"), Value::from(u64::MAX))]);
/// assert_eq!(to_json(&v).unwrap().to_string(), r#"{"n":18446744073709551615}"#);
/// assert_eq!(to_json(&Value::Binary(vec![1])), Err(NotJson::Binary));
/// ```
pub fn to_json(v: &Value) -> Result<Json, NotJson> {
    write(v, Form::Plain)
}

/// A MessagePack value as readable JSON: every value has one (see the
/// module's table).
///
/// ```
/// use sessile::json::to_readable_json;
/// use sessile::Value;
///
/// let v = Value::Array(vec![Value::Binary(vec![0, 255]), Value::F64(f64::NAN)]);
/// assert_eq!(to_readable_json(&v).to_string(), r#"[{"$base64":"AP8="},null]"#);
/// ```
pub fn to_readable_json(v: &Value) -> Json {
    // The readable form has no failure.
    write(v, Form::Readable).unwrap_or(Json::Null)
}

/// A JSON value as MessagePack: integers stay integers, other numbers
/// become 64-bit floats, objects maps with string keys.
///
/// ```
/// use sessile::json::from_json;
/// use sessile::Value;
///
/// let j = serde_json::json!({"n": -3, "x": 0.5});
/// let v = Value::Map(vec![
///     (Value::from("n"), Value::from(-3)),
///     (Value::from("x"), Value::F64(0.5)),
/// ]);
/// assert_eq!(from_json(&j), v);
/// ```
pub fn from_json(j: &Json) -> Value {
    // The plain form has no failure.
    read(j, Form::Plain).unwrap_or(Value::Nil)
}

/// Readable JSON as MessagePack: [`from_json`], and an object whose only
/// key is `$base64` or `$ext` is binary or an extension value again. The
/// inverse of [`to_readable_json`] wherever that is exact.
///
/// ```
/// use sessile::json::from_readable_json;
/// use sessile::Value;
///
/// let j = serde_json::json!({"$ext": {"type": 7, "base64": "AQ=="}});
/// assert_eq!(from_readable_json(&j).unwrap(), Value::Ext(7, vec![1]));
/// assert!(from_readable_json(&serde_json::json!({"$base64": 1})).is_err());
/// ```
pub fn from_readable_json(j: &Json) -> Result<Value, Malformed> {
    read(j, Form::Readable)
}

fn write(v: &Value, form: Form) -> Result<Json, NotJson> {
    let readable = form == Form::Readable;
    Ok(match v {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::Number(match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => u.into(),
            // rmpv holds every integer as a u64 or a negative i64.
            (None, n) => n.unwrap_or_default().into(),
        }),
        Value::F32(f) => float(f64::from(*f), form)?,
        Value::F64(f) => float(*f, form)?,
        Value::String(s) => Json::String(text(s, form)?),
        Value::Binary(b) if readable => tagged(BINARY_TAG, Json::String(base64_encode(b))),
        Value::Binary(_) => return Err(NotJson::Binary),
        Value::Ext(t, b) if readable => {
            let mut inner = Map::new();
            inner.insert("type".into(), Json::from(*t));
            inner.insert("base64".into(), Json::String(base64_encode(b)));
            tagged(EXT_TAG, Json::Object(inner))
        }
        Value::Ext(..) => return Err(NotJson::Extension),
        Value::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| write(v, form))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Value::String(s) => text(s, form)?,
                    other if readable => write(other, form)?.to_string(),
                    _ => return Err(NotJson::NonStringKey),
                };
                map.insert(key, write(v, form)?);
            }
            Json::Object(map)
        }
    })
}

fn float(f: f64, form: Form) -> Result<Json, NotJson> {
    match Number::from_f64(f) {
        Some(n) => Ok(Json::Number(n)),
        None if form == Form::Readable => Ok(Json::Null),
        None => Err(NotJson::NonFinite),
    }
}

fn text(s: &rmpv::Utf8String, form: Form) -> Result<String, NotJson> {
    match s.as_str() {
        Some(s) => Ok(s.to_owned()),
        None if form == Form::Readable => Ok(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        None => Err(NotJson::NotUtf8),
    }
}

fn tagged(tag: &str, v: Json) -> Json {
    let mut map = Map::new();
    map.insert(tag.into(), v);
    Json::Object(map)
}

fn read(j: &Json, form: Form) -> Result<Value, Malformed> {
    Ok(match j {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            // Without serde_json's `arbitrary_precision`, every number
            // that is not an integer is an f64.
            (None, None) => Value::F64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .map(|j| read(j, form))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => {
            if form == Form::Readable && map.len() == 1 {
                if let Some(b) = map.get(BINARY_TAG) {
                    let text = b.as_str().ok_or_else(|| {
                        Malformed(format!("{BINARY_TAG} must be a base64 string"))
                    })?;
                    return Ok(Value::Binary(base64_decode(text)?));
                }
                if let Some(ext) = map.get(EXT_TAG) {
                    return ext_from_json(ext);
                }
            }
            Value::Map(
                map.iter()
                    .map(|(k, v)| Ok((Value::from(k.as_str()), read(v, form)?)))
                    .collect::<Result<_, Malformed>>()?,
            )
        }
    })
}

fn ext_from_json(ext: &Json) -> Result<Value, Malformed> {
    let bad = || {
        Malformed(format!(
            "{EXT_TAG} must be {{\"type\": -128..=127, \"base64\": string}}"
        ))
    };
    let t = ext
        .get("type")
        .and_then(Json::as_i64)
        .and_then(|t| i8::try_from(t).ok())
        .ok_or_else(bad)?;
    let b = ext.get("base64").and_then(Json::as_str).ok_or_else(bad)?;
    Ok(Value::Ext(t, base64_decode(b)?))
}

/// Standard base64 (RFC 4648 §4) with padding, as in the readable form's
/// tags and the CLI's `msgpack` field.
#[doc(hidden)]
pub fn base64_encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Decodes standard base64 with padding; anything else (no padding, the
/// URL-safe alphabet, whitespace) is an error.
#[doc(hidden)]
pub fn base64_decode(text: &str) -> Result<Vec<u8>, Malformed> {
    BASE64
        .decode(text)
        .map_err(|e| Malformed(format!("not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(entries: Vec<(Value, Value)>) -> Value {
        Value::Map(entries)
    }

    /// A string that is not UTF-8.
    fn not_utf8() -> Value {
        rmpv::decode::read_value(&mut &[0xa2, 0xff, 0xfe][..]).unwrap()
    }

    #[test]
    fn nil_booleans_strings_arrays_and_string_keyed_maps_are_themselves() {
        let v = map(vec![
            (
                Value::from("a"),
                Value::Array(vec![Value::Nil, true.into()]),
            ),
            (Value::from("m"), map(vec![])),
            (Value::from("s"), Value::from("Zoë ✓")),
        ]);
        let j = json!({"a": [null, true], "s": "Zoë ✓", "m": {}});
        assert_eq!(to_json(&v).unwrap(), j);
        assert_eq!(to_readable_json(&v), j);
        assert_eq!(from_json(&j), v);
        assert_eq!(from_readable_json(&j).unwrap(), v);
    }

    #[test]
    fn integers_are_exact_over_the_u64_and_i64_ranges() {
        for n in [Value::from(u64::MAX), Value::from(i64::MIN), Value::from(0)] {
            let j = to_json(&n).unwrap();
            assert_eq!(j.to_string(), n.to_string());
            assert_eq!(to_readable_json(&n), j);
            assert_eq!(from_json(&j), n);
        }
        // The smallest encoding, however the integer was written.
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &from_json(&json!(1))).unwrap();
        assert_eq!(bytes, [0x01]);
    }

    #[test]
    fn numbers_that_are_not_integers_become_f64() {
        assert_eq!(from_json(&json!(2.5)), Value::F64(2.5));
        assert_eq!(from_json(&json!(1.0)), Value::F64(1.0));
        // Beyond u64: serde_json parses it as a float.
        let big: Json = serde_json::from_str("18446744073709551616").unwrap();
        assert_eq!(from_json(&big), Value::F64(18446744073709551616.0));
        // Floats of either width are numbers.
        assert_eq!(to_json(&Value::F32(1.5)).unwrap(), json!(1.5));
        assert_eq!(to_json(&Value::F64(-0.25)).unwrap(), json!(-0.25));
    }

    #[test]
    fn non_finite_floats_are_refused_plain_and_null_readable() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(to_json(&Value::F64(f)), Err(NotJson::NonFinite));
            assert_eq!(to_readable_json(&Value::F64(f)), Json::Null);
        }
        assert_eq!(to_json(&Value::F32(f32::NAN)), Err(NotJson::NonFinite));
    }

    #[test]
    fn strings_not_utf8_are_refused_plain_and_repaired_readable() {
        assert_eq!(to_json(&not_utf8()), Err(NotJson::NotUtf8));
        assert_eq!(to_readable_json(&not_utf8()), json!("\u{fffd}\u{fffd}"));
        let keyed = map(vec![(not_utf8(), Value::Nil)]);
        assert_eq!(to_json(&keyed), Err(NotJson::NotUtf8));
        assert_eq!(to_readable_json(&keyed), json!({"\u{fffd}\u{fffd}": null}));
    }

    #[test]
    fn binary_is_refused_plain_and_tagged_readable() {
        let v = Value::Binary(vec![0, 159, 146, 150, 255]);
        assert_eq!(to_json(&v), Err(NotJson::Binary));
        let j = json!({"$base64": "AJ+Slv8="});
        assert_eq!(to_readable_json(&v), j);
        assert_eq!(from_readable_json(&j).unwrap(), v);
        // Plain JSON has no tags: the object is a map.
        assert_eq!(
            from_json(&j),
            map(vec![(Value::from("$base64"), Value::from("AJ+Slv8="))])
        );
    }

    #[test]
    fn extensions_are_refused_plain_and_tagged_readable() {
        let v = Value::Ext(-3, vec![9]);
        assert_eq!(to_json(&v), Err(NotJson::Extension));
        let j = json!({"$ext": {"type": -3, "base64": "CQ=="}});
        assert_eq!(to_readable_json(&v), j);
        assert_eq!(from_readable_json(&j).unwrap(), v);
        assert!(from_json(&j).is_map());
    }

    #[test]
    fn non_string_keys_are_refused_plain_and_their_json_text_readable() {
        let v = map(vec![
            (Value::from(1), Value::from("int key")),
            (Value::Nil, Value::from(true)),
        ]);
        assert_eq!(to_json(&v), Err(NotJson::NonStringKey));
        assert_eq!(to_readable_json(&v), json!({"1": "int key", "null": true}));
    }

    #[test]
    fn a_refusal_anywhere_inside_refuses_the_whole_value() {
        let v = Value::Array(vec![map(vec![(
            Value::from("deep"),
            Value::Binary(vec![]),
        )])]);
        assert_eq!(to_json(&v), Err(NotJson::Binary));
    }

    #[test]
    fn only_well_formed_single_key_tags_read_back_as_tags() {
        // Another key beside the tag: an ordinary map.
        let j = json!({"$base64": "AQI=", "x": 1});
        assert!(from_readable_json(&j).unwrap().is_map());
        for bad in [
            json!({"$base64": 1}),
            json!({"$base64": "AQI"}),
            json!({"$ext": {"type": 128, "base64": ""}}),
            json!({"$ext": {"type": 1}}),
            json!([{"$ext": 1}]),
        ] {
            assert!(from_readable_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base64_round_trips_every_length_and_refuses_the_rest() {
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
}
