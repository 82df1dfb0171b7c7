//! The JSON object stored with a point.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{JsonPath, PathSegment, PayloadError};

/// A point's payload: a JSON object. Integers and floats stay distinct
/// (`1` and `1.0` are different values), as in Qdrant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(Map<String, Value>);

impl TryFrom<Value> for Payload {
    type Error = PayloadError;

    fn try_from(v: Value) -> Result<Self, Self::Error> {
        match v {
            Value::Object(m) => Ok(Payload(m)),
            other => Err(PayloadError::NotAnObject {
                got: json_type(&other),
            }),
        }
    }
}

impl From<Map<String, Value>> for Payload {
    fn from(m: Map<String, Value>) -> Self {
        Payload(m)
    }
}

/// The JSON type name of a value, for messages.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Payload {
    /// An empty payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key-value map.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The payload as a JSON value (always an object).
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    /// Whether the payload has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets every top-level key of `other`, keeping the other keys
    /// (Qdrant's `set_payload`).
    pub fn merge(&mut self, other: &Payload) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
    }

    /// Sets the keys of `other` inside the object(s) that `path` reaches,
    /// creating objects on the way when missing (Qdrant's `set_payload` with
    /// `key`).
    pub fn merge_at(&mut self, path: &JsonPath, other: &Payload) {
        let head = path.head().to_string();
        let slot = self.0.entry(head).or_insert(Value::Null);
        merge_into(slot, &path.segments()[1..], other);
    }

    /// Removes what `path` reaches (Qdrant's `delete_payload`); returns
    /// whether anything was removed.
    pub fn remove(&mut self, path: &JsonPath) -> bool {
        let segs = path.segments();
        if segs.len() == 1 {
            return self.0.remove(path.head()).is_some();
        }
        match self.0.get_mut(path.head()) {
            Some(v) => remove_in(v, &segs[1..]),
            None => false,
        }
    }
}

fn merge_into(slot: &mut Value, rest: &[PathSegment], other: &Payload) {
    match rest.split_first() {
        None => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(m) = slot {
                for (k, v) in &other.0 {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        Some((PathSegment::Key(k), tail)) => {
            if let Value::Array(items) = slot {
                for item in items.iter_mut().filter(|i| i.is_object()) {
                    merge_into(item, rest, other);
                }
                return;
            }
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(m) = slot {
                merge_into(m.entry(k.clone()).or_insert(Value::Null), tail, other);
            }
        }
        Some((PathSegment::Each, tail)) => {
            if let Value::Array(items) = slot {
                for item in items {
                    merge_into(item, tail, other);
                }
            }
        }
        Some((PathSegment::Index(n), tail)) => {
            if let Value::Array(items) = slot
                && let Some(item) = items.get_mut(*n)
            {
                merge_into(item, tail, other);
            }
        }
    }
}

fn remove_in(v: &mut Value, rest: &[PathSegment]) -> bool {
    let (seg, tail) = match rest.split_first() {
        Some(x) => x,
        None => return false,
    };
    let last = tail.is_empty();
    match (seg, v) {
        (PathSegment::Key(k), Value::Object(m)) => {
            if last {
                m.remove(k).is_some()
            } else {
                m.get_mut(k).is_some_and(|c| remove_in(c, tail))
            }
        }
        (PathSegment::Key(_), Value::Array(items)) => {
            let mut any = false;
            for item in items.iter_mut() {
                any |= remove_in(item, rest);
            }
            any
        }
        (PathSegment::Each, Value::Array(items)) => {
            if last {
                let had = !items.is_empty();
                items.clear();
                had
            } else {
                let mut any = false;
                for item in items.iter_mut() {
                    any |= remove_in(item, tail);
                }
                any
            }
        }
        (PathSegment::Index(n), Value::Array(items)) => {
            if last {
                if *n < items.len() {
                    items.remove(*n);
                    true
                } else {
                    false
                }
            } else {
                items.get_mut(*n).is_some_and(|c| remove_in(c, tail))
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pl(v: Value) -> Payload {
        Payload::try_from(v).unwrap()
    }

    #[test]
    fn ints_and_floats_stay_apart() {
        let p: Payload = serde_json::from_str(r#"{"a": 1, "b": 1.0}"#).unwrap();
        assert!(p.as_map()["a"].is_u64());
        assert!(p.as_map()["b"].is_f64());
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"a":1,"b":1.0}"#);
    }

    #[test]
    fn merge_and_merge_at() {
        let mut p = pl(json!({"a": 1, "b": {"c": 2}}));
        p.merge(&pl(json!({"a": 5, "d": true})));
        assert_eq!(
            p.clone().into_value(),
            json!({"a": 5, "b": {"c": 2}, "d": true})
        );
        p.merge_at(&"b".parse().unwrap(), &pl(json!({"e": 3})));
        p.merge_at(&"x.y".parse().unwrap(), &pl(json!({"z": 0})));
        assert_eq!(
            p.into_value(),
            json!({"a": 5, "b": {"c": 2, "e": 3}, "d": true, "x": {"y": {"z": 0}}})
        );
        assert!(Payload::try_from(json!([1])).is_err());
    }

    #[test]
    fn remove_paths() {
        let mut p = pl(json!({"a": {"b": 1, "c": 2}, "l": [{"x": 1, "y": 2}, {"x": 3}], "t": 0}));
        assert!(p.remove(&"a.b".parse().unwrap()));
        assert!(p.remove(&"l[].x".parse().unwrap()));
        assert!(p.remove(&"t".parse().unwrap()));
        assert!(!p.remove(&"nothing.here".parse().unwrap()));
        assert_eq!(p.into_value(), json!({"a": {"c": 2}, "l": [{"y": 2}, {}]}));
    }
}
