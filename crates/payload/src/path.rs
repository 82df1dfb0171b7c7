//! Key paths into a JSON payload, in Qdrant's syntax.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::PayloadError;

/// One step of a [`JsonPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// An object key.
    Key(String),
    /// `[n]`: one element of an array.
    Index(usize),
    /// `[]`: every element of an array.
    Each,
}

/// A path to values inside a payload: keys joined by `.`, `[]` for every
/// element of an array, `[n]` for one element, and `"..."` for keys that
/// contain dots or brackets. An array at the end of the path is flattened
/// (a condition on `tags` matches any element), as in Qdrant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JsonPath {
    segments: Vec<PathSegment>,
}

fn bad(path: &str, reason: impl Into<String>) -> PayloadError {
    PayloadError::BadPath {
        path: path.to_string(),
        reason: reason.into(),
    }
}

impl FromStr for JsonPath {
    type Err = PayloadError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut segments = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        let mut expect_key = true;
        while i < b.len() {
            match b[i] {
                b'[' => {
                    if segments.is_empty() {
                        return Err(bad(s, "a path starts with a key"));
                    }
                    let close = s[i..]
                        .find(']')
                        .map(|j| i + j)
                        .ok_or_else(|| bad(s, "unclosed '['"))?;
                    let inner = &s[i + 1..close];
                    if inner.is_empty() {
                        segments.push(PathSegment::Each);
                    } else {
                        let n = inner.parse::<usize>().map_err(|_| {
                            bad(s, format!("array index {inner:?} is not a number"))
                        })?;
                        segments.push(PathSegment::Index(n));
                    }
                    i = close + 1;
                    expect_key = false;
                }
                b'.' => {
                    if expect_key {
                        return Err(bad(s, "empty key"));
                    }
                    i += 1;
                    expect_key = true;
                    if i == b.len() {
                        return Err(bad(s, "ends with '.'"));
                    }
                }
                b'"' => {
                    if !expect_key {
                        return Err(bad(s, "expected '.' before a key"));
                    }
                    let close = s[i + 1..]
                        .find('"')
                        .map(|j| i + 1 + j)
                        .ok_or_else(|| bad(s, "unclosed '\"'"))?;
                    segments.push(PathSegment::Key(s[i + 1..close].to_string()));
                    i = close + 1;
                    expect_key = false;
                }
                _ => {
                    if !expect_key {
                        return Err(bad(s, "expected '.' or '[' after a key"));
                    }
                    let end = s[i..].find(['.', '[', '"', ']']).map_or(b.len(), |j| i + j);
                    if end < b.len() && (b[end] == b'"' || b[end] == b']') {
                        return Err(bad(s, format!("unexpected {:?}", b[end] as char)));
                    }
                    let key = &s[i..end];
                    if key.trim().is_empty() {
                        return Err(bad(s, "empty key"));
                    }
                    segments.push(PathSegment::Key(key.to_string()));
                    i = end;
                    expect_key = false;
                }
            }
        }
        if segments.is_empty() {
            return Err(bad(s, "empty path"));
        }
        Ok(JsonPath { segments })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                PathSegment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    // quoted when an unquoted spelling would not parse back
                    if k.trim().is_empty() || k.contains(['.', '[', ']', '"']) {
                        write!(f, "\"{k}\"")?;
                    } else {
                        f.write_str(k)?;
                    }
                }
                PathSegment::Index(n) => write!(f, "[{n}]")?,
                PathSegment::Each => f.write_str("[]")?,
            }
        }
        Ok(())
    }
}

impl Serialize for JsonPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for JsonPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonPath {
    /// The path's steps.
    pub fn segments(&self) -> &[PathSegment] {
        &self.segments
    }

    /// The first key of the path.
    pub fn head(&self) -> &str {
        match &self.segments[0] {
            PathSegment::Key(k) => k,
            _ => unreachable!("a parsed path starts with a key"),
        }
    }

    /// The path without its last step (the path itself if it has one step).
    pub fn without_last(&self) -> JsonPath {
        let n = self.segments.len().max(2) - 1;
        JsonPath {
            segments: self.segments[..n].to_vec(),
        }
    }

    /// Every value the path reaches in `payload`. An array reached at the
    /// end of the path is flattened one level (its elements are the
    /// values); on the way, only `[]` and `[n]` step into arrays (`a.b`
    /// does not look inside an array at `a`), as in Qdrant.
    pub fn values<'a>(&self, payload: &'a Map<String, Value>) -> Vec<&'a Value> {
        let mut out = Vec::new();
        if let Some(v) = payload.get(self.head()) {
            collect(v, &self.segments[1..], &mut out);
        }
        out
    }

    /// The values the path reaches without flattening a final array: what
    /// `is_empty` and `values_count` look at.
    pub fn raw_values<'a>(&self, payload: &'a Map<String, Value>) -> Vec<&'a Value> {
        let mut out = Vec::new();
        if let Some(v) = payload.get(self.head()) {
            collect_raw(v, &self.segments[1..], &mut out);
        }
        out
    }
}

fn collect<'a>(v: &'a Value, rest: &[PathSegment], out: &mut Vec<&'a Value>) {
    match rest.split_first() {
        None => match v {
            Value::Array(items) => out.extend(items.iter()),
            other => out.push(other),
        },
        Some((seg, tail)) => step(v, seg, tail, out, collect),
    }
}

fn collect_raw<'a>(v: &'a Value, rest: &[PathSegment], out: &mut Vec<&'a Value>) {
    match rest.split_first() {
        None => out.push(v),
        Some((seg, tail)) => step(v, seg, tail, out, collect_raw),
    }
}

type Collector = for<'a> fn(&'a Value, &[PathSegment], &mut Vec<&'a Value>);

fn step<'a>(
    v: &'a Value,
    seg: &PathSegment,
    tail: &[PathSegment],
    out: &mut Vec<&'a Value>,
    next: Collector,
) {
    match (seg, v) {
        (PathSegment::Key(k), Value::Object(m)) => {
            if let Some(c) = m.get(k) {
                next(c, tail, out);
            }
        }
        (PathSegment::Index(n), Value::Array(items)) => {
            if let Some(c) = items.get(*n) {
                next(c, tail, out);
            }
        }
        (PathSegment::Each, Value::Array(items)) => {
            for item in items {
                next(item, tail, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> JsonPath {
        s.parse().unwrap()
    }

    #[test]
    fn parses_qdrant_paths() {
        assert_eq!(p("a").segments(), &[PathSegment::Key("a".into())]);
        assert_eq!(
            p("a[].b").segments(),
            &[
                PathSegment::Key("a".into()),
                PathSegment::Each,
                PathSegment::Key("b".into())
            ]
        );
        assert_eq!(p("a[2].b").segments()[1], PathSegment::Index(2));
        assert_eq!(
            p("\"x.y\".z").segments(),
            &[PathSegment::Key("x.y".into()), PathSegment::Key("z".into())]
        );
        for s in ["a[].b", "a[3]", "a.b.c", "\"x.y\".z", "\"\".b", "\" \""] {
            assert_eq!(p(s).to_string(), s);
            assert_eq!(p(&p(s).to_string()), p(s));
        }
    }

    #[test]
    fn rejects_malformed_paths() {
        for s in [
            "", ".a", "a.", "a..b", "[0]", "a[x]", "a[", "a\"b\"", "\"open", "a]",
        ] {
            assert!(s.parse::<JsonPath>().is_err(), "{s:?} should not parse");
        }
    }

    #[test]
    fn values_flatten_arrays() {
        let v =
            json!({"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}], "t": ["x", "y"], "n": {"m": null}});
        let m = v.as_object().unwrap();
        assert_eq!(p("a[].b").values(m), vec![&json!(1), &json!(2), &json!(3)]);
        assert!(
            p("a.b").values(m).is_empty(),
            "a key does not look inside an array"
        );
        assert_eq!(p("a[1].b").values(m), vec![&json!(2), &json!(3)]);
        assert_eq!(p("t").values(m), vec![&json!("x"), &json!("y")]);
        assert_eq!(p("t").raw_values(m), vec![&json!(["x", "y"])]);
        assert_eq!(p("n.m").values(m), vec![&Value::Null]);
        assert!(p("missing.x").values(m).is_empty());
    }
}
