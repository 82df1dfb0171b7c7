use vicinity_index::IndexError;
use vicinity_payload::PayloadError;
use vicinity_storage::StorageError;

use vicinity_payload::PointId;

/// What kind of failure an [`Error`] is: what a server maps to a status
/// code, in one exhaustive match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed or does not fit the collection.
    BadInput,
    /// A collection or point does not exist.
    NotFound,
    /// A collection of that name exists already.
    AlreadyExists,
    /// Stored data failed a check.
    Corrupted,
    /// The operating system failed an operation.
    Io,
    /// The operation was cancelled.
    Cancelled,
    /// The operation ran out of time.
    Timeout,
}

/// Errors of the Vicinity engine. Messages follow Qdrant's wording, so that
/// clients and their tests see the text they expect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A vector does not have the dimension of its vector name.
    #[error("Wrong input: Vector dimension error: expected dim: {expected}, got {got}")]
    Dimension {
        /// The vector name (`""` for the default vector).
        name: String,
        /// The configured dimension.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// A vector has a NaN or infinite component.
    #[error(
        "Wrong input: vector {name:?} has a non-finite component {value} at position {position}"
    )]
    NotFinite {
        /// The vector name.
        name: String,
        /// The first bad component's index.
        position: usize,
        /// Its value.
        value: f32,
    },
    /// A vector name the collection does not have.
    #[error("Wrong input: Not existing vector name error: {name}")]
    UnknownVector {
        /// The name given.
        name: String,
    },
    /// No collection of that name (or alias).
    #[error("Not found: Collection `{name}` doesn't exist!")]
    CollectionNotFound {
        /// The name given.
        name: String,
    },
    /// A collection of that name exists already.
    #[error("Wrong input: Collection `{name}` already exists!")]
    CollectionExists {
        /// The name given.
        name: String,
    },
    /// A snapshot that does not exist.
    #[error("Not found: Snapshot {name} not found")]
    SnapshotNotFound {
        /// The snapshot's name.
        name: String,
    },
    /// A point id that is not stored.
    #[error("Not found: No point with id {id} found")]
    PointNotFound {
        /// The id given.
        id: PointId,
    },
    /// Any other malformed request (limit 0, bad collection name, bad
    /// configuration, ...).
    #[error("Wrong input: {0}")]
    BadRequest(String),
    /// The payload layer refused the request.
    #[error("Wrong input: {0}")]
    Payload(#[from] PayloadError),
    /// The index layer failed.
    #[error("{0}")]
    Index(IndexError),
    /// The storage layer failed.
    #[error("Service internal error: {0}")]
    Storage(#[from] StorageError),
}

impl From<IndexError> for Error {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Storage(s) => Error::Storage(s),
            IndexError::Config { .. } => Error::BadRequest(e.to_string()),
            other => Error::Index(other),
        }
    }
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Dimension { .. }
            | Error::NotFinite { .. }
            | Error::UnknownVector { .. }
            | Error::BadRequest(_)
            | Error::Payload(_) => ErrorKind::BadInput,
            Error::CollectionNotFound { .. }
            | Error::PointNotFound { .. }
            | Error::SnapshotNotFound { .. } => ErrorKind::NotFound,
            Error::CollectionExists { .. } => ErrorKind::AlreadyExists,
            Error::Index(IndexError::Dimension { .. } | IndexError::NotFinite { .. }) => {
                ErrorKind::BadInput
            }
            Error::Index(_) => ErrorKind::BadInput,
            Error::Storage(StorageError::Io { .. }) => ErrorKind::Io,
            Error::Storage(_) => ErrorKind::Io,
        }
    }

    /// Attaches the vector name to an index error about one vector.
    pub(crate) fn for_vector(name: &str, e: IndexError) -> Self {
        match e {
            IndexError::Dimension { expected, got } => Error::Dimension {
                name: name.to_string(),
                expected,
                got,
            },
            IndexError::NotFinite { position, value } => Error::NotFinite {
                name: name.to_string(),
                position,
                value,
            },
            IndexError::Multivector(m) => Error::BadRequest(m),
            other => other.into(),
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
