use std::fmt;

/// The internal address of a row inside one segment: the `n`-th row ever
/// appended to it.
///
/// Every column of a segment (vectors, graph links, payloads, flags) is
/// indexed by the same offset. It is never shown to users: the engine maps
/// it to and from the external point id in one place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PointOffset(pub u32);

impl PointOffset {
    /// The offset as an index into a slice.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for PointOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl From<u32> for PointOffset {
    fn from(v: u32) -> Self {
        PointOffset(v)
    }
}
