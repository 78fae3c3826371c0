//! Session values across the boundary: MessagePack bytes as stored, and
//! JSON for C callers without a MessagePack library.

use rmpv::Value;

use super::error::{sessile_result, Fail};
use crate::json;
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

/// Parses JSON text into a MessagePack value, by [`json::from_json`]'s
/// rules.
pub(crate) fn json_to_value(text: &str) -> Result<Value, Fail> {
    let j: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Fail::data(format!("not JSON: {e}")))?;
    Ok(json::from_json(&j))
}

/// Renders a value as JSON text, or `SESSILE_RESULT_WRONG_TYPE` for what
/// JSON cannot hold ([`json::to_json`]): binary and extension values, maps
/// with non-string keys, strings that are not UTF-8, infinities and NaN.
pub(crate) fn value_to_json(v: &Value) -> Result<String, Fail> {
    Ok(json::to_json(v).map_err(wrong)?.to_string())
}

/// Session data as a JSON object.
pub(crate) fn data_to_json(data: &Data) -> Result<String, Fail> {
    let mut obj = serde_json::Map::new();
    for (k, v) in data {
        obj.insert(k.clone(), json::to_json(v).map_err(wrong)?);
    }
    Ok(serde_json::Value::Object(obj).to_string())
}

fn wrong(e: json::NotJson) -> Fail {
    Fail::new(sessile_result::WrongType, e.to_string())
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
        // Which values those are: crate::json's tests.
        let v = Value::Binary(vec![0]);
        assert_eq!(
            value_to_json(&v).unwrap_err().code,
            sessile_result::WrongType
        );
        let data = Data::from([("k".to_owned(), v)]);
        assert_eq!(
            data_to_json(&data).unwrap_err().code,
            sessile_result::WrongType
        );
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
