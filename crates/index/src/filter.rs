//! Which rows a search may return.
//!
//! A filter is a generic parameter of every search, so that [`AllowAll`]
//! compiles away and an unfiltered search runs the bare loop. Graph search
//! walks through rows that fail the filter (they keep the graph connected)
//! but never returns them.

use roaring::RoaringBitmap;
use vicinity_storage::PointOffset;

use crate::AtomicBitSet;

/// A predicate over row offsets.
pub trait PointFilter: Sync {
    /// Whether the row at `offset` may be returned.
    fn check(&self, offset: PointOffset) -> bool;
}

/// Every row passes.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllowAll;

impl PointFilter for AllowAll {
    #[inline(always)]
    fn check(&self, _: PointOffset) -> bool {
        true
    }
}

impl<F: Fn(PointOffset) -> bool + Sync> PointFilter for F {
    #[inline]
    fn check(&self, offset: PointOffset) -> bool {
        self(offset)
    }
}

/// Rows in a bitmap pass.
#[derive(Clone, Copy, Debug)]
pub struct InBitmap<'a>(pub &'a RoaringBitmap);

impl PointFilter for InBitmap<'_> {
    #[inline]
    fn check(&self, offset: PointOffset) -> bool {
        self.0.contains(offset.0)
    }
}

/// Rows *not* in an [`AtomicBitSet`] (the deleted set) pass, if they also
/// pass the inner filter: "not deleted" and "matches" merged into one check.
#[derive(Clone, Copy, Debug)]
pub struct NotIn<'a, F> {
    /// Rows to exclude.
    pub excluded: &'a AtomicBitSet,
    /// The filter the remaining rows must pass.
    pub inner: F,
}

impl<F: PointFilter> PointFilter for NotIn<'_, F> {
    #[inline]
    fn check(&self, offset: PointOffset) -> bool {
        !self.excluded.contains(offset) && self.inner.check(offset)
    }
}
