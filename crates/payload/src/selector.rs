//! Which parts of a payload a result carries (`with_payload`).

use serde_json::{Map, Value};

use crate::{JsonPath, PathSegment, Payload};

/// Qdrant's `with_payload`: all of it, none of it, only some keys, or all
/// but some keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum PayloadSelector {
    /// The whole payload.
    All,
    /// No payload.
    #[default]
    None,
    /// Only the values these paths reach, in their place.
    Include(Vec<JsonPath>),
    /// Everything but the values these paths reach.
    Exclude(Vec<JsonPath>),
}

impl From<bool> for PayloadSelector {
    fn from(all: bool) -> Self {
        if all {
            PayloadSelector::All
        } else {
            PayloadSelector::None
        }
    }
}

impl PayloadSelector {
    /// The part of `payload` this selector chooses; `None` for
    /// [`PayloadSelector::None`].
    pub fn apply(&self, payload: &Payload) -> Option<Payload> {
        match self {
            PayloadSelector::None => None,
            PayloadSelector::All => Some(payload.clone()),
            PayloadSelector::Exclude(paths) => {
                let mut p = payload.clone();
                for path in paths {
                    p.remove(path);
                }
                Some(p)
            }
            PayloadSelector::Include(paths) => {
                let mut out = Map::new();
                for path in paths {
                    if let Some(v) = payload.as_map().get(path.head())
                        && let Some(projected) = project(v, &path.segments()[1..])
                    {
                        match out.get_mut(path.head()) {
                            Some(existing) => deep_merge(existing, projected),
                            None => {
                                out.insert(path.head().to_string(), projected);
                            }
                        }
                    }
                }
                Some(Payload::from(out))
            }
        }
    }
}

/// The part of `v` that `rest` reaches, keeping the structure around it.
fn project(v: &Value, rest: &[PathSegment]) -> Option<Value> {
    let Some((seg, tail)) = rest.split_first() else {
        return Some(v.clone());
    };
    match (seg, v) {
        (PathSegment::Key(k), Value::Object(m)) => {
            let inner = project(m.get(k)?, tail)?;
            let mut o = Map::new();
            o.insert(k.clone(), inner);
            Some(Value::Object(o))
        }
        (PathSegment::Key(_), Value::Array(items)) | (PathSegment::Each, Value::Array(items)) => {
            let next = if matches!(seg, PathSegment::Each) {
                tail
            } else {
                rest
            };
            Some(Value::Array(
                items.iter().filter_map(|i| project(i, next)).collect(),
            ))
        }
        (PathSegment::Index(n), Value::Array(items)) => {
            Some(Value::Array(vec![project(items.get(*n)?, tail)?]))
        }
        _ => None,
    }
}

/// Merges two projections of the same payload.
fn deep_merge(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (k, v) in s {
                match d.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        d.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(d), Value::Array(s)) if d.len() == s.len() => {
            for (a, b) in d.iter_mut().zip(s) {
                deep_merge(a, b);
            }
        }
        (d, s) => *d = s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(ps: &[&str]) -> Vec<JsonPath> {
        ps.iter().map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn include_and_exclude() {
        let p = Payload::try_from(json!({
            "brand": "a", "price": 3, "meta": {"rating": 4.5, "votes": 9},
            "variants": [{"color": "red", "size": 1}, {"color": "blue", "size": 2}]
        }))
        .unwrap();
        assert_eq!(PayloadSelector::None.apply(&p), None);
        assert_eq!(PayloadSelector::All.apply(&p), Some(p.clone()));
        let inc =
            PayloadSelector::Include(paths(&["brand", "meta.rating", "variants[].color", "nope"]));
        assert_eq!(
            inc.apply(&p).unwrap().into_value(),
            json!({"brand": "a", "meta": {"rating": 4.5}, "variants": [{"color": "red"}, {"color": "blue"}]})
        );
        let both = PayloadSelector::Include(paths(&["meta.rating", "meta.votes"]));
        assert_eq!(
            both.apply(&p).unwrap().into_value(),
            json!({"meta": {"rating": 4.5, "votes": 9}})
        );
        let exc = PayloadSelector::Exclude(paths(&["price", "meta.votes", "variants[].size"]));
        assert_eq!(
            exc.apply(&p).unwrap().into_value(),
            json!({"brand": "a", "meta": {"rating": 4.5}, "variants": [{"color": "red"}, {"color": "blue"}]})
        );
    }
}
