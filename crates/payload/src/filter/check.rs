//! Evaluating a filter against one point.

use serde_json::{Map, Value};

use super::text::TokenizerOptions;
use super::{Condition, FieldCondition, Filter, GeoPoint, Match, MatchValue};
use crate::PointId;

/// What a filter sees of a point.
pub trait PointView {
    /// The payload.
    fn payload(&self) -> &Map<String, Value>;
    /// The id (`None` inside a nested condition, where `has_id` never holds).
    fn id(&self) -> Option<PointId>;
    /// Whether the point has a vector of this name.
    fn has_vector(&self, name: &str) -> bool;
    /// How text at `key` is tokenised for `match: text`: the word tokenizer,
    /// or the options of a text index on the key.
    fn tokenizer(&self, _key: &crate::JsonPath) -> TokenizerOptions {
        TokenizerOptions::word()
    }
    /// Whether the point satisfies `c`, when an index answers it without
    /// the payload (see [`FieldIndex::check`](crate::FieldIndex::check));
    /// `None` to read the payload.
    fn indexed(&self, _c: &FieldCondition) -> Option<bool> {
        None
    }
}

/// An element of an array, as a nested condition sees it.
struct Element<'a>(&'a Map<String, Value>);

impl PointView for Element<'_> {
    fn payload(&self) -> &Map<String, Value> {
        self.0
    }
    fn id(&self) -> Option<PointId> {
        None
    }
    fn has_vector(&self, _: &str) -> bool {
        false
    }
}

/// Whether the raw values at a key count as empty: none, or each `null` or
/// `[]`.
pub fn is_empty_values(raw: &[&Value]) -> bool {
    raw.iter().all(|v| match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    })
}

/// The value counts of the raw values at a key, as `values_count` sees
/// them: an array counts its elements, `null` counts 0, anything else 1;
/// no value at all counts 0 once.
pub fn values_count(raw: &[&Value]) -> Vec<usize> {
    if raw.is_empty() {
        return vec![0];
    }
    raw.iter()
        .map(|v| match v {
            Value::Array(a) => a.len(),
            Value::Null => 0,
            _ => 1,
        })
        .collect()
}

/// Whether a payload value equals a match value (an integer never equals
/// a float, as in Qdrant).
pub(crate) fn equals(v: &Value, m: &MatchValue) -> bool {
    match (v, m) {
        (Value::String(s), MatchValue::Keyword(k)) => s == k,
        (Value::Bool(b), MatchValue::Bool(x)) => b == x,
        (Value::Number(n), MatchValue::Integer(i)) => n.as_i64() == Some(*i),
        _ => false,
    }
}

/// The number a range compares: a number, or for datetime ranges a string
/// that parses as a datetime (in microseconds).
pub(crate) fn range_value(v: &Value, datetime: bool) -> Option<f64> {
    if datetime {
        v.as_str()
            .and_then(super::datetime::parse_datetime)
            .map(|t| t as f64)
    } else {
        match v {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }
}

fn text_match(m: &Match, value: &str, tokenizer: &TokenizerOptions) -> bool {
    let have = tokenizer.tokens(value);
    match m {
        Match::Text(q) => {
            let want = tokenizer.tokens(q);
            !want.is_empty() && want.iter().all(|t| have.contains(t))
        }
        Match::TextAny(q) => tokenizer.tokens(q).iter().any(|t| have.contains(t)),
        Match::Phrase(q) => {
            let want = tokenizer.tokens(q);
            !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
        }
        _ => false,
    }
}

impl Match {
    /// Whether the values at a key (final arrays flattened) satisfy the
    /// match; text forms tokenise with `tokenizer`.
    pub fn check(&self, values: &[&Value], tokenizer: &TokenizerOptions) -> bool {
        match self {
            Match::Value(m) => values.iter().any(|v| equals(v, m)),
            Match::Any(ms) => values.iter().any(|v| ms.iter().any(|m| equals(v, m))),
            Match::Except(ms) => values
                .iter()
                .any(|v| !v.is_null() && !ms.iter().any(|m| equals(v, m))),
            Match::Text(_) | Match::TextAny(_) | Match::Phrase(_) => values
                .iter()
                .filter_map(|v| v.as_str())
                .any(|s| text_match(self, s, tokenizer)),
        }
    }
}

impl FieldCondition {
    /// Whether the payload satisfies every part of the condition, text
    /// tokenised with the word tokenizer.
    pub fn check(&self, payload: &Map<String, Value>) -> bool {
        self.check_with(payload, &TokenizerOptions::word())
    }

    /// Whether the payload satisfies every part of the condition, text
    /// tokenised with `tokenizer`.
    pub fn check_with(&self, payload: &Map<String, Value>, tokenizer: &TokenizerOptions) -> bool {
        let values = self.key.values(payload);
        if let Some(m) = &self.r#match
            && !m.check(&values, tokenizer)
        {
            return false;
        }
        if let Some(r) = &self.range {
            let dt = r.is_datetime();
            if !values
                .iter()
                .filter_map(|v| range_value(v, dt))
                .any(|x| r.contains(x))
            {
                return false;
            }
        }
        let geo = || values.iter().filter_map(|v| GeoPoint::from_value(v));
        if let Some(g) = &self.geo_radius
            && !geo().any(|p| g.contains(&p))
        {
            return false;
        }
        if let Some(g) = &self.geo_bounding_box
            && !geo().any(|p| g.contains(&p))
        {
            return false;
        }
        if let Some(g) = &self.geo_polygon
            && !geo().any(|p| g.contains(&p))
        {
            return false;
        }
        if self.values_count.is_some() || self.is_empty.is_some() {
            let raw = self.key.raw_values(payload);
            if let Some(vc) = &self.values_count
                && !values_count(&raw).into_iter().any(|n| vc.contains(n))
            {
                return false;
            }
            if let Some(want) = self.is_empty
                && is_empty_values(&raw) != want
            {
                return false;
            }
        }
        if let Some(want) = self.is_null
            && values.iter().any(|v| v.is_null()) != want
        {
            return false;
        }
        true
    }
}

impl Condition {
    /// Whether the point satisfies the condition.
    pub fn check(&self, point: &dyn PointView) -> bool {
        match self {
            Condition::Field(f) if let Some(pass) = point.indexed(f) => pass,
            Condition::Field(f) => match &f.r#match {
                Some(Match::Text(_) | Match::TextAny(_) | Match::Phrase(_)) => {
                    f.check_with(point.payload(), &point.tokenizer(&f.key))
                }
                _ => f.check(point.payload()),
            },
            Condition::IsEmpty(key) => is_empty_values(&key.raw_values(point.payload())),
            Condition::IsNull(key) => key.values(point.payload()).iter().any(|v| v.is_null()),
            Condition::HasId(ids) => point.id().is_some_and(|id| ids.contains(&id)),
            Condition::HasVector(name) => point.has_vector(name),
            Condition::Slice { total, index } => point
                .id()
                .is_some_and(|id| super::id_slice(&id, *total) == *index),
            Condition::Nested { key, filter } => key
                .raw_values(point.payload())
                .iter()
                .filter_map(|v| v.as_array())
                .flatten()
                .filter_map(Value::as_object)
                .any(|element| filter.check(&Element(element))),
            Condition::Filter(f) => f.check(point),
        }
    }
}

impl Filter {
    /// Whether the point passes the filter.
    pub fn check(&self, point: &dyn PointView) -> bool {
        self.must.iter().all(|c| c.check(point))
            && !self.must_not.iter().any(|c| c.check(point))
            && (self.should.is_empty() || self.should.iter().any(|c| c.check(point)))
            && self.min_should.as_ref().is_none_or(|ms| {
                ms.conditions.iter().filter(|c| c.check(point)).count() >= ms.min_count
            })
    }
}
