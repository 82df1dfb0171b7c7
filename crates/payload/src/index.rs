//! Payload field indexes: posting lists (roaring bitmaps) per value, sorted
//! maps for ranges, a point list for geo, tokens for text.
//!
//! An index gives each condition on its key a *superset* of the matching
//! rows, marked exact when no per-point check is needed. So an index
//! changes speed, never the set of matches (text aside, where the index's
//! tokenizer is the point).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound as StdBound;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::filter::check::range_value;
use crate::filter::datetime::parse_datetime;
use crate::filter::text::TokenizerOptions;
use crate::filter::{Bound, FieldCondition, GeoPoint, Match, MatchValue, Range};
use crate::{JsonPath, PayloadError};

/// The kinds of payload index, with Qdrant's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Exact strings.
    Keyword,
    /// Integers (floats at the key are not indexed).
    Integer,
    /// Numbers, integers included.
    Float,
    /// Booleans.
    Bool,
    /// Geo points `{lon, lat}`.
    Geo,
    /// Full text, by tokens.
    Text,
    /// Datetimes (strings in the spellings Qdrant accepts).
    Datetime,
    /// UUIDs (strings), compared as UUIDs.
    Uuid,
}

impl FieldType {
    /// Whether `order_by` may use an index of this type.
    pub fn supports_order_by(self) -> bool {
        matches!(
            self,
            FieldType::Integer | FieldType::Float | FieldType::Datetime
        )
    }

    /// Whether `facet` may use an index of this type.
    pub fn supports_facet(self) -> bool {
        matches!(
            self,
            FieldType::Keyword | FieldType::Integer | FieldType::Bool | FieldType::Uuid
        )
    }
}

/// An index's type and options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIndexParams {
    /// The type.
    pub field_type: FieldType,
    /// For text indexes: how text is split into tokens.
    pub tokenizer: TokenizerOptions,
    /// For text indexes: keep each document's length, so that points can
    /// be ranked by BM25 over the field (Qdrant's `scoring`).
    #[serde(default)]
    pub scoring: bool,
}

impl FieldIndexParams {
    /// Default options for a type.
    pub fn new(field_type: FieldType) -> Self {
        FieldIndexParams {
            field_type,
            tokenizer: TokenizerOptions::word(),
            scoring: false,
        }
    }
}

/// An `f64` ordered by `total_cmp`, for sorted maps.
#[derive(Clone, Copy, Debug, PartialEq)]
struct OrdF64(f64);

impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // -0.0 and 0.0 are one value in a range.
        let a = if self.0 == 0.0 { 0.0 } else { self.0 };
        let b = if o.0 == 0.0 { 0.0 } else { o.0 };
        a.total_cmp(&b)
    }
}

/// A value an ordered scroll reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OrderValue {
    /// An integer (integer and datetime indexes; datetimes in microseconds).
    Int(i64),
    /// A float.
    Float(f64),
}

impl OrderValue {
    /// As a float, for comparisons.
    pub fn as_f64(self) -> f64 {
        match self {
            OrderValue::Int(i) => i as f64,
            OrderValue::Float(f) => f,
        }
    }
}

/// A value a facet counts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FacetValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string (keyword or UUID).
    Keyword(String),
}

#[derive(Debug)]
enum Data {
    /// Keyword and UUID (canonical string) posting lists.
    Keyword(HashMap<String, RoaringBitmap>),
    Integer {
        map: BTreeMap<i64, RoaringBitmap>,
        /// Rows that also hold non-integer numbers, which ranges must see.
        floats: RoaringBitmap,
    },
    Float(BTreeMap<OrdF64, RoaringBitmap>),
    Bool([RoaringBitmap; 2]),
    Datetime(BTreeMap<i64, RoaringBitmap>),
    Geo(BTreeMap<u32, Vec<GeoPoint>>),
    Text(HashMap<String, RoaringBitmap>),
}

/// A payload index over one key.
#[derive(Debug)]
pub struct FieldIndex {
    key: JsonPath,
    params: FieldIndexParams,
    data: Data,
    /// Rows with at least one indexed value.
    indexed: RoaringBitmap,
    /// Integer and float indexes: per row, its number when the key holds
    /// exactly one value and that value is a number; NaN otherwise. It
    /// answers a range for one row without reading the payload.
    numbers: Vec<f64>,
    /// Text indexes with scoring: per row, its number of tokens (0: no
    /// document); how many rows hold tokens and the sum of their lengths
    /// as BM25 reads them; and per token, the rows holding it more than
    /// once with their count (a row in the token's posting list and not
    /// here holds it once).
    doc_lens: Vec<u32>,
    docs: u64,
    len_total: u64,
    repeats: HashMap<String, HashMap<u32, u32>>,
}

/// A query term's posting list, repeat counts and IDF.
type TermList<'a> = (&'a RoaringBitmap, Option<&'a HashMap<u32, u32>>, f64);

/// BM25's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bm25 {
    /// Term-frequency saturation (default 1.2, at least 0).
    pub k1: f64,
    /// Length normalisation, from 0 to 1 (default 0.75).
    pub b: f64,
}

impl Default for Bm25 {
    fn default() -> Self {
        Bm25 { k1: 1.2, b: 0.75 }
    }
}

impl Bm25 {
    /// The parameters a request gives, each defaulted when absent.
    pub fn with(k1: Option<f64>, b: Option<f64>) -> Self {
        let d = Bm25::default();
        Bm25 {
            k1: k1.unwrap_or(d.k1),
            b: b.unwrap_or(d.b),
        }
    }
}

/// A document length as Qdrant keeps it: the 13 leading bits, so lengths
/// from 8,192 tokens round down (to a multiple of 2, from 16,384 of 4, ...).
fn stored_len(len: u32) -> u32 {
    let bits = 32 - len.leading_zeros();
    let lost = bits.saturating_sub(13);
    len >> lost << lost
}

/// A range matching more than this share of an index's rows is not turned
/// into a row set: the union of its many posting lists (one per distinct
/// value) costs more than checking each row a search visits against the
/// value column (measured: a price range passing half of 100,000 points
/// spent half of each filtered search on the union).
const MATERIALIZE_SHARE: u64 = 8;

fn post<K: Ord>(map: &mut BTreeMap<K, RoaringBitmap>, k: K, row: u32) {
    map.entry(k).or_default().insert(row);
}

fn unpost<K: Ord>(map: &mut BTreeMap<K, RoaringBitmap>, k: &K, row: u32) {
    if let Some(b) = map.get_mut(k) {
        b.remove(row);
        if b.is_empty() {
            map.remove(k);
        }
    }
}

fn hpost(map: &mut HashMap<String, RoaringBitmap>, k: String, row: u32) {
    map.entry(k).or_default().insert(row);
}

fn hunpost(map: &mut HashMap<String, RoaringBitmap>, k: &str, row: u32) {
    if let Some(b) = map.get_mut(k) {
        b.remove(row);
        if b.is_empty() {
            map.remove(k);
        }
    }
}

fn canonical_uuid(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

fn range_bounds<T: Copy>(
    r: &Range,
    conv: impl Fn(&Bound) -> Option<T>,
) -> Option<(StdBound<T>, StdBound<T>)> {
    let lower = match (&r.gt, &r.gte) {
        (Some(gt), _) => StdBound::Excluded(conv(gt)?),
        (None, Some(gte)) => StdBound::Included(conv(gte)?),
        (None, None) => StdBound::Unbounded,
    };
    let upper = match (&r.lt, &r.lte) {
        (Some(lt), _) => StdBound::Excluded(conv(lt)?),
        (None, Some(lte)) => StdBound::Included(conv(lte)?),
        (None, None) => StdBound::Unbounded,
    };
    Some((lower, upper))
}

fn union<'a>(it: impl Iterator<Item = &'a RoaringBitmap>) -> RoaringBitmap {
    use roaring::MultiOps;
    it.union()
}

/// Whether a `(lower, upper)` pair is a range `BTreeMap::range` accepts
/// (it panics on an inverted or empty-exclusive one).
fn valid_range<T: PartialOrd>(lo: &StdBound<T>, hi: &StdBound<T>) -> bool {
    use StdBound::*;
    match (lo, hi) {
        (Included(a), Included(b)) => a <= b,
        (Included(a), Excluded(b)) | (Excluded(a), Included(b)) => a < b,
        (Excluded(a), Excluded(b)) => a < b,
        _ => true,
    }
}

impl FieldIndex {
    /// An empty index over `key`.
    pub fn new(key: JsonPath, params: FieldIndexParams) -> Self {
        let data = match params.field_type {
            FieldType::Keyword | FieldType::Uuid => Data::Keyword(HashMap::new()),
            FieldType::Integer => Data::Integer {
                map: BTreeMap::new(),
                floats: RoaringBitmap::new(),
            },
            FieldType::Float => Data::Float(BTreeMap::new()),
            FieldType::Bool => Data::Bool(Default::default()),
            FieldType::Datetime => Data::Datetime(BTreeMap::new()),
            FieldType::Geo => Data::Geo(BTreeMap::new()),
            FieldType::Text => Data::Text(HashMap::new()),
        };
        FieldIndex {
            key,
            params,
            data,
            indexed: RoaringBitmap::new(),
            numbers: Vec::new(),
            doc_lens: Vec::new(),
            docs: 0,
            len_total: 0,
            repeats: HashMap::new(),
        }
    }

    /// The indexed key.
    pub fn key(&self) -> &JsonPath {
        &self.key
    }

    /// The type and options.
    pub fn params(&self) -> &FieldIndexParams {
        &self.params
    }

    /// BM25 scores over this text index (it needs `scoring`): every row
    /// holding at least one of the query's tokens (each counted once) that
    /// `accept` lets through, with its score (above 0), in no order. The
    /// statistics (document count, average length, document frequencies)
    /// are over every row holding a token, whatever `accept` says. All of
    /// it is read from the index: posting lists, lengths and repeat counts.
    pub fn bm25(&self, query: &str, params: Bm25, accept: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        let Data::Text(map) = &self.data else {
            return Vec::new();
        };
        let mut terms = self.params.tokenizer.tokens(query);
        terms.sort_unstable();
        terms.dedup();
        let docs = self.docs as f64;
        if terms.is_empty() || docs == 0.0 {
            return Vec::new();
        }
        let avg_len = self.len_total as f64 / docs;
        // per query term with a posting list (in the query's term order):
        // its rows, its repeat counts and its IDF
        let lists: Vec<TermList<'_>> = terms
            .iter()
            .filter_map(|t| {
                let rows = map.get(t)?;
                let df = rows.len() as f64;
                let idf = ((docs - df + 0.5) / (df + 0.5) + 1.0).ln();
                Some((rows, self.repeats.get(t), idf))
            })
            .collect();
        let candidates = union(lists.iter().map(|(rows, _, _)| *rows));
        let (k1, b) = (params.k1, params.b);
        let mut out = Vec::new();
        for row in candidates.iter().filter(|&r| accept(r)) {
            let len = self.doc_lens.get(row as usize).copied().unwrap_or(0);
            if len == 0 {
                continue;
            }
            let norm = k1 * (1.0 - b + b * f64::from(stored_len(len)) / avg_len);
            let mut score = 0.0f64;
            for (rows, repeats, idf) in &lists {
                if rows.contains(row) {
                    let f = f64::from(repeats.and_then(|m| m.get(&row)).copied().unwrap_or(1));
                    score += idf * f * (k1 + 1.0) / (f + norm);
                }
            }
            if score > 0.0 {
                out.push((row, score as f32));
            }
        }
        out
    }

    /// Rows with at least one indexed value.
    pub fn points_count(&self) -> u64 {
        self.indexed.len()
    }

    /// Adds (`add = true`) or removes a row's values.
    fn apply(&mut self, row: u32, payload: &Map<String, Value>, add: bool) {
        let values = self.key.values(payload);
        if matches!(self.data, Data::Integer { .. } | Data::Float(_)) {
            let single = match values.as_slice() {
                [v] if add => range_value(v, false).unwrap_or(f64::NAN),
                _ => f64::NAN,
            };
            let i = row as usize;
            if i >= self.numbers.len() {
                self.numbers.resize(i + 1, f64::NAN);
            }
            self.numbers[i] = single;
        }
        let mut any = false;
        match &mut self.data {
            Data::Keyword(map) => {
                let uuid = self.params.field_type == FieldType::Uuid;
                for v in values.iter().filter_map(|v| v.as_str()) {
                    let k = if uuid {
                        match canonical_uuid(v) {
                            Some(u) => u,
                            None => continue,
                        }
                    } else {
                        v.to_string()
                    };
                    any = true;
                    if add {
                        hpost(map, k, row)
                    } else {
                        hunpost(map, &k, row)
                    }
                }
            }
            Data::Integer { map, floats } => {
                for v in &values {
                    if let Value::Number(n) = v {
                        match n.as_i64() {
                            Some(i) => {
                                any = true;
                                if add {
                                    post(map, i, row)
                                } else {
                                    unpost(map, &i, row)
                                }
                            }
                            None if add => {
                                floats.insert(row);
                            }
                            None => {
                                floats.remove(row);
                            }
                        }
                    }
                }
            }
            Data::Float(map) => {
                for x in values.iter().filter_map(|v| range_value(v, false)) {
                    any = true;
                    if add {
                        post(map, OrdF64(x), row)
                    } else {
                        unpost(map, &OrdF64(x), row)
                    }
                }
            }
            Data::Bool(maps) => {
                for b in values.iter().filter_map(|v| v.as_bool()) {
                    any = true;
                    if add {
                        maps[b as usize].insert(row);
                    } else {
                        maps[b as usize].remove(row);
                    }
                }
            }
            Data::Datetime(map) => {
                for t in values
                    .iter()
                    .filter_map(|v| v.as_str().and_then(parse_datetime))
                {
                    any = true;
                    if add {
                        post(map, t, row)
                    } else {
                        unpost(map, &t, row)
                    }
                }
            }
            Data::Geo(points) => {
                let ps: Vec<GeoPoint> = values
                    .iter()
                    .filter_map(|v| GeoPoint::from_value(v))
                    .collect();
                any = !ps.is_empty();
                if add && any {
                    points.insert(row, ps);
                } else if !add {
                    points.remove(&row);
                }
            }
            Data::Text(map) => {
                let mut counts: HashMap<String, u32> = HashMap::new();
                for s in values.iter().filter_map(|v| v.as_str()) {
                    for t in self.params.tokenizer.tokens(s) {
                        any = true;
                        *counts.entry(t).or_default() += 1;
                    }
                }
                let length: u32 = counts.values().sum();
                for (t, n) in counts {
                    if self.params.scoring {
                        if add && n > 1 {
                            self.repeats.entry(t.clone()).or_default().insert(row, n);
                        } else if !add && let Some(m) = self.repeats.get_mut(&t) {
                            m.remove(&row);
                            if m.is_empty() {
                                self.repeats.remove(&t);
                            }
                        }
                    }
                    if add {
                        hpost(map, t, row)
                    } else {
                        hunpost(map, &t, row)
                    }
                }
                if self.params.scoring {
                    let r = row as usize;
                    if let Some(&old) = self.doc_lens.get(r)
                        && old > 0
                    {
                        self.len_total -= u64::from(stored_len(old));
                        self.docs -= 1;
                        self.doc_lens[r] = 0;
                    }
                    if add && length > 0 {
                        if self.doc_lens.len() <= r {
                            self.doc_lens.resize(r + 1, 0);
                        }
                        self.doc_lens[r] = length;
                        self.docs += 1;
                        self.len_total += u64::from(stored_len(length));
                    }
                }
            }
        }
        if add && any {
            self.indexed.insert(row);
        } else if !add {
            self.indexed.remove(row);
        }
    }

    /// Indexes a row's payload.
    pub fn add(&mut self, row: u32, payload: &Map<String, Value>) {
        self.apply(row, payload, true);
    }

    /// Forgets a row, given the payload it was indexed with.
    pub fn remove(&mut self, row: u32, payload: &Map<String, Value>) {
        self.apply(row, payload, false);
    }

    /// Rows that may match a match condition, and whether exactly those.
    fn match_candidates(&self, m: &Match) -> Option<(RoaringBitmap, bool)> {
        let keyword =
            |map: &HashMap<String, RoaringBitmap>, v: &MatchValue| -> Option<RoaringBitmap> {
                match v {
                    MatchValue::Keyword(s) => {
                        let k = if self.params.field_type == FieldType::Uuid {
                            canonical_uuid(s)?
                        } else {
                            s.clone()
                        };
                        Some(map.get(&k).cloned().unwrap_or_default())
                    }
                    _ => None,
                }
            };
        let one = |v: &MatchValue| -> Option<RoaringBitmap> {
            match (&self.data, v) {
                (Data::Keyword(map), _) => keyword(map, v),
                (Data::Integer { map, .. }, MatchValue::Integer(i)) => {
                    Some(map.get(i).cloned().unwrap_or_default())
                }
                (Data::Bool(maps), MatchValue::Bool(b)) => Some(maps[*b as usize].clone()),
                _ => None,
            }
        };
        match m {
            Match::Value(v) => {
                let b = one(v)?;
                // A UUID index matches any spelling; the check compares strings.
                let exact = self.params.field_type != FieldType::Uuid;
                Some((b, exact))
            }
            Match::Any(vs) => {
                let mut out = RoaringBitmap::new();
                for v in vs {
                    out |= one(v)?;
                }
                Some((out, self.params.field_type != FieldType::Uuid))
            }
            Match::Text(q) | Match::Phrase(q) => {
                let Data::Text(map) = &self.data else {
                    return None;
                };
                let tokens = self.params.tokenizer.tokens(q);
                if tokens.is_empty() {
                    return Some((RoaringBitmap::new(), true));
                }
                let mut out: Option<RoaringBitmap> = None;
                for t in &tokens {
                    let b = map.get(t).cloned().unwrap_or_default();
                    out = Some(match out {
                        Some(o) => o & b,
                        None => b,
                    });
                }
                // Tokens per value, and phrase order, need the per-point check.
                Some((out.unwrap_or_default(), false))
            }
            Match::TextAny(q) => {
                let Data::Text(map) = &self.data else {
                    return None;
                };
                let tokens = self.params.tokenizer.tokens(q);
                Some((union(tokens.iter().filter_map(|t| map.get(t))), true))
            }
            Match::Except(_) => None,
        }
    }

    fn range_candidates(&self, r: &Range) -> Option<(RoaringBitmap, bool)> {
        match &self.data {
            Data::Float(map) if !r.is_datetime() => {
                let (lo, hi) = range_bounds(r, |b| match b {
                    Bound::Number(x) => Some(OrdF64(*x)),
                    _ => None,
                })?;
                if !valid_range(&lo, &hi) {
                    return Some((RoaringBitmap::new(), true));
                }
                let lists = || map.range((lo, hi)).map(|(_, b)| b);
                if self.too_many(lists()) {
                    return None;
                }
                Some((union(lists()), true))
            }
            Data::Integer { map, floats } if !r.is_datetime() => {
                // Integer bounds as f64 -> i64 ranges that hold the same integers.
                let (lo, hi) = range_bounds(r, |b| match b {
                    Bound::Number(x) => Some(*x),
                    _ => None,
                })?;
                let lo = match lo {
                    StdBound::Included(x) => StdBound::Included(x.ceil() as i64),
                    StdBound::Excluded(x) => {
                        if x.fract() == 0.0 {
                            StdBound::Excluded(x as i64)
                        } else {
                            StdBound::Included(x.ceil() as i64)
                        }
                    }
                    StdBound::Unbounded => StdBound::Unbounded,
                };
                let hi = match hi {
                    StdBound::Included(x) => StdBound::Included(x.floor() as i64),
                    StdBound::Excluded(x) => {
                        if x.fract() == 0.0 {
                            StdBound::Excluded(x as i64)
                        } else {
                            StdBound::Included(x.floor() as i64)
                        }
                    }
                    StdBound::Unbounded => StdBound::Unbounded,
                };
                let mut out = if valid_range(&lo, &hi) {
                    let lists = || map.range((lo, hi)).map(|(_, b)| b);
                    if self.too_many(lists()) {
                        return None;
                    }
                    union(lists())
                } else {
                    RoaringBitmap::new()
                };
                // Rows with floats at the key go to the per-point check.
                let exact = floats.is_empty();
                out |= floats;
                Some((out, exact))
            }
            Data::Datetime(map) if r.is_datetime() => {
                let (lo, hi) = range_bounds(r, |b| match b {
                    Bound::DateTime(t, _) => Some(*t),
                    _ => None,
                })?;
                if !valid_range(&lo, &hi) {
                    return Some((RoaringBitmap::new(), true));
                }
                Some((union(map.range((lo, hi)).map(|(_, b)| b)), true))
            }
            _ => None,
        }
    }

    fn geo_candidates(&self, c: &FieldCondition) -> Option<(RoaringBitmap, bool)> {
        let Data::Geo(points) = &self.data else {
            return None;
        };
        let inside = |p: &GeoPoint| {
            c.geo_radius.as_ref().is_none_or(|g| g.contains(p))
                && c.geo_bounding_box.as_ref().is_none_or(|g| g.contains(p))
                && c.geo_polygon.as_ref().is_none_or(|g| g.contains(p))
        };
        let rows = points
            .iter()
            .filter(|(_, ps)| ps.iter().any(inside))
            .map(|(&r, _)| r);
        // Several geo shapes in one condition may be met by different points.
        let shapes = [
            c.geo_radius.is_some(),
            c.geo_bounding_box.is_some(),
            c.geo_polygon.is_some(),
        ]
        .iter()
        .filter(|&&s| s)
        .count();
        Some((rows.collect(), shapes == 1))
    }

    /// Whether posting lists hold more than [`MATERIALIZE_SHARE`] of the
    /// indexed rows (counting stops there).
    fn too_many<'a>(&self, lists: impl Iterator<Item = &'a RoaringBitmap>) -> bool {
        let limit = self.indexed.len() / MATERIALIZE_SHARE;
        let mut seen = 0;
        for b in lists {
            seen += b.len();
            if seen > limit {
                return true;
            }
        }
        false
    }

    /// Whether row `row` satisfies `c` (a condition on this index's key),
    /// answered from the index alone, as the payload would answer it; `None`
    /// when the index cannot tell (the caller reads the payload). Answers a
    /// single keyword or bool match, and a numeric range on an integer or
    /// float index for rows holding exactly one number.
    pub fn check(&self, row: u32, c: &FieldCondition) -> Option<bool> {
        if c.key != self.key
            || c.values_count.is_some()
            || c.is_empty.is_some()
            || c.is_null.is_some()
            || c.geo_radius.is_some()
            || c.geo_bounding_box.is_some()
            || c.geo_polygon.is_some()
        {
            return None;
        }
        match (&c.r#match, &c.range, &self.data) {
            (Some(Match::Value(MatchValue::Keyword(k))), None, Data::Keyword(map))
                if self.params.field_type == FieldType::Keyword =>
            {
                Some(map.get(k).is_some_and(|b| b.contains(row)))
            }
            (Some(Match::Value(MatchValue::Bool(v))), None, Data::Bool(maps)) => {
                Some(maps[*v as usize].contains(row))
            }
            (None, Some(r), Data::Integer { .. } | Data::Float(_)) if !r.is_datetime() => {
                let x = *self.numbers.get(row as usize)?;
                (!x.is_nan()).then(|| r.contains(x))
            }
            _ => None,
        }
    }

    /// Rows that may satisfy `c` (a condition on this index's key), and
    /// whether exactly those do; `None` when the index cannot help.
    pub fn candidates(&self, c: &FieldCondition) -> Option<(RoaringBitmap, bool)> {
        if c.key != self.key
            || c.values_count.is_some()
            || c.is_empty.is_some()
            || c.is_null.is_some()
        {
            return None;
        }
        let mut parts: Vec<(RoaringBitmap, bool)> = Vec::new();
        if let Some(m) = &c.r#match {
            parts.push(self.match_candidates(m)?);
        }
        if let Some(r) = &c.range {
            parts.push(self.range_candidates(r)?);
        }
        if c.geo_radius.is_some() || c.geo_bounding_box.is_some() || c.geo_polygon.is_some() {
            parts.push(self.geo_candidates(c)?);
        }
        let n = parts.len();
        let mut it = parts.into_iter();
        let (mut acc, mut exact) = it.next()?;
        for (b, e) in it {
            acc &= b;
            exact &= e;
        }
        Some((acc, exact && n == 1))
    }

    /// Every (value, row) pair in value order, for `order_by`; `None` for
    /// index types that do not order.
    pub fn ordered(&self, descending: bool) -> Option<Vec<(OrderValue, u32)>> {
        let mut out: Vec<(OrderValue, u32)> = match &self.data {
            Data::Integer { map, .. } => map
                .iter()
                .flat_map(|(&k, b)| b.iter().map(move |r| (OrderValue::Int(k), r)))
                .collect(),
            Data::Datetime(map) => map
                .iter()
                .flat_map(|(&k, b)| b.iter().map(move |r| (OrderValue::Int(k), r)))
                .collect(),
            Data::Float(map) => map
                .iter()
                .flat_map(|(k, b)| b.iter().map(move |r| (OrderValue::Float(k.0), r)))
                .collect(),
            _ => return None,
        };
        if descending {
            out.reverse();
        }
        Some(out)
    }

    /// The distinct values and the rows holding each, for `facet`; `None`
    /// for index types that do not facet.
    pub fn facet_postings(&self) -> Option<Vec<(FacetValue, &RoaringBitmap)>> {
        Some(match &self.data {
            Data::Keyword(map) => map
                .iter()
                .map(|(k, b)| (FacetValue::Keyword(k.clone()), b))
                .collect(),
            Data::Integer { map, .. } => {
                map.iter().map(|(&k, b)| (FacetValue::Int(k), b)).collect()
            }
            Data::Bool(maps) => vec![
                (FacetValue::Bool(false), &maps[0]),
                (FacetValue::Bool(true), &maps[1]),
            ],
            _ => return None,
        })
    }

    /// Whether the value `v` at this key is one the index holds (used by
    /// tests of the superset property).
    pub fn holds(&self, v: &Value) -> bool {
        match &self.data {
            Data::Keyword(_) => v.is_string(),
            Data::Integer { .. } => v.as_i64().is_some(),
            Data::Float(_) => v.is_number(),
            Data::Bool(_) => v.is_boolean(),
            Data::Datetime(_) => v.as_str().and_then(parse_datetime).is_some(),
            Data::Geo(_) => GeoPoint::from_value(v).is_some(),
            Data::Text(_) => v.is_string(),
        }
    }
}

/// Parses an index type by Qdrant's name.
pub fn parse_field_type(s: &str) -> Result<FieldType, PayloadError> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
        PayloadError::BadFilter(format!(
            "unknown payload index type {s:?}: expected keyword, integer, float, bool, geo, text, datetime or uuid"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;
    use crate::filter::Condition;
    use proptest::prelude::*;
    use serde_json::json;

    /// Values a payload key may hold, numbers chosen to meet range bounds.
    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            (-5i64..5).prop_map(|i| json!(i)),
            (-5.0f64..5.0).prop_map(|x| json!((x * 4.0).round() / 4.0)),
            prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| json!(s)),
            any::<bool>().prop_map(|b| json!(b)),
            Just(Value::Null),
        ]
    }

    fn payload() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            value().prop_map(Some),
            prop::collection::vec(value(), 0..3).prop_map(|v| Some(Value::Array(v))),
        ]
    }

    fn condition() -> impl Strategy<Value = Value> {
        prop_oneof![
            (-5i64..5, -5i64..5)
                .prop_map(|(a, b)| json!({"key": "k", "range": {"gte": a, "lt": b}})),
            (-4.0f64..4.0).prop_map(|x| json!({"key": "k", "range": {"lte": x}})),
            prop::sample::select(vec!["a", "b", "z"])
                .prop_map(|s| json!({"key": "k", "match": {"value": s}})),
            any::<bool>().prop_map(|b| json!({"key": "k", "match": {"value": b}})),
        ]
    }

    proptest! {
        /// What an index answers for a row is what the payload answers.
        #[test]
        fn index_checks_agree_with_the_payload(
            payloads in prop::collection::vec(payload(), 1..12),
            cond in condition(),
            kind in prop::sample::select(vec![
                FieldType::Keyword, FieldType::Integer, FieldType::Float, FieldType::Bool,
            ]),
        ) {
            let key: JsonPath = "k".parse().unwrap();
            let mut index = FieldIndex::new(key, FieldIndexParams::new(kind));
            let maps: Vec<Map<String, Value>> = payloads
                .iter()
                .map(|v| v.iter().map(|v| ("k".to_string(), v.clone())).collect())
                .collect();
            for (row, m) in maps.iter().enumerate() {
                index.add(row as u32, m);
            }
            // a removed row is answered from the payload, never from stale data
            index.remove(0, &maps[0]);
            let filter = Filter::from_json(json!({"must": [cond]})).unwrap();
            let Condition::Field(c) = &filter.must[0] else { unreachable!() };
            for (row, m) in maps.iter().enumerate().skip(1) {
                if let Some(pass) = index.check(row as u32, c) {
                    prop_assert_eq!(pass, c.check(m), "row {} payload {:?}", row, m);
                }
            }
            if matches!(kind, FieldType::Integer | FieldType::Float) {
                prop_assert_eq!(index.check(0, c), None);
            }
        }
    }

    #[test]
    fn wide_ranges_are_checked_per_row_not_materialised() {
        let key: JsonPath = "price".parse().unwrap();
        let mut index = FieldIndex::new(key, FieldIndexParams::new(FieldType::Float));
        for row in 0..1_000u32 {
            let m: Map<String, Value> = [("price".to_string(), json!(f64::from(row) / 10.0))]
                .into_iter()
                .collect();
            index.add(row, &m);
        }
        let narrow =
            Filter::from_json(json!({"must": [{"key": "price", "range": {"lt": 5.0}}]})).unwrap();
        let wide =
            Filter::from_json(json!({"must": [{"key": "price", "range": {"lt": 50.0}}]})).unwrap();
        let field = |f: &Filter| match &f.must[0] {
            Condition::Field(c) => (**c).clone(),
            _ => unreachable!(),
        };
        let (narrow, wide) = (field(&narrow), field(&wide));
        let (rows, exact) = index.candidates(&narrow).unwrap();
        assert_eq!((rows.len(), exact), (50, true));
        // half the rows: no row set, and every row answered from the column
        assert!(index.candidates(&wide).is_none());
        assert_eq!(index.check(499, &wide), Some(true));
        assert_eq!(index.check(500, &wide), Some(false));
    }
}
