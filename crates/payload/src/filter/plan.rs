//! What payload indexes tell about a filter before any point is checked.

use std::collections::HashSet;

use roaring::RoaringBitmap;

use super::{Condition, Filter};
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

impl Filter {
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
