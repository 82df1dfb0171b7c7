//! Payload values: Qdrant's `json_with_int` `Value` <-> `serde_json::Value`,
//! keeping integers and doubles apart.

use std::collections::HashMap;

use serde_json::{Map, Number};
use tonic::Status;
use vicinity::Payload;

use crate::pb::{self, value::Kind};
use crate::status::invalid;

/// A wire value as JSON. A missing kind reads as `null`; a non-finite
/// double is refused (JSON cannot hold it).
pub fn json_from_proto(v: pb::Value) -> Result<serde_json::Value, Status> {
    Ok(match v.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(b),
        Some(Kind::IntegerValue(i)) => serde_json::Value::Number(i.into()),
        Some(Kind::DoubleValue(d)) => serde_json::Value::Number(
            Number::from_f64(d)
                .ok_or_else(|| invalid(format!("payload value {d} is not finite")))?,
        ),
        Some(Kind::StringValue(s)) => serde_json::Value::String(s),
        Some(Kind::ListValue(l)) => serde_json::Value::Array(
            l.values
                .into_iter()
                .map(json_from_proto)
                .collect::<Result<_, _>>()?,
        ),
        Some(Kind::StructValue(s)) => serde_json::Value::Object(map_from_proto(s.fields)?),
    })
}

/// A wire map as a JSON object.
pub fn map_from_proto(
    fields: HashMap<String, pb::Value>,
) -> Result<Map<String, serde_json::Value>, Status> {
    fields
        .into_iter()
        .map(|(k, v)| Ok((k, json_from_proto(v)?)))
        .collect()
}

/// A wire payload as a payload.
pub fn payload_from_proto(fields: HashMap<String, pb::Value>) -> Result<Payload, Status> {
    Ok(Payload::from(map_from_proto(fields)?))
}

/// JSON as a wire value: integers that fit `i64` stay integers, every other
/// number is a double.
pub fn json_to_proto(v: serde_json::Value) -> pb::Value {
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(pb::NullValue::NullValue as i32),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Kind::IntegerValue(i),
            None => Kind::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(a) => Kind::ListValue(pb::ListValue {
            values: a.into_iter().map(json_to_proto).collect(),
        }),
        serde_json::Value::Object(m) => Kind::StructValue(pb::Struct {
            fields: map_to_proto(m),
        }),
    };
    pb::Value { kind: Some(kind) }
}

/// A JSON object as a wire map.
pub fn map_to_proto(m: Map<String, serde_json::Value>) -> HashMap<String, pb::Value> {
    m.into_iter().map(|(k, v)| (k, json_to_proto(v))).collect()
}

/// A payload as a wire map.
pub fn payload_to_proto(p: Option<Payload>) -> HashMap<String, pb::Value> {
    match p.map(Payload::into_value) {
        Some(serde_json::Value::Object(m)) => map_to_proto(m),
        _ => HashMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_and_doubles_stay_apart() {
        let i = json_from_proto(pb::Value {
            kind: Some(Kind::IntegerValue(1)),
        })
        .unwrap();
        let d = json_from_proto(pb::Value {
            kind: Some(Kind::DoubleValue(1.0)),
        })
        .unwrap();
        assert_ne!(i, d);
        assert!(i.is_i64());
        assert!(d.is_f64());
        assert_eq!(json_to_proto(i).kind, Some(Kind::IntegerValue(1)));
        assert_eq!(json_to_proto(d).kind, Some(Kind::DoubleValue(1.0)));
    }

    #[test]
    fn round_trip() {
        let v = json!({"a": [1, 2.5, "x", null, true, {"b": -3}], "big": u64::MAX});
        let back = json_from_proto(json_to_proto(v.clone())).unwrap();
        assert_eq!(back["a"], v["a"]);
        // u64 beyond i64 becomes a double, as the wire has no u64
        assert_eq!(back["big"].as_f64(), Some(u64::MAX as f64));
    }

    #[test]
    fn non_finite_is_refused_and_missing_kind_is_null() {
        assert!(
            json_from_proto(pb::Value {
                kind: Some(Kind::DoubleValue(f64::NAN))
            })
            .is_err()
        );
        assert_eq!(
            json_from_proto(pb::Value { kind: None }).unwrap(),
            serde_json::Value::Null
        );
    }
}
