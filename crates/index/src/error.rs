use vicinity_storage::StorageError;

/// Errors of the vector index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// A vector's length differs from the store's dimension.
    #[error("expected dim: {expected}, got {got}")]
    Dimension {
        /// The store's dimension.
        expected: usize,
        /// The vector's length.
        got: usize,
    },
    /// A vector has a NaN or infinite component.
    #[error("vector component {position} is {value}: only finite numbers are allowed")]
    NotFinite {
        /// Index of the first bad component.
        position: usize,
        /// Its value.
        value: f32,
    },
    /// An HNSW parameter is out of range.
    #[error("invalid HNSW parameter {name}: {reason}")]
    Config {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A quantization parameter is out of range.
    #[error("invalid quantization parameter: {0}")]
    Quantization(String),
    /// A multivector (a matrix) that Qdrant would refuse, with its message.
    #[error("{0}")]
    Multivector(String),
    /// An operation that multivector stores do not support.
    #[error("{0} is not available for multivectors")]
    NotForMultivectors(&'static str),
    /// Saved graph bytes failed a check.
    #[error("damaged HNSW graph: {0}")]
    Corrupted(String),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
