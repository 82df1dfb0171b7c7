//! Filters: the wire `Filter` as JSON in Qdrant's REST shape (the shape
//! the engine's filter type deserializes, and the shape of the conformance
//! cases in `shared/conformance/*/filters.jsonl`).

use serde_json::{Map, Value, json};
use tonic::Status;

use crate::grpc::convert::id::{id_from_proto, id_to_proto};
use crate::pb::{self, condition::ConditionOneOf, r#match::MatchValue, point_id::PointIdOptions};
use crate::status::invalid;

/// A wire filter as the engine's filter; a malformed one is refused as
/// Qdrant refuses it (`InvalidArgument`).
pub fn filter_from_proto(f: pb::Filter) -> Result<vicinity::Filter, Status> {
    let json = filter_to_json(f)?;
    vicinity::Filter::from_json(json)
        .map_err(|e| crate::status::invalid(format!("Format error in JSON body: {e}")))
}

/// A wire filter as Qdrant REST JSON: `{must, should, must_not,
/// min_should}`, each present only when the request has it.
pub fn filter_to_json(f: pb::Filter) -> Result<Value, Status> {
    let mut out = Map::new();
    for (name, conds) in [
        ("must", f.must),
        ("should", f.should),
        ("must_not", f.must_not),
    ] {
        if !conds.is_empty() {
            out.insert(name.into(), conditions(conds)?);
        }
    }
    if let Some(m) = f.min_should {
        out.insert(
            "min_should".into(),
            json!({"conditions": conditions(m.conditions)?, "min_count": m.min_count}),
        );
    }
    Ok(Value::Object(out))
}

fn conditions(conds: Vec<pb::Condition>) -> Result<Value, Status> {
    Ok(Value::Array(
        conds.into_iter().map(condition).collect::<Result<_, _>>()?,
    ))
}

pub(crate) fn condition(c: pb::Condition) -> Result<Value, Status> {
    match c.condition_one_of {
        None => Err(invalid("filter condition is empty")),
        Some(ConditionOneOf::Field(f)) => field(f),
        Some(ConditionOneOf::IsEmpty(c)) => Ok(json!({"is_empty": {"key": c.key}})),
        Some(ConditionOneOf::IsNull(c)) => Ok(json!({"is_null": {"key": c.key}})),
        Some(ConditionOneOf::HasId(c)) => {
            let ids = c
                .has_id
                .into_iter()
                .map(|id| id_from_proto(id).map(|id| point_id_json(id_to_proto(id))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({ "has_id": ids }))
        }
        Some(ConditionOneOf::HasVector(c)) => Ok(json!({"has_vector": c.has_vector})),
        Some(ConditionOneOf::Filter(f)) => filter_to_json(f),
        Some(ConditionOneOf::Nested(n)) => {
            let filter = n
                .filter
                .ok_or_else(|| invalid("nested condition has no filter"))?;
            Ok(json!({"nested": {"key": n.key, "filter": filter_to_json(filter)?}}))
        }
        Some(ConditionOneOf::Slice(s)) => {
            Ok(json!({"slice": {"total": s.total, "index": s.index}}))
        }
    }
}

fn point_id_json(id: pb::PointId) -> Value {
    match id.point_id_options {
        Some(PointIdOptions::Num(n)) => json!(n),
        Some(PointIdOptions::Uuid(u)) => json!(u),
        None => Value::Null,
    }
}

fn field(f: pb::FieldCondition) -> Result<Value, Status> {
    let mut out = Map::new();
    out.insert("key".into(), Value::String(f.key));
    let mut any = false;
    if let Some(m) = f.r#match {
        out.insert("match".into(), match_json(m)?);
        any = true;
    }
    if let Some(r) = f.range {
        let mut m = Map::new();
        for (name, v) in [("lt", r.lt), ("gt", r.gt), ("gte", r.gte), ("lte", r.lte)] {
            if let Some(v) = v {
                let n = serde_json::Number::from_f64(v)
                    .ok_or_else(|| invalid(format!("range bound {v} is not finite")))?;
                m.insert(name.into(), Value::Number(n));
            }
        }
        out.insert("range".into(), Value::Object(m));
        any = true;
    }
    if let Some(r) = f.datetime_range {
        if out.contains_key("range") {
            return Err(invalid(
                "a field condition takes either range or datetime_range",
            ));
        }
        let mut m = Map::new();
        for (name, v) in [("lt", r.lt), ("gt", r.gt), ("gte", r.gte), ("lte", r.lte)] {
            if let Some(t) = v {
                m.insert(name.into(), Value::String(rfc3339(&t)?));
            }
        }
        out.insert("range".into(), Value::Object(m));
        any = true;
    }
    if let Some(g) = f.geo_bounding_box {
        out.insert(
            "geo_bounding_box".into(),
            json!({
                "top_left": geo_point(g.top_left, "top_left")?,
                "bottom_right": geo_point(g.bottom_right, "bottom_right")?,
            }),
        );
        any = true;
    }
    if let Some(g) = f.geo_radius {
        out.insert(
            "geo_radius".into(),
            json!({"center": geo_point(g.center, "center")?, "radius": finite(g.radius.into(), "radius")?}),
        );
        any = true;
    }
    if let Some(g) = f.geo_polygon {
        let exterior = g
            .exterior
            .ok_or_else(|| invalid("geo_polygon has no exterior"))?;
        let mut p = Map::new();
        p.insert("exterior".into(), line(exterior)?);
        if !g.interiors.is_empty() {
            p.insert(
                "interiors".into(),
                Value::Array(
                    g.interiors
                        .into_iter()
                        .map(line)
                        .collect::<Result<_, _>>()?,
                ),
            );
        }
        out.insert("geo_polygon".into(), Value::Object(p));
        any = true;
    }
    if let Some(c) = f.values_count {
        let mut m = Map::new();
        for (name, v) in [("lt", c.lt), ("gt", c.gt), ("gte", c.gte), ("lte", c.lte)] {
            if let Some(v) = v {
                m.insert(name.into(), json!(v));
            }
        }
        out.insert("values_count".into(), Value::Object(m));
        any = true;
    }
    if let Some(b) = f.is_empty {
        out.insert("is_empty".into(), Value::Bool(b));
        any = true;
    }
    if let Some(b) = f.is_null {
        out.insert("is_null".into(), Value::Bool(b));
        any = true;
    }
    if !any {
        return Err(invalid(format!(
            "field condition on {:?} has no condition",
            out["key"].as_str().unwrap_or_default()
        )));
    }
    Ok(Value::Object(out))
}

fn match_json(m: pb::Match) -> Result<Value, Status> {
    Ok(match m.match_value {
        None => return Err(invalid("match condition is empty")),
        Some(MatchValue::Keyword(s)) => json!({ "value": s }),
        Some(MatchValue::Integer(i)) => json!({ "value": i }),
        Some(MatchValue::Boolean(b)) => json!({ "value": b }),
        Some(MatchValue::Text(s)) => json!({ "text": s }),
        Some(MatchValue::TextAny(s)) => json!({ "text_any": s }),
        Some(MatchValue::Phrase(s)) => json!({ "phrase": s }),
        Some(MatchValue::Prefix(s)) => json!({ "prefix": s }),
        Some(MatchValue::Substring(s)) => json!({ "substring": s }),
        Some(MatchValue::Keywords(k)) => json!({ "any": k.strings }),
        Some(MatchValue::Integers(i)) => json!({ "any": i.integers }),
        Some(MatchValue::ExceptKeywords(k)) => json!({ "except": k.strings }),
        Some(MatchValue::ExceptIntegers(i)) => json!({ "except": i.integers }),
    })
}

pub(crate) fn finite(v: f64, what: &str) -> Result<Value, Status> {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| invalid(format!("{what} {v} is not finite")))
}

pub(crate) fn geo_point(p: Option<pb::GeoPoint>, what: &str) -> Result<Value, Status> {
    let p = p.ok_or_else(|| invalid(format!("geo point {what} is missing")))?;
    Ok(json!({"lon": finite(p.lon, "lon")?, "lat": finite(p.lat, "lat")?}))
}

fn line(l: pb::GeoLineString) -> Result<Value, Status> {
    let points = l
        .points
        .into_iter()
        .map(|p| geo_point(Some(p), "in a polygon"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "points": points }))
}

/// The smallest and largest seconds of an RFC 3339 timestamp (years 1 to
/// 9999), as protobuf's `Timestamp` defines its range.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

/// A protobuf timestamp as an RFC 3339 UTC string, with nanoseconds only
/// when there are some.
pub fn rfc3339(t: &prost_types::Timestamp) -> Result<String, Status> {
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&t.seconds) || !(0..1_000_000_000).contains(&t.nanos) {
        return Err(invalid(format!(
            "timestamp {}s {}ns is out of range",
            t.seconds, t.nanos
        )));
    }
    let days = t.seconds.div_euclid(86_400);
    let secs = t.seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    let frac = if t.nanos == 0 {
        String::new()
    } else {
        let s = format!(".{:09}", t.nanos);
        s.trim_end_matches('0').to_string()
    };
    Ok(format!(
        "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{frac}Z"
    ))
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
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
    use pb::Condition;

    fn field_cond(f: pb::FieldCondition) -> Condition {
        Condition {
            condition_one_of: Some(ConditionOneOf::Field(f)),
        }
    }

    fn with_match(key: &str, v: MatchValue) -> Condition {
        field_cond(pb::FieldCondition {
            key: key.into(),
            r#match: Some(pb::Match {
                match_value: Some(v),
            }),
            ..Default::default()
        })
    }

    #[test]
    fn matches_in_rest_shape() {
        let f = pb::Filter {
            must: vec![
                with_match("color", MatchValue::Keyword("brown".into())),
                with_match("n", MatchValue::Integer(3)),
                with_match("ok", MatchValue::Boolean(true)),
                with_match(
                    "tags",
                    MatchValue::Keywords(pb::RepeatedStrings {
                        strings: vec!["a".into(), "b".into()],
                    }),
                ),
                with_match(
                    "n",
                    MatchValue::ExceptIntegers(pb::RepeatedIntegers { integers: vec![1] }),
                ),
                with_match("title", MatchValue::Text("curl".into())),
                with_match("t", MatchValue::TextAny("velvet glow".into())),
                with_match("t", MatchValue::Phrase("velvet glow".into())),
            ],
            ..Default::default()
        };
        assert_eq!(
            filter_to_json(f).unwrap(),
            json!({"must": [
                {"key": "color", "match": {"value": "brown"}},
                {"key": "n", "match": {"value": 3}},
                {"key": "ok", "match": {"value": true}},
                {"key": "tags", "match": {"any": ["a", "b"]}},
                {"key": "n", "match": {"except": [1]}},
                {"key": "title", "match": {"text": "curl"}},
                {"key": "t", "match": {"text_any": "velvet glow"}},
                {"key": "t", "match": {"phrase": "velvet glow"}},
            ]})
        );
    }

    #[test]
    fn ranges_geo_and_counts() {
        let f = pb::Filter {
            should: vec![
                field_cond(pb::FieldCondition {
                    key: "size".into(),
                    range: Some(pb::Range {
                        gte: Some(3.0),
                        lt: Some(5.5),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                field_cond(pb::FieldCondition {
                    key: "created".into(),
                    datetime_range: Some(pb::DatetimeRange {
                        gt: Some(prost_types::Timestamp {
                            seconds: 1_739_145_600,
                            nanos: 0,
                        }),
                        lte: Some(prost_types::Timestamp {
                            seconds: 0,
                            nanos: 500_000_000,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                field_cond(pb::FieldCondition {
                    key: "location".into(),
                    geo_radius: Some(pb::GeoRadius {
                        center: Some(pb::GeoPoint { lon: 1.5, lat: 2.0 }),
                        radius: 50_000.0,
                    }),
                    ..Default::default()
                }),
                field_cond(pb::FieldCondition {
                    key: "location".into(),
                    geo_bounding_box: Some(pb::GeoBoundingBox {
                        top_left: Some(pb::GeoPoint { lon: 1.0, lat: 2.0 }),
                        bottom_right: Some(pb::GeoPoint { lon: 3.0, lat: 0.5 }),
                    }),
                    ..Default::default()
                }),
                field_cond(pb::FieldCondition {
                    key: "location".into(),
                    geo_polygon: Some(pb::GeoPolygon {
                        exterior: Some(pb::GeoLineString {
                            points: vec![
                                pb::GeoPoint { lon: 0.0, lat: 0.0 },
                                pb::GeoPoint { lon: 1.0, lat: 0.0 },
                                pb::GeoPoint { lon: 0.0, lat: 0.0 },
                            ],
                        }),
                        interiors: vec![],
                    }),
                    ..Default::default()
                }),
                field_cond(pb::FieldCondition {
                    key: "tags".into(),
                    values_count: Some(pb::ValuesCount {
                        gt: Some(4),
                        lte: Some(3),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            ],
            ..Default::default()
        };
        assert_eq!(
            filter_to_json(f).unwrap(),
            json!({"should": [
                {"key": "size", "range": {"gte": 3.0, "lt": 5.5}},
                {"key": "created", "range": {"gt": "2025-02-10T00:00:00Z", "lte": "1970-01-01T00:00:00.5Z"}},
                {"key": "location", "geo_radius": {"center": {"lon": 1.5, "lat": 2.0}, "radius": 50000.0}},
                {"key": "location", "geo_bounding_box": {"top_left": {"lon": 1.0, "lat": 2.0}, "bottom_right": {"lon": 3.0, "lat": 0.5}}},
                {"key": "location", "geo_polygon": {"exterior": {"points": [{"lon": 0.0, "lat": 0.0}, {"lon": 1.0, "lat": 0.0}, {"lon": 0.0, "lat": 0.0}]}}},
                {"key": "tags", "values_count": {"gt": 4, "lte": 3}},
            ]})
        );
    }

    #[test]
    fn structural_conditions() {
        let inner = pb::Filter {
            must: vec![with_match("color", MatchValue::Keyword("brown".into()))],
            ..Default::default()
        };
        let f = pb::Filter {
            must_not: vec![
                Condition {
                    condition_one_of: Some(ConditionOneOf::IsEmpty(pb::IsEmptyCondition {
                        key: "variants".into(),
                    })),
                },
                Condition {
                    condition_one_of: Some(ConditionOneOf::IsNull(pb::IsNullCondition {
                        key: "category".into(),
                    })),
                },
                Condition {
                    condition_one_of: Some(ConditionOneOf::HasId(pb::HasIdCondition {
                        has_id: vec![
                            id_to_proto(7.into()),
                            pb::PointId {
                                point_id_options: Some(PointIdOptions::Uuid(
                                    "5C56C79369F34FBF87E6C4BF54C28C26".into(),
                                )),
                            },
                        ],
                    })),
                },
                Condition {
                    condition_one_of: Some(ConditionOneOf::HasVector(pb::HasVectorCondition {
                        has_vector: "image".into(),
                    })),
                },
                Condition {
                    condition_one_of: Some(ConditionOneOf::Nested(pb::NestedCondition {
                        key: "variants".into(),
                        filter: Some(inner.clone()),
                    })),
                },
                Condition {
                    condition_one_of: Some(ConditionOneOf::Filter(inner)),
                },
            ],
            min_should: Some(pb::MinShould {
                conditions: vec![with_match("a", MatchValue::Integer(1))],
                min_count: 1,
            }),
            ..Default::default()
        };
        let brown = json!({"must": [{"key": "color", "match": {"value": "brown"}}]});
        assert_eq!(
            filter_to_json(f).unwrap(),
            json!({
                "must_not": [
                    {"is_empty": {"key": "variants"}},
                    {"is_null": {"key": "category"}},
                    {"has_id": [7, "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"]},
                    {"has_vector": "image"},
                    {"nested": {"key": "variants", "filter": brown.clone()}},
                    brown,
                ],
                "min_should": {"conditions": [{"key": "a", "match": {"value": 1}}], "min_count": 1},
            })
        );
    }

    #[test]
    fn malformed_filters_are_refused() {
        let bad = [
            Condition::default(),
            field_cond(pb::FieldCondition {
                key: "x".into(),
                ..Default::default()
            }),
            field_cond(pb::FieldCondition {
                key: "x".into(),
                range: Some(pb::Range {
                    lt: Some(f64::NAN),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            field_cond(pb::FieldCondition {
                key: "x".into(),
                geo_radius: Some(pb::GeoRadius {
                    center: None,
                    radius: 1.0,
                }),
                ..Default::default()
            }),
            field_cond(pb::FieldCondition {
                key: "x".into(),
                datetime_range: Some(pb::DatetimeRange {
                    lt: Some(prost_types::Timestamp {
                        seconds: i64::MAX,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        ];
        for c in bad {
            let f = pb::Filter {
                must: vec![c],
                ..Default::default()
            };
            assert_eq!(
                filter_to_json(f).unwrap_err().code(),
                tonic::Code::InvalidArgument
            );
        }
    }

    #[test]
    fn timestamps() {
        let t = |seconds, nanos| rfc3339(&prost_types::Timestamp { seconds, nanos }).unwrap();
        assert_eq!(t(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(t(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(t(-1, 123_000_000), "1969-12-31T23:59:59.123Z");
        assert_eq!(t(MIN_SECONDS, 0), "0001-01-01T00:00:00Z");
        assert_eq!(
            t(MAX_SECONDS, 999_999_999),
            "9999-12-31T23:59:59.999999999Z"
        );
    }
}
