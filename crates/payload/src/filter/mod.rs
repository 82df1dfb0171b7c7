//! Qdrant's filter language: the types (serde in Qdrant's REST JSON shape)
//! and their evaluation against one point.

pub(crate) mod check;
pub mod datetime;
pub mod geo;
mod plan;
pub mod text;

use std::collections::HashSet;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

pub use check::{PointView, is_empty_values, values_count};
pub use geo::{GeoBoundingBox, GeoLineString, GeoPoint, GeoPolygon, GeoRadius};
pub use plan::{Candidates, IndexSource};

use crate::{JsonPath, PathSegment, PointId};

/// How deep filters may nest (filters inside filters, nested conditions).
pub const MAX_DEPTH: usize = 64;

/// A filter: `must` (all), `should` (at least one, when non-empty),
/// `must_not` (none) and `min_should` (at least `min_count`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// At least one must hold (ignored when empty).
    pub should: Vec<Condition>,
    /// At least `min_count` of these must hold.
    pub min_should: Option<MinShould>,
    /// All must hold.
    pub must: Vec<Condition>,
    /// None may hold.
    pub must_not: Vec<Condition>,
}

/// `min_should`: at least `min_count` of `conditions`.
#[derive(Clone, Debug, PartialEq)]
pub struct MinShould {
    /// The conditions.
    pub conditions: Vec<Condition>,
    /// How many must hold.
    pub min_count: usize,
}

/// One condition of a filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// A condition on the values at a key.
    Field(Box<FieldCondition>),
    /// The key has no value, `null` or `[]`.
    IsEmpty(JsonPath),
    /// The key's value is `null` (or an array holding one).
    IsNull(JsonPath),
    /// The point's id is one of these.
    HasId(HashSet<PointId>),
    /// The point has a vector of this name.
    HasVector(String),
    /// The point's id falls in slice `index` of `total` disjoint slices of
    /// the id space (SipHash-2-4, zero key, over the id's canonical
    /// bytes), as Qdrant splits it.
    Slice {
        /// How many slices, at least 1.
        total: u32,
        /// Which one, below `total`.
        index: u32,
    },
    /// The inner filter holds for one element of the array at `key`.
    Nested {
        /// The array's key.
        key: JsonPath,
        /// The filter each element is tested against.
        filter: Box<Filter>,
    },
    /// A filter used as a condition.
    Filter(Box<Filter>),
}

/// A condition on the values at `key`: every part that is given must hold.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldCondition {
    /// The key path.
    pub key: JsonPath,
    /// Match values, any / except lists, or text.
    pub r#match: Option<Match>,
    /// A numeric or datetime range.
    pub range: Option<Range>,
    /// Within a radius.
    pub geo_radius: Option<GeoRadius>,
    /// Inside a box.
    pub geo_bounding_box: Option<GeoBoundingBox>,
    /// Inside a polygon.
    pub geo_polygon: Option<GeoPolygon>,
    /// The number of values.
    pub values_count: Option<ValuesCount>,
    /// `is_empty` in field form.
    pub is_empty: Option<bool>,
    /// `is_null` in field form.
    pub is_null: Option<bool>,
}

/// A value a `match` compares with: a keyword, an integer or a bool.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MatchValue {
    /// A string, compared exactly.
    Keyword(String),
    /// An integer; never equal to a float.
    Integer(i64),
    /// A boolean.
    Bool(bool),
}

/// The forms of `match`.
#[derive(Clone, Debug, PartialEq)]
pub enum Match {
    /// Some value equals this.
    Value(MatchValue),
    /// Some value is one of these.
    Any(Vec<MatchValue>),
    /// Some (non-null) value is none of these.
    Except(Vec<MatchValue>),
    /// Some string value holds every token of this text.
    Text(String),
    /// Some string value holds any token of this text.
    TextAny(String),
    /// Some string value holds these tokens in this order, adjacent.
    Phrase(String),
}

/// A bound of a [`Range`]: a number, or a datetime (microseconds since the
/// epoch, UTC) with its original spelling.
#[derive(Clone, Debug, PartialEq)]
pub enum Bound {
    /// A number.
    Number(f64),
    /// A datetime.
    DateTime(i64, String),
}

/// A range: numbers, or datetimes when the bounds are strings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Range {
    /// Strictly less than.
    pub lt: Option<Bound>,
    /// Strictly greater than.
    pub gt: Option<Bound>,
    /// Greater than or equal.
    pub gte: Option<Bound>,
    /// Less than or equal.
    pub lte: Option<Bound>,
}

impl Range {
    /// Whether the bounds are datetimes.
    pub fn is_datetime(&self) -> bool {
        [&self.lt, &self.gt, &self.gte, &self.lte]
            .iter()
            .any(|b| matches!(b, Some(Bound::DateTime(..))))
    }

    fn as_f64(b: &Option<Bound>) -> Option<f64> {
        match b {
            Some(Bound::Number(x)) => Some(*x),
            Some(Bound::DateTime(t, _)) => Some(*t as f64),
            None => None,
        }
    }

    /// Whether `x` (a number, or datetime microseconds) is inside.
    pub fn contains(&self, x: f64) -> bool {
        Self::as_f64(&self.lt).is_none_or(|b| x < b)
            && Self::as_f64(&self.gt).is_none_or(|b| x > b)
            && Self::as_f64(&self.gte).is_none_or(|b| x >= b)
            && Self::as_f64(&self.lte).is_none_or(|b| x <= b)
    }
}

/// A range over the number of values at a key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValuesCount {
    /// Fewer than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<usize>,
    /// More than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<usize>,
    /// At least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<usize>,
    /// At most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<usize>,
}

impl ValuesCount {
    /// Whether a count is inside.
    pub fn contains(&self, n: usize) -> bool {
        self.lt.is_none_or(|b| n < b)
            && self.gt.is_none_or(|b| n > b)
            && self.gte.is_none_or(|b| n >= b)
            && self.lte.is_none_or(|b| n <= b)
    }
}

// ---------------------------------------------------------------------------
// serde: Qdrant's REST JSON shape
// ---------------------------------------------------------------------------

fn err(msg: impl Into<String>) -> String {
    msg.into()
}

fn take_object(v: Value, what: &str) -> Result<Map<String, Value>, String> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(err(format!("{what} must be an object, got {other}"))),
    }
}

fn conditions(v: Value, depth: usize) -> Result<Vec<Condition>, String> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|c| Condition::from_json(c, depth))
            .collect(),
        Value::Null => Ok(Vec::new()),
        obj @ Value::Object(_) => Ok(vec![Condition::from_json(obj, depth)?]),
        other => Err(err(format!(
            "a condition list must be an array, got {other}"
        ))),
    }
}

fn path(v: &Value) -> Result<JsonPath, String> {
    v.as_str()
        .ok_or_else(|| err("key must be a string"))?
        .parse()
        .map_err(|e: crate::PayloadError| e.to_string())
}

fn match_value(v: Value) -> Result<MatchValue, String> {
    match v {
        Value::String(s) => Ok(MatchValue::Keyword(s)),
        Value::Bool(b) => Ok(MatchValue::Bool(b)),
        Value::Number(n) => n.as_i64().map(MatchValue::Integer).ok_or_else(|| {
            err(format!(
                "match value {n} is not an integer, a string or a bool"
            ))
        }),
        other => Err(err(format!(
            "match value {other} is not an integer, a string or a bool"
        ))),
    }
}

fn bound(v: Value) -> Result<Option<Bound>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_f64()
            .map(|x| Some(Bound::Number(x)))
            .ok_or_else(|| err("range bound is not a number")),
        Value::String(s) => match datetime::parse_datetime(&s) {
            Some(t) => Ok(Some(Bound::DateTime(t, s))),
            None => Err(err(format!(
                "range bound {s:?} is not a number or a datetime"
            ))),
        },
        other => Err(err(format!(
            "range bound {other} is not a number or a datetime"
        ))),
    }
}

fn parse_range(v: Value) -> Result<Range, String> {
    let mut m = take_object(v, "range")?;
    let mut r = Range::default();
    for (k, slot) in [
        ("lt", &mut r.lt),
        ("gt", &mut r.gt),
        ("gte", &mut r.gte),
        ("lte", &mut r.lte),
    ] {
        if let Some(b) = m.remove(k) {
            *slot = bound(b)?;
        }
    }
    if let Some(k) = m.keys().next() {
        return Err(err(format!("unknown range field {k:?}")));
    }
    let kinds: HashSet<bool> = [&r.lt, &r.gt, &r.gte, &r.lte]
        .iter()
        .filter_map(|b| b.as_ref().map(|b| matches!(b, Bound::DateTime(..))))
        .collect();
    if kinds.len() > 1 {
        return Err(err("range bounds mix numbers and datetimes"));
    }
    Ok(r)
}

fn parse_match(v: Value) -> Result<Match, String> {
    let m = take_object(v, "match")?;
    if m.len() != 1 {
        return Err(err(
            "match takes exactly one of value, any, except, text, text_any, phrase",
        ));
    }
    let (k, v) = m.into_iter().next().expect("one entry");
    let list = |v: Value| -> Result<Vec<MatchValue>, String> {
        match v {
            Value::Array(items) => items.into_iter().map(match_value).collect(),
            other => Err(err(format!("{k} takes a list, got {other}"))),
        }
    };
    let text = |v: Value| -> Result<String, String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| err(format!("{k} takes a string")))
    };
    Ok(match k.as_str() {
        "value" => Match::Value(match_value(v)?),
        "any" => Match::Any(list(v)?),
        "except" => Match::Except(list(v)?),
        "text" => Match::Text(text(v)?),
        "text_any" => Match::TextAny(text(v)?),
        "phrase" => Match::Phrase(text(v)?),
        other => return Err(err(format!("unknown match form {other:?}"))),
    })
}

/// The bounds of a slice, with the Python client's messages.
fn validate_slice(total: u32, index: u32) -> Result<(), String> {
    if total < 1 {
        return Err(format!("Slice total must be >= 1, got {total}"));
    }
    if index >= total {
        return Err(format!(
            "Slice index must be in [0;{}], got {index}",
            total - 1
        ));
    }
    Ok(())
}

/// The slice of `total` a point id falls in: SipHash-2-4 with a zero key
/// over the id's canonical bytes (8 little-endian bytes for a number, the
/// 16 RFC 4122 bytes for a UUID), modulo `total`.
pub fn id_slice(id: &PointId, total: u32) -> u32 {
    use std::hash::Hasher;
    #[allow(deprecated)] // std's SipHasher is SipHash-2-4, what Qdrant hashes with
    let mut h = std::hash::SipHasher::new_with_keys(0, 0);
    match id {
        PointId::Num(n) => h.write(&n.to_le_bytes()),
        PointId::Uuid(u) => h.write(u.as_bytes()),
    }
    (h.finish() % u64::from(total.max(1))) as u32
}

fn de<T: for<'de> Deserialize<'de>>(v: Value, what: &str) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| err(format!("{what}: {e}")))
}

impl Filter {
    /// Parses Qdrant's REST JSON shape.
    pub fn from_json(v: Value) -> Result<Filter, crate::PayloadError> {
        Self::parse(v, 0).map_err(crate::PayloadError::BadFilter)
    }

    fn parse(v: Value, depth: usize) -> Result<Filter, String> {
        if depth > MAX_DEPTH {
            return Err(err(format!("filter nests deeper than {MAX_DEPTH} levels")));
        }
        let m = take_object(v, "filter")?;
        let mut f = Filter::default();
        for (k, v) in m {
            match k.as_str() {
                "must" => f.must = conditions(v, depth + 1)?,
                "should" => f.should = conditions(v, depth + 1)?,
                "must_not" => f.must_not = conditions(v, depth + 1)?,
                "min_should" => {
                    if v.is_null() {
                        continue;
                    }
                    let mut ms = take_object(v, "min_should")?;
                    let conds =
                        conditions(ms.remove("conditions").unwrap_or(Value::Null), depth + 1)?;
                    let min_count = ms
                        .remove("min_count")
                        .and_then(|c| c.as_u64())
                        .ok_or_else(|| err("min_should needs a non-negative integer min_count"))?;
                    if let Some(k) = ms.keys().next() {
                        return Err(err(format!("unknown min_should field {k:?}")));
                    }
                    f.min_should = Some(MinShould {
                        conditions: conds,
                        min_count: min_count as usize,
                    });
                }
                other => return Err(err(format!("unknown filter field {other:?}"))),
            }
        }
        Ok(f)
    }

    /// The filter in Qdrant's REST JSON shape.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let list = |cs: &[Condition]| Value::Array(cs.iter().map(Condition::to_json).collect());
        if !self.should.is_empty() {
            m.insert("should".into(), list(&self.should));
        }
        if let Some(ms) = &self.min_should {
            m.insert(
                "min_should".into(),
                json!({"conditions": list(&ms.conditions), "min_count": ms.min_count}),
            );
        }
        if !self.must.is_empty() {
            m.insert("must".into(), list(&self.must));
        }
        if !self.must_not.is_empty() {
            m.insert("must_not".into(), list(&self.must_not));
        }
        Value::Object(m)
    }
}

impl Condition {
    fn from_json(v: Value, depth: usize) -> Result<Condition, String> {
        if depth > MAX_DEPTH {
            return Err(err(format!("filter nests deeper than {MAX_DEPTH} levels")));
        }
        let mut m = take_object(v, "condition")?;
        if m.is_empty() {
            // `{}` is an empty filter (Qdrant's untagged condition reads it
            // so), which is also how an empty nested filter writes itself
            return Ok(Condition::Filter(Box::default()));
        }
        if m.contains_key("key") {
            return FieldCondition::parse(m).map(|f| Condition::Field(Box::new(f)));
        }
        if let Some(v) = m.remove("is_empty") {
            if !m.is_empty() {
                return Err(err("is_empty takes no other fields"));
            }
            let mut o = take_object(v, "is_empty")?;
            return Ok(Condition::IsEmpty(path(
                &o.remove("key").ok_or_else(|| err("is_empty needs a key"))?,
            )?));
        }
        if let Some(v) = m.remove("is_null") {
            if !m.is_empty() {
                return Err(err("is_null takes no other fields"));
            }
            let mut o = take_object(v, "is_null")?;
            return Ok(Condition::IsNull(path(
                &o.remove("key").ok_or_else(|| err("is_null needs a key"))?,
            )?));
        }
        if let Some(v) = m.remove("has_id") {
            if !m.is_empty() {
                return Err(err("has_id takes no other fields"));
            }
            let ids: Vec<PointId> = de(v, "has_id")?;
            return Ok(Condition::HasId(ids.into_iter().collect()));
        }
        if let Some(v) = m.remove("slice") {
            if !m.is_empty() {
                return Err(err("slice takes no other fields"));
            }
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct SliceJson {
                total: u32,
                index: u32,
            }
            let s: SliceJson = de(v, "slice")?;
            validate_slice(s.total, s.index)?;
            return Ok(Condition::Slice {
                total: s.total,
                index: s.index,
            });
        }
        if let Some(v) = m.remove("has_vector") {
            if !m.is_empty() {
                return Err(err("has_vector takes no other fields"));
            }
            return Ok(Condition::HasVector(de(v, "has_vector")?));
        }
        if let Some(v) = m.remove("nested") {
            if !m.is_empty() {
                return Err(err("nested takes no other fields"));
            }
            let mut o = take_object(v, "nested")?;
            let mut key = path(&o.remove("key").ok_or_else(|| err("nested needs a key"))?)?;
            if key.segments().last() == Some(&PathSegment::Each) {
                key = key.without_last();
            }
            let filter = Filter::parse(
                o.remove("filter")
                    .ok_or_else(|| err("nested needs a filter"))?,
                depth + 1,
            )?;
            return Ok(Condition::Nested {
                key,
                filter: Box::new(filter),
            });
        }
        if ["must", "should", "must_not", "min_should"]
            .iter()
            .any(|k| m.contains_key(*k))
        {
            return Filter::parse(Value::Object(m), depth + 1)
                .map(|f| Condition::Filter(Box::new(f)));
        }
        Err(err(format!(
            "unknown condition with fields {:?}",
            m.keys().collect::<Vec<_>>()
        )))
    }

    fn to_json(&self) -> Value {
        match self {
            Condition::Field(f) => f.to_json(),
            Condition::IsEmpty(k) => json!({"is_empty": {"key": k}}),
            Condition::IsNull(k) => json!({"is_null": {"key": k}}),
            Condition::HasId(ids) => {
                let mut ids: Vec<&PointId> = ids.iter().collect();
                ids.sort();
                json!({ "has_id": ids })
            }
            Condition::HasVector(n) => json!({ "has_vector": n }),
            Condition::Slice { total, index } => {
                json!({"slice": {"total": total, "index": index}})
            }
            Condition::Nested { key, filter } => {
                json!({"nested": {"key": key, "filter": filter.to_json()}})
            }
            Condition::Filter(f) => f.to_json(),
        }
    }
}

impl FieldCondition {
    /// A condition on `key` with nothing set yet.
    pub fn new(key: JsonPath) -> Self {
        FieldCondition {
            key,
            r#match: None,
            range: None,
            geo_radius: None,
            geo_bounding_box: None,
            geo_polygon: None,
            values_count: None,
            is_empty: None,
            is_null: None,
        }
    }

    fn parse(mut m: Map<String, Value>) -> Result<FieldCondition, String> {
        let key = path(&m.remove("key").expect("checked by the caller"))?;
        let mut f = FieldCondition::new(key);
        let mut any = false;
        for (k, v) in m {
            if v.is_null() {
                continue;
            }
            any = true;
            match k.as_str() {
                "match" => f.r#match = Some(parse_match(v)?),
                "range" => f.range = Some(parse_range(v)?),
                "geo_radius" => f.geo_radius = Some(de(v, "geo_radius")?),
                "geo_bounding_box" => f.geo_bounding_box = Some(de(v, "geo_bounding_box")?),
                "geo_polygon" => {
                    let p: GeoPolygon = de(v, "geo_polygon")?;
                    p.validate()?;
                    f.geo_polygon = Some(p);
                }
                "values_count" => f.values_count = Some(de(v, "values_count")?),
                "is_empty" => f.is_empty = Some(de(v, "is_empty")?),
                "is_null" => f.is_null = Some(de(v, "is_null")?),
                other => return Err(err(format!("unknown field condition {other:?}"))),
            }
        }
        if !any {
            return Err(err(format!(
                "field condition on {:?} needs at least one of match, range, geo_radius, geo_bounding_box, geo_polygon, values_count, is_empty, is_null",
                f.key.to_string()
            )));
        }
        if let Some(r) = &f.geo_radius
            && !(r.center.is_valid() && r.radius >= 0.0)
        {
            return Err(err(
                "geo_radius needs a valid center and a non-negative radius",
            ));
        }
        Ok(f)
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("key".into(), json!(self.key));
        if let Some(x) = &self.r#match {
            let mv = |v: &MatchValue| match v {
                MatchValue::Keyword(s) => json!(s),
                MatchValue::Integer(i) => json!(i),
                MatchValue::Bool(b) => json!(b),
            };
            let body = match x {
                Match::Value(v) => json!({"value": mv(v)}),
                Match::Any(vs) => json!({"any": vs.iter().map(mv).collect::<Vec<_>>()}),
                Match::Except(vs) => json!({"except": vs.iter().map(mv).collect::<Vec<_>>()}),
                Match::Text(t) => json!({ "text": t }),
                Match::TextAny(t) => json!({ "text_any": t }),
                Match::Phrase(t) => json!({ "phrase": t }),
            };
            m.insert("match".into(), body);
        }
        if let Some(r) = &self.range {
            let mut o = Map::new();
            for (k, b) in [
                ("lt", &r.lt),
                ("gt", &r.gt),
                ("gte", &r.gte),
                ("lte", &r.lte),
            ] {
                match b {
                    Some(Bound::Number(x)) => {
                        o.insert(k.into(), json!(x));
                    }
                    Some(Bound::DateTime(_, s)) => {
                        o.insert(k.into(), json!(s));
                    }
                    None => {}
                }
            }
            m.insert("range".into(), Value::Object(o));
        }
        if let Some(g) = &self.geo_radius {
            m.insert("geo_radius".into(), json!(g));
        }
        if let Some(g) = &self.geo_bounding_box {
            m.insert("geo_bounding_box".into(), json!(g));
        }
        if let Some(g) = &self.geo_polygon {
            m.insert("geo_polygon".into(), json!(g));
        }
        if let Some(v) = &self.values_count {
            m.insert("values_count".into(), json!(v));
        }
        if let Some(b) = self.is_empty {
            m.insert("is_empty".into(), json!(b));
        }
        if let Some(b) = self.is_null {
            m.insert("is_null".into(), json!(b));
        }
        Value::Object(m)
    }
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Filter::parse(Value::deserialize(d)?, 0).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_siphasher_is_siphash_2_4() {
        // the reference vector of the SipHash paper: key 00..0f, message
        // 00..0e (15 bytes)
        use std::hash::Hasher;
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(0x0706050403020100, 0x0f0e0d0c0b0a0908);
        h.write(&(0u8..15).collect::<Vec<_>>());
        assert_eq!(h.finish(), 0xa129ca6149be45e5);
    }

    #[test]
    fn an_empty_filter_condition_round_trips() {
        // found by fuzzing: {"must": {"must": []}} wrote itself as
        // {"must": [{}]}, which did not parse back
        let f = Filter::from_json(json!({"must": {"must": []}})).unwrap();
        assert_eq!(Filter::from_json(f.to_json()).unwrap(), f);
        let g = Filter::from_json(json!({"must": [{}]})).unwrap();
        assert_eq!(g.must, vec![Condition::Filter(Box::default())]);
    }

    #[test]
    fn slices_partition_the_ids() {
        let ids: Vec<PointId> = (0..1_000u64)
            .map(PointId::Num)
            .chain((0..200u128).map(|i| PointId::Uuid(uuid::Uuid::from_u128(i * 7919 + 1))))
            .collect();
        for total in [1u32, 2, 3, 8] {
            let mut counts = vec![0usize; total as usize];
            for id in &ids {
                counts[id_slice(id, total) as usize] += 1;
            }
            assert_eq!(counts.iter().sum::<usize>(), ids.len());
            // roughly uniform
            let expect = ids.len() / total as usize;
            assert!(counts.iter().all(|&c| c > expect * 7 / 10), "{counts:?}");
        }
        // nested: slice 0 of 4 lies inside slice 0 of 2
        assert!(
            ids.iter()
                .filter(|id| id_slice(id, 4) == 0)
                .all(|id| id_slice(id, 2) == 0)
        );
        let f = Filter::from_json(json!({"must": [{"slice": {"total": 3, "index": 1}}]})).unwrap();
        assert_eq!(f.must, vec![Condition::Slice { total: 3, index: 1 }]);
        assert_eq!(
            f.to_json(),
            json!({"must": [{"slice": {"total": 3, "index": 1}}]})
        );
        let e = Filter::from_json(json!({"must": [{"slice": {"total": 3, "index": 3}}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Slice index must be in [0;2], got 3"), "{e}");
        let e = Filter::from_json(json!({"must": [{"slice": {"total": 0, "index": 0}}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Slice total must be >= 1, got 0"), "{e}");
    }
}
