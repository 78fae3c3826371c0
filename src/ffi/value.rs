//! Session values across the boundary: MessagePack bytes as stored, and
//! JSON for C callers without a MessagePack library.

use rmpv::Value;

use super::error::{sessile_result, Fail};
use crate::record::{decode_data, encode_data, Data};

/// One MessagePack value; trailing bytes are an error.
pub(crate) fn decode_value(mut bytes: &[u8]) -> Result<Value, Fail> {
    if bytes.is_empty() {
        return Err(Fail::data("empty input is not a MessagePack value"));
    }
    let v = rmpv::decode::read_value(&mut bytes)
        .map_err(|e| Fail::data(format!("not a MessagePack value: {e}")))?;
    if !bytes.is_empty() {
        return Err(Fail::data(format!(
            "{} bytes after the MessagePack value",
            bytes.len()
        )));
    }
    Ok(v)
}

pub(crate) fn encode_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, v);
    out
}

/// Session data: a MessagePack map with UTF-8 string keys. Empty input is
/// the empty map, so `(NULL, 0)` means "no data".
pub(crate) fn decode_map(bytes: &[u8]) -> Result<Data, Fail> {
    if bytes.is_empty() {
        return Ok(Data::new());
    }
    decode_data(bytes).map_err(|e| Fail::data(e.to_string()))
}

pub(crate) fn encode_map(data: &Data) -> Vec<u8> {
    encode_data(data)
}

/// A MessagePack array of strings (data keys to remove). Empty input is the
/// empty list.
pub(crate) fn decode_key_list(bytes: &[u8]) -> Result<Vec<String>, Fail> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let Value::Array(items) = decode_value(bytes)? else {
        return Err(Fail::data("the keys to remove are not a MessagePack array"));
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => s
                .into_str()
                .ok_or_else(|| Fail::data("a key to remove is not UTF-8")),
            _ => Err(Fail::data("a key to remove is not a string")),
        })
        .collect()
}

/// Parses JSON text into a MessagePack value: integers stay integers,
/// other numbers become 64-bit floats, objects become maps with string keys.
pub(crate) fn json_to_value(text: &str) -> Result<Value, Fail> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Fail::data(format!("not JSON: {e}")))?;
    Ok(from_json(json))
}

fn from_json(j: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Boolean(b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            // Neither integer form: a finite float (serde_json rejects the
            // rest while parsing).
            _ => Value::F64(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => Value::String(s.into()),
        J::Array(a) => Value::Array(a.into_iter().map(from_json).collect()),
        J::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| (Value::String(k.into()), from_json(v)))
                .collect(),
        ),
    }
}

/// Renders a value as JSON text, or `SESSILE_RESULT_WRONG_TYPE` for what
/// JSON cannot hold: binary and extension values, maps with non-string
/// keys, strings that are not UTF-8, infinities and NaN.
pub(crate) fn value_to_json(v: &Value) -> Result<String, Fail> {
    let json = to_json(v)?;
    serde_json::to_string(&json).map_err(|e| Fail::new(sessile_result::WrongType, e.to_string()))
}

/// Session data as a JSON object.
pub(crate) fn data_to_json(data: &Data) -> Result<String, Fail> {
    let mut obj = serde_json::Map::new();
    for (k, v) in data {
        obj.insert(k.clone(), to_json(v)?);
    }
    serde_json::to_string(&serde_json::Value::Object(obj))
        .map_err(|e| Fail::new(sessile_result::WrongType, e.to_string()))
}

fn wrong(what: &str) -> Fail {
    Fail::new(
        sessile_result::WrongType,
        format!("the value holds {what}, which JSON cannot represent"),
    )
}

fn to_json(v: &Value) -> Result<serde_json::Value, Fail> {
    use serde_json::Value as J;
    Ok(match v {
        Value::Nil => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => J::from(n),
            (None, Some(n)) => J::from(n),
            _ => return Err(wrong("an integer out of range")),
        },
        Value::F32(f) => float(f64::from(*f))?,
        Value::F64(f) => float(*f)?,
        Value::String(s) => J::String(
            s.as_str()
                .ok_or_else(|| wrong("a string that is not UTF-8"))?
                .to_owned(),
        ),
        Value::Binary(_) => return Err(wrong("binary data")),
        Value::Array(a) => J::Array(a.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let mut obj = serde_json::Map::new();
            for (k, v) in m {
                let Some(k) = k.as_str() else {
                    return Err(wrong("a map key that is not a string"));
                };
                obj.insert(k.to_owned(), to_json(v)?);
            }
            J::Object(obj)
        }
        Value::Ext(..) => return Err(wrong("a MessagePack extension value")),
    })
}

fn float(f: f64) -> Result<serde_json::Value, Fail> {
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .ok_or_else(|| wrong("an infinite or NaN number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_messagepack() {
        for text in [
            r#"{"a":[1,-2,2.5,"x",null,true],"b":{}}"#,
            "18446744073709551615",
            "-9223372036854775808",
            r#""""#,
        ] {
            let v = json_to_value(text).unwrap();
            assert_eq!(
                value_to_json(&decode_value(&encode_value(&v)).unwrap()).unwrap(),
                text
            );
        }
    }

    #[test]
    fn what_json_cannot_hold_is_a_wrong_type() {
        let wrong = [
            Value::Binary(vec![0]),
            Value::F64(f64::NAN),
            Value::Map(vec![(Value::from(1), Value::Nil)]),
            Value::Ext(1, vec![]),
        ];
        for v in wrong {
            assert_eq!(
                value_to_json(&v).unwrap_err().code,
                sessile_result::WrongType
            );
        }
    }

    #[test]
    fn input_must_be_exactly_one_value_of_the_right_shape() {
        assert_eq!(
            decode_value(&[]).unwrap_err().code,
            sessile_result::InvalidData
        );
        assert_eq!(
            decode_value(&[1, 2]).unwrap_err().code,
            sessile_result::InvalidData
        );
        assert_eq!(
            decode_map(&[1]).unwrap_err().code,
            sessile_result::InvalidData
        );
        assert!(decode_map(&[]).unwrap().is_empty());
        assert_eq!(
            decode_key_list(&[0x91, 1]).unwrap_err().code,
            sessile_result::InvalidData
        );
        assert_eq!(
            decode_key_list(&[0x91, 0xa1, b'k']).unwrap(),
            vec!["k".to_owned()]
        );
    }
}
