//! What payload indexes tell about a filter before any point is checked.

use std::collections::HashSet;

use roaring::RoaringBitmap;

use super::{Condition, FieldCondition, Filter};
use crate::{FieldIndex, JsonPath, PointId};

/// Where a filter finds indexes and id lookups.
pub trait IndexSource {
    /// The index on `key`, if there is one.
    fn index(&self, key: &JsonPath) -> Option<&FieldIndex>;
    /// The rows of these ids.
    fn rows_of(&self, ids: &HashSet<PointId>) -> RoaringBitmap;
}

/// The rows a filter may match, as far as indexes tell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidates {
    /// A superset of the matching rows; `None`: any row may match.
    pub rows: Option<RoaringBitmap>,
    /// Whether exactly the rows in `rows` match, with no per-point check
    /// (with `rows: None`: every row matches).
    pub exact: bool,
}

fn intersect(acc: &mut Option<RoaringBitmap>, b: RoaringBitmap) {
    *acc = Some(match acc.take() {
        Some(a) => a & b,
        None => b,
    });
}

impl Condition {
    fn candidates(&self, src: &dyn IndexSource) -> Option<(RoaringBitmap, bool)> {
        match self {
            Condition::Field(f) => src.index(&f.key)?.candidates(f),
            Condition::HasId(ids) => Some((src.rows_of(ids), true)),
            Condition::Filter(f) => {
                let c = f.candidates(src);
                c.rows.map(|r| (r, c.exact))
            }
            _ => None,
        }
    }
}

impl Condition {
    /// Adds the field conditions this condition tests on the point itself
    /// (not those inside a nested array's elements).
    fn field_conditions<'a>(&'a self, out: &mut Vec<&'a FieldCondition>) {
        match self {
            Condition::Field(f) => out.push(f),
            Condition::Filter(f) => f.collect_fields(out),
            _ => {}
        }
    }
}

impl Filter {
    /// The field conditions this filter tests on the point itself, at any
    /// depth of `must`, `should`, `must_not` and `min_should` (not those
    /// inside `nested`, which test array elements).
    pub fn field_conditions(&self) -> Vec<&FieldCondition> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a FieldCondition>) {
        let min_should = self.min_should.iter().flat_map(|m| &m.conditions);
        for c in self
            .must
            .iter()
            .chain(&self.should)
            .chain(&self.must_not)
            .chain(min_should)
        {
            c.field_conditions(out);
        }
    }

    /// The rows this filter may match, from the indexes in `src`.
    pub fn candidates(&self, src: &dyn IndexSource) -> Candidates {
        let mut rows = None;
        let mut exact = true;
        for c in &self.must {
            match c.candidates(src) {
                Some((b, e)) => {
                    intersect(&mut rows, b);
                    exact &= e;
                }
                None => exact = false,
            }
        }
        if !self.should.is_empty() {
            let parts: Option<Vec<_>> = self.should.iter().map(|c| c.candidates(src)).collect();
            match parts {
                Some(parts) => {
                    let mut u = RoaringBitmap::new();
                    for (b, e) in parts {
                        u |= b;
                        exact &= e;
                    }
                    intersect(&mut rows, u);
                }
                None => exact = false,
            }
        }
        if !self.must_not.is_empty() || self.min_should.is_some() {
            exact = false;
        }
        Candidates { rows, exact }
    }
}
